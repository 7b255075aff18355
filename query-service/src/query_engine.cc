#include "ks/query/query_engine.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <tuple>
#include <unordered_map>

#include <google/protobuf/util/time_util.h>

#include "ks/core/key_codec.h"
#include "ks/domain/melding_rules.h"
#include "ks/domain/validation.h"
#include "ks/readmodel/keys.h"
#include "src/engine_helpers.h"

namespace ks::query {
namespace {

namespace keys = readmodel::keys;
using google::protobuf::util::TimeUtil;
using readmodel::ReadView;
using internal::AddReflects;
using internal::CheckTenant;
using internal::GetRecord;
using internal::ReadPage;
using internal::IdsUnder;

constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 500;
// Most duplicates one customer view gathers (merged into the party, or into those).
constexpr size_t kMaxMerged = 64;
constexpr int kDefaultQueueLimit = 100;
constexpr int kMaxQueueLimit = 1000;
// A customer view lists at most kMaxPartyMeldingen of the meldingen a party reported (a frequent
// reporter files hundreds a year), the first in its index's order.
constexpr size_t kMaxPartyMeldingen = 200;
// And at most kMaxOpenCallbacks of its open callback requests: a party seldom has more than a few,
// but an adapter gone wrong can file thousands, and an answer listing them all would outgrow
// gRPC's 4 MB message limit and fail the whole view.
constexpr size_t kMaxOpenCallbacks = 100;


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

int64_t NowMs(std::chrono::system_clock::time_point now) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
}

// The time the party's notification index orders by.
int64_t RequestedMs(const pb::NotificationRecord& n) { return TimeUtil::TimestampToMilliseconds(n.requested_at()); }

// Absent now: marked absent, and the absence has no end or has not ended yet.
bool AbsentAt(const pb::EmployeeRecord& e, int64_t now_ms) {
  return !e.available() && (!e.has_until() || TimeUtil::TimestampToMilliseconds(e.until()) > now_ms);
}

// Which employees are absent now, each read once per answer: a queue of a hundred callbacks or
// meldingen names a handful of employees.
class Absences {
 public:
  explicit Absences(const ReadView& view) : view_(view) {}

  struct Absence {
    bool absent = false;
    std::string replacement_id, replacement_name;
  };
  Result<const Absence*> Of(const std::string& tenant, const std::string& employee_id) {
    static const Absence kPresent;
    if (employee_id.empty()) return &kPresent;
    auto [it, inserted] = known_.try_emplace(tenant + '\0' + employee_id);
    if (inserted) {
      auto employee = GetRecord<pb::EmployeeRecord>(view_, keys::Employee(tenant, employee_id));
      if (!employee) {
        known_.erase(it);
        return std::unexpected(employee.error());
      }
      if (employee->has_value() && AbsentAt(**employee, now_ms_))
        it->second = {true, (*employee)->replacement_employee_id(), (*employee)->replacement_name()};
    }
    return &it->second;
  }

 private:
  const ReadView& view_;
  const int64_t now_ms_ = NowMs(std::chrono::system_clock::now());
  std::unordered_map<std::string, Absence> known_;  // by tenant and employee id
};

// Marks a callback request whose employee is absent, with the replacement.
Status Annotate(Absences& absences, pb::CallbackRecord& record) {
  auto absence = absences.Of(record.tenant(), record.target().employee_id());
  if (!absence) return absence.error();
  record.set_target_absent((*absence)->absent);
  record.set_replacement_employee_id((*absence)->replacement_id);
  record.set_replacement_name((*absence)->replacement_name);
  return Status::Ok();
}

// Marks a melding overdue, and whose employee is absent, with the replacement.
Status Annotate(Absences& absences, pb::MeldingRecord& record, int64_t now_ms) {
  record.set_overdue(domain::MeldingIsOpen(record.status()) && record.has_due_at() &&
                     TimeUtil::TimestampToMilliseconds(record.due_at()) < now_ms);
  auto absence = absences.Of(record.tenant(), record.employee_id());
  if (!absence) return absence.error();
  record.set_employee_absent((*absence)->absent);
  record.set_replacement_employee_id((*absence)->replacement_id);
  record.set_replacement_name((*absence)->replacement_name);
  return Status::Ok();
}

// The employees whose work `employee_id` takes over now.
Result<std::vector<std::string>> Replaced(const ReadView& view, const std::string& tenant, const std::string& employee_id) {
  std::vector<std::string> candidates;
  Status s = view.Scan(keys::ReplacedByPrefix(tenant, employee_id), "", [&](std::string_view key, std::string_view) {
    candidates.emplace_back(keys::LastPart(key));
    return true;
  });
  if (!s.ok()) return std::unexpected(s);
  std::vector<std::string> out;
  const int64_t now_ms = NowMs(std::chrono::system_clock::now());
  for (const auto& id : candidates) {
    auto employee = GetRecord<pb::EmployeeRecord>(view, keys::Employee(tenant, id));
    if (!employee) return std::unexpected(employee.error());
    if (employee->has_value() && AbsentAt(**employee, now_ms)) out.push_back(id);
  }
  return out;
}

std::string DefaultPublicText(pb::MeldingStatus status) {
  switch (status) {
    case pb::MELDING_STATUS_REGISTERED: return "Melding ontvangen.";
    case pb::MELDING_STATUS_AWAITING_HANDLING: return "Melding wacht op behandeling.";
    case pb::MELDING_STATUS_IN_PROGRESS: return "Melding in behandeling.";
    case pb::MELDING_STATUS_SCHEDULED: return "Het werk is ingepland.";
    case pb::MELDING_STATUS_ON_HOLD: return "Melding staat tijdelijk stil.";
    case pb::MELDING_STATUS_RESOLVED: return "Melding afgehandeld.";
    case pb::MELDING_STATUS_REOPEN_REQUESTED: return "Verzoek om heropening ontvangen.";
    case pb::MELDING_STATUS_REOPENED: return "Melding heropend.";
    case pb::MELDING_STATUS_CANCELLED: return "Melding geannuleerd.";
    default: return "";
  }
}

// An entry of a callback queue: the callback and its rank.
struct CallbackQueueEntry {
  keys::QueueRank rank;
  std::string id;
};

// Appends to `out` the first `limit` entries of the callback queue under `prefix` in queue order
// (overdue first, then the most urgent, the earliest due, the oldest request) and returns how many
// are overdue. The keys are ordered by urgency, then due time, so within each urgency the overdue
// entries (due before now) come first: they are read urgency by urgency up to now (all of them,
// to count them), then the others from now on, only as far as the page needs. Each urgency
// present costs a seek.
Result<int64_t> FirstOfCallbackQueue(const ReadView& view, const std::string& prefix, int64_t now_ms, size_t limit,
                                     std::vector<CallbackQueueEntry>& out) {
  size_t taken = 0;
  int64_t overdue = 0;
  const uint64_t now_bound = static_cast<uint64_t>(std::max<int64_t>(now_ms, 0));
  auto pass = [&](bool overdue_part) -> Status {
    int urgency_byte = 0;  // the first byte of the rank: 0xff - urgency
    while (urgency_byte < 256 && (overdue_part || taken < limit)) {
      const int current = urgency_byte;
      urgency_byte = 256;  // unless the scan finds another urgency
      std::string start = prefix;
      start.push_back(static_cast<char>(current));
      codec::PutBigEndian64(start, overdue_part ? 0 : now_bound);
      Status s = view.Scan(prefix, start, [&](std::string_view key, std::string_view) {
        auto rank = keys::QueueRankOf(key, prefix);
        if (!rank) return true;
        const int key_byte = static_cast<unsigned char>(key[prefix.size()]);
        if (key_byte != current) {  // the next urgency present: start it from its own bound
          urgency_byte = key_byte;
          return false;
        }
        if (overdue_part && rank->due_ms >= now_ms) {  // this urgency's overdue ones are done
          urgency_byte = current + 1;
          return false;
        }
        if (taken < limit) {
          out.push_back({*rank, std::string(keys::LastPart(key))});
          ++taken;
        }
        if (overdue_part) ++overdue;
        return overdue_part || taken < limit;
      });
      if (!s.ok()) return s;
    }
    return Status::Ok();
  };
  if (Status s = pass(true); !s.ok()) return std::unexpected(s);
  if (Status s = pass(false); !s.ok()) return std::unexpected(s);
  return overdue;
}

// An entry of a melding index: the melding, its due time (0: none) and whether the index holds
// open meldingen (closed ones are never overdue).
struct MeldingEntry {
  std::string id;
  int64_t due_ms;
  bool open;
};

// The due time in a melding index key under `prefix` (keys::MeldingIndex puts it first).
int64_t MeldingDueOf(std::string_view key, std::string_view prefix) {
  return key.size() >= prefix.size() + 8 ? static_cast<int64_t>(codec::GetBigEndian64(key.data() + prefix.size())) : 0;
}

// Appends to `out` the first `limit` entries of the melding index under `prefix` in list order
// (overdue first, then by due time) and returns how many the list holds in all. The keys are
// ordered by due time, so for open meldingen the overdue ones (due in [1, now)), those without a
// due time (0) and the others (due from now on) are three ranges, each read only as far as the
// page needs; for closed ones the key order is the list order. The total is the counter the
// projector keeps for the prefix, or with `overdue_only` the overdue range, counted.
Result<int64_t> FirstOfMeldingIndex(const ReadView& view, const std::string& prefix, bool open, int64_t now_ms,
                                    size_t limit, bool overdue_only, std::vector<MeldingEntry>& out) {
  size_t taken = 0;
  int64_t counted = 0;
  // Entries with a due time in [from, to) (`to` none: to the prefix's end); counted too when asked.
  auto range = [&](int64_t from, std::optional<int64_t> to, bool count) -> Status {
    if (to && *to <= from) return Status::Ok();
    if (taken >= limit && !count) return Status::Ok();
    std::string start = prefix;
    codec::PutBigEndian64(start, static_cast<uint64_t>(from));
    return view.Scan(prefix, start, [&](std::string_view key, std::string_view) {
      const int64_t due = MeldingDueOf(key, prefix);
      if (to && due >= *to) return false;
      if (taken < limit) {
        out.push_back({std::string(keys::LastPart(key)), due, open});
        ++taken;
      }
      if (count) ++counted;
      return count || taken < limit;
    });
  };
  if (overdue_only) {
    if (!open) return 0;
    if (Status s = range(1, now_ms, /*count=*/true); !s.ok()) return std::unexpected(s);
    return counted;
  }
  Status s = open ? range(1, now_ms, false) : range(0, std::nullopt, false);
  if (s.ok() && open) s = range(0, 1, false);
  if (s.ok() && open) s = range(std::max<int64_t>(now_ms, 1), std::nullopt, false);
  if (!s.ok()) return std::unexpected(s);
  return view.Count(prefix);
}

}  // namespace

// What a lookup tag means, in the words of DuplicateSuggestion.shared.
static std::string SharedName(const std::string& tag) {
  if (tag == keys::kRecognitionTag) return "postcode+house_number+birth_date";
  if (tag == keys::IdentifierTag(pb::IDENTIFIER_KIND_BSN)) return "bsn";
  if (tag == keys::IdentifierTag(pb::IDENTIFIER_KIND_KVK)) return "kvk";
  for (int kind = pb::DIGITAL_ADDRESS_KIND_PHONE; kind <= pb::DIGITAL_ADDRESS_KIND_FACEBOOK; ++kind)
    if (tag == keys::AddressTag(kind)) {
      std::string name = pb::DigitalAddressKind_Name(static_cast<pb::DigitalAddressKind>(kind)).substr(21);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return name;
    }
  return "identifier";
}

Result<std::string> QueryEngine::Digest(const std::string& tenant, int kind, const std::string& value,
                                        bool identifier) const {
  auto index_key = vault_.IndexKey(tenant);
  if (!index_key) return std::unexpected(index_key.error());
  return identifier ? privacy::IdentifierDigest(*index_key, kind, value) : privacy::AddressDigest(*index_key, kind, value);
}

Result<std::optional<ReadView>> QueryEngine::OpenView(const pb::Consistency& consistency) const {
  for (const auto& position : consistency.min_positions())
    if (position.partition() < 0 || position.offset() < 0)
      return std::unexpected(InvalidArgument("consistency.min_positions: partition and offset must be 0 or more"));
  ReadView view = store_.View();
  if (consistency.min_positions_size() == 0) return std::optional<ReadView>(std::move(view));
  auto progress = view.ReadProgress();
  if (!progress) return std::unexpected(progress.error());
  if (!Reflects(*progress, consistency)) return std::optional<ReadView>();
  return std::optional<ReadView>(std::move(view));
}

bool QueryEngine::Reflects(const readmodel::Progress& progress, const pb::Consistency& consistency) {
  for (const auto& position : consistency.min_positions()) {
    // Progress has one entry per partition: a linear search beats building a map per question.
    auto it = std::find_if(progress.begin(), progress.end(),
                           [&](const auto& entry) { return entry.first == position.partition(); });
    if (it == progress.end() || it->second <= position.offset()) return false;
  }
  return true;
}

namespace {

// A list of a party's records whose index keeps them in the order they are listed (each entry's
// place, then its id, after the member's prefix): the first `listed` entries of each of `members`
// (a party and its merged duplicates), merged by place, at most `listed` in all. Only those are
// read and opened. `annotate` adds what the query service fills in (absent employees).
template <typename Record, typename PrefixOf, typename KeyOf, typename Annotate>
Result<google::protobuf::RepeatedPtrField<Record>> ListInIndexOrder(const ReadView& view,
                                                                    const std::vector<std::string>& members,
                                                                    PrefixOf&& prefix_of, KeyOf&& key_of_id,
                                                                    size_t listed, Annotate&& annotate,
                                                                    privacy::KeyRing& key_ring) {
  std::vector<std::pair<std::string, std::string>> entries;  // place and id, id
  for (const std::string& member : members) {
    const std::string prefix = prefix_of(member);
    size_t taken = 0;
    Status s = view.Scan(prefix, "", [&](std::string_view key, std::string_view) {
      entries.emplace_back(std::string(key.substr(prefix.size())), std::string(readmodel::keys::LastPart(key)));
      return ++taken < listed;
    });
    if (!s.ok()) return std::unexpected(s);
  }
  if (members.size() > 1) {  // each member's entries are in order already
    std::sort(entries.begin(), entries.end());
    if (entries.size() > listed) entries.resize(listed);
  }
  google::protobuf::RepeatedPtrField<Record> out;
  auto read = ReadPage<Record>(
      view, entries.size(), entries.size(), [&](size_t i) { return key_of_id(entries[i].second); },
      [&](size_t, Record&& record) {
        if (Status a = annotate(record); !a.ok()) return a;
        *out.Add() = std::move(record);
        return Status::Ok();
      },
      &key_ring);
  if (!read) return std::unexpected(read.error());
  return out;
}

// The meldingen that `members` reported as a customer view lists them: the open ones first, then
// the newest registered.
Result<google::protobuf::RepeatedPtrField<pb::MeldingRecord>> PartyMeldingen(
    const ReadView& view, const std::string& tenant, const std::vector<std::string>& members, Absences& absences,
    int64_t now_ms, privacy::KeyRing& key_ring) {
  return ListInIndexOrder<pb::MeldingRecord>(
      view, members, [&](const std::string& member) { return keys::PartyMeldingenPrefix(tenant, member); },
      [&](const std::string& id) { return keys::Melding(tenant, id); }, kMaxPartyMeldingen,
      [&](pb::MeldingRecord& record) { return Annotate(absences, record, now_ms); }, key_ring);
}

// The open callback requests of `members`, soonest due first (those without a due time last, as
// the callback queue ranks them).
Result<google::protobuf::RepeatedPtrField<pb::CallbackRecord>> PartyOpenCallbacks(
    const ReadView& view, const std::string& tenant, const std::vector<std::string>& members, Absences& absences,
    privacy::KeyRing& key_ring) {
  return ListInIndexOrder<pb::CallbackRecord>(
      view, members, [&](const std::string& member) { return keys::OpenCallbacksPrefix(tenant, member); },
      [&](const std::string& id) { return keys::Callback(tenant, id); }, kMaxOpenCallbacks,
      [&](pb::CallbackRecord& record) { return Annotate(absences, record); }, key_ring);
}

}  // namespace

Result<pb::CustomerView> QueryEngine::GetCustomerView(const ReadView& view, const pb::GetCustomerViewRequest& request) const {
  privacy::KeyRing key_ring(&vault_);
  Absences absences(view);
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

  auto party = GetRecord<pb::PartyProfile>(view, keys::Party(request.tenant(), request.party_id()), &key_ring);
  if (!party) return std::unexpected(party.error());
  if (!party->has_value())
    return std::unexpected(NotFound("party_id: no party '{}' in tenant {}", request.party_id(), request.tenant()));
  // A merged duplicate reads as the party it was merged into.
  for (int hop = 0; hop < 8 && !(**party).merged_into().empty(); ++hop) {
    auto target = GetRecord<pb::PartyProfile>(view, keys::Party(request.tenant(), (**party).merged_into()), &key_ring);
    if (!target) return std::unexpected(target.error());
    if (!target->has_value()) break;
    party = std::move(target);
  }

  pb::CustomerView out;
  *out.mutable_party() = std::move(**party);
  // The party and the duplicates merged into it (and into those): one history.
  std::vector<std::string> members = {out.party().party_id()};
  for (size_t i = 0; i < members.size() && members.size() < kMaxMerged; ++i) {
    Status scanned;
    for (const std::string& id : IdsUnder(view, keys::MergedIntoPrefix(request.tenant(), members[i]), kMaxMerged, &scanned)) {
      auto duplicate = GetRecord<pb::PartyProfile>(view, keys::Party(request.tenant(), id), &key_ring);
      if (!duplicate) return std::unexpected(duplicate.error());
      if (!duplicate->has_value()) continue;
      *out.add_merged_from() = std::move(**duplicate);
      members.push_back(id);
    }
    if (!scanned.ok()) return std::unexpected(scanned);
  }

  // The timeline merges the party's own entries with those of each of its digital addresses
  // (contacts from a handle before the citizen was known), and those of its merged duplicates.
  // Each source is sorted newest first; take up to page_size + 1 from each after the token,
  // merge, and drop duplicates.
  std::vector<std::string> prefixes;
  for (const std::string& member : members) prefixes.push_back(keys::PartyTimelinePrefix(request.tenant(), member));
  std::vector<const pb::PartyProfile*> profiles = {&out.party()};
  for (const auto& duplicate : out.merged_from()) profiles.push_back(&duplicate);
  for (const pb::PartyProfile* profile : profiles)
    for (const auto& address : profile->digital_addresses()) {
      auto digest = Digest(request.tenant(), address.kind(), address.value(), /*identifier=*/false);
      if (!digest) return std::unexpected(digest.error());
      prefixes.push_back(keys::AddressTimelinePrefix(request.tenant(), *digest));
    }
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
  std::vector<std::pair<const std::string*, const std::string*>> entries;  // sort key, interaction id
  for (const auto& [sort_key, interaction_id] : merged) entries.emplace_back(&sort_key, &interaction_id);
  std::string last_sort_key;
  auto read = ReadPage<pb::InteractionRecord>(
      view, entries.size(), page_size,
      [&](size_t i) { return keys::Interaction(request.tenant(), *entries[i].second); },
      [&](size_t i, pb::InteractionRecord&& record) {
        *out.add_timeline() = std::move(record);
        last_sort_key = *entries[i].first;
        return Status::Ok();
      },
      &key_ring);
  if (!read) return std::unexpected(read.error());
  if (*read < entries.size()) out.set_next_page_token(ToHex(last_sort_key));
  internal::OrderByTimeThenArrival(out.mutable_timeline(), internal::OccurredMs, /*newest_first=*/true);

  // The party's open callbacks and meldingen, each list's records read in batches.
  auto callbacks = PartyOpenCallbacks(view, request.tenant(), members, absences, key_ring);
  if (!callbacks) return std::unexpected(callbacks.error());
  *out.mutable_open_callbacks() = std::move(*callbacks);
  Status s;
  const int64_t now_ms = NowMs(std::chrono::system_clock::now());
  auto meldingen = PartyMeldingen(view, request.tenant(), members, absences, now_ms, key_ring);
  if (!meldingen) return std::unexpected(meldingen.error());
  *out.mutable_meldingen() = std::move(*meldingen);
  for (const std::string& member : members) {
    const std::vector<std::string> ids = IdsUnder(view, keys::PartyNotificationsPrefix(request.tenant(), member), 50, &s);
    if (!s.ok()) return std::unexpected(s);
    auto notifications = ReadPage<pb::NotificationRecord>(
        view, ids.size(), ids.size(), [&](size_t i) { return keys::Notification(request.tenant(), ids[i]); },
        [&](size_t, pb::NotificationRecord&& record) {
          *out.add_notifications() = std::move(record);
          return Status::Ok();
        },
        &key_ring);
    if (!notifications) return std::unexpected(notifications.error());
  }
  // Newest first (across the merged parties too), at most 50.
  internal::OrderByTimeThenArrival(out.mutable_notifications(), RequestedMs, /*newest_first=*/true);
  while (out.notifications_size() > 50) out.mutable_notifications()->RemoveLast();
  if (Status e = internal::AddEngagements(view, request.tenant(), members, key_ring, now_ms, out); !e.ok())
    return std::unexpected(e);
  if (Status r = AddReflects(view, out.mutable_reflects()); !r.ok()) return std::unexpected(r);
  return out;
}

Result<pb::LookupPartiesReply> QueryEngine::LookupParties(const ReadView& view, const pb::LookupPartiesRequest& request) const {
  privacy::KeyRing key_ring(&vault_);
  if (Status s = CheckTenant(request.tenant()); !s.ok()) return std::unexpected(s);
  std::string prefix;
  pb::MatchCertainty certainty = pb::MATCH_CERTAINTY_UNSPECIFIED;
  switch (request.by_case()) {
    case pb::LookupPartiesRequest::kIdentifier: {
      const auto& id = request.identifier();
      if (id.kind() == pb::IDENTIFIER_KIND_UNSPECIFIED || !pb::IdentifierKind_IsValid(id.kind()))
        return std::unexpected(InvalidArgument("identifier.kind: is required"));
      if (id.value().empty()) return std::unexpected(InvalidArgument("identifier.value: is required"));
      auto digest = Digest(request.tenant(), id.kind(), id.value(), /*identifier=*/true);
      if (!digest) return std::unexpected(digest.error());
      prefix = keys::LookupPrefix(request.tenant(), keys::IdentifierTag(id.kind()), *digest);
      certainty = pb::MATCH_CERTAINTY_IDENTIFIER;
      break;
    }
    case pb::LookupPartiesRequest::kRecognition: {
      const auto& r = request.recognition();
      const std::string postcode = domain::NormalizePostcode(r.postcode());
      if (!domain::IsValidPostcode(postcode))
        return std::unexpected(InvalidArgument("recognition.postcode: must be four digits and two letters (got '{}')",
                                               r.postcode().substr(0, 20)));
      pb::PostalAddress address;
      address.set_postcode(postcode);
      address.set_house_number(r.house_number());
      const pb::PostalAddress normalized = domain::NormalizedResidence(address);
      if (normalized.house_number().empty()) return std::unexpected(InvalidArgument("recognition.house_number: is required"));
      if (!domain::IsValidDate(r.birth_date()))
        return std::unexpected(InvalidArgument("recognition.birth_date: must be a date YYYY-MM-DD (got '{}')",
                                               r.birth_date().substr(0, 20)));
      auto index_key = vault_.IndexKey(request.tenant());
      if (!index_key) return std::unexpected(index_key.error());
      prefix = keys::LookupPrefix(request.tenant(), keys::kRecognitionTag,
                                  privacy::RecognitionDigest(*index_key, normalized.postcode(),
                                                             normalized.house_number(), r.birth_date()));
      certainty = pb::MATCH_CERTAINTY_PROBABLE;
      break;
    }
    case pb::LookupPartiesRequest::kDigitalAddress: {
      const auto& address = request.digital_address();
      auto normalized = domain::NormalizeDigitalAddress(address.kind(), address.value(), "digital_address.value");
      if (!normalized) return std::unexpected(normalized.error());
      auto digest = Digest(request.tenant(), address.kind(), *normalized, /*identifier=*/false);
      if (!digest) return std::unexpected(digest.error());
      prefix = keys::LookupPrefix(request.tenant(), keys::AddressTag(address.kind()), *digest);
      // A phone or an e-mail address can be someone else's.
      certainty = pb::MATCH_CERTAINTY_UNVERIFIED;
      break;
    }
    case pb::LookupPartiesRequest::BY_NOT_SET:
      return std::unexpected(InvalidArgument("by: give an identifier or a digital_address"));
  }
  pb::LookupPartiesReply out;
  out.set_certainty(certainty);
  std::vector<std::string> party_ids;
  Status s = view.Scan(prefix, "", [&](std::string_view key, std::string_view) {
    party_ids.emplace_back(keys::LastPart(key));
    return party_ids.size() < 100;
  });
  if (!s.ok()) return std::unexpected(s);
  std::set<std::string> shown;
  for (const std::string& id : party_ids) {
    auto party = GetRecord<pb::PartyProfile>(view, keys::Party(request.tenant(), id), &key_ring);
    if (!party) return std::unexpected(party.error());
    // A merged duplicate is found as the party it was merged into, once.
    for (int hop = 0; hop < 8 && party->has_value() && !(**party).merged_into().empty(); ++hop)
      party = GetRecord<pb::PartyProfile>(view, keys::Party(request.tenant(), (**party).merged_into()), &key_ring);
    if (!party) return std::unexpected(party.error());
    if (party->has_value() && shown.insert((**party).party_id()).second) *out.add_parties() = std::move(**party);
  }
  if (Status r = AddReflects(view, out.mutable_reflects()); !r.ok()) return std::unexpected(r);
  return out;
}

Result<pb::AuditTrail> QueryEngine::GetAuditTrail(const ReadView& view, const pb::GetAuditTrailRequest& request,
                                                  const AuditLog* reads) const {
  if (Status s = CheckTenant(request.tenant()); !s.ok()) return std::unexpected(s);
  if (request.party_id().empty()) return std::unexpected(InvalidArgument("party_id: is required"));
  if (request.limit() < 0 || request.limit() > kMaxQueueLimit)
    return std::unexpected(InvalidArgument("limit: must be between 0 and {} (got {})", kMaxQueueLimit, request.limit()));
  const size_t limit = request.limit() == 0 ? kDefaultQueueLimit : static_cast<size_t>(request.limit());
  const int64_t from_ms = request.has_from() ? TimeUtil::TimestampToMilliseconds(request.from()) : INT64_MIN;
  const int64_t to_ms = request.has_to() ? TimeUtil::TimestampToMilliseconds(request.to()) : INT64_MAX;
  if (request.has_from() && request.has_to() && to_ms <= from_ms)
    return std::unexpected(InvalidArgument("to: must be after from"));
  auto party = GetRecord<pb::PartyProfile>(view, keys::Party(request.tenant(), request.party_id()));
  if (!party) return std::unexpected(party.error());
  if (!party->has_value())
    return std::unexpected(NotFound("party_id: no party '{}' in tenant {}", request.party_id(), request.tenant()));
  std::vector<pb::AuditEntry> entries;
  auto keep = [&](const pb::AuditEntry& e) {
    entries.push_back(e);
    // Stored under the tenant and the party (the projector leaves them out of the value).
    entries.back().set_tenant(request.tenant());
    entries.back().set_party_id(request.party_id());
    return entries.size() < 2 * limit;
  };
  Status s = view.Scan(keys::AuditPrefix(request.tenant(), request.party_id()), "", [&](std::string_view, std::string_view value) {
    pb::AuditEntry e;
    if (!e.ParseFromArray(value.data(), static_cast<int>(value.size()))) return true;
    const int64_t at = TimeUtil::TimestampToMilliseconds(e.at());
    if (at >= to_ms) return true;
    if (at < from_ms) return false;
    return keep(e);
  });
  if (!s.ok()) return std::unexpected(s);
  if (reads != nullptr)
    if (Status r = reads->Reads(request.tenant(), request.party_id(), from_ms, to_ms, keep); !r.ok()) return std::unexpected(r);
  std::stable_sort(entries.begin(), entries.end(), [](const pb::AuditEntry& a, const pb::AuditEntry& b) {
    return TimeUtil::TimestampToMicroseconds(a.at()) > TimeUtil::TimestampToMicroseconds(b.at());
  });
  pb::AuditTrail out;
  for (size_t i = 0; i < entries.size() && i < limit; ++i) *out.add_entries() = std::move(entries[i]);
  if (Status r = AddReflects(view, out.mutable_reflects()); !r.ok()) return std::unexpected(r);
  return out;
}

Result<pb::DuplicateSuggestions> QueryEngine::SuggestDuplicates(const ReadView& view,
                                                                const pb::SuggestDuplicatesRequest& request) const {
  if (Status s = CheckTenant(request.tenant()); !s.ok()) return std::unexpected(s);
  if (request.party_id().empty()) return std::unexpected(InvalidArgument("party_id: is required"));
  privacy::KeyRing key_ring(&vault_);
  auto party = GetRecord<pb::PartyProfile>(view, keys::Party(request.tenant(), request.party_id()), &key_ring);
  if (!party) return std::unexpected(party.error());
  if (!party->has_value())
    return std::unexpected(NotFound("party_id: no party '{}' in tenant {}", request.party_id(), request.tenant()));
  // Every party under one of this party's lookup digests shares that identifier or address.
  std::map<std::string, std::vector<std::string>> shared;  // party id -> what it shares
  for (const std::string& tagged : (**party).lookup_digests()) {
    const size_t colon = tagged.find(':');
    if (colon == std::string::npos) continue;
    const std::string tag = tagged.substr(0, colon);
    Status s = view.Scan(keys::LookupPrefix(request.tenant(), tag, tagged.substr(colon + 1)), "",
                         [&](std::string_view key, std::string_view) {
                           const std::string other(keys::LastPart(key));
                           if (other != request.party_id()) shared[other].push_back(SharedName(tag));
                           return shared.size() < 100;
                         });
    if (!s.ok()) return std::unexpected(s);
  }
  pb::DuplicateSuggestions out;
  for (auto& [id, what] : shared) {
    auto other = GetRecord<pb::PartyProfile>(view, keys::Party(request.tenant(), id), &key_ring);
    if (!other) return std::unexpected(other.error());
    if (!other->has_value() || !(**other).merged_into().empty() || (**other).erased()) continue;
    pb::DuplicateSuggestion* suggestion = out.add_suggestions();
    *suggestion->mutable_party() = std::move(**other);
    for (const std::string& w : what) suggestion->add_shared(w);
  }
  // Most in common first.
  std::stable_sort(out.mutable_suggestions()->begin(), out.mutable_suggestions()->end(),
                   [](const auto& a, const auto& b) { return a.shared_size() > b.shared_size(); });
  if (Status r = AddReflects(view, out.mutable_reflects()); !r.ok()) return std::unexpected(r);
  return out;
}

Result<pb::CallbackQueue> QueryEngine::GetCallbackQueue(const ReadView& view, const pb::GetCallbackQueueRequest& request,
                                                        std::chrono::system_clock::time_point now) const {
  privacy::KeyRing key_ring(&vault_);
  Absences absences(view);
  if (Status s = CheckTenant(request.tenant()); !s.ok()) return std::unexpected(s);
  if (request.department().empty() && request.employee_id().empty())
    return std::unexpected(InvalidArgument("department: give a department or an employee_id"));
  if (request.limit() < 0 || request.limit() > kMaxQueueLimit)
    return std::unexpected(InvalidArgument("limit: must be between 0 and {} (got {})", kMaxQueueLimit, request.limit()));
  const size_t limit = request.limit() == 0 ? kDefaultQueueLimit : static_cast<size_t>(request.limit());

  // An employee's queue holds their own callbacks and those of colleagues they replace.
  std::vector<std::string> prefixes;
  if (request.employee_id().empty()) {
    prefixes.push_back(keys::DepartmentQueuePrefix(request.tenant(), request.department()));
  } else {
    prefixes.push_back(keys::EmployeeQueuePrefix(request.tenant(), request.employee_id()));
    auto replaced = Replaced(view, request.tenant(), request.employee_id());
    if (!replaced) return std::unexpected(replaced.error());
    for (const auto& other : *replaced) prefixes.push_back(keys::EmployeeQueuePrefix(request.tenant(), other));
  }
  // The queue's order and counts come from its index keys, which carry each callback's rank, and
  // the projector's counters; only the records shown are read (a department's first 100 of
  // hundreds). An employee's queue within a department is the exception (below).
  using Entry = CallbackQueueEntry;
  const bool read_all = !request.employee_id().empty() && !request.department().empty();
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::vector<Entry> entries;  // every entry (read_all), or each prefix's first `limit`
  int64_t total_open = 0;
  int64_t overdue_count = 0;
  for (const auto& prefix : prefixes) {
    if (read_all) {
      Status s = view.Scan(prefix, "", [&](std::string_view key, std::string_view) {
        if (auto rank = keys::QueueRankOf(key, prefix)) entries.push_back({*rank, std::string(keys::LastPart(key))});
        return true;
      });
      if (!s.ok()) return std::unexpected(s);
      continue;
    }
    auto overdue_here = FirstOfCallbackQueue(view, prefix, now_ms, limit, entries);
    if (!overdue_here) return std::unexpected(overdue_here.error());
    auto count = view.Count(prefix);
    if (!count) return std::unexpected(count.error());
    overdue_count += *overdue_here;
    total_open += *count;
  }
  // An employee's queue within a department: the employee's keys do not say the department, the
  // records do (read them all, as the totals must count only that department's).
  auto key_of = [&](const Entry& entry) { return keys::Callback(request.tenant(), entry.id); };
  std::unordered_map<std::string, pb::CallbackRecord> read;
  auto overdue = [&](const Entry& e) { return e.rank.due_ms < now_ms; };
  if (read_all) {
    std::vector<Entry> in_department;
    auto all = ReadPage<pb::CallbackRecord>(
        view, entries.size(), entries.size(), [&](size_t i) { return key_of(entries[i]); },
        [&](size_t i, pb::CallbackRecord&& record) {
          if (record.target().department() == request.department()) {
            read.emplace(entries[i].id, std::move(record));
            in_department.push_back(std::move(entries[i]));
          }
          return Status::Ok();
        },
        &key_ring);
    if (!all) return std::unexpected(all.error());
    entries = std::move(in_department);
    total_open = static_cast<int64_t>(entries.size());
    overdue_count = std::count_if(entries.begin(), entries.end(), overdue);
  }
  // Overdue first, then the most urgent, then the earliest due, then the oldest request.
  std::vector<uint32_t> order(entries.size());
  std::iota(order.begin(), order.end(), 0U);
  std::sort(order.begin(), order.end(), [&](uint32_t x, uint32_t y) {
    const Entry& a = entries[x];
    const Entry& b = entries[y];
    if (overdue(a) != overdue(b)) return overdue(a);
    return std::tie(b.rank.urgency, a.rank.due_ms, a.rank.requested_ms, a.id) <
           std::tie(a.rank.urgency, b.rank.due_ms, b.rank.requested_ms, b.id);
  });
  pb::CallbackQueue out;
  out.set_total_open(static_cast<int32_t>(total_open));
  out.set_overdue(static_cast<int32_t>(overdue_count));
  auto show = [&](pb::CallbackRecord&& record) {
    if (Status a = Annotate(absences, record); !a.ok()) return a;
    *out.add_callbacks() = std::move(record);
    return Status::Ok();
  };
  if (read_all) {
    for (size_t i = 0; i < order.size() && static_cast<size_t>(out.callbacks_size()) < limit; ++i)
      if (Status s = show(std::move(read.at(entries[order[i]].id))); !s.ok()) return std::unexpected(s);
  } else {
    auto page = ReadPage<pb::CallbackRecord>(
        view, order.size(), limit, [&](size_t i) { return key_of(entries[order[i]]); },
        [&](size_t, pb::CallbackRecord&& record) { return show(std::move(record)); }, &key_ring);
    if (!page) return std::unexpected(page.error());
  }
  if (Status r = AddReflects(view, out.mutable_reflects()); !r.ok()) return std::unexpected(r);
  return out;
}

Result<pb::MeldingList> QueryEngine::ListMeldingen(const ReadView& view, const pb::ListMeldingenRequest& request,
                                                   std::chrono::system_clock::time_point now) const {
  privacy::KeyRing key_ring(&vault_);
  Absences absences(view);
  if (Status s = CheckTenant(request.tenant()); !s.ok()) return std::unexpected(s);
  if (request.limit() < 0 || request.limit() > kMaxQueueLimit)
    return std::unexpected(InvalidArgument("limit: must be between 0 and {} (got {})", kMaxQueueLimit, request.limit()));
  for (int i = 0; i < request.statuses_size(); ++i)
    if (!pb::MeldingStatus_IsValid(request.statuses(i)) || request.statuses(i) == pb::MELDING_STATUS_UNSPECIFIED)
      return std::unexpected(InvalidArgument("statuses[{}]: unknown status {}", i, static_cast<int>(request.statuses(i))));
  if (!request.house_number().empty() && request.postcode().empty())
    return std::unexpected(InvalidArgument("house_number: give it with a postcode"));
  const size_t limit = request.limit() == 0 ? kDefaultQueueLimit : static_cast<size_t>(request.limit());
  const std::string& t = request.tenant();
  const std::string postcode = domain::NormalizePostcode(request.postcode());

  // Scan the most selective index the request allows; the other criteria filter the records.
  // The dimension indexes hold open meldingen only, the status index every one.
  std::vector<std::string> prefixes;
  std::vector<std::string> employees;  // the employee asked for and those they replace
  if (!request.employee_id().empty()) {
    employees.push_back(request.employee_id());
    auto replaced = Replaced(view, t, request.employee_id());
    if (!replaced) return std::unexpected(replaced.error());
    employees.insert(employees.end(), replaced->begin(), replaced->end());
  }
  const bool closed_asked = std::any_of(request.statuses().begin(), request.statuses().end(),
                                        [](int s) { return !domain::MeldingIsOpen(static_cast<pb::MeldingStatus>(s)); });
  const bool no_statuses = request.statuses_size() == 0;
  // Whether the index scanned answers every criterion of the request by itself.
  bool index_decides = false;
  if (closed_asked) {
    for (int status : request.statuses()) prefixes.push_back(keys::MeldingIndexPrefix(t, "status", std::to_string(status)));
    index_decides = employees.empty() && postcode.empty() && request.neighbourhood().empty() &&
                    request.department().empty() && request.category().empty();
  } else if (!employees.empty()) {
    for (const auto& employee : employees) prefixes.push_back(keys::MeldingIndexPrefix(t, "emp", employee));
    index_decides = no_statuses && postcode.empty() && request.neighbourhood().empty() &&
                    request.department().empty() && request.category().empty();
  } else if (!postcode.empty()) {
    prefixes.push_back(request.house_number().empty()
                           ? keys::MeldingIndexPrefix(t, "pc", postcode)
                           : keys::MeldingIndexPrefix(t, "addr", postcode + " " + request.house_number()));
    index_decides = no_statuses && request.neighbourhood().empty() && request.department().empty() &&
                    request.category().empty();
  } else if (!request.neighbourhood().empty()) {
    prefixes.push_back(keys::MeldingIndexPrefix(t, "wijk", request.neighbourhood()));
    index_decides = no_statuses && request.department().empty() && request.category().empty();
  } else if (!request.department().empty()) {
    prefixes.push_back(keys::MeldingIndexPrefix(t, "dept", request.department()));
    index_decides = no_statuses && request.category().empty();
  } else if (!request.category().empty()) {
    prefixes.push_back(keys::MeldingIndexPrefix(t, "category", request.category()));
    index_decides = no_statuses;
  } else {
    prefixes.push_back(keys::MeldingIndexPrefix(t, "open", ""));
    index_decides = no_statuses;
  }

  const int64_t now_ms = NowMs(now);
  // Overdue first (open and past due; as Annotate says), then by due time.
  auto before = [](bool a_overdue, int64_t a_due, bool b_overdue, int64_t b_due) {
    if (a_overdue != b_overdue) return a_overdue;
    return a_due < b_due;
  };
  auto overdue = [&](const MeldingEntry& e) { return e.open && e.due_ms != 0 && e.due_ms < now_ms; };
  // Whether prefix p holds open meldingen: every one does unless statuses were asked (one prefix
  // per status, in their order).
  auto holds_open = [&](size_t p) {
    return !closed_asked || domain::MeldingIsOpen(static_cast<pb::MeldingStatus>(request.statuses(static_cast<int>(p))));
  };
  pb::MeldingList out;
  if (index_decides) {
    // The page and the total follow from the index alone: each prefix's first `limit` entries in
    // list order (a few range reads) and its counter, and only the page's records are read (a
    // dashboard's first 50 of thousands of open meldingen).
    std::vector<MeldingEntry> candidates;
    int64_t total = 0;
    for (size_t p = 0; p < prefixes.size(); ++p) {
      const bool open = holds_open(p);
      auto counted = FirstOfMeldingIndex(view, prefixes[p], open, now_ms, limit, request.overdue_only(), candidates);
      if (!counted) return std::unexpected(counted.error());
      total += *counted;
    }
    // Several prefixes (statuses, or an employee and those they replace): their firsts merged.
    // Stable: ties keep the prefixes' order, and within one its key order.
    std::stable_sort(candidates.begin(), candidates.end(), [&](const MeldingEntry& x, const MeldingEntry& y) {
      return before(overdue(x), x.due_ms, overdue(y), y.due_ms);
    });
    out.set_total(static_cast<int32_t>(total));
    auto page = ReadPage<pb::MeldingRecord>(
        view, candidates.size(), limit, [&](size_t i) { return keys::Melding(t, candidates[i].id); },
        [&](size_t, pb::MeldingRecord&& record) {
          if (Status a = Annotate(absences, record, now_ms); !a.ok()) return a;
          *out.add_meldingen() = std::move(record);
          return Status::Ok();
        },
        &key_ring);
    if (!page) return std::unexpected(page.error());
    if (Status r = AddReflects(view, out.mutable_reflects()); !r.ok()) return std::unexpected(r);
    return out;
  }

  // The index entries, in index order (due time, then id); the due time is part of the key.
  std::vector<MeldingEntry> entries;
  for (size_t p = 0; p < prefixes.size(); ++p) {
    const std::string& prefix = prefixes[p];
    const bool open = holds_open(p);
    size_t taken = 0;
    Status s = view.Scan(prefix, "", [&](std::string_view key, std::string_view) {
      entries.push_back({std::string(keys::LastPart(key)), MeldingDueOf(key, prefix), open});
      return ++taken < 100'000;
    });
    if (!s.ok()) return std::unexpected(s);
  }

  // Every entry's record is read (in batches), as the criteria the index does not decide filter them.
  std::vector<pb::MeldingRecord> found;
  auto all = ReadPage<pb::MeldingRecord>(
      view, entries.size(), entries.size(), [&](size_t i) { return keys::Melding(t, entries[i].id); },
      [&](size_t, pb::MeldingRecord&& m) {
        const bool status_ok = no_statuses ? domain::MeldingIsOpen(m.status())
                                           : std::find(request.statuses().begin(), request.statuses().end(),
                                                       m.status()) != request.statuses().end();
        if (!status_ok) return Status::Ok();
        if (!request.category().empty() && m.category() != request.category()) return Status::Ok();
        if (!request.neighbourhood().empty() && m.location().neighbourhood() != request.neighbourhood()) return Status::Ok();
        if (!postcode.empty() && m.location().postcode() != postcode) return Status::Ok();
        if (!request.house_number().empty() && m.location().house_number() != request.house_number()) return Status::Ok();
        if (!request.department().empty() && m.department() != request.department()) return Status::Ok();
        if (!employees.empty() && std::find(employees.begin(), employees.end(), m.employee_id()) == employees.end())
          return Status::Ok();
        if (Status a = Annotate(absences, m, now_ms); !a.ok()) return a;
        if (request.overdue_only() && !m.overdue()) return Status::Ok();
        found.push_back(std::move(m));
        return Status::Ok();
      },
      &key_ring);
  if (!all) return std::unexpected(all.error());
  auto due_of = [](const pb::MeldingRecord& m) {
    return m.has_due_at() ? TimeUtil::TimestampToMilliseconds(m.due_at()) : 0;
  };
  std::stable_sort(found.begin(), found.end(), [&](const pb::MeldingRecord& a, const pb::MeldingRecord& b) {
    return before(a.overdue(), due_of(a), b.overdue(), due_of(b));
  });
  out.set_total(static_cast<int32_t>(found.size()));
  for (size_t i = 0; i < found.size() && i < limit; ++i) *out.add_meldingen() = std::move(found[i]);
  if (Status r = AddReflects(view, out.mutable_reflects()); !r.ok()) return std::unexpected(r);
  return out;
}

Result<pb::MeldingDetail> QueryEngine::GetMelding(const ReadView& view, const pb::GetMeldingRequest& request,
                                                  std::chrono::system_clock::time_point now) const {
  privacy::KeyRing key_ring(&vault_);
  Absences absences(view);
  if (Status s = CheckTenant(request.tenant()); !s.ok()) return std::unexpected(s);
  const std::string& t = request.tenant();
  std::string id = request.melding_id();
  if (id.empty()) {
    if (request.number().empty()) return std::unexpected(InvalidArgument("melding_id: give a melding_id or a number"));
    Status s;
    auto ids = IdsUnder(view, keys::MeldingNumberPrefix(t, request.number()), 1, &s);
    if (!s.ok()) return std::unexpected(s);
    if (ids.empty()) return std::unexpected(NotFound("number: no melding {} in tenant {}", request.number(), t));
    id = ids.front();
  }
  auto melding = GetRecord<pb::MeldingRecord>(view, keys::Melding(t, id), &key_ring);
  if (!melding) return std::unexpected(melding.error());
  if (!melding->has_value()) return std::unexpected(NotFound("melding_id: no melding '{}' in tenant {}", id, t));
  const int64_t now_ms = NowMs(now);
  pb::MeldingDetail out;
  *out.mutable_melding() = std::move(**melding);
  if (Status a = Annotate(absences, *out.mutable_melding(), now_ms); !a.ok()) return std::unexpected(a);
  std::vector<std::string> contact_ids;
  if (!out.melding().origin_interaction_id().empty()) contact_ids.push_back(out.melding().origin_interaction_id());
  contact_ids.insert(contact_ids.end(), out.melding().contact_interaction_ids().begin(),
                     out.melding().contact_interaction_ids().end());
  if (Status c = internal::AppendRecords(
          view, contact_ids.size(), [&](size_t i) { return keys::Interaction(t, contact_ids[i]); }, key_ring,
          out.mutable_contacts());
      !c.ok())
    return std::unexpected(c);
  for (const auto& link : out.melding().links()) {
    auto record = GetRecord<pb::MeldingRecord>(view, keys::Melding(t, link.melding_id()), &key_ring);
    if (!record) return std::unexpected(record.error());
    if (!record->has_value()) continue;
    if (Status a = Annotate(absences, **record, now_ms); !a.ok()) return std::unexpected(a);
    *out.add_linked() = std::move(**record);
  }
  // Its notifications in the order they were requested (and arrived).
  auto notifications = internal::SubjectNotifications(view, t, id, RequestedMs, key_ring);
  if (!notifications) return std::unexpected(notifications.error());
  *out.mutable_notifications() = std::move(*notifications);
  if (Status r = AddReflects(view, out.mutable_reflects()); !r.ok()) return std::unexpected(r);
  return out;
}

Result<pb::PublicMeldingStatus> QueryEngine::GetPublicMeldingStatus(const ReadView& view,
                                                                    const pb::GetPublicMeldingStatusRequest& request) const {
  if (Status s = CheckTenant(request.tenant()); !s.ok()) return std::unexpected(s);
  if (request.number().empty()) return std::unexpected(InvalidArgument("number: is required"));
  pb::GetMeldingRequest by_number;
  by_number.set_tenant(request.tenant());
  by_number.set_number(request.number());
  Status s;
  auto ids = IdsUnder(view, keys::MeldingNumberPrefix(request.tenant(), request.number()), 1, &s);
  if (!s.ok()) return std::unexpected(s);
  if (ids.empty()) return std::unexpected(NotFound("number: no melding {}", request.number()));
  auto melding = GetRecord<pb::MeldingRecord>(view, keys::Melding(request.tenant(), ids.front()));
  if (!melding) return std::unexpected(melding.error());
  if (!melding->has_value()) return std::unexpected(NotFound("number: no melding {}", request.number()));
  const pb::MeldingRecord& m = **melding;
  // Only what the public may see: no names, no internal reasons, no reporter.
  pb::PublicMeldingStatus out;
  out.set_number(m.number());
  auto category = GetRecord<pb::MeldingCategoryRecord>(view, keys::Category(request.tenant(), m.category()));
  if (!category) return std::unexpected(category.error());
  out.set_category_name(category->has_value() ? (*category)->name() : m.category());
  out.set_status(m.status());
  *out.mutable_registered_at() = m.registered_at();
  out.set_street(m.location().street());
  out.set_neighbourhood(m.location().neighbourhood());
  auto* first = out.add_updates();
  *first->mutable_at() = m.registered_at();
  first->set_status(pb::MELDING_STATUS_REGISTERED);
  first->set_message(DefaultPublicText(pb::MELDING_STATUS_REGISTERED));
  for (const auto& change : m.history()) {
    auto* update = out.add_updates();
    *update->mutable_at() = change.at();
    update->set_status(change.to());
    update->set_message(change.public_message().empty() ? DefaultPublicText(change.to()) : change.public_message());
    // Photos and planned times only of changes meant for the citizen.
    if (change.citizen_told()) {
      *update->mutable_photos() = change.attachments();
      if (change.has_scheduled_window()) *update->mutable_scheduled_window() = change.scheduled_window();
    }
  }
  if (Status r = AddReflects(view, out.mutable_reflects()); !r.ok()) return std::unexpected(r);
  return out;
}

Result<pb::AttachmentContent> QueryEngine::GetAttachment(const pb::GetAttachmentRequest& request) const {
  if (Status s = CheckTenant(request.tenant()); !s.ok()) return std::unexpected(s);
  if (attachments_ == nullptr) return std::unexpected(NotFound("sha256: this query service has no attachment store"));
  auto content = attachments_->Get(request.tenant(), request.sha256());
  if (!content) return std::unexpected(content.error());
  pb::AttachmentContent out;
  out.set_sha256(request.sha256());
  out.set_content(std::move(*content));
  return out;
}

Result<pb::Progress> QueryEngine::GetProgress(const ReadView& view) const {
  pb::Progress out;
  if (Status r = AddReflects(view, out.mutable_reflects()); !r.ok()) return std::unexpected(r);
  return out;
}

}  // namespace ks::query
