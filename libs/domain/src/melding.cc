// Decide and evolve for meldingen, their categories, employee availability and notifications.
#include "src/deciders.h"

#include <google/protobuf/util/time_util.h>

#include "ks/domain/melding_rules.h"
#include "ks/domain/policy.h"
#include "ks/domain/validation.h"

namespace ks::domain {
namespace {

using google::protobuf::util::TimeUtil;
using Events = std::vector<pb::EventEnvelope>;

Status CheckStored(std::string_view tenant, const google::protobuf::RepeatedPtrField<pb::Attachment>& attachments,
                   const References& refs, std::string_view field) {
  for (int i = 0; i < attachments.size(); ++i)
    if (!refs.AttachmentStored(tenant, attachments[i]))
      return FailedPrecondition("{}[{}].sha256: no attachment {} of {} bytes is stored; upload it first", field, i,
                                attachments[i].sha256(), attachments[i].size_bytes());
  return Status::Ok();
}

int YearOf(const google::protobuf::Timestamp& ts) {
  const std::time_t t = ts.seconds();
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm.tm_year + 1900;
}

}  // namespace

Result<Events> DecideMelding(const AggregateState& state, const pb::ExecuteRequest& r, References& refs) {
  Events events(1);
  pb::EventEnvelope& e = events.front();
  const std::string& tenant = r.meta().tenant();
  if (r.command_case() == pb::ExecuteRequest::kRegisterMelding) {
    const auto& c = r.register_melding();
    const auto category = refs.FindCategory(tenant, c.category());
    if (!category)
      return std::unexpected(InvalidArgument("register_melding.category: '{}' is not a melding category of tenant {}",
                                             c.category(), tenant));
    if (!c.reporter_party_id().empty() && !refs.PartyExists(tenant, c.reporter_party_id()))
      return std::unexpected(
          NotFound("register_melding.reporter_party_id: no party '{}' in tenant {}", c.reporter_party_id(), tenant));
    if (Status s = CheckStored(tenant, c.attachments(), refs, "register_melding.attachments"); !s.ok())
      return std::unexpected(s);
    if (!c.origin_interaction_id().empty() && !refs.InteractionExists(tenant, c.origin_interaction_id()))
      return std::unexpected(NotFound("register_melding.origin_interaction_id: no interaction '{}' in tenant {}",
                                      c.origin_interaction_id(), tenant));
    auto* ev = e.mutable_melding_registered();
    ev->set_category(c.category());
    ev->set_description(c.description());
    *ev->mutable_location() = c.location();
    ev->mutable_location()->set_postcode(NormalizePostcode(c.location().postcode()));
    *ev->mutable_attachments() = c.attachments();
    ev->set_priority(c.priority() == pb::URGENCY_UNSPECIFIED ? pb::URGENCY_NORMAL : c.priority());
    ev->set_reporter_party_id(c.reporter_party_id());
    if (c.has_reporter_address()) *ev->mutable_reporter_address() = NormalizedAddress(c.reporter_address());
    ev->set_channel(c.channel());
    const int64_t due = AddDays(TimeUtil::TimestampToMilliseconds(r.meta().occurred_at()), category->due_days(),
                                category->working_days());
    *ev->mutable_due_at() = TimeUtil::MillisecondsToTimestamp(due);
    ev->set_department(category->default_department());
    ev->set_origin_interaction_id(c.origin_interaction_id());
    MeldingState reported;
    reported.reporter_party_id = ev->reporter_party_id();
    reported.reporter_address = ev->reporter_address();
    reported.channel = ev->channel();
    if (auto to = RecipientFor(reported, c.reporter_party_id().empty() ? AggregateState{} : refs.StateOf(c.reporter_party_id())))
      *ev->mutable_acknowledge_to() = std::move(*to);
    // Last, when nothing can refuse the command any more: a refused one uses up no number.
    ev->set_number(refs.AllocateMeldingNumber(tenant, YearOf(r.meta().occurred_at())));
    return events;
  }

  const auto& melding = state.as<MeldingState>();
  switch (r.command_case()) {
    case pb::ExecuteRequest::kChangeMeldingStatus: {
      const auto& c = r.change_melding_status();
      if (!MeldingTransitionAllowed(melding.status, c.to()))
        return std::unexpected(FailedPrecondition("change_melding_status.to: melding {} cannot go from {} to {}",
                                                  melding.number, MeldingStatusName(melding.status),
                                                  MeldingStatusName(c.to())));
      if (c.to() == pb::MELDING_STATUS_SCHEDULED && melding.status == pb::MELDING_STATUS_SCHEDULED &&
          melding.scheduled_window.SerializeAsString() == c.scheduled_window().SerializeAsString())
        return std::unexpected(FailedPrecondition(
            "change_melding_status.scheduled_window: melding {} is already scheduled for that window", melding.number));
      if (Status s = CheckStored(tenant, c.attachments(), refs, "change_melding_status.attachments"); !s.ok())
        return std::unexpected(s);
      auto* ev = e.mutable_melding_status_changed();
      ev->set_from(melding.status);
      ev->set_to(c.to());
      ev->set_reason(c.reason());
      ev->set_notify_citizen(c.notify_citizen());
      if (c.has_scheduled_window()) *ev->mutable_scheduled_window() = c.scheduled_window();
      ev->set_public_message(c.public_message());
      *ev->mutable_attachments() = c.attachments();
      // Whom to tell and which children close are decided now and kept in the event, so that a
      // replay of the log reacts exactly as the first time.
      if (c.notify_citizen()) {
        const AggregateState reporter =
            melding.reporter_party_id.empty() ? AggregateState{} : refs.StateOf(melding.reporter_party_id);
        if (auto to = RecipientFor(melding, reporter)) *ev->mutable_notify_to() = std::move(*to);
      }
      if (c.to() == pb::MELDING_STATUS_RESOLVED) {
        for (const auto& link : melding.links) {
          if (link.kind() != pb::MELDING_LINK_KIND_PARENT_OF) continue;
          const AggregateState child = refs.StateOf(link.melding_id());
          if (child.type == pb::AGGREGATE_TYPE_MELDING && MeldingIsOpen(child.as<MeldingState>().status))
            ev->add_children_to_close(link.melding_id());
        }
      }
      return events;
    }
    case pb::ExecuteRequest::kAssignMelding: {
      const auto& c = r.assign_melding();
      auto* ev = e.mutable_melding_assigned();
      ev->set_department(c.department());
      ev->set_employee_id(c.employee_id());
      ev->set_employee_name(c.employee_name());
      return events;
    }
    case pb::ExecuteRequest::kLinkMelding: {
      const auto& c = r.link_melding();
      if (c.other_melding_id() == r.aggregate_id())
        return std::unexpected(InvalidArgument("link_melding.other_melding_id: a melding cannot be linked to itself"));
      if (!refs.MeldingExists(tenant, c.other_melding_id()))
        return std::unexpected(
            NotFound("link_melding.other_melding_id: no melding '{}' in tenant {}", c.other_melding_id(), tenant));
      for (const auto& link : melding.links)
        if (link.melding_id() == c.other_melding_id() && link.kind() == c.kind()) return Events{};
      e.mutable_melding_linked()->set_other_melding_id(c.other_melding_id());
      e.mutable_melding_linked()->set_kind(c.kind());
      return events;
    }
    case pb::ExecuteRequest::kRecordMeldingContact: {
      const auto& c = r.record_melding_contact();
      if (!refs.InteractionExists(tenant, c.interaction_id()))
        return std::unexpected(NotFound("record_melding_contact.interaction_id: no interaction '{}' in tenant {}",
                                        c.interaction_id(), tenant));
      for (const auto& id : melding.contact_interaction_ids)
        if (id == c.interaction_id()) return Events{};
      e.mutable_melding_contact_recorded()->set_interaction_id(c.interaction_id());
      e.mutable_melding_contact_recorded()->set_note(c.note());
      return events;
    }
    case pb::ExecuteRequest::kAddMeldingAttachment: {
      if (!refs.AttachmentStored(tenant, r.add_melding_attachment().attachment()))
        return std::unexpected(FailedPrecondition("add_melding_attachment.attachment.sha256: no such attachment is "
                                                  "stored; upload it first"));
      *e.mutable_melding_attachment_added()->mutable_attachment() = r.add_melding_attachment().attachment();
      return events;
    }
    case pb::ExecuteRequest::kRecordSatisfaction: {
      const auto& c = r.record_satisfaction();
      if (melding.status != pb::MELDING_STATUS_RESOLVED)
        return std::unexpected(FailedPrecondition(
            "record_satisfaction: melding {} is {}; satisfaction is asked after it is resolved", melding.number,
            MeldingStatusName(melding.status)));
      // One event, so the score and the request to reopen are written together or not at all.
      e.mutable_melding_satisfaction_recorded()->set_score(c.score());
      e.mutable_melding_satisfaction_recorded()->set_comment(c.comment());
      e.mutable_melding_satisfaction_recorded()->set_reopen_requested(c.request_reopen());
      return events;
    }
    default:
      break;
  }
  return std::unexpected(Internal("not a melding command"));
}

Result<Events> DecideCategory(const AggregateState& state, const pb::ExecuteRequest& r) {
  const auto& c = r.define_melding_category();
  pb::MeldingCategoryDefined definition;
  definition.set_code(c.code());
  definition.set_name(c.name());
  definition.set_due_days(c.due_days());
  definition.set_working_days(c.working_days());
  definition.set_default_department(c.default_department());
  if (state.exists() &&
      state.as<CategoryState>().definition.SerializeAsString() == definition.SerializeAsString())
    return Events{};
  Events events(1);
  *events.front().mutable_melding_category_defined() = std::move(definition);
  return events;
}

Result<Events> DecideEmployee(const AggregateState& state, const pb::ExecuteRequest& r) {
  const auto& c = r.set_employee_availability();
  pb::EmployeeAvailabilityChanged change;
  change.set_employee_id(c.employee_id());
  change.set_employee_name(c.employee_name());
  change.set_available(c.available());
  if (c.has_until()) *change.mutable_until() = c.until();
  change.set_replacement_employee_id(c.replacement_employee_id());
  change.set_replacement_name(c.replacement_name());
  change.set_reason(c.reason());
  if (state.exists() &&
      state.as<EmployeeState>().availability.SerializeAsString() == change.SerializeAsString())
    return Events{};
  Events events(1);
  *events.front().mutable_employee_availability_changed() = std::move(change);
  return events;
}

Result<Events> DecideNotification(const AggregateState& state, const pb::ExecuteRequest& r, const References& refs) {
  Events events(1);
  pb::EventEnvelope& e = events.front();
  const int64_t now_ms = TimeUtil::TimestampToMilliseconds(r.meta().occurred_at());
  if (r.command_case() == pb::ExecuteRequest::kRequestNotification) {
    const auto& c = r.request_notification();
    const AggregateState party = c.party_id().empty() ? AggregateState{} : refs.StateOf(c.party_id());
    if (!c.party_id().empty() &&
        (!party.exists() || party.tenant != r.meta().tenant() || party.type != pb::AGGREGATE_TYPE_PARTY))
      return std::unexpected(NotFound("request_notification.party_id: no party '{}' in tenant {}", c.party_id(),
                                      r.meta().tenant()));
    if (c.has_send_at()) {
      const int64_t send_at_ms = TimeUtil::TimestampToMilliseconds(c.send_at());
      if (send_at_ms > now_ms + int64_t{366} * 24 * 3600 * 1000)
        return std::unexpected(InvalidArgument("request_notification.send_at: at most a year ahead"));
    }
    auto* ev = e.mutable_notification_requested();
    ev->set_party_id(c.party_id());
    ev->set_channel(c.channel());
    if (c.has_address()) {
      *ev->mutable_address() = NormalizedAddress(c.address());
    } else {
      // The party's address for the channel: a safe one first (seed 003).
      auto to = PartyRecipient(c.party_id(), party.as<PartyState>(), c.channel());
      if (!to)
        return std::unexpected(FailedPrecondition("request_notification.address: party '{}' has no {} address; give one",
                                                  c.party_id(), pb::DigitalAddressKind_Name(AddressKindFor(c.channel()))));
      *ev->mutable_address() = to->address();
    }
    ev->set_text(c.text());
    *ev->mutable_attachments() = c.attachments();
    ev->set_source_event_id(c.source_event_id());
    ev->set_subject_id(c.subject_id());
    ev->set_subject_number(c.subject_number());
    if (c.has_send_at()) *ev->mutable_send_at() = c.send_at();
    return events;
  }
  const auto& n = state.as<NotificationState>();
  switch (r.command_case()) {
    case pb::ExecuteRequest::kDispatchNotification: {
      const bool due = n.status == pb::NOTIFICATION_STATUS_PENDING && n.next_attempt_ms <= now_ms;
      const bool lease_expired = n.status == pb::NOTIFICATION_STATUS_DISPATCHED && n.lease_until_ms <= now_ms;
      if (!due && !lease_expired)
        return std::unexpected(FailedPrecondition("aggregate_id: notification '{}' is not waiting to be sent",
                                                  r.aggregate_id()));
      const int lease_seconds = r.dispatch_notification().lease_seconds() > 0 ? r.dispatch_notification().lease_seconds() : 60;
      auto* ev = e.mutable_notification_dispatched();
      ev->set_adapter_id(r.dispatch_notification().adapter_id());
      *ev->mutable_lease_until() = TimeUtil::MillisecondsToTimestamp(now_ms + int64_t{lease_seconds} * 1000);
      ev->set_attempt(n.attempts + 1);
      return events;
    }
    case pb::ExecuteRequest::kCancelNotification:
    case pb::ExecuteRequest::kRescheduleNotification: {
      if (n.status == pb::NOTIFICATION_STATUS_CANCELLED && r.has_cancel_notification()) return Events{};
      // A cancellation also withdraws what an adapter holds (it may have gone out already: the
      // adapter's report is then refused); a move needs it back first (its lease ran out).
      const bool held = n.status == pb::NOTIFICATION_STATUS_DISPATCHED;
      const bool waiting = n.status == pb::NOTIFICATION_STATUS_PENDING ||
                           (held && (r.has_cancel_notification() || n.lease_until_ms <= now_ms));
      if (!waiting)
        return std::unexpected(FailedPrecondition("aggregate_id: notification '{}' is no longer waiting to be sent ({})",
                                                  r.aggregate_id(), pb::NotificationStatus_Name(n.status)));
      if (r.has_cancel_notification()) {
        e.mutable_notification_cancelled()->set_reason(r.cancel_notification().reason());
        return events;
      }
      const int64_t send_at_ms = TimeUtil::TimestampToMilliseconds(r.reschedule_notification().send_at());
      if (send_at_ms > now_ms + int64_t{366} * 24 * 3600 * 1000)
        return std::unexpected(InvalidArgument("reschedule_notification.send_at: at most a year ahead"));
      *e.mutable_notification_rescheduled()->mutable_send_at() = r.reschedule_notification().send_at();
      return events;
    }
    case pb::ExecuteRequest::kReportNotificationDelivery: {
      const auto& c = r.report_notification_delivery();
      if (n.status != pb::NOTIFICATION_STATUS_DISPATCHED)
        return std::unexpected(FailedPrecondition(
            "notification_id: notification '{}' is not out for delivery (already reported, or never taken)",
            r.aggregate_id()));
      // Only the adapter that holds the current attempt may report on it: a late report from an
      // adapter whose lease ran out must not undo (or repeat) the newer attempt.
      if (c.attempt() != n.attempts || c.adapter_id() != n.adapter_id)
        return std::unexpected(FailedPrecondition(
            "attempt: notification '{}' is at attempt {} held by {}; this report is for attempt {} by {}",
            r.aggregate_id(), n.attempts, n.adapter_id, c.attempt(), c.adapter_id()));
      if (c.delivered()) {
        e.mutable_notification_delivered()->set_provider_message_id(c.provider_message_id());
        return events;
      }
      auto* ev = e.mutable_notification_failed();
      ev->set_error(c.error());
      ev->set_attempt(n.attempts);
      if (n.attempts >= kMaxNotificationAttempts) {
        ev->set_gave_up(true);
      } else {
        *ev->mutable_next_attempt_at() = TimeUtil::MillisecondsToTimestamp(now_ms + NotificationBackoffMs(n.attempts));
      }
      return events;
    }
    default:
      break;
  }
  return std::unexpected(Internal("not a notification command"));
}

void EvolveMeldingFamily(AggregateState& state, const pb::EventEnvelope& event) {
  switch (event.payload_case()) {
    case pb::EventEnvelope::kMeldingRegistered: {
      RequireOpened(event);
      const auto& ev = event.melding_registered();
      MeldingState m;
      m.number = ev.number();
      m.status = pb::MELDING_STATUS_REGISTERED;
      m.reporter_party_id = ev.reporter_party_id();
      m.reporter_address = ev.reporter_address();
      m.channel = ev.channel();
      state.data = std::move(m);
      break;
    }
    case pb::EventEnvelope::kMeldingStatusChanged: {
      auto& m = state.as<MeldingState>();
      m.status = event.melding_status_changed().to();
      m.scheduled_window = m.status == pb::MELDING_STATUS_SCHEDULED ? event.melding_status_changed().scheduled_window()
                                                                     : pb::TimeWindow();
      break;
    }
    case pb::EventEnvelope::kMeldingSatisfactionRecorded:
      if (event.melding_satisfaction_recorded().reopen_requested())
        state.as<MeldingState>().status = pb::MELDING_STATUS_REOPEN_REQUESTED;
      break;
    case pb::EventEnvelope::kMeldingLinked: {
      pb::MeldingLink link;
      link.set_melding_id(event.melding_linked().other_melding_id());
      link.set_kind(event.melding_linked().kind());
      state.as<MeldingState>().links.push_back(std::move(link));
      break;
    }
    case pb::EventEnvelope::kMeldingContactRecorded:
      state.as<MeldingState>().contact_interaction_ids.push_back(event.melding_contact_recorded().interaction_id());
      break;
    case pb::EventEnvelope::kMeldingCategoryDefined:
      state.data = CategoryState{event.melding_category_defined()};
      break;
    case pb::EventEnvelope::kEmployeeAvailabilityChanged:
      state.data = EmployeeState{event.employee_availability_changed()};
      break;
    case pb::EventEnvelope::kNotificationRequested: {
      RequireOpened(event);
      NotificationState n;
      n.request = event.notification_requested();
      n.status = pb::NOTIFICATION_STATUS_PENDING;
      // A scheduled message waits for its time like a retry waits for its backoff.
      if (n.request.has_send_at()) n.next_attempt_ms = TimeUtil::TimestampToMilliseconds(n.request.send_at());
      state.data = std::move(n);
      break;
    }
    case pb::EventEnvelope::kNotificationCancelled:
      state.as<NotificationState>().status = pb::NOTIFICATION_STATUS_CANCELLED;
      break;
    case pb::EventEnvelope::kNotificationRescheduled: {
      auto& n = state.as<NotificationState>();
      n.status = pb::NOTIFICATION_STATUS_PENDING;
      n.next_attempt_ms = TimeUtil::TimestampToMilliseconds(event.notification_rescheduled().send_at());
      break;
    }
    case pb::EventEnvelope::kNotificationDispatched: {
      auto& n = state.as<NotificationState>();
      n.status = pb::NOTIFICATION_STATUS_DISPATCHED;
      n.attempts = event.notification_dispatched().attempt();
      n.lease_until_ms = TimeUtil::TimestampToMilliseconds(event.notification_dispatched().lease_until());
      n.adapter_id = event.notification_dispatched().adapter_id();
      break;
    }
    case pb::EventEnvelope::kNotificationDelivered:
      state.as<NotificationState>().status = pb::NOTIFICATION_STATUS_DELIVERED;
      break;
    case pb::EventEnvelope::kNotificationFailed: {
      auto& n = state.as<NotificationState>();
      const auto& ev = event.notification_failed();
      n.status = ev.gave_up() ? pb::NOTIFICATION_STATUS_GAVE_UP : pb::NOTIFICATION_STATUS_PENDING;
      n.next_attempt_ms = TimeUtil::TimestampToMilliseconds(ev.next_attempt_at());
      break;
    }
    default:
      break;  // attachments, assignment and satisfaction do not change what decisions need
  }
}

}  // namespace ks::domain
