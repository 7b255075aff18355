// The live KPIs: the read-model records that started in (or around) a period, found through the
// "started" index, fed to the same KpiCalculator the analysts' replay uses.
#include <set>

#include <google/protobuf/util/time_util.h>

#include "ks/kpi/calculator.h"
#include "ks/kpi/catalog.h"
#include "ks/query/query_engine.h"
#include "ks/readmodel/keys.h"
#include "src/engine_helpers.h"

namespace ks::query {
namespace {

namespace keys = readmodel::keys;
using google::protobuf::util::TimeUtil;
using internal::CheckTenant;
using internal::GetRecord;

constexpr int64_t kDayMs = 24LL * 3600 * 1000;
constexpr int64_t kMaxPeriodMs = 31 * kDayMs;

// The period of a request: both ends given, in order, at most 31 days apart.
Result<std::pair<int64_t, int64_t>> Period(const google::protobuf::Timestamp& from, const google::protobuf::Timestamp& to,
                                           bool has_from, bool has_to) {
  if (!has_from) return std::unexpected(InvalidArgument("from: is required"));
  if (!has_to) return std::unexpected(InvalidArgument("to: is required"));
  const int64_t from_ms = TimeUtil::TimestampToMilliseconds(from);
  const int64_t to_ms = TimeUtil::TimestampToMilliseconds(to);
  if (from_ms < 0) return std::unexpected(InvalidArgument("from: must be after 1970"));
  if (to_ms <= from_ms) return std::unexpected(InvalidArgument("to: must be after from"));
  if (to_ms - from_ms > kMaxPeriodMs)
    return std::unexpected(InvalidArgument("to: at most 31 days after from (longer periods: the replay tool, ks-replay)"));
  return std::pair{from_ms, to_ms};
}

// Feeds `calculator` every record of `kind` that started in [from_ms, to_ms).
template <typename RecordT>
Status AddStarted(const readmodel::ReadView& view, const std::string& tenant, std::string_view kind, int64_t from_ms,
                  int64_t to_ms, kpi::KpiCalculator& calculator) {
  const std::string prefix = keys::StartedPrefix(tenant, kind);
  const std::string end = keys::StartedBound(tenant, kind, to_ms);
  std::set<std::string> ids;  // a party is listed once per label added in the period
  Status s = view.Scan(prefix, keys::StartedBound(tenant, kind, from_ms), [&](std::string_view key, std::string_view) {
    if (key >= end) return false;
    ids.emplace(keys::LastPart(key));
    return true;
  });
  if (!s.ok()) return s;
  auto record_key = [&](const std::string& id) {
    if (kind == "I") return keys::Interaction(tenant, id);
    if (kind == "C") return keys::Callback(tenant, id);
    if (kind == "M") return keys::Melding(tenant, id);
    if (kind == "L") return keys::Party(tenant, id);
    return keys::Notification(tenant, id);
  };
  for (const std::string& id : ids) {
    auto record = GetRecord<RecordT>(view, record_key(id));
    if (!record) return record.error();
    if (record->has_value()) calculator.Add(**record);
  }
  return Status::Ok();
}

// The calculator, fed with what the figures of [from, to) need: contacts also a repeat window
// before and after (repeat contacts, first-contact resolution), the others a window after (a
// callback requested from a contact just before `to`).
Result<pb::KpiReport> Compute(const readmodel::ReadView& view, const std::string& tenant, int64_t from_ms, int64_t to_ms,
                              int64_t now_ms, kpi::KpiOptions options) {
  kpi::KpiCalculator calculator(from_ms, to_ms, tenant, options);
  const int64_t window = options.repeat_window_ms;
  if (Status s = AddStarted<pb::InteractionRecord>(view, tenant, "I", from_ms - window, to_ms + window, calculator); !s.ok())
    return std::unexpected(s);
  if (Status s = AddStarted<pb::CallbackRecord>(view, tenant, "C", from_ms, to_ms + window, calculator); !s.ok())
    return std::unexpected(s);
  if (Status s = AddStarted<pb::MeldingRecord>(view, tenant, "M", from_ms, to_ms, calculator); !s.ok())
    return std::unexpected(s);
  if (Status s = AddStarted<pb::NotificationRecord>(view, tenant, "N", from_ms, to_ms, calculator); !s.ok())
    return std::unexpected(s);
  if (Status s = AddStarted<pb::PartyProfile>(view, tenant, "L", from_ms, to_ms, calculator); !s.ok())
    return std::unexpected(s);
  return calculator.Report(now_ms);
}

}  // namespace

Result<pb::KpiReport> QueryEngine::GetKpis(const readmodel::ReadView& view, const pb::GetKpisRequest& request,
                                           std::chrono::system_clock::time_point now) const {
  if (Status s = CheckTenant(request.tenant()); !s.ok()) return std::unexpected(s);
  auto period = Period(request.from(), request.to(), request.has_from(), request.has_to());
  if (!period) return std::unexpected(period.error());
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  return Compute(view, request.tenant(), period->first, period->second, now_ms, {});
}

Result<pb::TopTopics> QueryEngine::GetTopTopics(const readmodel::ReadView& view, const pb::GetTopTopicsRequest& request,
                                                std::chrono::system_clock::time_point now) const {
  if (Status s = CheckTenant(request.tenant()); !s.ok()) return std::unexpected(s);
  auto period = Period(request.from(), request.to(), request.has_from(), request.has_to());
  if (!period) return std::unexpected(period.error());
  if (request.limit() < 0 || request.limit() > 100) return std::unexpected(InvalidArgument("limit: must be 0 to 100"));
  kpi::KpiOptions options;
  options.top_topics = request.limit() == 0 ? 20 : static_cast<size_t>(request.limit());
  options.hourly = false;
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  auto report = Compute(view, request.tenant(), period->first, period->second, now_ms, options);
  if (!report) return std::unexpected(report.error());
  pb::TopTopics out;
  for (const pb::KpiFigure& f : report->figures())
    if (f.kpi() == kpi::names::kTopicContacts) {
      auto* t = out.add_topics();
      t->set_topic(f.dimension());
      t->set_contacts(static_cast<int64_t>(f.value()));
    }
  std::sort(out.mutable_topics()->begin(), out.mutable_topics()->end(), [](const auto& a, const auto& b) {
    return a.contacts() != b.contacts() ? a.contacts() > b.contacts() : a.topic() < b.topic();
  });
  if (Status s = internal::AddReflects(view, out.mutable_reflects()); !s.ok()) return std::unexpected(s);
  return out;
}

}  // namespace ks::query
