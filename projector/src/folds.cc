#include "ks/projector/folds.h"

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include "ks/domain/melding_rules.h"
#include "ks/domain/party_rules.h"
#include "ks/readmodel/keys.h"

namespace ks::projector {
namespace {
using google::protobuf::util::TimeUtil;
namespace keys = readmodel::keys;
}  // namespace

pb::PartyProfile FoldParty(pb::PartyProfile profile, const pb::EventEnvelope& event) {
  switch (event.payload_case()) {
    case pb::EventEnvelope::kPartyRegistered: {
      const auto& ev = event.party_registered();
      profile.set_party_id(event.aggregate_id());
      profile.set_tenant(event.tenant());
      profile.set_kind(ev.kind());
      profile.set_display_name(ev.display_name());
      *profile.mutable_identifiers() = ev.identifiers();
      *profile.mutable_digital_addresses() = ev.digital_addresses();
      profile.set_birth_date(ev.birth_date());
      if (ev.has_residence()) *profile.mutable_residence() = ev.residence();
      *profile.mutable_registered_at() = event.occurred_at();
      break;
    }
    case pb::EventEnvelope::kPartyNameChanged:
      profile.set_display_name(event.party_name_changed().display_name());
      break;
    case pb::EventEnvelope::kDigitalAddressAdded:
      domain::AddDigitalAddress(*profile.mutable_digital_addresses(),
                                event.digital_address_added().address());
      break;
    case pb::EventEnvelope::kPartyIdentifierAdded:
      *profile.add_identifiers() = event.party_identifier_added().identifier();
      break;
    case pb::EventEnvelope::kPartyLabelAdded: {
      pb::PartyLabel* label = profile.add_labels();
      label->set_label(event.party_label_added().label());
      label->set_automatic(event.party_label_added().automatic());
      *label->mutable_added_at() = event.occurred_at();
      break;
    }
    case pb::EventEnvelope::kPartyLabelRemoved: {
      auto* labels = profile.mutable_labels();
      for (int i = 0; i < labels->size(); ++i)
        if (labels->Get(i).label() == event.party_label_removed().label()) {
          labels->DeleteSubrange(i, 1);
          break;
        }
      break;
    }
    case pb::EventEnvelope::kPreferredChannelSet:
      profile.set_preferred_channel(event.preferred_channel_set().channel());
      break;
    case pb::EventEnvelope::kResidenceChanged:
      *profile.mutable_residence() = event.residence_changed().residence();
      break;
    case pb::EventEnvelope::kPartyIdentified: {
      const auto& ev = event.party_identified();
      pb::Identification* id = profile.add_identifications();
      id->set_method(ev.method());
      *id->mutable_at() = event.occurred_at();
      *id->mutable_verified_by() = event.actor();
      id->set_process(ev.process());
      id->set_reference(ev.reference());
      id->set_channel(event.channel());
      break;
    }
    case pb::EventEnvelope::kContactPersonAdded: {
      auto* person = profile.add_contact_persons();
      person->set_party_id(event.contact_person_added().party_id());
      person->set_role(event.contact_person_added().role());
      *person->mutable_added_at() = event.occurred_at();
      break;
    }
    case pb::EventEnvelope::kPartyMerged:
      profile.set_merged_into(event.party_merged().into_party_id());
      *profile.mutable_merged_at() = event.occurred_at();
      break;
    case pb::EventEnvelope::kPartyErased:
      // What stays: that the party existed, when, its labels (for the KPIs); nothing to find it by.
      profile.clear_display_name();
      profile.clear_identifiers();
      profile.clear_digital_addresses();
      profile.clear_birth_date();
      profile.clear_residence();
      profile.clear_identifications();
      profile.clear_personal_data();
      profile.clear_lookup_digests();
      profile.clear_preferred_channel();
      profile.set_erased(true);
      *profile.mutable_erased_at() = event.occurred_at();
      break;
    default:
      return profile;
  }
  profile.set_version(event.aggregate_version());
  return profile;
}

pb::InteractionRecord FoldInteraction(pb::InteractionRecord record,
                                      const pb::EventEnvelope& event) {
  switch (event.payload_case()) {
    case pb::EventEnvelope::kInteractionRegistered: {
      const auto& ev = event.interaction_registered();
      record.set_interaction_id(event.aggregate_id());
      record.set_tenant(event.tenant());
      record.set_party_id(ev.party_id());
      record.set_channel(ev.channel());
      record.set_direction(ev.direction());
      record.set_visibility(ev.visibility());
      record.set_conversation_id(ev.conversation_id());
      record.set_reply_to_interaction_id(ev.reply_to_interaction_id());
      *record.mutable_topics() = ev.topics();
      record.set_text(ev.text());
      if (ev.has_counterpart()) *record.mutable_counterpart() = ev.counterpart();
      record.set_counterpart_digest(ev.counterpart_digest());
      record.set_external_id(ev.external_id());
      if (ev.has_handled_by()) *record.mutable_handled_by() = ev.handled_by();
      record.set_restricted_to_team(ev.restricted_to_team());
      record.set_contact_person_party_id(ev.contact_person_party_id());
      *record.mutable_occurred_at() = event.occurred_at();
      *record.mutable_recorded_at() = event.recorded_at();
      break;
    }
    case pb::EventEnvelope::kInteractionLinkedToZaak:
      *record.add_zaken() = event.interaction_linked_to_zaak().zaak();
      break;
    case pb::EventEnvelope::kInteractionLinkedToParty:
      record.set_party_id(event.interaction_linked_to_party().party_id());
      break;
    case pb::EventEnvelope::kInteractionReportRecorded:
      record.set_report(event.interaction_report_recorded().report());
      record.set_outcome(event.interaction_report_recorded().outcome());
      *record.mutable_underlying_topics() = event.interaction_report_recorded().underlying_topics();
      break;
    default:
      return record;
  }
  record.set_version(event.aggregate_version());
  return record;
}

pb::CallbackRecord FoldCallback(pb::CallbackRecord record, const pb::EventEnvelope& event) {
  switch (event.payload_case()) {
    case pb::EventEnvelope::kCallbackRequested: {
      const auto& ev = event.callback_requested();
      record.set_callback_id(event.aggregate_id());
      record.set_tenant(event.tenant());
      record.set_party_id(ev.party_id());
      record.set_origin_interaction_id(ev.origin_interaction_id());
      record.set_subject(ev.subject());
      record.set_context(ev.context());
      record.set_urgency(ev.urgency());
      record.set_phone_number(ev.phone_number());
      *record.mutable_target() = ev.target();
      if (ev.has_due_at()) *record.mutable_due_at() = ev.due_at();
      *record.mutable_requested_at() = event.occurred_at();
      *record.mutable_requested_by() = event.actor();
      record.set_status(pb::CALLBACK_STATUS_OPEN);
      break;
    }
    case pb::EventEnvelope::kCallbackAttemptRecorded:
      record.set_attempts(record.attempts() + 1);
      record.set_last_attempt_outcome(event.callback_attempt_recorded().outcome());
      if (!record.has_first_attempt_at()) *record.mutable_first_attempt_at() = event.occurred_at();
      break;
    case pb::EventEnvelope::kCallbackCompleted:
      record.set_status(pb::CALLBACK_STATUS_COMPLETED);
      record.set_completion_report(event.callback_completed().report());
      record.set_completion_interaction_id(event.callback_completed().interaction_id());
      *record.mutable_closed_at() = event.occurred_at();
      break;
    case pb::EventEnvelope::kCallbackCancelled:
      record.set_status(pb::CALLBACK_STATUS_CANCELLED);
      record.set_cancel_reason(event.callback_cancelled().reason());
      *record.mutable_closed_at() = event.occurred_at();
      break;
    case pb::EventEnvelope::kCallbackReassigned:
      *record.mutable_target() = event.callback_reassigned().target();
      break;
    default:
      return record;
  }
  record.set_version(event.aggregate_version());
  return record;
}

pb::MeldingRecord FoldMelding(pb::MeldingRecord record, const pb::EventEnvelope& event) {
  switch (event.payload_case()) {
    case pb::EventEnvelope::kMeldingRegistered: {
      const auto& ev = event.melding_registered();
      record.set_melding_id(event.aggregate_id());
      record.set_tenant(event.tenant());
      record.set_number(ev.number());
      record.set_category(ev.category());
      record.set_description(ev.description());
      *record.mutable_location() = ev.location();
      *record.mutable_attachments() = ev.attachments();
      record.set_priority(ev.priority());
      record.set_reporter_party_id(ev.reporter_party_id());
      if (ev.has_reporter_address()) *record.mutable_reporter_address() = ev.reporter_address();
      record.set_channel(ev.channel());
      record.set_status(pb::MELDING_STATUS_REGISTERED);
      *record.mutable_status_since() = event.occurred_at();
      *record.mutable_due_at() = ev.due_at();
      record.set_department(ev.department());
      *record.mutable_registered_at() = event.occurred_at();
      record.set_origin_interaction_id(ev.origin_interaction_id());
      break;
    }
    case pb::EventEnvelope::kMeldingStatusChanged: {
      const auto& ev = event.melding_status_changed();
      auto* change = record.add_history();
      change->set_from(ev.from());
      change->set_to(ev.to());
      *change->mutable_at() = event.occurred_at();
      *change->mutable_by() = event.actor();
      change->set_reason(ev.reason());
      change->set_citizen_told(ev.notify_citizen());
      if (ev.has_scheduled_window()) *change->mutable_scheduled_window() = ev.scheduled_window();
      change->set_public_message(ev.public_message());
      *change->mutable_attachments() = ev.attachments();
      record.set_status(ev.to());
      *record.mutable_status_since() = event.occurred_at();
      if (ev.to() == pb::MELDING_STATUS_SCHEDULED)
        *record.mutable_scheduled_window() = ev.scheduled_window();
      else
        record.clear_scheduled_window();
      if (ev.to() == pb::MELDING_STATUS_RESOLVED)
        *record.mutable_resolved_at() = event.occurred_at();
      if (ev.to() == pb::MELDING_STATUS_REOPENED)
        record.set_reopen_count(record.reopen_count() + 1);
      break;
    }
    case pb::EventEnvelope::kMeldingAssigned:
      record.set_department(event.melding_assigned().department());
      record.set_employee_id(event.melding_assigned().employee_id());
      record.set_employee_name(event.melding_assigned().employee_name());
      break;
    case pb::EventEnvelope::kMeldingLinked: {
      auto* link = record.add_links();
      link->set_melding_id(event.melding_linked().other_melding_id());
      link->set_kind(event.melding_linked().kind());
      break;
    }
    case pb::EventEnvelope::kMeldingContactRecorded:
      record.add_contact_interaction_ids(event.melding_contact_recorded().interaction_id());
      record.set_repeat_contacts(record.repeat_contacts() + 1);
      break;
    case pb::EventEnvelope::kMeldingAttachmentAdded:
      *record.add_attachments() = event.melding_attachment_added().attachment();
      break;
    case pb::EventEnvelope::kMeldingSatisfactionRecorded: {
      const auto& ev = event.melding_satisfaction_recorded();
      record.set_satisfaction_score(ev.score());
      record.set_satisfaction_comment(ev.comment());
      if (ev.reopen_requested()) {
        auto* change = record.add_history();
        change->set_from(record.status());
        change->set_to(pb::MELDING_STATUS_REOPEN_REQUESTED);
        *change->mutable_at() = event.occurred_at();
        *change->mutable_by() = event.actor();
        change->set_reason(fmt::format("KTO score {}: {}", ev.score(), ev.comment()));
        record.set_status(pb::MELDING_STATUS_REOPEN_REQUESTED);
        *record.mutable_status_since() = event.occurred_at();
      }
      break;
    }
    default:
      return record;
  }
  record.set_version(event.aggregate_version());
  return record;
}

pb::MeldingCategoryRecord FoldCategory(pb::MeldingCategoryRecord record,
                                       const pb::EventEnvelope& event) {
  if (event.payload_case() != pb::EventEnvelope::kMeldingCategoryDefined) return record;
  const auto& ev = event.melding_category_defined();
  record.set_tenant(event.tenant());
  record.set_code(ev.code());
  record.set_name(ev.name());
  record.set_due_days(ev.due_days());
  record.set_working_days(ev.working_days());
  record.set_default_department(ev.default_department());
  record.set_version(event.aggregate_version());
  return record;
}

pb::EmployeeRecord FoldEmployee(pb::EmployeeRecord record, const pb::EventEnvelope& event) {
  if (event.payload_case() != pb::EventEnvelope::kEmployeeAvailabilityChanged) return record;
  const auto& ev = event.employee_availability_changed();
  record.set_tenant(event.tenant());
  record.set_employee_id(ev.employee_id());
  record.set_name(ev.employee_name());
  record.set_available(ev.available());
  if (ev.has_until())
    *record.mutable_until() = ev.until();
  else
    record.clear_until();
  record.set_replacement_employee_id(ev.replacement_employee_id());
  record.set_replacement_name(ev.replacement_name());
  record.set_reason(ev.reason());
  record.set_version(event.aggregate_version());
  return record;
}

pb::NotificationRecord FoldNotification(pb::NotificationRecord record,
                                        const pb::EventEnvelope& event) {
  switch (event.payload_case()) {
    case pb::EventEnvelope::kNotificationRequested: {
      const auto& ev = event.notification_requested();
      record.set_notification_id(event.aggregate_id());
      record.set_tenant(event.tenant());
      record.set_party_id(ev.party_id());
      record.set_channel(ev.channel());
      *record.mutable_address() = ev.address();
      record.set_text(ev.text());
      *record.mutable_attachments() = ev.attachments();
      record.set_source_event_id(ev.source_event_id());
      record.set_subject_id(ev.subject_id());
      record.set_subject_number(ev.subject_number());
      record.set_status(pb::NOTIFICATION_STATUS_PENDING);
      *record.mutable_requested_at() = event.occurred_at();
      *record.mutable_recorded_at() = event.recorded_at();
      if (ev.has_send_at()) *record.mutable_send_at() = ev.send_at();
      break;
    }
    case pb::EventEnvelope::kNotificationCancelled:
      record.set_status(pb::NOTIFICATION_STATUS_CANCELLED);
      record.set_cancel_reason(event.notification_cancelled().reason());
      record.clear_next_attempt_at();
      break;
    case pb::EventEnvelope::kNotificationRescheduled:
      record.set_status(pb::NOTIFICATION_STATUS_PENDING);
      *record.mutable_send_at() = event.notification_rescheduled().send_at();
      break;
    case pb::EventEnvelope::kNotificationDispatched:
      record.set_status(pb::NOTIFICATION_STATUS_DISPATCHED);
      record.set_attempts(event.notification_dispatched().attempt());
      break;
    case pb::EventEnvelope::kNotificationDelivered:
      record.set_status(pb::NOTIFICATION_STATUS_DELIVERED);
      *record.mutable_delivered_at() = event.occurred_at();
      break;
    case pb::EventEnvelope::kNotificationFailed: {
      const auto& ev = event.notification_failed();
      record.set_status(ev.gave_up() ? pb::NOTIFICATION_STATUS_GAVE_UP
                                     : pb::NOTIFICATION_STATUS_PENDING);
      record.set_last_error(ev.error());
      if (ev.has_next_attempt_at())
        *record.mutable_next_attempt_at() = ev.next_attempt_at();
      else
        record.clear_next_attempt_at();
      break;
    }
    default:
      return record;
  }
  record.set_version(event.aggregate_version());
  return record;
}

std::string PartyMeldingEntry(const pb::MeldingRecord& record) {
  return keys::PartyMelding(record.tenant(), record.reporter_party_id(), domain::MeldingIsOpen(record.status()),
                            TimeUtil::TimestampToMilliseconds(record.registered_at()), record.melding_id());
}

std::vector<std::string> IndexKeys(const pb::MeldingRecord& record) {
  std::vector<std::string> out;
  if (record.melding_id().empty()) return out;
  const std::string& t = record.tenant();
  const std::string& id = record.melding_id();
  const int64_t due = TimeUtil::TimestampToMilliseconds(record.due_at());
  out.push_back(keys::MeldingNumber(t, record.number(), id));
  out.push_back(
      keys::Started(t, "M", TimeUtil::TimestampToMilliseconds(record.registered_at()), id));
  if (!record.reporter_party_id().empty())
    out.push_back(PartyMeldingEntry(record));
  out.push_back(keys::MeldingIndex(t, "status", std::to_string(record.status()), due, id));
  if (!domain::MeldingIsOpen(record.status())) return out;
  out.push_back(keys::MeldingIndex(t, "open", "", due, id));
  out.push_back(keys::MeldingIndex(t, "category", record.category(), due, id));
  if (!record.location().neighbourhood().empty())
    out.push_back(keys::MeldingIndex(t, "wijk", record.location().neighbourhood(), due, id));
  if (!record.location().postcode().empty()) {
    out.push_back(keys::MeldingIndex(t, "pc", record.location().postcode(), due, id));
    out.push_back(keys::MeldingIndex(
        t, "addr", record.location().postcode() + " " + record.location().house_number(), due, id));
  }
  if (!record.department().empty())
    out.push_back(keys::MeldingIndex(t, "dept", record.department(), due, id));
  if (!record.employee_id().empty())
    out.push_back(keys::MeldingIndex(t, "emp", record.employee_id(), due, id));
  return out;
}

std::vector<std::string> IndexKeys(const pb::MeldingCategoryRecord&) { return {}; }

std::vector<std::string> IndexKeys(const pb::EmployeeRecord& record) {
  if (record.employee_id().empty() || record.available() ||
      record.replacement_employee_id().empty())
    return {};
  return {
      keys::ReplacedBy(record.tenant(), record.replacement_employee_id(), record.employee_id())};
}

pb::ConversationRecord FoldConversation(pb::ConversationRecord record,
                                        const pb::EventEnvelope& event) {
  switch (event.payload_case()) {
    case pb::EventEnvelope::kConversationStarted: {
      const auto& ev = event.conversation_started();
      record.set_conversation_id(event.aggregate_id());
      record.set_tenant(event.tenant());
      record.set_party_id(ev.party_id());
      record.set_channel(ev.channel());
      record.set_subject(ev.subject());
      *record.mutable_topics() = ev.topics();
      if (ev.has_counterpart()) *record.mutable_counterpart() = ev.counterpart();
      record.set_status(event.actor().kind() == pb::ACTOR_KIND_BOT
                            ? pb::CONVERSATION_STATUS_WITH_BOT
                            : pb::CONVERSATION_STATUS_WITH_EMPLOYEE);
      *record.mutable_started_at() = event.occurred_at();
      *record.mutable_recorded_at() = event.recorded_at();
      *record.mutable_started_by() = event.actor();
      break;
    }
    case pb::EventEnvelope::kConversationHandedOver: {
      const auto& ev = event.conversation_handed_over();
      record.set_status(pb::CONVERSATION_STATUS_WAITING_FOR_EMPLOYEE);
      *record.mutable_handed_over_to() = ev.to();
      record.set_handover_reason(ev.reason());
      record.set_handover_summary(ev.summary());
      record.set_callback_phone_number(ev.phone_number());
      *record.mutable_handed_over_at() = event.occurred_at();
      *record.mutable_handed_over_recorded_at() = event.recorded_at();
      break;
    }
    case pb::EventEnvelope::kConversationTakenOver:
      record.set_status(pb::CONVERSATION_STATUS_WITH_EMPLOYEE);
      *record.mutable_taken_over_by() = event.conversation_taken_over().employee();
      *record.mutable_taken_over_at() = event.occurred_at();
      break;
    case pb::EventEnvelope::kConversationLinkedToParty:
      record.set_party_id(event.conversation_linked_to_party().party_id());
      break;
    case pb::EventEnvelope::kConversationClosed: {
      const auto& ev = event.conversation_closed();
      record.set_status(pb::CONVERSATION_STATUS_CLOSED);
      record.set_outcome(ev.outcome());
      record.set_report(ev.report());
      *record.mutable_underlying_topics() = ev.underlying_topics();
      *record.mutable_closed_at() = event.occurred_at();
      break;
    }
    default:
      return record;
  }
  record.set_version(event.aggregate_version());
  return record;
}

pb::AppointmentRecord FoldAppointment(pb::AppointmentRecord record,
                                      const pb::EventEnvelope& event) {
  switch (event.payload_case()) {
    case pb::EventEnvelope::kAppointmentScheduled: {
      const auto& ev = event.appointment_scheduled();
      record.set_appointment_id(event.aggregate_id());
      record.set_tenant(event.tenant());
      record.set_party_id(ev.party_id());
      record.set_person_name(ev.person_name());
      *record.mutable_window() = ev.window();
      record.set_place(ev.place());
      *record.mutable_with() = ev.with();
      record.set_subject(ev.subject());
      record.set_what_to_bring(ev.what_to_bring());
      *record.mutable_reminder_minutes_before() = ev.reminder_minutes_before();
      if (ev.has_notify_to()) *record.mutable_notify_to() = ev.notify_to();
      record.set_details_url(ev.details_url());
      record.set_restricted_to_team(ev.restricted_to_team());
      record.set_origin_interaction_id(ev.origin_interaction_id());
      record.set_status(pb::APPOINTMENT_STATUS_SCHEDULED);
      *record.mutable_scheduled_at() = event.occurred_at();
      *record.mutable_scheduled_by() = event.actor();
      *record.mutable_last_changed_by() = event.actor();
      break;
    }
    case pb::EventEnvelope::kAppointmentRescheduled: {
      const auto& ev = event.appointment_rescheduled();
      *record.mutable_window() = ev.window();
      if (!ev.place().empty()) record.set_place(ev.place());
      record.set_reschedule_count(record.reschedule_count() + 1);
      *record.mutable_last_changed_by() = event.actor();
      break;
    }
    case pb::EventEnvelope::kAppointmentRemindersSet: {
      const auto& ev = event.appointment_reminders_set();
      *record.mutable_reminder_minutes_before() = ev.reminder_minutes_before();
      if (ev.has_notify_to()) *record.mutable_notify_to() = ev.notify_to();
      *record.mutable_last_changed_by() = event.actor();
      break;
    }
    case pb::EventEnvelope::kAppointmentCancelled:
      record.set_status(pb::APPOINTMENT_STATUS_CANCELLED);
      record.set_cancel_reason(event.appointment_cancelled().reason());
      *record.mutable_last_changed_by() = event.actor();
      break;
    case pb::EventEnvelope::kAppointmentLinkedToParty:
      record.set_party_id(event.appointment_linked_to_party().party_id());
      break;
    case pb::EventEnvelope::kAppointmentOutcomeRecorded:
      record.set_status(event.appointment_outcome_recorded().outcome());
      record.set_outcome_note(event.appointment_outcome_recorded().note());
      *record.mutable_last_changed_by() = event.actor();
      break;
    default:
      return record;
  }
  record.set_version(event.aggregate_version());
  return record;
}

std::vector<std::string> IndexKeys(const pb::ConversationRecord& record) {
  std::vector<std::string> out;
  if (record.conversation_id().empty()) return out;
  if (!record.party_id().empty())
    out.push_back(keys::PartyConversation(record.tenant(), record.party_id(),
                                          TimeUtil::TimestampToMilliseconds(record.started_at()),
                                          record.conversation_id()));
  if (record.status() == pb::CONVERSATION_STATUS_WAITING_FOR_EMPLOYEE) {
    const int64_t ms = TimeUtil::TimestampToMilliseconds(record.handed_over_at());
    if (!record.handed_over_to().department().empty())
      out.push_back(keys::HandoverQueue(record.tenant(), "dept",
                                        record.handed_over_to().department(), ms,
                                        record.conversation_id()));
    if (!record.handed_over_to().employee_id().empty())
      out.push_back(keys::HandoverQueue(record.tenant(), "emp",
                                        record.handed_over_to().employee_id(), ms,
                                        record.conversation_id()));
  }
  return out;
}

std::vector<std::string> IndexKeys(const pb::AppointmentRecord& record) {
  std::vector<std::string> out;
  if (record.appointment_id().empty() || record.party_id().empty()) return out;
  out.push_back(keys::PartyAppointment(record.tenant(), record.party_id(),
                                       TimeUtil::TimestampToMilliseconds(record.window().start()),
                                       record.appointment_id()));
  return out;
}

std::vector<std::string> IndexKeys(const pb::NotificationRecord& record) {
  std::vector<std::string> out;
  if (record.notification_id().empty()) return out;
  out.push_back(keys::Started(record.tenant(), "N",
                              TimeUtil::TimestampToMilliseconds(record.requested_at()),
                              record.notification_id()));
  if (!record.party_id().empty())
    out.push_back(keys::PartyNotification(record.tenant(), record.party_id(),
                                          TimeUtil::TimestampToMilliseconds(record.requested_at()),
                                          record.notification_id()));
  if (!record.subject_id().empty())
    out.push_back(
        keys::SubjectNotification(record.tenant(), record.subject_id(), record.notification_id()));
  return out;
}

std::vector<std::string> IndexKeys(const pb::PartyProfile& profile) {
  std::vector<std::string> out;
  if (profile.party_id().empty()) return out;
  for (const std::string& tagged : profile.lookup_digests()) {
    const size_t colon = tagged.find(':');
    if (colon == std::string::npos) continue;
    out.push_back(keys::Lookup(profile.tenant(), std::string_view(tagged).substr(0, colon),
                               std::string_view(tagged).substr(colon + 1), profile.party_id()));
  }
  if (!profile.merged_into().empty())
    out.push_back(keys::MergedInto(profile.tenant(), profile.merged_into(), profile.party_id()));
  // When each label was added (for the live KPIs): the party under each of those times.
  for (const auto& label : profile.labels()) {
    std::string key =
        keys::Started(profile.tenant(), "L", TimeUtil::TimestampToMilliseconds(label.added_at()),
                      profile.party_id());
    if (std::find(out.begin(), out.end(), key) == out.end()) out.push_back(std::move(key));
  }
  return out;
}

std::vector<std::string> IndexKeys(const pb::InteractionRecord& record) {
  std::vector<std::string> out;
  if (record.interaction_id().empty()) return out;
  const int64_t ms = TimeUtil::TimestampToMilliseconds(record.occurred_at());
  out.push_back(keys::Started(record.tenant(), "I", ms, record.interaction_id()));
  if (!record.party_id().empty())
    out.push_back(
        keys::PartyTimeline(record.tenant(), record.party_id(), ms, record.interaction_id()));
  if (!record.counterpart_digest().empty())
    out.push_back(keys::AddressTimeline(record.tenant(), record.counterpart_digest(), ms,
                                        record.interaction_id()));
  if (!record.conversation_id().empty())
    out.push_back(keys::ConversationTurn(record.tenant(), record.conversation_id(),
                                         TimeUtil::TimestampToMicroseconds(record.occurred_at()),
                                         record.interaction_id()));
  for (const pb::ZaakReference& zaak : record.zaken())
    out.push_back(
        keys::ZaakContact(record.tenant(), zaak.identification(), ms, record.interaction_id()));
  return out;
}

namespace {
// When a callback request is due; INT64_MAX (ranked last) when it has no due time.
int64_t DueMs(const pb::CallbackRecord& record) {
  return record.has_due_at() ? TimeUtil::TimestampToMilliseconds(record.due_at()) : INT64_MAX;
}
}  // namespace

std::string OpenCallbackEntry(const pb::CallbackRecord& record) {
  return keys::OpenCallback(record.tenant(), record.party_id(), DueMs(record), record.callback_id());
}

std::vector<std::string> IndexKeys(const pb::CallbackRecord& record) {
  std::vector<std::string> out;
  if (record.callback_id().empty()) return out;
  out.push_back(keys::Started(record.tenant(), "C",
                              TimeUtil::TimestampToMilliseconds(record.requested_at()),
                              record.callback_id()));
  if (record.status() != pb::CALLBACK_STATUS_OPEN) return out;
  const keys::QueueRank rank{
      .urgency = record.urgency(),
      .due_ms = DueMs(record),
      .requested_ms = TimeUtil::TimestampToMilliseconds(record.requested_at())};
  out.push_back(OpenCallbackEntry(record));
  if (!record.target().department().empty())
    out.push_back(keys::DepartmentQueue(record.tenant(), record.target().department(), rank,
                                        record.callback_id()));
  if (!record.target().employee_id().empty())
    out.push_back(keys::EmployeeQueue(record.tenant(), record.target().employee_id(), rank,
                                      record.callback_id()));
  return out;
}

std::vector<std::string> LookupDigests(const pb::PartyProfile& profile,
                                       const privacy::Key& index_key) {
  std::vector<std::string> out;
  for (const auto& id : profile.identifiers()) {
    out.push_back(keys::IdentifierTag(id.kind()) + ":" +
                  privacy::IdentifierDigest(index_key, id.kind(), id.value()));
  }
  for (const auto& a : profile.digital_addresses()) {
    out.push_back(keys::AddressTag(a.kind()) + ":" +
                  privacy::AddressDigest(index_key, a.kind(), a.value()));
  }
  if (!profile.birth_date().empty() && !profile.residence().postcode().empty())
    out.push_back(std::string(keys::kRecognitionTag) + ":" +
                  privacy::RecognitionDigest(index_key, profile.residence().postcode(),
                                             profile.residence().house_number(),
                                             profile.birth_date()));
  return out;
}

std::string CounterpartDigest(const pb::InteractionRecord& record, const privacy::Key& index_key) {
  if (!record.counterpart_digest().empty()) return record.counterpart_digest();  // from the event
  if (!record.has_counterpart() || record.counterpart().value().empty()) return "";
  return privacy::AddressDigest(index_key, record.counterpart().kind(),
                                record.counterpart().value());
}

}  // namespace ks::projector
