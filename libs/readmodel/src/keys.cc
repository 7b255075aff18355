#include "ks/readmodel/keys.h"

#include <algorithm>
#include <climits>
#include <initializer_list>

#include "ks/core/key_codec.h"

namespace ks::readmodel::keys {
namespace {

constexpr char kSep = '\0';

std::string Join(std::initializer_list<std::string_view> parts) {
  std::string out;
  bool first = true;
  for (std::string_view p : parts) {
    if (!first) out.push_back(kSep);
    out.append(p);
    first = false;
  }
  return out;
}

// Newest first: larger times give smaller keys.
std::string InvertedTime(int64_t ms) {
  std::string out;
  codec::PutBigEndian64(out, static_cast<uint64_t>(INT64_MAX) - static_cast<uint64_t>(ms));  // no overflow below 0
  return out;
}

}  // namespace

std::string Party(std::string_view tenant, std::string_view party_id) { return Join({"P", tenant, party_id}); }

namespace {
std::string Time(int64_t t) {
  std::string out;
  codec::PutBigEndian64(out, static_cast<uint64_t>(t) ^ (uint64_t{1} << 63));  // signed order
  return out;
}
}  // namespace

std::string Conversation(std::string_view tenant, std::string_view id) { return Join({"V", tenant, id}); }
std::string ConversationTurnsPrefix(std::string_view tenant, std::string_view conversation_id) {
  return Join({"VT", tenant, conversation_id, ""});
}
std::string ConversationTurn(std::string_view tenant, std::string_view conversation_id, int64_t occurred_us,
                             std::string_view interaction_id) {
  return ConversationTurnsPrefix(tenant, conversation_id) + Time(occurred_us) + kSep + std::string(interaction_id);
}
std::string PartyConversationsPrefix(std::string_view tenant, std::string_view party_id) {
  return Join({"VP", tenant, party_id, ""});
}
std::string PartyConversation(std::string_view tenant, std::string_view party_id, int64_t started_ms,
                              std::string_view conversation_id) {
  return PartyConversationsPrefix(tenant, party_id) + InvertedTime(started_ms) + kSep + std::string(conversation_id);
}
std::string HandoverQueuePrefix(std::string_view tenant, std::string_view dimension, std::string_view value) {
  return Join({"VH", tenant, dimension, value, ""});
}
std::string HandoverQueue(std::string_view tenant, std::string_view dimension, std::string_view value,
                          int64_t handed_over_ms, std::string_view conversation_id) {
  return HandoverQueuePrefix(tenant, dimension, value) + Time(handed_over_ms) + kSep + std::string(conversation_id);
}
std::string ZaakContactsPrefix(std::string_view tenant, std::string_view zaak) { return Join({"ZK", tenant, zaak, ""}); }
std::string ZaakContact(std::string_view tenant, std::string_view zaak, int64_t occurred_ms,
                        std::string_view interaction_id) {
  return ZaakContactsPrefix(tenant, zaak) + InvertedTime(occurred_ms) + kSep + std::string(interaction_id);
}
std::string Appointment(std::string_view tenant, std::string_view id) { return Join({"A", tenant, id}); }
std::string PartyAppointmentsPrefix(std::string_view tenant, std::string_view party_id) {
  return Join({"AP", tenant, party_id, ""});
}
std::string PartyAppointment(std::string_view tenant, std::string_view party_id, int64_t start_ms,
                             std::string_view appointment_id) {
  return PartyAppointmentsPrefix(tenant, party_id) + Time(start_ms) + kSep + std::string(appointment_id);
}
std::string PartyAppointmentsFrom(std::string_view tenant, std::string_view party_id, int64_t start_ms) {
  return PartyAppointmentsPrefix(tenant, party_id) + Time(start_ms);
}
std::string Interaction(std::string_view tenant, std::string_view id) { return Join({"I", tenant, id}); }
std::string Callback(std::string_view tenant, std::string_view id) { return Join({"C", tenant, id}); }

std::string PartyTimelinePrefix(std::string_view tenant, std::string_view party_id) {
  return Join({"TP", tenant, party_id, ""});
}
std::string PartyTimeline(std::string_view tenant, std::string_view party_id, int64_t occurred_ms,
                          std::string_view interaction_id) {
  return PartyTimelinePrefix(tenant, party_id) + InvertedTime(occurred_ms) + kSep + std::string(interaction_id);
}
std::string AddressTimelinePrefix(std::string_view tenant, std::string_view address_digest) {
  return Join({"TA", tenant, address_digest, ""});
}
std::string AddressTimeline(std::string_view tenant, std::string_view address_digest, int64_t occurred_ms,
                            std::string_view interaction_id) {
  return AddressTimelinePrefix(tenant, address_digest) + InvertedTime(occurred_ms) + kSep +
         std::string(interaction_id);
}
std::string_view TimelineInteractionId(std::string_view key) { return LastPart(key); }
std::string_view TimelineSortKey(std::string_view key) {
  const size_t last = key.rfind(kSep);
  // 8 time bytes sit just before the separator in front of the id.
  return last >= 8 ? key.substr(last - 8) : key;
}

std::string LookupPrefix(std::string_view tenant, std::string_view kind_tag, std::string_view value) {
  return Join({"L", tenant, kind_tag, value, ""});
}
std::string Lookup(std::string_view tenant, std::string_view kind_tag, std::string_view value,
                   std::string_view party_id) {
  return LookupPrefix(tenant, kind_tag, value) + std::string(party_id);
}
std::string AuditPrefix(std::string_view tenant, std::string_view party_id) { return Join({"AU", tenant, party_id, ""}); }
std::string Audit(std::string_view tenant, std::string_view party_id, int64_t at_ms, std::string_view id) {
  return AuditPrefix(tenant, party_id) + InvertedTime(at_ms) + kSep + std::string(id);
}
std::string MergedIntoPrefix(std::string_view tenant, std::string_view target_party_id) {
  return Join({"MI", tenant, target_party_id, ""});
}
std::string MergedInto(std::string_view tenant, std::string_view target_party_id, std::string_view duplicate_party_id) {
  return MergedIntoPrefix(tenant, target_party_id) + std::string(duplicate_party_id);
}
std::string IdentifierTag(int identifier_kind) { return "id" + std::to_string(identifier_kind); }
std::string AddressTag(int address_kind) { return "addr" + std::to_string(address_kind); }

std::string OpenCallbacksPrefix(std::string_view tenant, std::string_view party_id) {
  return Join({"OC", tenant, party_id, ""});
}
std::string OpenCallback(std::string_view tenant, std::string_view party_id, int64_t due_ms,
                         std::string_view callback_id) {
  return OpenCallbacksPrefix(tenant, party_id) + Time(due_ms) + kSep + std::string(callback_id);
}
namespace {
// Urgency inverted (most urgent first), then due time, then request time, then the id.
std::string QueueEntry(std::string prefix, const QueueRank& rank, std::string_view callback_id) {
  prefix.push_back(static_cast<char>(0xff - (rank.urgency & 0xff)));
  codec::PutBigEndian64(prefix, static_cast<uint64_t>(rank.due_ms));
  codec::PutBigEndian64(prefix, static_cast<uint64_t>(rank.requested_ms));
  prefix.push_back(kSep);
  prefix.append(callback_id);
  return prefix;
}
constexpr size_t kQueueRankBytes = 1 + 8 + 8;
}  // namespace

std::string DepartmentQueuePrefix(std::string_view tenant, std::string_view department) {
  return Join({"QD", tenant, department, ""});
}
std::string DepartmentQueue(std::string_view tenant, std::string_view department, const QueueRank& rank,
                            std::string_view callback_id) {
  return QueueEntry(DepartmentQueuePrefix(tenant, department), rank, callback_id);
}
std::string EmployeeQueuePrefix(std::string_view tenant, std::string_view employee_id) {
  return Join({"QE", tenant, employee_id, ""});
}
std::string EmployeeQueue(std::string_view tenant, std::string_view employee_id, const QueueRank& rank,
                          std::string_view callback_id) {
  return QueueEntry(EmployeeQueuePrefix(tenant, employee_id), rank, callback_id);
}
std::optional<QueueRank> QueueRankOf(std::string_view key, std::string_view prefix) {
  if (key.size() < prefix.size() + kQueueRankBytes + 1) return std::nullopt;
  const char* p = key.data() + prefix.size();
  QueueRank rank;
  rank.urgency = 0xff - static_cast<unsigned char>(p[0]);
  rank.due_ms = static_cast<int64_t>(codec::GetBigEndian64(p + 1));
  rank.requested_ms = static_cast<int64_t>(codec::GetBigEndian64(p + 9));
  return rank;
}

std::string Melding(std::string_view tenant, std::string_view id) { return Join({"M", tenant, id}); }
std::string MeldingNumberPrefix(std::string_view tenant, std::string_view number) {
  return Join({"MN", tenant, number, ""});
}
std::string MeldingNumber(std::string_view tenant, std::string_view number, std::string_view melding_id) {
  return MeldingNumberPrefix(tenant, number) + std::string(melding_id);
}
std::string MeldingIndexPrefix(std::string_view tenant, std::string_view dimension, std::string_view value) {
  return Join({"MX", tenant, dimension, value, ""});
}
std::string MeldingIndex(std::string_view tenant, std::string_view dimension, std::string_view value, int64_t due_ms,
                         std::string_view melding_id) {
  std::string key = MeldingIndexPrefix(tenant, dimension, value);
  codec::PutBigEndian64(key, static_cast<uint64_t>(due_ms));
  key.push_back(kSep);
  key.append(melding_id);
  return key;
}
std::string PartyMeldingenPrefix(std::string_view tenant, std::string_view party_id) {
  return Join({"PM", tenant, party_id, ""});
}
std::string PartyMelding(std::string_view tenant, std::string_view party_id, bool open, int64_t registered_ms,
                         std::string_view melding_id) {
  std::string key = PartyMeldingenPrefix(tenant, party_id);
  key.push_back(open ? '\0' : '\1');
  key += InvertedTime(registered_ms);
  key.push_back(kSep);
  key.append(melding_id);
  return key;
}
std::string IndexCounter(std::string_view index_prefix) {
  std::string key = "#";
  key.append(index_prefix);
  return key;
}
std::optional<std::string> IndexCounterOf(std::string_view index_key) {
  // The prefix is the family and its named parts, each ended by a separator; the entry's binary
  // rank follows it.
  size_t parts = 0;
  for (const CountedFamily& counted : kCountedFamilies)
    if (index_key.size() > counted.family.size() && index_key.starts_with(counted.family) &&
        index_key[counted.family.size()] == kSep)
      parts = counted.parts;
  if (parts == 0) return std::nullopt;
  size_t end = 0;
  for (size_t i = 0; i < parts; ++i) {
    end = index_key.find(kSep, end);
    if (end == std::string_view::npos) return std::nullopt;
    ++end;
  }
  return IndexCounter(index_key.substr(0, end));
}
std::string Category(std::string_view tenant, std::string_view code) { return Join({"K", tenant, code}); }
std::string Employee(std::string_view tenant, std::string_view employee_id) { return Join({"E", tenant, employee_id}); }
std::string ReplacedByPrefix(std::string_view tenant, std::string_view replacement_id) {
  return Join({"ER", tenant, replacement_id, ""});
}
std::string ReplacedBy(std::string_view tenant, std::string_view replacement_id, std::string_view employee_id) {
  return ReplacedByPrefix(tenant, replacement_id) + std::string(employee_id);
}
std::string Notification(std::string_view tenant, std::string_view id) { return Join({"N", tenant, id}); }
std::string PartyNotificationsPrefix(std::string_view tenant, std::string_view party_id) {
  return Join({"PN", tenant, party_id, ""});
}
std::string PartyNotification(std::string_view tenant, std::string_view party_id, int64_t requested_ms,
                              std::string_view notification_id) {
  return PartyNotificationsPrefix(tenant, party_id) + InvertedTime(requested_ms) + kSep + std::string(notification_id);
}
std::string SubjectNotificationsPrefix(std::string_view tenant, std::string_view subject_id) {
  return Join({"SN", tenant, subject_id, ""});
}
std::string SubjectNotification(std::string_view tenant, std::string_view subject_id, std::string_view notification_id) {
  return SubjectNotificationsPrefix(tenant, subject_id) + std::string(notification_id);
}

std::string_view Family(std::string_view key) { return key.substr(0, key.find(kSep)); }

std::string_view LastPart(std::string_view key) {
  const size_t last = key.rfind(kSep);
  return last == std::string_view::npos ? key : key.substr(last + 1);
}

std::string PartitionProgress(int32_t partition) {
  std::string out(kPartitionProgressPrefix);
  codec::PutBigEndian32(out, static_cast<uint32_t>(partition));
  return out;
}

std::string EncodeInt64(int64_t v) {
  std::string out;
  codec::PutBigEndian64(out, static_cast<uint64_t>(v));
  return out;
}
int64_t DecodeInt64(std::string_view bytes) {
  return bytes.size() == 8 ? static_cast<int64_t>(codec::GetBigEndian64(bytes.data())) : 0;
}

std::string StartedPrefix(std::string_view tenant, std::string_view kind) { return Join({"S", tenant, kind, ""}); }
std::string StartedBound(std::string_view tenant, std::string_view kind, int64_t ms) {
  std::string key = StartedPrefix(tenant, kind);
  codec::PutBigEndian64(key, static_cast<uint64_t>(std::max<int64_t>(ms, 0)));
  return key;
}
std::string Started(std::string_view tenant, std::string_view kind, int64_t started_ms, std::string_view id) {
  return StartedBound(tenant, kind, started_ms) + kSep + std::string(id);
}

}  // namespace ks::readmodel::keys
