#include "ks/domain/validation.h"

#include "ks/domain/aggregate.h"

#include <algorithm>
#include <cctype>

namespace ks::domain {
namespace {

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

Status CheckMaxBytes(std::string_view value, size_t max, std::string_view field) {
  if (value.size() > max) return InvalidArgument("{}: must be at most {} bytes (got {})", field, max, value.size());
  return Status::Ok();
}

Status CheckRequired(std::string_view value, size_t max, std::string_view field) {
  if (value.empty()) return InvalidArgument("{}: is required", field);
  return CheckMaxBytes(value, max, field);
}

// Ids chosen by callers: printable, no spaces, so they are safe in keys and logs.
Status CheckId(std::string_view value, std::string_view field, bool required) {
  if (value.empty()) return required ? InvalidArgument("{}: is required", field) : Status::Ok();
  if (value.size() > kMaxIdBytes) return InvalidArgument("{}: must be at most {} bytes", field, kMaxIdBytes);
  for (unsigned char c : value) {
    if (!(std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.' || c == ':'))
      return InvalidArgument("{}: may contain only letters, digits, '-', '_', '.' and ':'", field);
  }
  return Status::Ok();
}

template <typename EnumValid>
Status CheckEnum(int value, EnumValid is_valid, std::string_view field, bool required) {
  if (!is_valid(value)) return InvalidArgument("{}: unknown value {}", field, value);
  if (required && value == 0) return InvalidArgument("{}: is required", field);
  return Status::Ok();
}

Status CheckActor(const pb::Actor& actor, std::string_view field, bool required) {
  if (!required && actor.kind() == pb::ACTOR_KIND_UNSPECIFIED && actor.id().empty()) return Status::Ok();
  if (Status s = CheckEnum(actor.kind(), pb::ActorKind_IsValid, fmt::format("{}.kind", field), true); !s.ok()) return s;
  if (Status s = CheckId(actor.id(), fmt::format("{}.id", field), true); !s.ok()) return s;
  return CheckMaxBytes(actor.display_name(), kMaxNameBytes, fmt::format("{}.display_name", field));
}

Status CheckIdentifier(const pb::PartyIdentifier& id, std::string_view field) {
  if (Status s = CheckEnum(id.kind(), pb::IdentifierKind_IsValid, fmt::format("{}.kind", field), true); !s.ok())
    return s;
  if (Status s = CheckRequired(id.value(), kMaxIdBytes, fmt::format("{}.value", field)); !s.ok()) return s;
  if (std::any_of(id.value().begin(), id.value().end(), [](unsigned char c) { return c < 32; }))
    return InvalidArgument("{}.value: may not contain control characters", field);
  if (id.kind() == pb::IDENTIFIER_KIND_BSN && !IsValidBsn(id.value()))
    return InvalidArgument("{}.value: a BSN must be 9 digits that pass the 11-test", field);
  if (id.kind() == pb::IDENTIFIER_KIND_KVK && !IsValidKvk(id.value()))
    return InvalidArgument("{}.value: a KvK number must be 8 digits", field);
  return Status::Ok();
}

Status CheckAddress(const pb::DigitalAddress& address, std::string_view field) {
  if (Status s = CheckEnum(address.kind(), pb::DigitalAddressKind_IsValid, fmt::format("{}.kind", field), true);
      !s.ok())
    return s;
  auto normalized = NormalizeDigitalAddress(address.kind(), address.value(), fmt::format("{}.value", field));
  return normalized ? Status::Ok() : normalized.error();
}

Status CheckTarget(const pb::CallbackTarget& target, std::string_view field) {
  if (target.department().empty() && target.employee_id().empty())
    return InvalidArgument("{}: needs a department or an employee_id", field);
  if (Status s = CheckId(target.department(), fmt::format("{}.department", field), false); !s.ok()) return s;
  if (Status s = CheckId(target.employee_id(), fmt::format("{}.employee_id", field), false); !s.ok()) return s;
  return CheckMaxBytes(target.employee_name(), kMaxNameBytes, fmt::format("{}.employee_name", field));
}

Status CheckAttachment(const pb::Attachment& a, std::string_view field) {
  if (a.sha256().size() != 64 ||
      !std::all_of(a.sha256().begin(), a.sha256().end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }))
    return InvalidArgument("{}.sha256: must be 64 lower-case hex digits (the SHA-256 the upload returned)", field);
  if (a.size_bytes() <= 0 || a.size_bytes() > kMaxAttachmentBytes)
    return InvalidArgument("{}.size_bytes: must be between 1 and {} (10 MiB); got {}", field, kMaxAttachmentBytes, a.size_bytes());
  if (Status s = CheckRequired(a.media_type(), 100, fmt::format("{}.media_type", field)); !s.ok()) return s;
  if (Status s = CheckMaxBytes(a.file_name(), kMaxNameBytes, fmt::format("{}.file_name", field)); !s.ok()) return s;
  return CheckMaxBytes(a.caption(), kMaxNameBytes, fmt::format("{}.caption", field));
}

Status CheckAttachments(const google::protobuf::RepeatedPtrField<pb::Attachment>& list, std::string_view field) {
  if (static_cast<size_t>(list.size()) > kMaxRepeated)
    return InvalidArgument("{}: at most {} attachments (got {})", field, kMaxRepeated, list.size());
  for (int i = 0; i < list.size(); ++i)
    if (Status s = CheckAttachment(list[i], fmt::format("{}[{}]", field, i)); !s.ok()) return s;
  return Status::Ok();
}

Status CheckLocation(const pb::Location& l, std::string_view field) {
  for (const auto& [value, name] : {std::pair{&l.street(), "street"}, {&l.house_number(), "house_number"},
                                    {&l.postcode(), "postcode"}, {&l.city(), "city"}, {&l.neighbourhood(), "neighbourhood"}})
    if (Status s = CheckMaxBytes(*value, kMaxNameBytes, fmt::format("{}.{}", field, name)); !s.ok()) return s;
  if (l.street().empty() && l.postcode().empty() && !l.has_coordinates())
    return InvalidArgument("{}: needs a street, a postcode or coordinates", field);
  if (l.has_coordinates() && (l.latitude() < -90 || l.latitude() > 90 || l.longitude() < -180 || l.longitude() > 180))
    return InvalidArgument("{}: latitude must be within -90..90 and longitude within -180..180", field);
  return Status::Ok();
}

Status CheckResidence(const pb::PostalAddress& a, std::string_view field) {
  for (const auto& [value, name] : {std::pair{&a.street(), "street"}, {&a.house_number(), "house_number"},
                                    {&a.postcode(), "postcode"}, {&a.city(), "city"}})
    if (Status s = CheckMaxBytes(*value, kMaxNameBytes, fmt::format("{}.{}", field, name)); !s.ok()) return s;
  if (!IsValidPostcode(NormalizePostcode(a.postcode())))
    return InvalidArgument("{}.postcode: must be a Dutch postcode, four digits and two letters (got '{}')", field,
                           a.postcode());
  if (NormalizedResidence(a).house_number().empty()) return InvalidArgument("{}.house_number: is required", field);
  return Status::Ok();
}

Status CheckCount(int count, size_t max, std::string_view field) {
  if (static_cast<size_t>(count) > max) return InvalidArgument("{}: at most {} entries (got {})", field, max, count);
  return Status::Ok();
}

Status CheckTopics(const google::protobuf::RepeatedPtrField<std::string>& topics, std::string_view field) {
  if (Status s = CheckCount(topics.size(), kMaxTopics, field); !s.ok()) return s;
  for (int i = 0; i < topics.size(); ++i)
    if (Status s = CheckRequired(topics[i], 100, fmt::format("{}[{}]", field, i)); !s.ok()) return s;
  return Status::Ok();
}

// A time a command gives: what protobuf's Timestamp can hold, after 1970 (the read models' indexes
// and the KPIs' periods count from there) and at most 9999-12-31T23:59:59.
Status CheckTime(const google::protobuf::Timestamp& time, std::string_view field) {
  constexpr int64_t kLatestSeconds = 253'402'300'799;
  if (time.seconds() <= 0 || time.seconds() > kLatestSeconds || time.nanos() < 0 || time.nanos() > 999'999'999)
    return InvalidArgument("{}: must be a time from 1970 to 9999 (got {} s, {} ns)", field, time.seconds(), time.nanos());
  return Status::Ok();
}

Status CheckWindow(const pb::TimeWindow& window, std::string_view field) {
  if (window.start().seconds() <= 0) return InvalidArgument("{}.start: is required", field);
  if (window.end().seconds() <= 0) return InvalidArgument("{}.end: is required", field);
  if (Status s = CheckTime(window.start(), fmt::format("{}.start", field)); !s.ok()) return s;
  if (Status s = CheckTime(window.end(), fmt::format("{}.end", field)); !s.ok()) return s;
  if (window.end().seconds() <= window.start().seconds())
    return InvalidArgument("{}.end: must be after start", field);
  if (window.end().seconds() - window.start().seconds() > 8 * 3600)
    return InvalidArgument("{}: an appointment lasts at most 8 hours", field);
  return Status::Ok();
}

// Reminder offsets in minutes before an appointment, and where confirmations go.
Status CheckReminders(const google::protobuf::RepeatedField<int32_t>& minutes, pb::Channel channel,
                      const pb::DigitalAddress* address, bool has_address, std::string_view command) {
  const std::string field = fmt::format("{}.reminder_minutes_before", command);
  if (minutes.size() > 5) return InvalidArgument("{}: at most 5 reminders (got {})", field, minutes.size());
  for (int i = 0; i < minutes.size(); ++i)
    if (minutes[i] < 1 || minutes[i] > 43200)
      return InvalidArgument("{}[{}]: must be 1 to 43200 minutes (30 days); got {}", field, i, minutes[i]);
  if (Status s = CheckEnum(channel, pb::Channel_IsValid, fmt::format("{}.confirm_channel", command), false); !s.ok())
    return s;
  if (channel != pb::CHANNEL_UNSPECIFIED && AddressKindFor(channel) == pb::DIGITAL_ADDRESS_KIND_UNSPECIFIED)
    return InvalidArgument("{}.confirm_channel: {} cannot carry messages", command, pb::Channel_Name(channel));
  if (has_address) {
    if (Status s = CheckAddress(*address, fmt::format("{}.confirm_address", command)); !s.ok()) return s;
    if (channel != pb::CHANNEL_UNSPECIFIED && AddressKindFor(channel) != address->kind())
      return InvalidArgument("{}.confirm_address: a {} address cannot be reached on {}", command,
                             pb::DigitalAddressKind_Name(address->kind()), pb::Channel_Name(channel));
  }
  return Status::Ok();
}

Status ValidateCommand(const pb::ExecuteRequest& r) {
  switch (r.command_case()) {
    case pb::ExecuteRequest::kRegisterParty: {
      const auto& c = r.register_party();
      if (Status s = CheckEnum(c.kind(), pb::PartyKind_IsValid, "register_party.kind", true); !s.ok()) return s;
      if (Status s = CheckMaxBytes(c.display_name(), kMaxNameBytes, "register_party.display_name"); !s.ok()) return s;
      if (c.kind() != pb::PARTY_KIND_UNKNOWN && c.display_name().empty())
        return InvalidArgument("register_party.display_name: is required unless kind is PARTY_KIND_UNKNOWN");
      if (Status s = CheckCount(c.identifiers_size(), kMaxRepeated, "register_party.identifiers"); !s.ok()) return s;
      if (Status s = CheckCount(c.digital_addresses_size(), kMaxRepeated, "register_party.digital_addresses"); !s.ok())
        return s;
      for (int i = 0; i < c.identifiers_size(); ++i)
        if (Status s = CheckIdentifier(c.identifiers(i), fmt::format("register_party.identifiers[{}]", i)); !s.ok())
          return s;
      for (int i = 0; i < c.digital_addresses_size(); ++i)
        if (Status s = CheckAddress(c.digital_addresses(i), fmt::format("register_party.digital_addresses[{}]", i));
            !s.ok())
          return s;
      if (!c.birth_date().empty() && !IsValidDate(c.birth_date()))
        return InvalidArgument("register_party.birth_date: must be a date YYYY-MM-DD (got '{}')", c.birth_date().substr(0, 20));
      if (c.has_residence())
        if (Status s = CheckResidence(c.residence(), "register_party.residence"); !s.ok()) return s;
      if (c.identifiers_size() == 0 && c.digital_addresses_size() == 0 && c.display_name().empty())
        return InvalidArgument("register_party: needs a display_name, an identifier or a digital address");
      return Status::Ok();
    }
    case pb::ExecuteRequest::kChangePartyName:
      return CheckRequired(r.change_party_name().display_name(), kMaxNameBytes, "change_party_name.display_name");
    case pb::ExecuteRequest::kAddDigitalAddress:
      if (!r.add_digital_address().has_address()) return InvalidArgument("add_digital_address.address: is required");
      return CheckAddress(r.add_digital_address().address(), "add_digital_address.address");
    case pb::ExecuteRequest::kAddPartyIdentifier:
      if (!r.add_party_identifier().has_identifier())
        return InvalidArgument("add_party_identifier.identifier: is required");
      return CheckIdentifier(r.add_party_identifier().identifier(), "add_party_identifier.identifier");
    case pb::ExecuteRequest::kRegisterInteraction: {
      const auto& c = r.register_interaction();
      if (Status s = CheckId(c.party_id(), "register_interaction.party_id", false); !s.ok()) return s;
      if (Status s = CheckEnum(c.channel(), pb::Channel_IsValid, "register_interaction.channel", true); !s.ok()) return s;
      if (Status s = CheckEnum(c.direction(), pb::Direction_IsValid, "register_interaction.direction", true); !s.ok())
        return s;
      if (Status s = CheckEnum(c.visibility(), pb::Visibility_IsValid, "register_interaction.visibility", false); !s.ok())
        return s;
      if (Status s = CheckId(c.conversation_id(), "register_interaction.conversation_id", false); !s.ok()) return s;
      if (Status s = CheckId(c.reply_to_interaction_id(), "register_interaction.reply_to_interaction_id", false);
          !s.ok())
        return s;
      if (Status s = CheckTopics(c.topics(), "register_interaction.topics"); !s.ok()) return s;
      if (Status s = CheckId(c.contact_person_party_id(), "register_interaction.contact_person_party_id", false); !s.ok())
        return s;
      if (!c.contact_person_party_id().empty() && c.contact_person_party_id() == c.party_id())
        return InvalidArgument("register_interaction.contact_person_party_id: is the party itself");
      if (!c.contact_person_party_id().empty() && c.party_id().empty())
        return InvalidArgument("register_interaction.contact_person_party_id: needs the party_id they act for");
      if (Status s = CheckMaxBytes(c.text(), kMaxTextBytes, "register_interaction.text"); !s.ok()) return s;
      if (c.has_counterpart())
        if (Status s = CheckAddress(c.counterpart(), "register_interaction.counterpart"); !s.ok()) return s;
      if (c.party_id().empty() && !c.has_counterpart() && c.conversation_id().empty())
        return InvalidArgument("register_interaction: needs a party_id, a counterpart address or a conversation_id");
      if (Status s = CheckMaxBytes(c.external_id(), kMaxIdBytes, "register_interaction.external_id"); !s.ok()) return s;
      if (Status s = CheckId(c.restricted_to_team(), "register_interaction.restricted_to_team", false); !s.ok())
        return s;
      return CheckActor(c.handled_by(), "register_interaction.handled_by", false);
    }
    case pb::ExecuteRequest::kLinkInteractionToParty:
      return CheckId(r.link_interaction_to_party().party_id(), "link_interaction_to_party.party_id", true);
    case pb::ExecuteRequest::kRecordInteractionReport: {
      const auto& c = r.record_interaction_report();
      if (Status s = CheckRequired(c.report(), kMaxTextBytes, "record_interaction_report.report"); !s.ok()) return s;
      if (Status s = CheckTopics(c.underlying_topics(), "record_interaction_report.underlying_topics"); !s.ok()) return s;
      return CheckMaxBytes(c.outcome(), kMaxNameBytes, "record_interaction_report.outcome");
    }
    case pb::ExecuteRequest::kLinkInteractionToZaak: {
      const auto& z = r.link_interaction_to_zaak().zaak();
      if (Status s = CheckId(z.identification(), "link_interaction_to_zaak.zaak.identification", true); !s.ok()) return s;
      if (Status s = CheckMaxBytes(z.url(), 1000, "link_interaction_to_zaak.zaak.url"); !s.ok()) return s;
      if (!z.url().empty() && !z.url().starts_with("https://") && !z.url().starts_with("http://"))
        return InvalidArgument("link_interaction_to_zaak.zaak.url: must be an http(s) URL");
      return CheckMaxBytes(z.zaaktype(), 100, "link_interaction_to_zaak.zaak.zaaktype");
    }
    case pb::ExecuteRequest::kAddContactPerson: {
      const auto& c = r.add_contact_person();
      if (Status s = CheckId(c.party_id(), "add_contact_person.party_id", true); !s.ok()) return s;
      return CheckRequired(c.role(), 50, "add_contact_person.role");
    }
    case pb::ExecuteRequest::kStartConversation: {
      const auto& c = r.start_conversation();
      if (Status s = CheckId(c.party_id(), "start_conversation.party_id", false); !s.ok()) return s;
      if (Status s = CheckEnum(c.channel(), pb::Channel_IsValid, "start_conversation.channel", true); !s.ok()) return s;
      if (Status s = CheckMaxBytes(c.subject(), 200, "start_conversation.subject"); !s.ok()) return s;
      if (Status s = CheckTopics(c.topics(), "start_conversation.topics"); !s.ok()) return s;
      if (c.has_counterpart())
        if (Status s = CheckAddress(c.counterpart(), "start_conversation.counterpart"); !s.ok()) return s;
      return Status::Ok();
    }
    case pb::ExecuteRequest::kHandOverConversation: {
      const auto& c = r.hand_over_conversation();
      if (c.to().department().empty()) return InvalidArgument("hand_over_conversation.to.department: is required");
      if (Status s = CheckTarget(c.to(), "hand_over_conversation.to"); !s.ok()) return s;
      if (Status s = CheckRequired(c.reason(), 500, "hand_over_conversation.reason"); !s.ok()) return s;
      if (Status s = CheckMaxBytes(c.summary(), 2000, "hand_over_conversation.summary"); !s.ok()) return s;
      if (!c.phone_number().empty()) {
        auto phone = NormalizeDigitalAddress(pb::DIGITAL_ADDRESS_KIND_PHONE, c.phone_number(),
                                             "hand_over_conversation.phone_number");
        if (!phone) return phone.error();
      }
      return Status::Ok();
    }
    case pb::ExecuteRequest::kTakeOverConversation:
      if (r.meta().actor().kind() != pb::ACTOR_KIND_EMPLOYEE)
        return InvalidArgument("meta.actor.kind: only an employee takes over a conversation");
      return Status::Ok();
    case pb::ExecuteRequest::kLinkConversationToParty:
      return CheckId(r.link_conversation_to_party().party_id(), "link_conversation_to_party.party_id", true);
    case pb::ExecuteRequest::kCloseConversation: {
      const auto& c = r.close_conversation();
      if (Status s = CheckRequired(c.outcome(), 200, "close_conversation.outcome"); !s.ok()) return s;
      if (Status s = CheckMaxBytes(c.report(), kMaxTextBytes, "close_conversation.report"); !s.ok()) return s;
      return CheckTopics(c.underlying_topics(), "close_conversation.underlying_topics");
    }
    case pb::ExecuteRequest::kScheduleAppointment: {
      const auto& c = r.schedule_appointment();
      if (Status s = CheckId(c.party_id(), "schedule_appointment.party_id", false); !s.ok()) return s;
      if (Status s = CheckMaxBytes(c.person_name(), kMaxNameBytes, "schedule_appointment.person_name"); !s.ok()) return s;
      if (c.party_id().empty() && c.person_name().empty())
        return InvalidArgument("schedule_appointment.person_name: is required when no party_id is given");
      if (!c.has_window()) return InvalidArgument("schedule_appointment.window: is required");
      if (Status s = CheckWindow(c.window(), "schedule_appointment.window"); !s.ok()) return s;
      if (Status s = CheckRequired(c.place(), 300, "schedule_appointment.place"); !s.ok()) return s;
      if (c.with().department().empty()) return InvalidArgument("schedule_appointment.with.department: is required");
      if (Status s = CheckTarget(c.with(), "schedule_appointment.with"); !s.ok()) return s;
      if (Status s = CheckRequired(c.subject(), 200, "schedule_appointment.subject"); !s.ok()) return s;
      if (Status s = CheckMaxBytes(c.what_to_bring(), 2000, "schedule_appointment.what_to_bring"); !s.ok()) return s;
      if (Status s = CheckReminders(c.reminder_minutes_before(), c.confirm_channel(), &c.confirm_address(),
                                    c.has_confirm_address(), "schedule_appointment");
          !s.ok())
        return s;
      if (c.party_id().empty() && !c.has_confirm_address() && c.reminder_minutes_before_size() > 0)
        return InvalidArgument("schedule_appointment.confirm_address: reminders for a person without a party_id need an address");
      if (c.party_id().empty() && !c.has_confirm_address() && c.confirm_channel() != pb::CHANNEL_UNSPECIFIED)
        return InvalidArgument("schedule_appointment.confirm_address: a confirm_channel for a person without a party_id "
                               "needs the address to use on it");
      if (Status s = CheckMaxBytes(c.details_url(), 1000, "schedule_appointment.details_url"); !s.ok()) return s;
      if (!c.details_url().empty() && !c.details_url().starts_with("https://"))
        return InvalidArgument("schedule_appointment.details_url: must be an https URL (messages carry it instead of the details)");
      if (Status s = CheckId(c.restricted_to_team(), "schedule_appointment.restricted_to_team", false); !s.ok()) return s;
      return CheckId(c.origin_interaction_id(), "schedule_appointment.origin_interaction_id", false);
    }
    case pb::ExecuteRequest::kRescheduleAppointment: {
      const auto& c = r.reschedule_appointment();
      if (!c.has_window()) return InvalidArgument("reschedule_appointment.window: is required");
      if (Status s = CheckWindow(c.window(), "reschedule_appointment.window"); !s.ok()) return s;
      if (Status s = CheckMaxBytes(c.place(), 300, "reschedule_appointment.place"); !s.ok()) return s;
      return CheckMaxBytes(c.reason(), 500, "reschedule_appointment.reason");
    }
    case pb::ExecuteRequest::kSetAppointmentReminders: {
      const auto& c = r.set_appointment_reminders();
      return CheckReminders(c.reminder_minutes_before(), c.confirm_channel(), &c.confirm_address(), c.has_confirm_address(),
                            "set_appointment_reminders");
    }
    case pb::ExecuteRequest::kCancelAppointment:
      return CheckRequired(r.cancel_appointment().reason(), 500, "cancel_appointment.reason");
    case pb::ExecuteRequest::kLinkAppointmentToParty:
      return CheckId(r.link_appointment_to_party().party_id(), "link_appointment_to_party.party_id", true);
    case pb::ExecuteRequest::kRecordAppointmentOutcome: {
      const auto& c = r.record_appointment_outcome();
      if (c.outcome() != pb::APPOINTMENT_STATUS_ATTENDED && c.outcome() != pb::APPOINTMENT_STATUS_NO_SHOW)
        return InvalidArgument("record_appointment_outcome.outcome: must be ATTENDED or NO_SHOW");
      return CheckMaxBytes(c.note(), kMaxTextBytes, "record_appointment_outcome.note");
    }
    case pb::ExecuteRequest::kRequestCallback: {
      const auto& c = r.request_callback();
      if (Status s = CheckId(c.party_id(), "request_callback.party_id", true); !s.ok()) return s;
      if (Status s = CheckId(c.origin_interaction_id(), "request_callback.origin_interaction_id", false); !s.ok())
        return s;
      if (Status s = CheckRequired(c.subject(), kMaxNameBytes, "request_callback.subject"); !s.ok()) return s;
      if (Status s = CheckMaxBytes(c.context(), kMaxTextBytes, "request_callback.context"); !s.ok()) return s;
      if (Status s = CheckEnum(c.urgency(), pb::Urgency_IsValid, "request_callback.urgency", true); !s.ok()) return s;
      if (!c.phone_number().empty()) {
        auto phone = NormalizeDigitalAddress(pb::DIGITAL_ADDRESS_KIND_PHONE, c.phone_number(),
                                             "request_callback.phone_number");
        if (!phone) return phone.error();
      }
      if (!c.has_target()) return InvalidArgument("request_callback.target: is required");
      if (Status s = CheckTarget(c.target(), "request_callback.target"); !s.ok()) return s;
      if (c.has_due_at())
        if (Status s = CheckTime(c.due_at(), "request_callback.due_at"); !s.ok()) return s;
      return Status::Ok();
    }
    case pb::ExecuteRequest::kRecordCallbackAttempt: {
      const auto& c = r.record_callback_attempt();
      if (Status s = CheckEnum(c.outcome(), pb::AttemptOutcome_IsValid, "record_callback_attempt.outcome", true);
          !s.ok())
        return s;
      return CheckMaxBytes(c.note(), kMaxTextBytes, "record_callback_attempt.note");
    }
    case pb::ExecuteRequest::kCompleteCallback: {
      const auto& c = r.complete_callback();
      if (Status s = CheckRequired(c.report(), kMaxTextBytes, "complete_callback.report"); !s.ok()) return s;
      return CheckId(c.interaction_id(), "complete_callback.interaction_id", false);
    }
    case pb::ExecuteRequest::kCancelCallback:
      return CheckRequired(r.cancel_callback().reason(), kMaxTextBytes, "cancel_callback.reason");
    case pb::ExecuteRequest::kReassignCallback: {
      const auto& c = r.reassign_callback();
      if (!c.has_target()) return InvalidArgument("reassign_callback.target: is required");
      if (Status s = CheckTarget(c.target(), "reassign_callback.target"); !s.ok()) return s;
      return CheckMaxBytes(c.reason(), kMaxTextBytes, "reassign_callback.reason");
    }
    case pb::ExecuteRequest::kAddPartyLabel:
      return CheckRequired(r.add_party_label().label(), 100, "add_party_label.label");
    case pb::ExecuteRequest::kRemovePartyLabel:
      return CheckRequired(r.remove_party_label().label(), 100, "remove_party_label.label");
    case pb::ExecuteRequest::kMergeParty:
      return CheckId(r.merge_party().into_party_id(), "merge_party.into_party_id", true);
    case pb::ExecuteRequest::kChangeResidence:
      if (!r.change_residence().has_residence()) return InvalidArgument("change_residence.residence: is required");
      return CheckResidence(r.change_residence().residence(), "change_residence.residence");
    case pb::ExecuteRequest::kRecordIdentification: {
      const auto& c = r.record_identification();
      if (Status s = CheckEnum(c.method(), pb::IdentificationMethod_IsValid, "record_identification.method", true); !s.ok())
        return s;
      if (Status s = CheckMaxBytes(c.process(), 100, "record_identification.process"); !s.ok()) return s;
      return CheckMaxBytes(c.reference(), 100, "record_identification.reference");
    }
    case pb::ExecuteRequest::kErasePartyData:
      return CheckRequired(r.erase_party_data().reason(), 500, "erase_party_data.reason");
    case pb::ExecuteRequest::kSetPreferredChannel: {
      const auto channel = r.set_preferred_channel().channel();
      if (Status s = CheckEnum(channel, pb::Channel_IsValid, "set_preferred_channel.channel", true); !s.ok()) return s;
      if (AddressKindFor(channel) == pb::DIGITAL_ADDRESS_KIND_UNSPECIFIED)
        return InvalidArgument("set_preferred_channel.channel: {} cannot carry notifications", pb::Channel_Name(channel));
      return Status::Ok();
    }
    case pb::ExecuteRequest::kRegisterMelding: {
      const auto& c = r.register_melding();
      if (Status s = CheckId(c.category(), "register_melding.category", true); !s.ok()) return s;
      if (Status s = CheckRequired(c.description(), kMaxTextBytes, "register_melding.description"); !s.ok()) return s;
      if (!c.has_location()) return InvalidArgument("register_melding.location: is required");
      if (Status s = CheckLocation(c.location(), "register_melding.location"); !s.ok()) return s;
      if (Status s = CheckAttachments(c.attachments(), "register_melding.attachments"); !s.ok()) return s;
      if (Status s = CheckEnum(c.priority(), pb::Urgency_IsValid, "register_melding.priority", false); !s.ok()) return s;
      if (Status s = CheckId(c.reporter_party_id(), "register_melding.reporter_party_id", false); !s.ok()) return s;
      if (c.has_reporter_address())
        if (Status s = CheckAddress(c.reporter_address(), "register_melding.reporter_address"); !s.ok()) return s;
      if (Status s = CheckId(c.origin_interaction_id(), "register_melding.origin_interaction_id", false); !s.ok())
        return s;
      return CheckEnum(c.channel(), pb::Channel_IsValid, "register_melding.channel", true);
    }
    case pb::ExecuteRequest::kChangeMeldingStatus: {
      const auto& c = r.change_melding_status();
      if (Status s = CheckEnum(c.to(), pb::MeldingStatus_IsValid, "change_melding_status.to", true); !s.ok()) return s;
      if (c.to() == pb::MELDING_STATUS_REGISTERED)
        return InvalidArgument("change_melding_status.to: REGISTERED is only the first status");
      if (c.to() == pb::MELDING_STATUS_SCHEDULED) {
        const auto& w = c.scheduled_window();
        if (!c.has_scheduled_window() || !w.has_start() || !w.has_end())
          return InvalidArgument("change_melding_status.scheduled_window: is required for SCHEDULED (start and end)");
        if (Status s = CheckTime(w.start(), "change_melding_status.scheduled_window.start"); !s.ok()) return s;
        if (Status s = CheckTime(w.end(), "change_melding_status.scheduled_window.end"); !s.ok()) return s;
        if (w.end().seconds() <= w.start().seconds())
          return InvalidArgument("change_melding_status.scheduled_window: end must be after start");
      }
      if (Status s = CheckMaxBytes(c.reason(), kMaxTextBytes, "change_melding_status.reason"); !s.ok()) return s;
      if (Status s = CheckMaxBytes(c.public_message(), 2000, "change_melding_status.public_message"); !s.ok()) return s;
      return CheckAttachments(c.attachments(), "change_melding_status.attachments");
    }
    case pb::ExecuteRequest::kAssignMelding: {
      const auto& c = r.assign_melding();
      if (c.department().empty() && c.employee_id().empty())
        return InvalidArgument("assign_melding: needs a department or an employee_id");
      if (Status s = CheckId(c.department(), "assign_melding.department", false); !s.ok()) return s;
      if (Status s = CheckId(c.employee_id(), "assign_melding.employee_id", false); !s.ok()) return s;
      return CheckMaxBytes(c.employee_name(), kMaxNameBytes, "assign_melding.employee_name");
    }
    case pb::ExecuteRequest::kLinkMelding: {
      const auto& c = r.link_melding();
      if (Status s = CheckId(c.other_melding_id(), "link_melding.other_melding_id", true); !s.ok()) return s;
      return CheckEnum(c.kind(), pb::MeldingLinkKind_IsValid, "link_melding.kind", true);
    }
    case pb::ExecuteRequest::kRecordMeldingContact: {
      const auto& c = r.record_melding_contact();
      if (Status s = CheckId(c.interaction_id(), "record_melding_contact.interaction_id", true); !s.ok()) return s;
      return CheckMaxBytes(c.note(), kMaxTextBytes, "record_melding_contact.note");
    }
    case pb::ExecuteRequest::kAddMeldingAttachment:
      if (!r.add_melding_attachment().has_attachment())
        return InvalidArgument("add_melding_attachment.attachment: is required");
      return CheckAttachment(r.add_melding_attachment().attachment(), "add_melding_attachment.attachment");
    case pb::ExecuteRequest::kRecordSatisfaction: {
      const auto& c = r.record_satisfaction();
      if (c.score() < 1 || c.score() > 5)
        return InvalidArgument("record_satisfaction.score: must be 1 to 5 (got {})", c.score());
      return CheckMaxBytes(c.comment(), kMaxTextBytes, "record_satisfaction.comment");
    }
    case pb::ExecuteRequest::kDefineMeldingCategory: {
      const auto& c = r.define_melding_category();
      if (Status s = CheckId(c.code(), "define_melding_category.code", true); !s.ok()) return s;
      if (Status s = CheckRequired(c.name(), kMaxNameBytes, "define_melding_category.name"); !s.ok()) return s;
      if (c.due_days() < 1 || c.due_days() > 365)
        return InvalidArgument("define_melding_category.due_days: must be 1 to 365 (got {})", c.due_days());
      return CheckId(c.default_department(), "define_melding_category.default_department", false);
    }
    case pb::ExecuteRequest::kSetEmployeeAvailability: {
      const auto& c = r.set_employee_availability();
      if (Status s = CheckId(c.employee_id(), "set_employee_availability.employee_id", true); !s.ok()) return s;
      if (Status s = CheckMaxBytes(c.employee_name(), kMaxNameBytes, "set_employee_availability.employee_name"); !s.ok())
        return s;
      if (Status s = CheckId(c.replacement_employee_id(), "set_employee_availability.replacement_employee_id", false);
          !s.ok())
        return s;
      if (c.available() && !c.replacement_employee_id().empty())
        return InvalidArgument("set_employee_availability.replacement_employee_id: only an absent employee has a replacement");
      if (c.replacement_employee_id() == c.employee_id())
        return InvalidArgument("set_employee_availability.replacement_employee_id: cannot replace oneself");
      if (Status s = CheckMaxBytes(c.replacement_name(), kMaxNameBytes, "set_employee_availability.replacement_name");
          !s.ok())
        return s;
      return CheckMaxBytes(c.reason(), kMaxTextBytes, "set_employee_availability.reason");
    }
    case pb::ExecuteRequest::kRequestNotification: {
      const auto& c = r.request_notification();
      if (Status s = CheckEnum(c.channel(), pb::Channel_IsValid, "request_notification.channel", true); !s.ok()) return s;
      if (!c.has_address() && c.party_id().empty())
        return InvalidArgument("request_notification.address: is required (or a party_id to find it from)");
      if (c.has_address())
        if (Status s = CheckAddress(c.address(), "request_notification.address"); !s.ok()) return s;
      if (!c.has_address() && AddressKindFor(c.channel()) == pb::DIGITAL_ADDRESS_KIND_UNSPECIFIED)
        return InvalidArgument("request_notification.channel: {} has no kind of address to find for the party",
                               pb::Channel_Name(c.channel()));
      if (Status s = CheckRequired(c.text(), 4000, "request_notification.text"); !s.ok()) return s;
      if (Status s = CheckId(c.party_id(), "request_notification.party_id", false); !s.ok()) return s;
      if (c.has_send_at())
        if (Status s = CheckTime(c.send_at(), "request_notification.send_at"); !s.ok()) return s;
      return CheckAttachments(c.attachments(), "request_notification.attachments");
    }
    case pb::ExecuteRequest::kDispatchNotification: {
      const auto& c = r.dispatch_notification();
      if (Status s = CheckId(c.adapter_id(), "dispatch_notification.adapter_id", true); !s.ok()) return s;
      if (c.lease_seconds() < 0 || c.lease_seconds() > 3600)
        return InvalidArgument("dispatch_notification.lease_seconds: must be 0 to 3600");
      return Status::Ok();
    }
    case pb::ExecuteRequest::kCancelNotification:
      return CheckRequired(r.cancel_notification().reason(), 500, "cancel_notification.reason");
    case pb::ExecuteRequest::kRescheduleNotification:
      if (r.reschedule_notification().send_at().seconds() <= 0)
        return InvalidArgument("reschedule_notification.send_at: is required");
      return CheckTime(r.reschedule_notification().send_at(), "reschedule_notification.send_at");
    case pb::ExecuteRequest::kReportNotificationDelivery: {
      const auto& c = r.report_notification_delivery();
      if (!c.delivered() && c.error().empty())
        return InvalidArgument("error: say why delivery failed");
      if (Status s = CheckMaxBytes(c.error(), 2000, "error"); !s.ok()) return s;
      if (c.attempt() < 1) return InvalidArgument("attempt: give the attempt number the notification came with");
      if (Status s = CheckId(c.adapter_id(), "adapter_id", true); !s.ok()) return s;
      return CheckMaxBytes(c.provider_message_id(), kMaxIdBytes, "provider_message_id");
    }
    case pb::ExecuteRequest::COMMAND_NOT_SET:
      break;
  }
  return InvalidArgument("command: exactly one command must be set");
}

}  // namespace

bool IsValidTenant(std::string_view tenant) {
  if (tenant.empty() || tenant.size() > 63 || tenant.front() == '-') return false;
  return std::all_of(tenant.begin(), tenant.end(), [](unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool IsValidBsn(std::string_view bsn) {
  if (bsn.size() != 9 || !IsDigits(bsn)) return false;
  // Elfproef: 9*d1 + 8*d2 + ... + 2*d8 - 1*d9 must be a multiple of 11 (and not zero).
  int sum = 0;
  for (int i = 0; i < 8; ++i) sum += (9 - i) * (bsn[static_cast<size_t>(i)] - '0');
  sum -= bsn[8] - '0';
  return sum != 0 && sum % 11 == 0;
}

bool IsValidKvk(std::string_view kvk) { return kvk.size() == 8 && IsDigits(kvk); }

pb::DigitalAddress NormalizedAddress(const pb::DigitalAddress& address) {
  pb::DigitalAddress out = address;
  auto value = NormalizeDigitalAddress(address.kind(), address.value(), "address");
  KS_CHECK(value.has_value());
  out.set_value(*value);
  return out;
}

Result<std::string> NormalizeDigitalAddress(pb::DigitalAddressKind kind, std::string_view value,
                                            std::string_view field) {
  std::string_view v = value;
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front())) != 0) v.remove_prefix(1);
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back())) != 0) v.remove_suffix(1);
  if (v.empty()) return std::unexpected(InvalidArgument("{}: is required", field));
  if (v.size() > kMaxNameBytes) return std::unexpected(InvalidArgument("{}: must be at most {} bytes", field, kMaxNameBytes));
  switch (kind) {
    case pb::DIGITAL_ADDRESS_KIND_PHONE:
    case pb::DIGITAL_ADDRESS_KIND_WHATSAPP: {
      std::string out;
      for (size_t i = 0; i < v.size(); ++i) {
        const char c = v[i];
        if (c == '+' && out.empty()) out.push_back(c);
        else if (std::isdigit(static_cast<unsigned char>(c)) != 0) out.push_back(c);
        else if (c == ' ' || c == '-' || c == '(' || c == ')' || c == '.') continue;
        else return std::unexpected(InvalidArgument("{}: a phone number may contain only digits, spaces, '-', '(', ')' and a leading '+'", field));
      }
      const size_t digits = out.size() - (out.starts_with('+') ? 1 : 0);
      if (digits < 6 || digits > 15)
        return std::unexpected(InvalidArgument("{}: a phone number has 6 to 15 digits (got {})", field, digits));
      return out;
    }
    case pb::DIGITAL_ADDRESS_KIND_EMAIL: {
      std::string out(v);
      std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
      const size_t at = out.find('@');
      if (at == std::string::npos || at == 0 || out.find('@', at + 1) != std::string::npos ||
          out.find('.', at) == std::string::npos || out.back() == '.' ||
          std::any_of(out.begin(), out.end(), [](unsigned char c) { return std::isspace(c) != 0; }))
        return std::unexpected(InvalidArgument("{}: is not an e-mail address (name@domain.tld)", field));
      return out;
    }
    case pb::DIGITAL_ADDRESS_KIND_TWITTER:
    case pb::DIGITAL_ADDRESS_KIND_FACEBOOK: {
      std::string_view handle = v.starts_with('@') ? v.substr(1) : v;
      if (handle.empty() || handle.size() > 50 ||
          !std::all_of(handle.begin(), handle.end(), [](unsigned char c) { return std::isalnum(c) != 0 || c == '_' || c == '.'; }))
        return std::unexpected(InvalidArgument("{}: a handle is 1-50 letters, digits, '_' or '.', optionally after '@'", field));
      std::string out = "@";
      for (unsigned char c : handle) out.push_back(static_cast<char>(std::tolower(c)));
      return out;
    }
    case pb::DIGITAL_ADDRESS_KIND_UNSPECIFIED:
    default:
      return std::unexpected(InvalidArgument("{}: the address kind is required", field));
  }
}

std::string NormalizePostcode(std::string_view postcode) {
  std::string out;
  for (unsigned char c : postcode)
    if (std::isspace(c) == 0) out.push_back(static_cast<char>(std::toupper(c)));
  return out;
}

bool IsValidPostcode(std::string_view p) {
  return p.size() == 6 && p[0] >= '1' && p[0] <= '9' && IsDigits(p.substr(0, 4)) && std::isupper(static_cast<unsigned char>(p[4])) != 0 &&
         std::isupper(static_cast<unsigned char>(p[5])) != 0;
}

bool IsValidDate(std::string_view d) {
  if (d.size() != 10 || d[4] != '-' || d[7] != '-' || !IsDigits(d.substr(0, 4)) || !IsDigits(d.substr(5, 2)) ||
      !IsDigits(d.substr(8, 2)))
    return false;
  const int year = std::stoi(std::string(d.substr(0, 4)));
  const int month = std::stoi(std::string(d.substr(5, 2)));
  const int day = std::stoi(std::string(d.substr(8, 2)));
  if (year < 1900 || year > 2100 || month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

pb::PostalAddress NormalizedResidence(const pb::PostalAddress& residence) {
  pb::PostalAddress out = residence;
  out.set_postcode(NormalizePostcode(residence.postcode()));
  std::string_view n = residence.house_number();
  while (!n.empty() && std::isspace(static_cast<unsigned char>(n.front())) != 0) n.remove_prefix(1);
  while (!n.empty() && std::isspace(static_cast<unsigned char>(n.back())) != 0) n.remove_suffix(1);
  std::string number(n);
  for (char& c : number) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  out.set_house_number(number);
  return out;
}

Status ValidateRequest(const pb::ExecuteRequest& request) {
  if (!request.has_meta()) return InvalidArgument("meta: is required (tenant and actor)");
  const pb::CommandMeta& meta = request.meta();
  if (!IsValidTenant(meta.tenant()))
    return InvalidArgument("meta.tenant: must be 1-63 characters of a-z, 0-9 and '-' (got '{}')",
                           meta.tenant().substr(0, 64));
  if (!meta.has_actor()) return InvalidArgument("meta.actor: is required");
  if (Status s = CheckActor(meta.actor(), "meta.actor", true); !s.ok()) return s;
  if (Status s = CheckEnum(meta.channel(), pb::Channel_IsValid, "meta.channel", false); !s.ok()) return s;
  if (Status s = CheckMaxBytes(meta.idempotency_key(), kMaxIdempotencyKeyBytes, "meta.idempotency_key"); !s.ok())
    return s;
  if (Status s = CheckMaxBytes(meta.correlation_id(), kMaxIdBytes, "meta.correlation_id"); !s.ok()) return s;
  if (meta.has_expected_version() && meta.expected_version() < 0)
    return InvalidArgument("meta.expected_version: must be 0 or more (got {})", meta.expected_version());
  if (meta.has_occurred_at())
    if (Status s = CheckTime(meta.occurred_at(), "meta.occurred_at"); !s.ok()) return s;
  if (Status s = ValidateCommand(request); !s.ok()) return s;
  // Commands that act on an existing aggregate must name it.
  return CheckId(request.aggregate_id(), "aggregate_id", !CreatesAggregate(request) && !UpsertsAggregate(request));
}

}  // namespace ks::domain
