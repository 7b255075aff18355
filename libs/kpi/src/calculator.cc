#include "ks/kpi/calculator.h"

#include <algorithm>
#include <cmath>
#include <array>
#include <deque>
#include <map>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include <google/protobuf/util/time_util.h>

#include "klantstroom/v1/common.pb.h"
#include "ks/kpi/catalog.h"
#include "ks/kpi/local_time.h"

namespace ks::kpi {
namespace {

using google::protobuf::util::TimeUtil;
using namespace names;

int64_t Ms(const google::protobuf::Timestamp& t) {
  return t.seconds() == 0 && t.nanos() == 0 ? 0 : TimeUtil::TimestampToMilliseconds(t);
}

// Nearest-rank percentile of `values` (sorted here); 0 for none.
double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(values.size())));
  return values[std::max<size_t>(rank, 1) - 1];
}

// Rounds to 4 decimals, so that figures print the same however they were summed.
double Round(double v) { return std::round(v * 10000.0) / 10000.0; }

// Hashing for string keys that also takes string_views (no temporary strings on lookup).
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

// The figures being collected: (tenant, kpi, dimension, bucket) -> value. The four parts are
// interned to numbers while counting (millions of additions), and turned back into strings,
// sorted, only at the end.
class Figures {
 public:
  void Add(std::string_view tenant, std::string_view kpi, std::string_view dim, std::string_view bucket, double v) {
    values_[Key(tenant, kpi, dim, bucket)] += v;
  }
  void Set(std::string_view tenant, std::string_view kpi, std::string_view dim, std::string_view bucket, double v) {
    values_[Key(tenant, kpi, dim, bucket)] = v;
  }
  void MoveInto(pb::KpiReport& report) {
    std::vector<std::pair<std::array<std::string_view, 4>, double>> sorted;
    sorted.reserve(values_.size());
    for (const auto& [key, value] : values_)
      sorted.push_back({{names_[key[0]], names_[key[1]], names_[key[2]], names_[key[3]]}, value});
    std::sort(sorted.begin(), sorted.end());
    for (const auto& [key, value] : sorted) {
      pb::KpiFigure* f = report.add_figures();
      f->set_tenant(std::string(key[0]));
      f->set_kpi(std::string(key[1]));
      f->set_dimension(std::string(key[2]));
      f->set_bucket(std::string(key[3]));
      f->set_value(Round(value));
    }
  }

 private:
  using FigureKey = std::array<uint32_t, 4>;
  struct KeyHash {
    size_t operator()(const FigureKey& k) const {
      return (static_cast<size_t>(k[0]) * 0x9E3779B97F4A7C15ULL) ^ (static_cast<size_t>(k[1]) << 48) ^
             (static_cast<size_t>(k[2]) << 24) ^ k[3];
    }
  };
  uint32_t Intern(std::string_view s) {
    if (auto it = ids_.find(s); it != ids_.end()) return it->second;
    // names_ is a deque: the strings the ids_ keys view never move.
    names_.emplace_back(s);
    const auto id = static_cast<uint32_t>(names_.size() - 1);
    ids_.emplace(names_.back(), id);
    return id;
  }
  FigureKey Key(std::string_view tenant, std::string_view kpi, std::string_view dim, std::string_view bucket) {
    return {Intern(tenant), Intern(kpi), Intern(dim), Intern(bucket)};
  }

  std::deque<std::string> names_;
  std::unordered_map<std::string_view, uint32_t, StringHash, std::equal_to<>> ids_;
  std::unordered_map<FigureKey, double, KeyHash> values_;
};

// The hour, day and ISO-week labels of a moment, worked out once per local hour seen.
class BucketLabels {
 public:
  struct Labels {
    std::string hour, day, week;
  };
  const Labels& For(int64_t utc_ms) {
    const int64_t hour = utc_ms / 3'600'000 - (utc_ms < 0 ? 1 : 0);
    auto [it, inserted] = cache_.try_emplace(hour);
    if (inserted) it->second = {HourBucket(utc_ms), DayBucket(utc_ms), WeekBucket(utc_ms)};
    return it->second;
  }

 private:
  std::unordered_map<int64_t, Labels> cache_;
};

// Samples per (tenant, dimension), for percentiles.
using Samples = std::map<std::pair<std::string, std::string>, std::vector<double>>;

void AddPercentiles(Figures& figures, const Samples& samples, std::string_view p50, std::string_view p90,
                    double unit_ms) {
  for (const auto& [key, values] : samples) {
    std::vector<double> in_unit;
    in_unit.reserve(values.size());
    for (double v : values) in_unit.push_back(v / unit_ms);
    figures.Set(key.first, p50, key.second, "", Percentile(in_unit, 0.5));
    figures.Set(key.first, p90, key.second, "", Percentile(in_unit, 0.9));
  }
}

}  // namespace

std::string ChannelLabel(int channel) {
  // Worked out once per channel: the KPIs ask for it per contact.
  static const std::vector<std::string> labels = [] {
    std::vector<std::string> out;
    for (int c = 0; c <= pb::Channel_MAX; ++c) {
      std::string name = pb::Channel_IsValid(c) ? pb::Channel_Name(static_cast<pb::Channel>(c)) : "";
      if (name.starts_with("CHANNEL_")) name = name.substr(std::string_view("CHANNEL_").size());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::tolower(ch); });
      out.push_back(name.empty() ? "channel-" + std::to_string(c) : name);
    }
    return out;
  }();
  if (channel >= 0 && static_cast<size_t>(channel) < labels.size()) return labels[static_cast<size_t>(channel)];
  return "channel-" + std::to_string(channel);
}

KpiCalculator::KpiCalculator(int64_t from_ms, int64_t to_ms, std::string tenant, KpiOptions options)
    : from_ms_(from_ms), to_ms_(to_ms), tenant_(std::move(tenant)), options_(options) {}

bool KpiCalculator::Selected(const std::string& tenant, int64_t at_ms) const {
  return (tenant_.empty() || tenant == tenant_) && at_ms >= from_ms_ && at_ms < to_ms_;
}

void KpiCalculator::Add(const pb::InteractionRecord& r) {
  if (r.channel() == pb::CHANNEL_INTERNAL) return;
  if (!tenant_.empty() && r.tenant() != tenant_) return;
  // The citizen: the party, or while none is linked, the counterpart address, known by its digest
  // (the address itself is sealed; a log from before digests has it in the clear).
  std::string citizen = r.party_id();
  if (citizen.empty()) citizen = r.counterpart_digest();
  if (citizen.empty() && !r.counterpart().value().empty())
    citizen = std::to_string(r.counterpart().kind()) + ":" + r.counterpart().value();
  // What a sensitive contact was about is the team's to know: its topics are not counted.
  std::vector<std::string> topics;
  if (r.restricted_to_team().empty()) {
    topics.assign(r.topics().begin(), r.topics().end());
    // The question behind the question counts as what the contact was about too (once).
    for (const std::string& t : r.underlying_topics())
      if (std::find(topics.begin(), topics.end(), t) == topics.end()) topics.push_back(t);
  }
  contacts_.push_back({r.tenant(), Ms(r.occurred_at()), r.channel(), r.direction() == pb::DIRECTION_INBOUND,
                       std::move(citizen), r.interaction_id(), std::move(topics)});
}

void KpiCalculator::Add(const pb::CallbackRecord& r) {
  if (!tenant_.empty() && r.tenant() != tenant_) return;
  if (!r.origin_interaction_id().empty()) callback_origins_.push_back(r.tenant() + '\0' + r.origin_interaction_id());
  callbacks_.push_back({r.tenant(), Ms(r.requested_at()), Ms(r.first_attempt_at()), Ms(r.closed_at()), Ms(r.due_at()),
                        r.status() == pb::CALLBACK_STATUS_COMPLETED, r.status() == pb::CALLBACK_STATUS_OPEN});
}

void KpiCalculator::Add(const pb::MeldingRecord& r) {
  if (!tenant_.empty() && r.tenant() != tenant_) return;
  meldingen_.push_back({r.tenant(), r.category(), Ms(r.registered_at()), Ms(r.resolved_at()), Ms(r.due_at()),
                        r.status() == pb::MELDING_STATUS_RESOLVED, r.status() == pb::MELDING_STATUS_CANCELLED,
                        r.reopen_count() > 0, r.satisfaction_score()});
}

void KpiCalculator::Add(const pb::NotificationRecord& r) {
  if (!tenant_.empty() && r.tenant() != tenant_) return;
  notifications_.push_back({r.tenant(), Ms(r.requested_at()), r.channel(),
                            r.status() == pb::NOTIFICATION_STATUS_DELIVERED,
                            r.status() == pb::NOTIFICATION_STATUS_GAVE_UP});
}

void KpiCalculator::Add(const pb::PartyProfile& r) {
  if (!tenant_.empty() && r.tenant() != tenant_) return;
  for (const pb::PartyLabel& label : r.labels()) labels_.push_back({r.tenant(), label.label(), Ms(label.added_at())});
}

void KpiCalculator::Merge(KpiCalculator&& other) {
  auto append = [](auto& to, auto& from) {
    to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
    from.clear();
  };
  append(contacts_, other.contacts_);
  append(callbacks_, other.callbacks_);
  append(callback_origins_, other.callback_origins_);
  append(meldingen_, other.meldingen_);
  append(notifications_, other.notifications_);
  append(labels_, other.labels_);
}

pb::KpiReport KpiCalculator::Report(int64_t as_of_ms) const {
  Figures figures;

  // ---- Contacts ----
  // Inbound contacts per citizen in time order, for repeat contacts and first-contact resolution.
  std::unordered_map<std::string, std::vector<int64_t>> inbound_times;
  for (const Contact& c : contacts_)
    if (c.inbound && !c.citizen.empty()) inbound_times[c.tenant + '\0' + c.citizen].push_back(c.at_ms);
  for (auto& [citizen, times] : inbound_times) std::sort(times.begin(), times.end());
  const std::unordered_set<std::string> origins(callback_origins_.begin(), callback_origins_.end());
  std::map<std::pair<std::string, std::string>, int64_t> topic_counts;
  struct InboundCounts {
    int64_t all = 0, repeats = 0, resolved_first = 0;
  };
  std::map<std::pair<std::string, std::string>, InboundCounts> inbound;  // per (tenant, channel)
  BucketLabels buckets;
  for (const Contact& c : contacts_) {
    if (!Selected(c.tenant, c.at_ms)) continue;
    const std::string channel = ChannelLabel(c.channel);
    const BucketLabels::Labels& at = buckets.For(c.at_ms);
    for (const std::string& dim : {std::string(), channel}) {
      figures.Add(c.tenant, kContacts, dim, "", 1);
      if (options_.hourly) figures.Add(c.tenant, kContacts, dim, at.hour, 1);
      figures.Add(c.tenant, kContacts, dim, at.day, 1);
      figures.Add(c.tenant, kContacts, dim, at.week, 1);
    }
    for (const std::string& topic : c.topics) ++topic_counts[{c.tenant, topic}];
    if (!c.inbound) continue;
    bool repeat = false;
    bool repeated_later = false;
    if (!c.citizen.empty()) {
      const std::vector<int64_t>& times = inbound_times[c.tenant + '\0' + c.citizen];
      // Another inbound contact in [at - window, at) or (at, at + window]; an exact tie of two
      // contacts counts the other as earlier for neither.
      auto lo = std::lower_bound(times.begin(), times.end(), c.at_ms - options_.repeat_window_ms);
      repeat = lo != times.end() && *lo < c.at_ms;
      auto hi = std::upper_bound(times.begin(), times.end(), c.at_ms);
      repeated_later = hi != times.end() && *hi <= c.at_ms + options_.repeat_window_ms;
    }
    const bool handed_off = origins.contains(c.tenant + '\0' + c.interaction_id);
    for (const std::string& dim : {std::string(), channel}) {
      InboundCounts& counts = inbound[{c.tenant, dim}];
      ++counts.all;
      counts.repeats += repeat ? 1 : 0;
      counts.resolved_first += (!handed_off && !repeated_later) ? 1 : 0;
    }
  }
  for (const auto& [key, counts] : inbound) {
    const auto& [tenant, dim] = key;
    const auto all = static_cast<double>(counts.all);
    figures.Set(tenant, kContactsInbound, dim, "", all);
    figures.Set(tenant, kRepeatContacts, dim, "", static_cast<double>(counts.repeats));
    figures.Set(tenant, kFirstContactResolution, dim, "", static_cast<double>(counts.resolved_first) / all);
    if (dim.empty()) figures.Set(tenant, kRepeatContactShare, "", "", static_cast<double>(counts.repeats) / all);
  }
  // The most frequent topics per municipality (ties by name).
  std::map<std::string, std::vector<std::pair<int64_t, std::string>>> topics_by_tenant;
  for (const auto& [key, n] : topic_counts) topics_by_tenant[key.first].push_back({-n, key.second});
  for (auto& [tenant, list] : topics_by_tenant) {
    std::sort(list.begin(), list.end());
    for (size_t i = 0; i < list.size() && i < options_.top_topics; ++i)
      figures.Set(tenant, kTopicContacts, list[i].second, "", static_cast<double>(-list[i].first));
  }

  // ---- Callback requests ----
  Samples first_attempt, completion;
  for (const Callback& cb : callbacks_) {
    if (!Selected(cb.tenant, cb.requested_ms)) continue;
    figures.Add(cb.tenant, kCallbacksRequested, "", "", 1);
    figures.Add(cb.tenant, kCallbacksRequested, "", buckets.For(cb.requested_ms).day, 1);
    figures.Add(cb.tenant, kCallbacksRequested, "", buckets.For(cb.requested_ms).week, 1);
    figures.Add(cb.tenant, kCallbacksCompleted, "", "", cb.completed ? 1 : 0);
    const bool overdue = cb.due_ms != 0 && (cb.open ? cb.due_ms < as_of_ms : cb.closed_ms > cb.due_ms);
    figures.Add(cb.tenant, kCallbacksOverdue, "", "", overdue ? 1 : 0);
    if (cb.first_attempt_ms != 0)
      first_attempt[{cb.tenant, ""}].push_back(static_cast<double>(cb.first_attempt_ms - cb.requested_ms));
    if (cb.completed) completion[{cb.tenant, ""}].push_back(static_cast<double>(cb.closed_ms - cb.requested_ms));
  }
  AddPercentiles(figures, first_attempt, kCallbackFirstAttemptP50, kCallbackFirstAttemptP90, 60'000.0);
  AddPercentiles(figures, completion, kCallbackCompletionP50, kCallbackCompletionP90, 60'000.0);

  // ---- Meldingen ----
  Samples resolution;
  std::map<std::pair<std::string, std::string>, std::pair<int64_t, int64_t>> on_time;  // (on time, resolved)
  std::map<std::pair<std::string, std::string>, std::pair<int64_t, int64_t>> reopened;  // (reopened, all)
  for (const Melding& m : meldingen_) {
    if (!Selected(m.tenant, m.registered_ms)) continue;
    for (const std::string& dim : {std::string(), m.category}) {
      figures.Add(m.tenant, kMeldingenRegistered, dim, "", 1);
      if (dim.empty()) {
        figures.Add(m.tenant, kMeldingenRegistered, dim, buckets.For(m.registered_ms).day, 1);
        figures.Add(m.tenant, kMeldingenRegistered, dim, buckets.For(m.registered_ms).week, 1);
      }
      figures.Add(m.tenant, kMeldingenResolved, dim, "", m.resolved ? 1 : 0);
      const bool overdue_open = !m.resolved && !m.cancelled && m.due_ms != 0 && m.due_ms < as_of_ms;
      figures.Add(m.tenant, kMeldingenOverdueOpen, dim, "", overdue_open ? 1 : 0);
      auto& [re, all] = reopened[{m.tenant, dim}];
      re += m.reopened ? 1 : 0;
      ++all;
      if (m.resolved) {
        resolution[{m.tenant, dim}].push_back(static_cast<double>(m.resolved_ms - m.registered_ms));
        auto& [in_time, resolved] = on_time[{m.tenant, dim}];
        in_time += (m.due_ms == 0 || m.resolved_ms <= m.due_ms) ? 1 : 0;
        ++resolved;
      }
    }
    if (m.satisfaction > 0) {
      figures.Add(m.tenant, kKtoResponses, "", "", 1);
      figures.Add(m.tenant, kKtoScoreCount, std::to_string(m.satisfaction), "", 1);
    }
  }
  AddPercentiles(figures, resolution, kMeldingResolutionP50, kMeldingResolutionP90, 3'600'000.0);
  for (const auto& [key, counts] : on_time)
    figures.Set(key.first, kMeldingOnTimeShare, key.second, "",
                static_cast<double>(counts.first) / static_cast<double>(counts.second));
  for (const auto& [key, counts] : reopened)
    figures.Set(key.first, kMeldingReopenedShare, key.second, "",
                static_cast<double>(counts.first) / static_cast<double>(counts.second));
  {
    std::map<std::string, std::pair<int64_t, int64_t>> kto;  // (sum, n)
    for (const Melding& m : meldingen_)
      if (m.satisfaction > 0 && Selected(m.tenant, m.registered_ms)) {
        kto[m.tenant].first += m.satisfaction;
        ++kto[m.tenant].second;
      }
    for (const auto& [tenant, sum_n] : kto)
      figures.Set(tenant, kKtoScoreMean, "", "",
                  static_cast<double>(sum_n.first) / static_cast<double>(sum_n.second));
  }

  // ---- Notifications ----
  for (const Notification& n : notifications_) {
    if (!Selected(n.tenant, n.requested_ms)) continue;
    for (const std::string& dim : {std::string(), ChannelLabel(n.channel)}) {
      figures.Add(n.tenant, kNotificationsRequested, dim, "", 1);
      figures.Add(n.tenant, kNotificationsDelivered, dim, "", n.delivered ? 1 : 0);
      figures.Add(n.tenant, kNotificationsFailed, dim, "", n.failed ? 1 : 0);
    }
  }

  // ---- Labels ----
  for (const Label& label : labels_)
    if (Selected(label.tenant, label.added_ms)) figures.Add(label.tenant, kLabelsAdded, label.label, "", 1);

  pb::KpiReport report;
  *report.mutable_from() = TimeUtil::MillisecondsToTimestamp(from_ms_);
  *report.mutable_to() = TimeUtil::MillisecondsToTimestamp(to_ms_);
  report.set_tenant_filter(tenant_);
  *report.mutable_as_of() = TimeUtil::MillisecondsToTimestamp(as_of_ms);
  figures.MoveInto(report);
  return report;
}

}  // namespace ks::kpi
