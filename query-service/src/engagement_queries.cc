// Conversations (with the handover queue), zaak contacts and appointments: the parts of the
// QueryEngine for seed 002's handover and seed 003's appointments.
#include <algorithm>

#include <google/protobuf/util/time_util.h>

#include "ks/query/query_engine.h"
#include "ks/readmodel/keys.h"
#include "src/engine_helpers.h"

namespace ks::query {
namespace {

namespace keys = readmodel::keys;
using google::protobuf::util::TimeUtil;
using internal::AddReflects;
using internal::CheckTenant;
using internal::GetRecord;
using internal::IdsUnder;
using internal::OccurredMs;
using internal::OccurredUs;
using internal::OrderByTimeThenArrival;
using readmodel::ReadView;

constexpr size_t kMaxConversations = 50;
constexpr size_t kMaxAppointments = 50;
constexpr size_t kEarlierContacts = 20;
constexpr size_t kEarlierConversations = 10;
constexpr int kDefaultLimit = 100;
constexpr int kMaxLimit = 1000;

int64_t Ms(const google::protobuf::Timestamp& t) { return TimeUtil::TimestampToMilliseconds(t); }

// Records of type `Record` for the ids under `prefix` (at most `max`), opened with `key_ring`,
// read in batches (AppendRecords).
template <typename Record, typename KeyOf>
Status AddRecordsUnder(const ReadView& view, const std::string& prefix, size_t max, KeyOf key_of,
                       privacy::KeyRing& key_ring, google::protobuf::RepeatedPtrField<Record>* out) {
  Status scanned;
  const std::vector<std::string> ids = IdsUnder(view, prefix, max, &scanned);
  if (!scanned.ok()) return scanned;
  return internal::AppendRecords(view, ids.size(), [&](size_t i) { return key_of(ids[i]); }, key_ring, out);
}

}  // namespace

namespace internal {

Status AddEngagements(const ReadView& view, const std::string& tenant, const std::vector<std::string>& members,
                      privacy::KeyRing& key_ring, int64_t now_ms, pb::CustomerView& out) {
  for (const std::string& member : members) {
    if (Status s = AddRecordsUnder(
            view, keys::PartyConversationsPrefix(tenant, member), kMaxConversations,
            [&](const std::string& id) { return keys::Conversation(tenant, id); }, key_ring, out.mutable_conversations());
        !s.ok())
      return s;
    if (Status s = AddRecordsUnder(
            view, keys::PartyAppointmentsPrefix(tenant, member), 1000,
            [&](const std::string& id) { return keys::Appointment(tenant, id); }, key_ring, out.mutable_appointments());
        !s.ok())
      return s;
  }
  auto* conversations = out.mutable_conversations();
  OrderByTimeThenArrival(
      conversations, [](const pb::ConversationRecord& c) { return Ms(c.started_at()); }, /*newest_first=*/true);
  while (static_cast<size_t>(conversations->size()) > kMaxConversations) conversations->RemoveLast();
  // Coming ones first, soonest first; then the past ones, latest first.
  auto* appointments = out.mutable_appointments();
  std::stable_sort(appointments->begin(), appointments->end(), [now_ms](const auto& a, const auto& b) {
    const int64_t sa = Ms(a.window().start());
    const int64_t sb = Ms(b.window().start());
    const bool coming_a = sa >= now_ms;
    const bool coming_b = sb >= now_ms;
    if (coming_a != coming_b) return coming_a;
    return coming_a ? sa < sb : sa > sb;
  });
  while (static_cast<size_t>(appointments->size()) > kMaxAppointments) appointments->RemoveLast();
  return Status::Ok();
}

}  // namespace internal

Result<pb::ConversationView> QueryEngine::GetConversation(const ReadView& view,
                                                          const pb::GetConversationRequest& request) const {
  privacy::KeyRing key_ring(&vault_);
  if (Status s = CheckTenant(request.tenant()); !s.ok()) return std::unexpected(s);
  if (request.conversation_id().empty()) return std::unexpected(InvalidArgument("conversation_id: is required"));
  auto conversation =
      GetRecord<pb::ConversationRecord>(view, keys::Conversation(request.tenant(), request.conversation_id()), &key_ring);
  if (!conversation) return std::unexpected(conversation.error());
  if (!conversation->has_value())
    return std::unexpected(
        NotFound("conversation_id: no conversation '{}' in tenant {}", request.conversation_id(), request.tenant()));
  pb::ConversationView out;
  *out.mutable_conversation() = std::move(**conversation);
  if (Status s = AddRecordsUnder(
          view, keys::ConversationTurnsPrefix(request.tenant(), request.conversation_id()), 10'000,
          [&](const std::string& id) { return keys::Interaction(request.tenant(), id); }, key_ring, out.mutable_turns());
      !s.ok())
    return std::unexpected(s);
  OrderByTimeThenArrival(out.mutable_turns(), OccurredUs, /*newest_first=*/false);

  // The party's history is its customer view (merged duplicates included): one piece of code
  // decides what "the party's contacts" are.
  if (const std::string& party_id = out.conversation().party_id(); !party_id.empty()) {
    pb::GetCustomerViewRequest customer;
    customer.set_tenant(request.tenant());
    customer.set_party_id(party_id);
    customer.set_page_size(static_cast<int>(kEarlierContacts + 50));
    auto whole = GetCustomerView(view, customer);
    if (!whole) return std::unexpected(whole.error());
    *out.mutable_party() = std::move(*whole->mutable_party());
    for (pb::InteractionRecord& contact : *whole->mutable_timeline()) {
      if (contact.conversation_id() == request.conversation_id()) continue;
      if (static_cast<size_t>(out.earlier_contacts_size()) == kEarlierContacts) break;
      *out.add_earlier_contacts() = std::move(contact);
    }
    for (pb::ConversationRecord& other : *whole->mutable_conversations()) {
      if (other.conversation_id() == request.conversation_id()) continue;
      if (static_cast<size_t>(out.earlier_conversations_size()) == kEarlierConversations) break;
      *out.add_earlier_conversations() = std::move(other);
    }
    *out.mutable_open_callbacks() = std::move(*whole->mutable_open_callbacks());
    const int64_t now_ms = TimeUtil::TimestampToMilliseconds(TimeUtil::GetCurrentTime());
    for (pb::AppointmentRecord& appointment : *whole->mutable_appointments())
      if (appointment.status() == pb::APPOINTMENT_STATUS_SCHEDULED && Ms(appointment.window().end()) >= now_ms)
        *out.add_appointments() = std::move(appointment);
    for (pb::NotificationRecord& message : *whole->mutable_notifications())
      if (message.status() == pb::NOTIFICATION_STATUS_PENDING && message.has_send_at())
        *out.add_scheduled_messages() = std::move(message);
  }
  if (Status r = AddReflects(view, out.mutable_reflects()); !r.ok()) return std::unexpected(r);
  return out;
}

Result<pb::HandoverList> QueryEngine::ListHandovers(const ReadView& view, const pb::ListHandoversRequest& request) const {
  privacy::KeyRing key_ring(&vault_);
  if (Status s = CheckTenant(request.tenant()); !s.ok()) return std::unexpected(s);
  if (request.department().empty() && request.employee_id().empty())
    return std::unexpected(InvalidArgument("department: is required unless employee_id is given"));
  if (request.limit() < 0 || request.limit() > kMaxLimit)
    return std::unexpected(InvalidArgument("limit: must be between 0 and {} (got {})", kMaxLimit, request.limit()));
  const size_t limit = request.limit() == 0 ? kDefaultLimit : static_cast<size_t>(request.limit());
  const std::string prefix = request.employee_id().empty()
                                 ? keys::HandoverQueuePrefix(request.tenant(), "dept", request.department())
                                 : keys::HandoverQueuePrefix(request.tenant(), "emp", request.employee_id());
  pb::HandoverList out;
  // Longest waiting first: the index is ordered by the time of the handover.
  Status scanned;
  for (const std::string& id : IdsUnder(view, prefix, 100'000, &scanned)) {
    if (static_cast<size_t>(out.conversations_size()) == limit) break;
    auto record = GetRecord<pb::ConversationRecord>(view, keys::Conversation(request.tenant(), id), &key_ring);
    if (!record) return std::unexpected(record.error());
    if (!record->has_value()) continue;
    // Asked for a department and an employee: only that employee's within the department.
    if (!request.department().empty() && (**record).handed_over_to().department() != request.department()) continue;
    *out.add_conversations() = std::move(**record);
  }
  if (!scanned.ok()) return std::unexpected(scanned);
  OrderByTimeThenArrival(
      out.mutable_conversations(), [](const pb::ConversationRecord& c) { return Ms(c.handed_over_at()); },
      [](const pb::ConversationRecord& c) { return TimeUtil::TimestampToMicroseconds(c.handed_over_recorded_at()); },
      /*newest_first=*/false);
  if (Status r = AddReflects(view, out.mutable_reflects()); !r.ok()) return std::unexpected(r);
  return out;
}

Result<pb::ZaakContacts> QueryEngine::ListZaakContacts(const ReadView& view,
                                                       const pb::ListZaakContactsRequest& request) const {
  privacy::KeyRing key_ring(&vault_);
  if (Status s = CheckTenant(request.tenant()); !s.ok()) return std::unexpected(s);
  if (request.zaak().empty()) return std::unexpected(InvalidArgument("zaak: is required (its identification)"));
  pb::ZaakContacts out;
  if (Status s = AddRecordsUnder(
          view, keys::ZaakContactsPrefix(request.tenant(), request.zaak()), 10'000,
          [&](const std::string& id) { return keys::Interaction(request.tenant(), id); }, key_ring, out.mutable_contacts());
      !s.ok())
    return std::unexpected(s);
  OrderByTimeThenArrival(out.mutable_contacts(), OccurredMs, /*newest_first=*/true);
  if (Status r = AddReflects(view, out.mutable_reflects()); !r.ok()) return std::unexpected(r);
  return out;
}

Result<pb::AppointmentDetail> QueryEngine::GetAppointment(const ReadView& view,
                                                          const pb::GetAppointmentRequest& request) const {
  privacy::KeyRing key_ring(&vault_);
  if (Status s = CheckTenant(request.tenant()); !s.ok()) return std::unexpected(s);
  if (request.appointment_id().empty()) return std::unexpected(InvalidArgument("appointment_id: is required"));
  auto appointment =
      GetRecord<pb::AppointmentRecord>(view, keys::Appointment(request.tenant(), request.appointment_id()), &key_ring);
  if (!appointment) return std::unexpected(appointment.error());
  if (!appointment->has_value())
    return std::unexpected(
        NotFound("appointment_id: no appointment '{}' in tenant {}", request.appointment_id(), request.tenant()));
  pb::AppointmentDetail out;
  *out.mutable_appointment() = std::move(**appointment);
  // In the order they were (or will be) sent.
  auto when = [](const pb::NotificationRecord& n) { return Ms(n.has_send_at() ? n.send_at() : n.requested_at()); };
  auto notifications = internal::SubjectNotifications(view, request.tenant(), request.appointment_id(), when, key_ring);
  if (!notifications) return std::unexpected(notifications.error());
  *out.mutable_notifications() = std::move(*notifications);
  if (Status r = AddReflects(view, out.mutable_reflects()); !r.ok()) return std::unexpected(r);
  return out;
}

}  // namespace ks::query
