#include "ks/query/query_engine.h"

#include <algorithm>
#include <map>

#include <google/protobuf/util/time_util.h>

#include "ks/domain/validation.h"
#include "ks/readmodel/keys.h"

namespace ks::query {
namespace {

namespace keys = readmodel::keys;
using google::protobuf::util::TimeUtil;
using readmodel::ReadView;

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;
constexpr int kDefaultQueueLimit = 100;
constexpr int kMaxQueueLimit = 1000;

Status CheckTenant(const std::string& tenant) {
  if (!domain::IsValidTenant(tenant))
    return InvalidArgument("tenant: must be 1-63 characters of a-z, 0-9 and '-' (got '{}')", tenant.substr(0, 64));
  return Status::Ok();
}

template <typename Message>
Result<std::optional<Message>> GetRecord(const ReadView& view, const std::string& key) {
  auto bytes = view.Get(key);
  if (!bytes) return std::unexpected(bytes.error());
  if (!bytes->has_value()) return std::optional<Message>();
  Message message;
  if (!message.ParseFromString(**bytes))
    return std::unexpected(Status(StatusCode::kDataLoss, fmt::format("read model record at {} does not parse", key)));
  return std::optional<Message>(std::move(message));
}

Status AddReflects(const ReadView& view, google::protobuf::RepeatedPtrField<pb::PartitionProgress>* out) {
  auto progress = view.ReadProgress();
  if (!progress) return progress.error();
  for (const auto& [partition, next] : *progress) {
    auto* p = out->Add();
    p->set_partition(partition);
    p->set_next_offset(next);
  }
  return Status::Ok();
}

std::string ToHex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::optional<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

}  // namespace

Result<std::optional<ReadView>> QueryEngine::OpenView(const pb::Consistency& consistency) const {
  for (const auto& position : consistency.min_positions())
    if (position.partition() < 0 || position.offset() < 0)
      return std::unexpected(InvalidArgument("consistency.min_positions: partition and offset must be 0 or more"));
  ReadView view = store_.View();
  if (consistency.min_positions_size() == 0) return std::optional<ReadView>(std::move(view));
  auto progress = view.ReadProgress();
  if (!progress) return std::unexpected(progress.error());
  std::map<int32_t, int64_t> next(progress->begin(), progress->end());
  for (const auto& position : consistency.min_positions()) {
    auto it = next.find(position.partition());
    if (it == next.end() || it->second <= position.offset()) return std::optional<ReadView>();
  }
  return std::optional<ReadView>(std::move(view));
}

Result<pb::CustomerView> QueryEngine::GetCustomerView(const ReadView& view, const pb::GetCustomerViewRequest& request) const {
  if (Status s = CheckTenant(request.tenant()); !s.ok()) return std::unexpected(s);
  if (request.party_id().empty()) return std::unexpected(InvalidArgument("party_id: is required"));
  if (request.page_size() < 0 || request.page_size() > kMaxPageSize)
    return std::unexpected(InvalidArgument("page_size: must be between 0 and {} (got {})", kMaxPageSize, request.page_size()));
  const size_t page_size = request.page_size() == 0 ? kDefaultPageSize : static_cast<size_t>(request.page_size());
  std::string after;  // sort key of the last entry already shown
  if (!request.page_token().empty()) {
    auto decoded = FromHex(request.page_token());
    if (!decoded) return std::unexpected(InvalidArgument("page_token: is not a token this service returned"));
    after = std::move(*decoded);
  }

  auto party = GetRecord<pb::PartyProfile>(view, keys::Party(request.tenant(), request.party_id()));
  if (!party) return std::unexpected(party.error());
  if (!party->has_value())
    return std::unexpected(NotFound("party_id: no party '{}' in tenant {}", request.party_id(), request.tenant()));

  pb::CustomerView out;
  *out.mutable_party() = std::move(**party);

  // The timeline merges the party's own entries with those of each of its digital addresses
  // (contacts from a handle before the citizen was known). Each source is sorted newest first;
  // take up to page_size + 1 from each after the token, merge, and drop duplicates.
  std::vector<std::string> prefixes = {keys::PartyTimelinePrefix(request.tenant(), request.party_id())};
  for (const auto& address : out.party().digital_addresses())
    prefixes.push_back(keys::AddressTimelinePrefix(request.tenant(), address.kind(), address.value()));
  std::map<std::string, std::string> merged;  // sort key -> interaction id
  for (const std::string& prefix : prefixes) {
    size_t taken = 0;
    const std::string start = after.empty() ? std::string() : prefix + after;
    Status s = view.Scan(prefix, start, [&](std::string_view key, std::string_view) {
      const std::string_view sort_key = keys::TimelineSortKey(key);
      if (!after.empty() && sort_key <= after) return true;
      merged.emplace(std::string(sort_key), std::string(keys::TimelineInteractionId(key)));
      return ++taken <= page_size;
    });
    if (!s.ok()) return std::unexpected(s);
  }
  size_t shown = 0;
  std::string last_sort_key;
  for (const auto& [sort_key, interaction_id] : merged) {
    if (shown == page_size) {
      out.set_next_page_token(ToHex(last_sort_key));
      break;
    }
    auto record = GetRecord<pb::InteractionRecord>(view, keys::Interaction(request.tenant(), interaction_id));
    if (!record) return std::unexpected(record.error());
    if (!record->has_value()) continue;
    *out.add_timeline() = std::move(**record);
    last_sort_key = sort_key;
    ++shown;
  }

  std::vector<std::string> callback_ids;
  Status s = view.Scan(keys::OpenCallbacksPrefix(request.tenant(), request.party_id()), "",
                       [&](std::string_view key, std::string_view) {
                         callback_ids.emplace_back(keys::LastPart(key));
                         return true;
                       });
  if (!s.ok()) return std::unexpected(s);
  for (const std::string& id : callback_ids) {
    auto record = GetRecord<pb::CallbackRecord>(view, keys::Callback(request.tenant(), id));
    if (!record) return std::unexpected(record.error());
    if (record->has_value()) *out.add_open_callbacks() = std::move(**record);
  }
  if (Status r = AddReflects(view, out.mutable_reflects()); !r.ok()) return std::unexpected(r);
  return out;
}

Result<pb::LookupPartiesReply> QueryEngine::LookupParties(const ReadView& view, const pb::LookupPartiesRequest& request) const {
  if (Status s = CheckTenant(request.tenant()); !s.ok()) return std::unexpected(s);
  std::string prefix;
  switch (request.by_case()) {
    case pb::LookupPartiesRequest::kIdentifier: {
      const auto& id = request.identifier();
      if (id.kind() == pb::IDENTIFIER_KIND_UNSPECIFIED || !pb::IdentifierKind_IsValid(id.kind()))
        return std::unexpected(InvalidArgument("identifier.kind: is required"));
      if (id.value().empty()) return std::unexpected(InvalidArgument("identifier.value: is required"));
      prefix = keys::LookupPrefix(request.tenant(), keys::IdentifierTag(id.kind()), id.value());
      break;
    }
    case pb::LookupPartiesRequest::kDigitalAddress: {
      const auto& address = request.digital_address();
      auto normalized = domain::NormalizeDigitalAddress(address.kind(), address.value(), "digital_address.value");
      if (!normalized) return std::unexpected(normalized.error());
      prefix = keys::LookupPrefix(request.tenant(), keys::AddressTag(address.kind()), *normalized);
      break;
    }
    case pb::LookupPartiesRequest::BY_NOT_SET:
      return std::unexpected(InvalidArgument("by: give an identifier or a digital_address"));
  }
  pb::LookupPartiesReply out;
  std::vector<std::string> party_ids;
  Status s = view.Scan(prefix, "", [&](std::string_view key, std::string_view) {
    party_ids.emplace_back(keys::LastPart(key));
    return party_ids.size() < 100;
  });
  if (!s.ok()) return std::unexpected(s);
  for (const std::string& id : party_ids) {
    auto party = GetRecord<pb::PartyProfile>(view, keys::Party(request.tenant(), id));
    if (!party) return std::unexpected(party.error());
    if (party->has_value()) *out.add_parties() = std::move(**party);
  }
  if (Status r = AddReflects(view, out.mutable_reflects()); !r.ok()) return std::unexpected(r);
  return out;
}

Result<pb::CallbackQueue> QueryEngine::GetCallbackQueue(const ReadView& view, const pb::GetCallbackQueueRequest& request,
                                                        std::chrono::system_clock::time_point now) const {
  if (Status s = CheckTenant(request.tenant()); !s.ok()) return std::unexpected(s);
  if (request.department().empty() && request.employee_id().empty())
    return std::unexpected(InvalidArgument("department: give a department or an employee_id"));
  if (request.limit() < 0 || request.limit() > kMaxQueueLimit)
    return std::unexpected(InvalidArgument("limit: must be between 0 and {} (got {})", kMaxQueueLimit, request.limit()));
  const size_t limit = request.limit() == 0 ? kDefaultQueueLimit : static_cast<size_t>(request.limit());

  const std::string prefix = request.employee_id().empty()
                                 ? keys::DepartmentQueuePrefix(request.tenant(), request.department())
                                 : keys::EmployeeQueuePrefix(request.tenant(), request.employee_id());
  std::vector<std::string> ids;
  Status s = view.Scan(prefix, "", [&](std::string_view key, std::string_view) {
    ids.emplace_back(keys::LastPart(key));
    return true;
  });
  if (!s.ok()) return std::unexpected(s);
  std::vector<pb::CallbackRecord> open;
  for (const std::string& id : ids) {
    auto record = GetRecord<pb::CallbackRecord>(view, keys::Callback(request.tenant(), id));
    if (!record) return std::unexpected(record.error());
    if (!record->has_value()) continue;
    if (!request.department().empty() && (*record)->target().department() != request.department()) continue;
    open.push_back(std::move(**record));
  }

  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  auto due_ms = [](const pb::CallbackRecord& r) {
    return r.has_due_at() ? TimeUtil::TimestampToMilliseconds(r.due_at()) : INT64_MAX;
  };
  auto overdue = [&](const pb::CallbackRecord& r) { return due_ms(r) < now_ms; };
  // Overdue first, then the most urgent, then the earliest due, then the oldest request.
  std::sort(open.begin(), open.end(), [&](const pb::CallbackRecord& a, const pb::CallbackRecord& b) {
    if (overdue(a) != overdue(b)) return overdue(a);
    if (a.urgency() != b.urgency()) return a.urgency() > b.urgency();
    if (due_ms(a) != due_ms(b)) return due_ms(a) < due_ms(b);
    const int64_t ra = TimeUtil::TimestampToMilliseconds(a.requested_at());
    const int64_t rb = TimeUtil::TimestampToMilliseconds(b.requested_at());
    if (ra != rb) return ra < rb;
    return a.callback_id() < b.callback_id();
  });
  pb::CallbackQueue out;
  out.set_total_open(static_cast<int32_t>(open.size()));
  out.set_overdue(static_cast<int32_t>(std::count_if(open.begin(), open.end(), overdue)));
  for (size_t i = 0; i < open.size() && i < limit; ++i) *out.add_callbacks() = std::move(open[i]);
  if (Status r = AddReflects(view, out.mutable_reflects()); !r.ok()) return std::unexpected(r);
  return out;
}

Result<pb::Progress> QueryEngine::GetProgress(const ReadView& view) const {
  pb::Progress out;
  if (Status r = AddReflects(view, out.mutable_reflects()); !r.ok()) return std::unexpected(r);
  return out;
}

}  // namespace ks::query
