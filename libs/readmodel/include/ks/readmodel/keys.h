// The RocksDB key layout of the read models, in one place for the projector that writes them and
// the query service that reads them. Parts are separated by '\0' (ids and tenants never contain
// it), numbers are big-endian so that keys sort numerically.
//
//   P  tenant party                          -> PartyProfile
//   I  tenant interaction                    -> InteractionRecord
//   C  tenant callback                       -> CallbackRecord
//   TP tenant party  ~time interaction       -> ""   timeline of a party, newest first
//   TA tenant digest ~time interaction      -> ""   timeline of a digital address, newest first
//   L  tenant kind digest party              -> ""   party lookup by identifier/address
//   MI tenant target duplicate               -> ""   the duplicates merged into a party
//   AU tenant party ~time event              -> AuditEntry  a change concerning the party
//   (digests: keyed hashes of the values, so the indexes hold no BSN, phone number or e-mail)
//   OC tenant party due callback             -> ""   open callbacks of a party, soonest due first
//   QD tenant department rank callback       -> ""   open callbacks per department (rank: see
//   QE tenant employee rank callback         -> ""   QueueRank) and per employee
//   M  tenant melding                        -> MeldingRecord
//   MN tenant number melding                 -> ""   melding by its number
//   MX tenant dimension value due melding    -> ""   meldingen by status, category, wijk, address,
//                                                    department, employee (and all open ones)
//   PM tenant party open ~time melding       -> ""   meldingen a party reported, open ones first,
//                                                    then the newest registered
//   K  tenant category-code                  -> MeldingCategoryRecord
//   E  tenant employee                       -> EmployeeRecord
//   ER tenant replacement employee           -> ""   who an absent employee's work goes to
//   N  tenant notification                   -> NotificationRecord
//   PN tenant party ~time notification       -> ""   notifications to a party, newest first
//   SN tenant subject notification           -> ""   notifications about a melding
//   S  tenant kind time id                  -> ""   records by the time they started (kind I, C, M, N:
//                                                    contacts, callbacks, meldingen, notifications;
//                                                    L: parties, by when each label was added)
//   V  tenant conversation                   -> ConversationRecord
//   VT tenant conversation time interaction  -> ""   the turns of a conversation, oldest first
//   VP tenant party ~time conversation       -> ""   a party's conversations, newest first
//   VH tenant dept|emp value time conv       -> ""   conversations waiting for an employee, longest first
//   ZK tenant zaak ~time interaction         -> ""   the contacts linked to a zaak, newest first
//   A  tenant appointment                    -> AppointmentRecord
//   AP tenant party start appointment        -> ""   a party's appointments by their start
//   #  index-prefix                          -> how many entries the index holds under the prefix
//                                                    (8 bytes, added up by a merge operator): one
//                                                    per melding index (MX tenant dimension value)
//                                                    and callback queue (QD, QE tenant owner)
//   ~p partition                             -> next offset to apply (8 bytes)
//   ~layout                                  -> the layout version of these keys (kLayoutVersion)
#pragma once

#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ks::readmodel::keys {

std::string Party(std::string_view tenant, std::string_view party_id);
std::string Interaction(std::string_view tenant, std::string_view interaction_id);
std::string Callback(std::string_view tenant, std::string_view callback_id);

// Prefix of a party's timeline; entries follow with inverted time, so iteration is newest first.
std::string PartyTimelinePrefix(std::string_view tenant, std::string_view party_id);
std::string PartyTimeline(std::string_view tenant, std::string_view party_id, int64_t occurred_ms,
                          std::string_view interaction_id);
// Under the keyed digest of the address (its kind and value; see privacy::LookupDigest), never the
// address itself.
std::string AddressTimelinePrefix(std::string_view tenant, std::string_view address_digest);
std::string AddressTimeline(std::string_view tenant, std::string_view address_digest, int64_t occurred_ms,
                            std::string_view interaction_id);
// The interaction id at the end of a timeline key.
std::string_view TimelineInteractionId(std::string_view key);
// The time bytes + interaction id of a timeline key: the part that orders entries.
std::string_view TimelineSortKey(std::string_view key);

// Lookup kinds: identifiers and digital addresses share the index with distinct tags.
std::string LookupPrefix(std::string_view tenant, std::string_view kind_tag, std::string_view value);
std::string Lookup(std::string_view tenant, std::string_view kind_tag, std::string_view value, std::string_view party_id);
std::string IdentifierTag(int identifier_kind);
// The change audit of a party, newest first.
std::string AuditPrefix(std::string_view tenant, std::string_view party_id);
std::string Audit(std::string_view tenant, std::string_view party_id, int64_t at_ms, std::string_view id);
std::string MergedIntoPrefix(std::string_view tenant, std::string_view target_party_id);
std::string MergedInto(std::string_view tenant, std::string_view target_party_id, std::string_view duplicate_party_id);
// Recognition by postcode + house number + birth date.
inline constexpr std::string_view kRecognitionTag = "pcbd";
std::string AddressTag(int address_kind);

// A party's open callback requests in the order its customer view lists them: the soonest due
// first (due_ms INT64_MAX: none, last), then by id. The id is the key's LastPart.
std::string OpenCallbacksPrefix(std::string_view tenant, std::string_view party_id);
std::string OpenCallback(std::string_view tenant, std::string_view party_id, int64_t due_ms,
                         std::string_view callback_id);
// What a callback queue's handling order needs, kept in its index key so that a queue is ordered
// and counted from its keys alone: urgency, due time (INT64_MAX: none) and request time.
struct QueueRank {
  int urgency = 0;
  int64_t due_ms = INT64_MAX;
  int64_t requested_ms = 0;
  friend bool operator==(const QueueRank&, const QueueRank&) = default;
};
std::string DepartmentQueuePrefix(std::string_view tenant, std::string_view department);
std::string DepartmentQueue(std::string_view tenant, std::string_view department, const QueueRank& rank,
                            std::string_view callback_id);
std::string EmployeeQueuePrefix(std::string_view tenant, std::string_view employee_id);
std::string EmployeeQueue(std::string_view tenant, std::string_view employee_id, const QueueRank& rank,
                          std::string_view callback_id);
// The rank in a key made by DepartmentQueue or EmployeeQueue under `prefix`; none when the key is
// not one (too short).
std::optional<QueueRank> QueueRankOf(std::string_view key, std::string_view prefix);

std::string Melding(std::string_view tenant, std::string_view melding_id);
std::string MeldingNumberPrefix(std::string_view tenant, std::string_view number);
std::string MeldingNumber(std::string_view tenant, std::string_view number, std::string_view melding_id);
// Index of meldingen along one dimension ("open", "status", "category", "wijk", "pc", "addr",
// "dept", "emp"), ordered by due time.
std::string MeldingIndexPrefix(std::string_view tenant, std::string_view dimension, std::string_view value);
std::string MeldingIndex(std::string_view tenant, std::string_view dimension, std::string_view value, int64_t due_ms,
                         std::string_view melding_id);
// The meldingen a party reported in the order its customer view lists them: the open ones first,
// then the newest registered, then by id. The id is the key's LastPart.
std::string PartyMeldingenPrefix(std::string_view tenant, std::string_view party_id);
std::string PartyMelding(std::string_view tenant, std::string_view party_id, bool open, int64_t registered_ms,
                         std::string_view melding_id);
std::string Category(std::string_view tenant, std::string_view code);
std::string Employee(std::string_view tenant, std::string_view employee_id);
std::string ReplacedByPrefix(std::string_view tenant, std::string_view replacement_id);
std::string ReplacedBy(std::string_view tenant, std::string_view replacement_id, std::string_view employee_id);
std::string Notification(std::string_view tenant, std::string_view notification_id);
std::string PartyNotificationsPrefix(std::string_view tenant, std::string_view party_id);
std::string PartyNotification(std::string_view tenant, std::string_view party_id, int64_t requested_ms,
                              std::string_view notification_id);
std::string SubjectNotificationsPrefix(std::string_view tenant, std::string_view subject_id);
std::string SubjectNotification(std::string_view tenant, std::string_view subject_id, std::string_view notification_id);

// Records of one kind ("I", "C", "M", "N") by the time they started, oldest first: for the live
// KPIs of a period. Started(...) is an entry; StartedBound(...) the smallest key at or after `ms`.
std::string Started(std::string_view tenant, std::string_view kind, int64_t started_ms, std::string_view id);
std::string StartedBound(std::string_view tenant, std::string_view kind, int64_t ms);
std::string StartedPrefix(std::string_view tenant, std::string_view kind);

std::string Conversation(std::string_view tenant, std::string_view conversation_id);
std::string ConversationTurnsPrefix(std::string_view tenant, std::string_view conversation_id);
// In microseconds: a chat's turns often come within one millisecond of each other.
std::string ConversationTurn(std::string_view tenant, std::string_view conversation_id, int64_t occurred_us,
                             std::string_view interaction_id);
std::string PartyConversationsPrefix(std::string_view tenant, std::string_view party_id);
std::string PartyConversation(std::string_view tenant, std::string_view party_id, int64_t started_ms,
                              std::string_view conversation_id);
// `dimension` is "dept" or "emp".
std::string HandoverQueuePrefix(std::string_view tenant, std::string_view dimension, std::string_view value);
std::string HandoverQueue(std::string_view tenant, std::string_view dimension, std::string_view value,
                          int64_t handed_over_ms, std::string_view conversation_id);
std::string ZaakContactsPrefix(std::string_view tenant, std::string_view zaak);
std::string ZaakContact(std::string_view tenant, std::string_view zaak, int64_t occurred_ms,
                        std::string_view interaction_id);
std::string Appointment(std::string_view tenant, std::string_view appointment_id);
std::string PartyAppointmentsPrefix(std::string_view tenant, std::string_view party_id);
std::string PartyAppointment(std::string_view tenant, std::string_view party_id, int64_t start_ms,
                             std::string_view appointment_id);
// The 8 time bytes of an entry made by PartyAppointment (for starting an iteration at a time).
std::string PartyAppointmentsFrom(std::string_view tenant, std::string_view party_id, int64_t start_ms);

// The last '\0'-separated part of an index key (the id it points to).
std::string_view LastPart(std::string_view key);
// The family of a key: its first part ("P" a party's record, "TP" a party's timeline entry...).
// Every family's keys form one range, apart from every other family's.
std::string_view Family(std::string_view key);

// The counted indexes: each key family, and how many '\0'-ended parts make its counted prefix
// (MX tenant dimension value; QD/QE tenant owner).
struct CountedFamily {
  std::string_view family;
  size_t parts;
};
inline constexpr CountedFamily kCountedFamilies[] = {{"MX", 4}, {"QD", 3}, {"QE", 3}};
// The counter of the index entries under `index_prefix` (a MeldingIndexPrefix,
// DepartmentQueuePrefix or EmployeeQueuePrefix).
std::string IndexCounter(std::string_view index_prefix);
// The counter an index entry counts in (the projector adds 1 when it writes the entry, subtracts 1
// when it deletes it), or none for an entry of an index without counters.
std::optional<std::string> IndexCounterOf(std::string_view index_key);

std::string PartitionProgress(int32_t partition);
inline constexpr std::string_view kPartitionProgressPrefix = "~p";

// The version of this key layout. A store written in another layout must be rebuilt (projector
// --rebuild-into); ReadModelStore refuses to open it. Version 1 (stores without the key): queue
// keys without their rank. Version 2: melding indexes and callback queues without counters (the
// projector's store upgrades it in place: ReadModelStore::OpenPrimary counts the entries once).
// Version 3: a party's meldingen (PM) and open callbacks (OC) keyed by id alone, so that a customer
// view read every one of them to choose those it lists (the projector upgrades it in place:
// projector::UpgradeListOrder).
inline constexpr int kLayoutVersion = 4;
inline constexpr int kLayoutCountersMissing = 2;
inline constexpr int kLayoutListOrderMissing = 3;
// Recorded while the projector re-keys a layout-3 store: a number that the programs of layout 3
// refuse, so that they never write into a store half re-keyed (their folds would leave the
// re-keyed entries stale); the projector of layout 4 finishes the upgrade.
inline constexpr int kLayoutListOrderUpgrading = 34;
inline constexpr std::string_view kLayoutKey = "~layout";

std::string EncodeInt64(int64_t v);
int64_t DecodeInt64(std::string_view bytes);

}  // namespace ks::readmodel::keys
