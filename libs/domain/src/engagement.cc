// Conversations (the turns of one exchange, with the bot-to-human handover) and appointments
// (with their confirmations and reminders): Decide and Evolve.
#include <algorithm>

#include <google/protobuf/util/time_util.h>

#include "ks/domain/policy.h"
#include "ks/domain/validation.h"
#include "src/deciders.h"

namespace ks::domain {
namespace {

using Events = std::vector<pb::EventEnvelope>;
using google::protobuf::util::TimeUtil;

std::string_view ConversationStatusName(pb::ConversationStatus status) {
  switch (status) {
    case pb::CONVERSATION_STATUS_WITH_BOT: return "with the bot";
    case pb::CONVERSATION_STATUS_WAITING_FOR_EMPLOYEE: return "waiting for an employee";
    case pb::CONVERSATION_STATUS_WITH_EMPLOYEE: return "with an employee";
    case pb::CONVERSATION_STATUS_CLOSED: return "closed";
    default: return "unknown";
  }
}

std::string_view AppointmentStatusName(pb::AppointmentStatus status) {
  switch (status) {
    case pb::APPOINTMENT_STATUS_SCHEDULED: return "scheduled";
    case pb::APPOINTMENT_STATUS_CANCELLED: return "cancelled";
    case pb::APPOINTMENT_STATUS_ATTENDED: return "attended";
    case pb::APPOINTMENT_STATUS_NO_SHOW: return "a no-show";
    default: return "unknown";
  }
}

Status PartyIsUsable(const References& refs, std::string_view tenant, const std::string& party_id, std::string_view field) {
  const AggregateState party = refs.StateOf(party_id);
  if (!party.exists() || party.tenant != tenant || party.type != pb::AGGREGATE_TYPE_PARTY)
    return NotFound("{}: no party '{}' in tenant {}", field, party_id, tenant);
  const auto& p = party.as<PartyState>();
  if (!p.merged_into.empty())
    return FailedPrecondition("{}: party '{}' was merged into '{}'; use that party", field, party_id, p.merged_into);
  return Status::Ok();
}

// Where confirmations and reminders go (see ScheduleAppointment): an address the citizen names,
// else the party's address for the chosen channel (a safe one first), else its usual one.
Result<std::optional<pb::NotificationTarget>> NotifyTarget(const References& refs, const std::string& party_id,
                                                           pb::Channel channel, const pb::DigitalAddress* address,
                                                           std::string_view command) {
  if (address != nullptr) {
    pb::NotificationTarget to;
    to.set_party_id(party_id);
    to.set_channel(channel != pb::CHANNEL_UNSPECIFIED ? channel : ChannelFor(address->kind()));
    *to.mutable_address() = NormalizedAddress(*address);
    if (to.channel() == pb::CHANNEL_UNSPECIFIED)
      return std::unexpected(InvalidArgument("{}.confirm_address: no channel carries a {} address", command,
                                             pb::DigitalAddressKind_Name(address->kind())));
    return std::optional(std::move(to));
  }
  if (party_id.empty()) return std::optional<pb::NotificationTarget>();
  const AggregateState party = refs.StateOf(party_id);
  const auto& p = party.as<PartyState>();
  auto to = PartyRecipient(party_id, p, channel);
  if (!to && channel == pb::CHANNEL_UNSPECIFIED) {
    // No choice made and no preferred channel: a preferred address, else the first one a channel
    // carries.
    const pb::DigitalAddress* any = nullptr;
    for (const auto& a : p.digital_addresses)
      if (ChannelFor(a.kind()) != pb::CHANNEL_UNSPECIFIED && (any == nullptr || (a.preferred() && !any->preferred())))
        any = &a;
    if (any != nullptr) {
      pb::NotificationTarget target;
      target.set_party_id(party_id);
      target.set_channel(ChannelFor(any->kind()));
      *target.mutable_address() = *any;
      to = std::move(target);
    }
  }
  if (!to && channel != pb::CHANNEL_UNSPECIFIED)
    return std::unexpected(FailedPrecondition("{}.confirm_channel: the party has no {} address to reach it on {}", command,
                                              pb::DigitalAddressKind_Name(AddressKindFor(channel)),
                                              pb::Channel_Name(channel)));
  return to;
}

Result<Events> DecideConversationChange(const ConversationState& conversation, const pb::ExecuteRequest& r,
                                        const References& refs, pb::EventEnvelope& e) {
  const std::string& id = r.aggregate_id();
  if (conversation.status == pb::CONVERSATION_STATUS_CLOSED)
    return std::unexpected(FailedPrecondition("aggregate_id: conversation '{}' is closed", id));
  switch (r.command_case()) {
    case pb::ExecuteRequest::kHandOverConversation: {
      if (conversation.status == pb::CONVERSATION_STATUS_WAITING_FOR_EMPLOYEE)
        return std::unexpected(FailedPrecondition(
            "aggregate_id: conversation '{}' is already waiting for an employee; take it over first", id));
      const auto& c = r.hand_over_conversation();
      auto* ev = e.mutable_conversation_handed_over();
      *ev->mutable_to() = c.to();
      ev->set_reason(c.reason());
      ev->set_summary(c.summary());
      if (!c.phone_number().empty()) {
        auto phone = NormalizeDigitalAddress(pb::DIGITAL_ADDRESS_KIND_PHONE, c.phone_number(), "phone_number");
        KS_CHECK(phone.has_value());
        ev->set_phone_number(*phone);
      }
      return Events{e};
    }
    case pb::ExecuteRequest::kTakeOverConversation:
      if (conversation.status != pb::CONVERSATION_STATUS_WAITING_FOR_EMPLOYEE)
        return std::unexpected(FailedPrecondition("aggregate_id: conversation '{}' is {}; only one that waits for an "
                                                  "employee can be taken over",
                                                  id, ConversationStatusName(conversation.status)));
      *e.mutable_conversation_taken_over()->mutable_employee() = r.meta().actor();
      return Events{e};
    case pb::ExecuteRequest::kLinkConversationToParty: {
      const std::string& party_id = r.link_conversation_to_party().party_id();
      if (conversation.party_id == party_id) return Events{};
      if (!conversation.party_id.empty())
        return std::unexpected(FailedPrecondition(
            "link_conversation_to_party.party_id: the conversation is already linked to party '{}'", conversation.party_id));
      if (Status s = PartyIsUsable(refs, r.meta().tenant(), party_id, "link_conversation_to_party.party_id"); !s.ok())
        return std::unexpected(s);
      e.mutable_conversation_linked_to_party()->set_party_id(party_id);
      return Events{e};
    }
    case pb::ExecuteRequest::kCloseConversation: {
      const auto& c = r.close_conversation();
      auto* ev = e.mutable_conversation_closed();
      ev->set_outcome(c.outcome());
      ev->set_report(c.report());
      *ev->mutable_underlying_topics() = c.underlying_topics();
      return Events{e};
    }
    default:
      break;
  }
  return std::unexpected(Internal("not a conversation command"));
}

}  // namespace

Result<Events> DecideConversation(const AggregateState& state, const pb::ExecuteRequest& r, const References& refs) {
  pb::EventEnvelope e;
  if (r.command_case() == pb::ExecuteRequest::kStartConversation) {
    const auto& c = r.start_conversation();
    if (!c.party_id().empty())
      if (Status s = PartyIsUsable(refs, r.meta().tenant(), c.party_id(), "start_conversation.party_id"); !s.ok())
        return std::unexpected(s);
    auto* ev = e.mutable_conversation_started();
    ev->set_party_id(c.party_id());
    ev->set_channel(c.channel());
    ev->set_subject(c.subject());
    *ev->mutable_topics() = c.topics();
    if (c.has_counterpart()) *ev->mutable_counterpart() = NormalizedAddress(c.counterpart());
    return Events{e};
  }
  return DecideConversationChange(state.as<ConversationState>(), r, refs, e);
}

Result<Events> DecideAppointment(const AggregateState& state, const pb::ExecuteRequest& r, const References& refs) {
  pb::EventEnvelope e;
  const int64_t now_ms = TimeUtil::TimestampToMilliseconds(r.meta().occurred_at());
  auto in_future = [&](const pb::TimeWindow& window, std::string_view field) -> Status {
    const int64_t start_ms = TimeUtil::TimestampToMilliseconds(window.start());
    if (start_ms <= now_ms) return InvalidArgument("{}.start: must be in the future", field);
    // Reminders are scheduled messages, which may be at most a year ahead.
    if (start_ms > now_ms + int64_t{365} * 24 * 3600 * 1000)
      return InvalidArgument("{}.start: at most a year ahead", field);
    return Status::Ok();
  };
  if (r.command_case() == pb::ExecuteRequest::kScheduleAppointment) {
    const auto& c = r.schedule_appointment();
    if (Status s = in_future(c.window(), "schedule_appointment.window"); !s.ok()) return std::unexpected(s);
    if (!c.party_id().empty())
      if (Status s = PartyIsUsable(refs, r.meta().tenant(), c.party_id(), "schedule_appointment.party_id"); !s.ok())
        return std::unexpected(s);
    auto to = NotifyTarget(refs, c.party_id(), c.confirm_channel(), c.has_confirm_address() ? &c.confirm_address() : nullptr,
                           "schedule_appointment");
    if (!to) return std::unexpected(to.error());
    if (!*to && c.reminder_minutes_before_size() > 0)
      return std::unexpected(FailedPrecondition(
          "schedule_appointment.reminder_minutes_before: the party has no address to remind it at; give a "
          "confirm_channel it has an address for, or a confirm_address"));
    auto* ev = e.mutable_appointment_scheduled();
    ev->set_party_id(c.party_id());
    ev->set_person_name(c.person_name());
    *ev->mutable_window() = c.window();
    ev->set_place(c.place());
    *ev->mutable_with() = c.with();
    ev->set_subject(c.subject());
    ev->set_what_to_bring(c.what_to_bring());
    *ev->mutable_reminder_minutes_before() = c.reminder_minutes_before();
    if (*to) *ev->mutable_notify_to() = **to;
    ev->set_details_url(c.details_url());
    ev->set_restricted_to_team(c.restricted_to_team());
    ev->set_origin_interaction_id(c.origin_interaction_id());
    return Events{e};
  }
  const auto& appointment = state.as<AppointmentState>();
  if (r.command_case() == pb::ExecuteRequest::kLinkAppointmentToParty) {  // also after it took place
    const std::string& party_id = r.link_appointment_to_party().party_id();
    if (appointment.party_id == party_id) return Events{};
    if (!appointment.party_id.empty())
      return std::unexpected(FailedPrecondition(
          "link_appointment_to_party.party_id: the appointment is already party '{}''s", appointment.party_id));
    if (Status s = PartyIsUsable(refs, r.meta().tenant(), party_id, "link_appointment_to_party.party_id"); !s.ok())
      return std::unexpected(s);
    e.mutable_appointment_linked_to_party()->set_party_id(party_id);
    return Events{e};
  }
  if (appointment.status != pb::APPOINTMENT_STATUS_SCHEDULED)
    return std::unexpected(FailedPrecondition("aggregate_id: appointment '{}' is {}; only a scheduled one can be changed",
                                              r.aggregate_id(), AppointmentStatusName(appointment.status)));
  auto superseded = [&](google::protobuf::RepeatedPtrField<std::string>* out) {
    for (const std::string& id : appointment.reminder_notification_ids) *out->Add() = id;
  };
  switch (r.command_case()) {
    case pb::ExecuteRequest::kRescheduleAppointment: {
      const auto& c = r.reschedule_appointment();
      if (Status s = in_future(c.window(), "reschedule_appointment.window"); !s.ok()) return std::unexpected(s);
      if (c.window().SerializeAsString() == appointment.window.SerializeAsString() &&
          (c.place().empty() || c.place() == appointment.place))
        return Events{};
      auto* ev = e.mutable_appointment_rescheduled();
      *ev->mutable_window() = c.window();
      ev->set_place(c.place());
      ev->set_reason(c.reason());
      superseded(ev->mutable_superseded_notification_ids());
      for (int32_t m : appointment.reminder_minutes_before) ev->add_reminder_minutes_before(m);
      if (appointment.notify_to.channel() != pb::CHANNEL_UNSPECIFIED) *ev->mutable_notify_to() = appointment.notify_to;
      return Events{e};
    }
    case pb::ExecuteRequest::kSetAppointmentReminders: {
      const auto& c = r.set_appointment_reminders();
      pb::NotificationTarget target = appointment.notify_to;
      if (c.confirm_channel() != pb::CHANNEL_UNSPECIFIED || c.has_confirm_address()) {
        auto to = NotifyTarget(refs, appointment.party_id, c.confirm_channel(),
                               c.has_confirm_address() ? &c.confirm_address() : nullptr, "set_appointment_reminders");
        if (!to) return std::unexpected(to.error());
        if (*to) target = **to;
      }
      if (target.channel() == pb::CHANNEL_UNSPECIFIED && c.reminder_minutes_before_size() > 0)
        return std::unexpected(FailedPrecondition(
            "set_appointment_reminders.confirm_address: the person has no address to remind them at; give one"));
      auto* ev = e.mutable_appointment_reminders_set();
      *ev->mutable_reminder_minutes_before() = c.reminder_minutes_before();
      if (target.channel() != pb::CHANNEL_UNSPECIFIED) *ev->mutable_notify_to() = target;
      superseded(ev->mutable_superseded_notification_ids());
      *ev->mutable_window() = appointment.window;
      return Events{e};
    }
    case pb::ExecuteRequest::kCancelAppointment: {
      auto* ev = e.mutable_appointment_cancelled();
      ev->set_reason(r.cancel_appointment().reason());
      superseded(ev->mutable_superseded_notification_ids());
      if (appointment.notify_to.channel() != pb::CHANNEL_UNSPECIFIED) *ev->mutable_notify_to() = appointment.notify_to;
      *ev->mutable_window() = appointment.window;
      return Events{e};
    }
    case pb::ExecuteRequest::kRecordAppointmentOutcome: {
      if (TimeUtil::TimestampToMilliseconds(appointment.window.start()) > now_ms)
        return std::unexpected(FailedPrecondition("aggregate_id: appointment '{}' has not started yet", r.aggregate_id()));
      auto* ev = e.mutable_appointment_outcome_recorded();
      ev->set_outcome(r.record_appointment_outcome().outcome());
      ev->set_note(r.record_appointment_outcome().note());
      superseded(ev->mutable_superseded_notification_ids());
      return Events{e};
    }
    default:
      break;
  }
  return std::unexpected(Internal("not an appointment command"));
}

void EvolveEngagement(AggregateState& state, const pb::EventEnvelope& event) {
  auto reminder_ids = [&] {
    std::vector<std::string> ids;
    for (const PlannedReminder& reminder : PlannedReminders(event)) ids.push_back(reminder.notification_id);
    return ids;
  };
  switch (event.payload_case()) {
    case pb::EventEnvelope::kConversationStarted: {
      ConversationState c;
      c.party_id = event.conversation_started().party_id();
      c.status = event.actor().kind() == pb::ACTOR_KIND_BOT ? pb::CONVERSATION_STATUS_WITH_BOT
                                                             : pb::CONVERSATION_STATUS_WITH_EMPLOYEE;
      state.data = std::move(c);
      break;
    }
    case pb::EventEnvelope::kConversationHandedOver:
      state.as<ConversationState>().status = pb::CONVERSATION_STATUS_WAITING_FOR_EMPLOYEE;
      break;
    case pb::EventEnvelope::kConversationTakenOver:
      state.as<ConversationState>().status = pb::CONVERSATION_STATUS_WITH_EMPLOYEE;
      break;
    case pb::EventEnvelope::kConversationLinkedToParty:
      state.as<ConversationState>().party_id = event.conversation_linked_to_party().party_id();
      break;
    case pb::EventEnvelope::kConversationClosed:
      state.as<ConversationState>().status = pb::CONVERSATION_STATUS_CLOSED;
      break;
    case pb::EventEnvelope::kAppointmentScheduled: {
      RequireOpened(event);
      const auto& ev = event.appointment_scheduled();
      AppointmentState a;
      a.party_id = ev.party_id();
      a.status = pb::APPOINTMENT_STATUS_SCHEDULED;
      a.window = ev.window();
      a.place = ev.place();
      a.reminder_minutes_before.assign(ev.reminder_minutes_before().begin(), ev.reminder_minutes_before().end());
      a.notify_to = ev.notify_to();
      a.details_url = ev.details_url();
      a.reminder_notification_ids = reminder_ids();
      state.data = std::move(a);
      break;
    }
    case pb::EventEnvelope::kAppointmentRescheduled: {
      RequireOpened(event);
      auto& a = state.as<AppointmentState>();
      a.window = event.appointment_rescheduled().window();
      if (!event.appointment_rescheduled().place().empty()) a.place = event.appointment_rescheduled().place();
      a.reminder_notification_ids = reminder_ids();
      break;
    }
    case pb::EventEnvelope::kAppointmentRemindersSet: {
      RequireOpened(event);
      auto& a = state.as<AppointmentState>();
      const auto& ev = event.appointment_reminders_set();
      a.reminder_minutes_before.assign(ev.reminder_minutes_before().begin(), ev.reminder_minutes_before().end());
      a.notify_to = ev.notify_to();
      a.reminder_notification_ids = reminder_ids();
      break;
    }
    case pb::EventEnvelope::kAppointmentCancelled: {
      auto& a = state.as<AppointmentState>();
      a.status = pb::APPOINTMENT_STATUS_CANCELLED;
      a.reminder_notification_ids.clear();
      break;
    }
    case pb::EventEnvelope::kAppointmentLinkedToParty:
      state.as<AppointmentState>().party_id = event.appointment_linked_to_party().party_id();
      break;
    case pb::EventEnvelope::kAppointmentOutcomeRecorded: {
      auto& a = state.as<AppointmentState>();
      a.status = event.appointment_outcome_recorded().outcome();
      a.reminder_notification_ids.clear();
      break;
    }
    default:
      break;
  }
}

}  // namespace ks::domain
