#include "ks/domain/aggregate.h"

#include <algorithm>

#include "ks/core/ids.h"
#include "ks/domain/party_rules.h"
#include "src/deciders.h"
#include "ks/domain/validation.h"

namespace ks::domain {
namespace {

using Events = std::vector<pb::EventEnvelope>;

std::string_view CallbackStatusName(pb::CallbackStatus status) {
  switch (status) {
    case pb::CALLBACK_STATUS_OPEN: return "open";
    case pb::CALLBACK_STATUS_COMPLETED: return "completed";
    case pb::CALLBACK_STATUS_CANCELLED: return "cancelled";
    default: return "unknown";
  }
}

Result<Events> DecideParty(const AggregateState& state, const pb::ExecuteRequest& r, const References& refs) {
  Events events(1);
  pb::EventEnvelope& e = events.front();
  if (state.exists() && state.as<PartyState>().erased) {
    if (r.command_case() == pb::ExecuteRequest::kErasePartyData) return Events{};
    return std::unexpected(FailedPrecondition("aggregate_id: the personal data of party '{}' was erased; it takes no "
                                              "new personal data (register the person anew if they return)",
                                              r.aggregate_id()));
  }
  if (state.exists() && !state.as<PartyState>().merged_into.empty()) {
    const std::string& into = state.as<PartyState>().merged_into;
    if (r.command_case() == pb::ExecuteRequest::kErasePartyData) {
      // Erasing a merged duplicate is what erasing its target does to it (a policy sends it).
    } else if (r.command_case() == pb::ExecuteRequest::kMergeParty && r.merge_party().into_party_id() == into) {
      return Events{};
    } else {
      return std::unexpected(FailedPrecondition("aggregate_id: party '{}' was merged into '{}'; use that party",
                                                r.aggregate_id(), into));
    }
  }
  switch (r.command_case()) {
    case pb::ExecuteRequest::kErasePartyData:
      e.mutable_party_erased()->set_reason(r.erase_party_data().reason());
      return events;
    case pb::ExecuteRequest::kMergeParty: {
      const std::string& into = r.merge_party().into_party_id();
      if (into == r.aggregate_id())
        return std::unexpected(InvalidArgument("merge_party.into_party_id: is the party itself"));
      const AggregateState target = refs.StateOf(into);
      if (!target.exists() || target.tenant != r.meta().tenant() || target.type != pb::AGGREGATE_TYPE_PARTY)
        return std::unexpected(NotFound("merge_party.into_party_id: no party '{}' in tenant {}", into, r.meta().tenant()));
      const auto& party = target.as<PartyState>();
      if (party.erased)
        return std::unexpected(FailedPrecondition("merge_party.into_party_id: party '{}' was erased", into));
      if (!party.merged_into.empty())
        return std::unexpected(FailedPrecondition(
            "merge_party.into_party_id: party '{}' was itself merged into '{}'; merge into that one", into,
            party.merged_into));
      e.mutable_party_merged()->set_into_party_id(into);
      return events;
    }
    case pb::ExecuteRequest::kChangeResidence: {
      const pb::PostalAddress residence = NormalizedResidence(r.change_residence().residence());
      const auto& current = state.as<PartyState>().residence;
      if (current.SerializeAsString() == residence.SerializeAsString()) return Events{};
      *e.mutable_residence_changed()->mutable_residence() = residence;
      return events;
    }
    case pb::ExecuteRequest::kAddContactPerson: {
      const auto& c = r.add_contact_person();
      if (c.party_id() == r.aggregate_id())
        return std::unexpected(InvalidArgument("add_contact_person.party_id: is the party itself"));
      const AggregateState person = refs.StateOf(c.party_id());
      if (!person.exists() || person.tenant != r.meta().tenant() || person.type != pb::AGGREGATE_TYPE_PARTY)
        return std::unexpected(NotFound("add_contact_person.party_id: no party '{}' in tenant {}", c.party_id(),
                                        r.meta().tenant()));
      const auto& known = state.as<PartyState>().contact_persons;
      if (std::find(known.begin(), known.end(), c.party_id()) != known.end()) return Events{};
      e.mutable_contact_person_added()->set_party_id(c.party_id());
      e.mutable_contact_person_added()->set_role(c.role());
      return events;
    }
    case pb::ExecuteRequest::kRecordIdentification: {
      const auto& c = r.record_identification();
      auto* ev = e.mutable_party_identified();
      ev->set_method(c.method());
      ev->set_process(c.process());
      ev->set_reference(c.reference());
      return events;
    }
    case pb::ExecuteRequest::kRegisterParty: {
      const auto& c = r.register_party();
      auto* ev = e.mutable_party_registered();
      ev->set_kind(c.kind());
      ev->set_display_name(c.display_name());
      *ev->mutable_identifiers() = c.identifiers();
      ev->set_birth_date(c.birth_date());
      if (c.has_residence()) *ev->mutable_residence() = NormalizedResidence(c.residence());
      for (const auto& a : c.digital_addresses()) {
        pb::DigitalAddress normalized = NormalizedAddress(a);
        // The same address given twice is kept once.
        const bool duplicate = std::any_of(ev->digital_addresses().begin(), ev->digital_addresses().end(),
                                           [&](const auto& x) { return SameAddress(x, normalized); });
        if (!duplicate) *ev->add_digital_addresses() = std::move(normalized);
      }
      return events;
    }
    case pb::ExecuteRequest::kChangePartyName: {
      const auto& party = state.as<PartyState>();
      if (party.display_name == r.change_party_name().display_name()) return Events{};
      e.mutable_party_name_changed()->set_display_name(r.change_party_name().display_name());
      return events;
    }
    case pb::ExecuteRequest::kAddDigitalAddress: {
      const auto& party = state.as<PartyState>();
      pb::DigitalAddress address = NormalizedAddress(r.add_digital_address().address());
      auto existing = std::find_if(party.digital_addresses.begin(), party.digital_addresses.end(),
                                   [&](const auto& x) { return SameAddress(x, address); });
      // Already known with the same flags: nothing changes.
      if (existing != party.digital_addresses.end() && existing->preferred() == address.preferred() &&
          existing->verified() == address.verified() && existing->safe() == address.safe())
        return Events{};
      *e.mutable_digital_address_added()->mutable_address() = std::move(address);
      return events;
    }
    case pb::ExecuteRequest::kSetPreferredChannel: {
      const auto& party = state.as<PartyState>();
      const pb::Channel channel = r.set_preferred_channel().channel();
      if (party.preferred_channel == channel) return Events{};
      const pb::DigitalAddressKind kind = AddressKindFor(channel);
      const bool reachable = std::any_of(party.digital_addresses.begin(), party.digital_addresses.end(),
                                         [&](const auto& a) { return a.kind() == kind; });
      if (!reachable)
        return std::unexpected(FailedPrecondition(
            "set_preferred_channel.channel: the party has no {} address to reach it on {}",
            pb::DigitalAddressKind_Name(kind), pb::Channel_Name(channel)));
      e.mutable_preferred_channel_set()->set_channel(channel);
      return events;
    }
    case pb::ExecuteRequest::kAddPartyLabel: {
      const auto& labels = state.as<PartyState>().labels;
      const auto& c = r.add_party_label();
      if (std::find(labels.begin(), labels.end(), c.label()) != labels.end()) return Events{};
      e.mutable_party_label_added()->set_label(c.label());
      e.mutable_party_label_added()->set_automatic(c.automatic());
      return events;
    }
    case pb::ExecuteRequest::kRemovePartyLabel: {
      const auto& labels = state.as<PartyState>().labels;
      if (std::find(labels.begin(), labels.end(), r.remove_party_label().label()) == labels.end()) return Events{};
      e.mutable_party_label_removed()->set_label(r.remove_party_label().label());
      return events;
    }
    case pb::ExecuteRequest::kAddPartyIdentifier: {
      const auto& party = state.as<PartyState>();
      const auto& id = r.add_party_identifier().identifier();
      for (const auto& existing : party.identifiers) {
        if (existing.kind() != id.kind()) continue;
        if (existing.value() == id.value()) return Events{};
        if (id.kind() == pb::IDENTIFIER_KIND_BSN || id.kind() == pb::IDENTIFIER_KIND_KVK)
          return std::unexpected(FailedPrecondition(
              "add_party_identifier.identifier: the party already has a different {} ({}); a person has one",
              pb::IdentifierKind_Name(id.kind()), existing.value()));
      }
      *e.mutable_party_identifier_added()->mutable_identifier() = id;
      return events;
    }
    default:
      break;
  }
  return std::unexpected(Internal("not a party command"));
}

Result<Events> DecideInteraction(const AggregateState& state, const pb::ExecuteRequest& r, const References& refs) {
  Events events(1);
  pb::EventEnvelope& e = events.front();
  switch (r.command_case()) {
    case pb::ExecuteRequest::kRegisterInteraction: {
      const auto& c = r.register_interaction();
      if (!c.party_id().empty() && !refs.PartyExists(r.meta().tenant(), c.party_id()))
        return std::unexpected(NotFound("register_interaction.party_id: no party '{}' in tenant {}", c.party_id(),
                                        r.meta().tenant()));
      if (!c.contact_person_party_id().empty() && !refs.PartyExists(r.meta().tenant(), c.contact_person_party_id()))
        return std::unexpected(NotFound("register_interaction.contact_person_party_id: no party '{}' in tenant {}",
                                        c.contact_person_party_id(), r.meta().tenant()));
      std::string party_id = c.party_id();
      if (!c.conversation_id().empty()) {
        // A turn of a started conversation: not once it is closed, not another party's, and the
        // conversation's party's contact when it names none. (Other conversation ids, such as a
        // DM thread's, only group contacts.)
        const AggregateState conversation = refs.StateOf(c.conversation_id());
        const bool started = conversation.exists() && conversation.tenant == r.meta().tenant() &&
                             conversation.type == pb::AGGREGATE_TYPE_CONVERSATION;
        if (started) {
          const auto& conv = conversation.as<ConversationState>();
          if (conv.status == pb::CONVERSATION_STATUS_CLOSED)
            return std::unexpected(FailedPrecondition(
                "register_interaction.conversation_id: conversation '{}' is closed; start a new one", c.conversation_id()));
          if (!party_id.empty() && !conv.party_id.empty() && party_id != conv.party_id)
            return std::unexpected(FailedPrecondition(
                "register_interaction.party_id: conversation '{}' is party '{}''s, not '{}''s", c.conversation_id(),
                conv.party_id, party_id));
          if (party_id.empty()) party_id = conv.party_id;
        } else if (party_id.empty() && !c.has_counterpart()) {
          return std::unexpected(NotFound("register_interaction.conversation_id: no conversation '{}' in tenant {} (a "
                                          "contact without party_id or counterpart belongs to a started conversation)",
                                          c.conversation_id(), r.meta().tenant()));
        }
      }
      auto* ev = e.mutable_interaction_registered();
      ev->set_contact_person_party_id(c.contact_person_party_id());
      ev->set_party_id(party_id);
      ev->set_channel(c.channel());
      ev->set_direction(c.direction());
      ev->set_visibility(c.visibility() == pb::VISIBILITY_UNSPECIFIED ? pb::VISIBILITY_PRIVATE : c.visibility());
      ev->set_conversation_id(c.conversation_id());
      ev->set_reply_to_interaction_id(c.reply_to_interaction_id());
      *ev->mutable_topics() = c.topics();
      ev->set_text(c.text());
      if (c.has_counterpart()) *ev->mutable_counterpart() = NormalizedAddress(c.counterpart());
      ev->set_external_id(c.external_id());
      if (c.has_handled_by()) *ev->mutable_handled_by() = c.handled_by();
      ev->set_restricted_to_team(c.restricted_to_team());
      return events;
    }
    case pb::ExecuteRequest::kLinkInteractionToParty: {
      const auto& interaction = state.as<InteractionState>();
      const std::string& party_id = r.link_interaction_to_party().party_id();
      if (interaction.party_id == party_id) return Events{};
      if (!interaction.party_id.empty())
        return std::unexpected(FailedPrecondition(
            "link_interaction_to_party.party_id: the interaction is already linked to party '{}'", interaction.party_id));
      if (!refs.PartyExists(r.meta().tenant(), party_id))
        return std::unexpected(NotFound("link_interaction_to_party.party_id: no party '{}' in tenant {}", party_id,
                                        r.meta().tenant()));
      e.mutable_interaction_linked_to_party()->set_party_id(party_id);
      return events;
    }
    case pb::ExecuteRequest::kRecordInteractionReport: {
      auto* ev = e.mutable_interaction_report_recorded();
      ev->set_report(r.record_interaction_report().report());
      ev->set_outcome(r.record_interaction_report().outcome());
      *ev->mutable_underlying_topics() = r.record_interaction_report().underlying_topics();
      return events;
    }
    case pb::ExecuteRequest::kLinkInteractionToZaak: {
      const auto& zaken = state.as<InteractionState>().zaken;
      const auto& zaak = r.link_interaction_to_zaak().zaak();
      if (std::find(zaken.begin(), zaken.end(), zaak.identification()) != zaken.end()) return Events{};
      *e.mutable_interaction_linked_to_zaak()->mutable_zaak() = zaak;
      return events;
    }
    default:
      break;
  }
  return std::unexpected(Internal("not an interaction command"));
}

Result<Events> DecideCallback(const AggregateState& state, const pb::ExecuteRequest& r, const References& refs) {
  Events events(1);
  pb::EventEnvelope& e = events.front();
  if (r.command_case() == pb::ExecuteRequest::kRequestCallback) {
    const auto& c = r.request_callback();
    if (!refs.PartyExists(r.meta().tenant(), c.party_id()))
      return std::unexpected(NotFound("request_callback.party_id: no party '{}' in tenant {}", c.party_id(),
                                      r.meta().tenant()));
    auto* ev = e.mutable_callback_requested();
    ev->set_party_id(c.party_id());
    ev->set_origin_interaction_id(c.origin_interaction_id());
    ev->set_subject(c.subject());
    ev->set_context(c.context());
    ev->set_urgency(c.urgency());
    if (!c.phone_number().empty()) {
      auto phone = NormalizeDigitalAddress(pb::DIGITAL_ADDRESS_KIND_PHONE, c.phone_number(), "phone_number");
      KS_CHECK(phone.has_value());
      ev->set_phone_number(*phone);
    }
    *ev->mutable_target() = c.target();
    if (c.has_due_at()) *ev->mutable_due_at() = c.due_at();
    return events;
  }

  const auto& callback = state.as<CallbackState>();
  if (callback.status != pb::CALLBACK_STATUS_OPEN)
    return std::unexpected(FailedPrecondition("aggregate_id: callback request '{}' is {}; only an open one can be changed",
                                              r.aggregate_id(), CallbackStatusName(callback.status)));
  switch (r.command_case()) {
    case pb::ExecuteRequest::kRecordCallbackAttempt:
      e.mutable_callback_attempt_recorded()->set_outcome(r.record_callback_attempt().outcome());
      e.mutable_callback_attempt_recorded()->set_note(r.record_callback_attempt().note());
      return events;
    case pb::ExecuteRequest::kCompleteCallback:
      e.mutable_callback_completed()->set_report(r.complete_callback().report());
      e.mutable_callback_completed()->set_interaction_id(r.complete_callback().interaction_id());
      return events;
    case pb::ExecuteRequest::kCancelCallback:
      e.mutable_callback_cancelled()->set_reason(r.cancel_callback().reason());
      return events;
    case pb::ExecuteRequest::kReassignCallback: {
      const auto& target = r.reassign_callback().target();
      if (target.department() == callback.target.department() && target.employee_id() == callback.target.employee_id())
        return Events{};
      *e.mutable_callback_reassigned()->mutable_target() = target;
      e.mutable_callback_reassigned()->set_reason(r.reassign_callback().reason());
      return events;
    }
    default:
      break;
  }
  return std::unexpected(Internal("not a callback command"));
}

}  // namespace

pb::AggregateType TargetAggregateType(const pb::ExecuteRequest& request) {
  switch (request.command_case()) {
    case pb::ExecuteRequest::kRegisterParty:
    case pb::ExecuteRequest::kChangePartyName:
    case pb::ExecuteRequest::kAddDigitalAddress:
    case pb::ExecuteRequest::kAddPartyIdentifier:
    case pb::ExecuteRequest::kSetPreferredChannel:
    case pb::ExecuteRequest::kAddPartyLabel:
    case pb::ExecuteRequest::kRemovePartyLabel:
    case pb::ExecuteRequest::kErasePartyData:
    case pb::ExecuteRequest::kChangeResidence:
    case pb::ExecuteRequest::kRecordIdentification:
    case pb::ExecuteRequest::kMergeParty:
    case pb::ExecuteRequest::kAddContactPerson:
      return pb::AGGREGATE_TYPE_PARTY;
    case pb::ExecuteRequest::kStartConversation:
    case pb::ExecuteRequest::kHandOverConversation:
    case pb::ExecuteRequest::kTakeOverConversation:
    case pb::ExecuteRequest::kLinkConversationToParty:
    case pb::ExecuteRequest::kCloseConversation:
      return pb::AGGREGATE_TYPE_CONVERSATION;
    case pb::ExecuteRequest::kScheduleAppointment:
    case pb::ExecuteRequest::kRescheduleAppointment:
    case pb::ExecuteRequest::kSetAppointmentReminders:
    case pb::ExecuteRequest::kCancelAppointment:
    case pb::ExecuteRequest::kRecordAppointmentOutcome:
    case pb::ExecuteRequest::kLinkAppointmentToParty:
      return pb::AGGREGATE_TYPE_APPOINTMENT;
    case pb::ExecuteRequest::kRegisterMelding:
    case pb::ExecuteRequest::kChangeMeldingStatus:
    case pb::ExecuteRequest::kAssignMelding:
    case pb::ExecuteRequest::kLinkMelding:
    case pb::ExecuteRequest::kRecordMeldingContact:
    case pb::ExecuteRequest::kAddMeldingAttachment:
    case pb::ExecuteRequest::kRecordSatisfaction:
      return pb::AGGREGATE_TYPE_MELDING;
    case pb::ExecuteRequest::kDefineMeldingCategory:
      return pb::AGGREGATE_TYPE_MELDING_CATEGORY;
    case pb::ExecuteRequest::kSetEmployeeAvailability:
      return pb::AGGREGATE_TYPE_EMPLOYEE;
    case pb::ExecuteRequest::kRequestNotification:
    case pb::ExecuteRequest::kDispatchNotification:
    case pb::ExecuteRequest::kReportNotificationDelivery:
    case pb::ExecuteRequest::kCancelNotification:
    case pb::ExecuteRequest::kRescheduleNotification:
      return pb::AGGREGATE_TYPE_NOTIFICATION;
    case pb::ExecuteRequest::kRegisterInteraction:
    case pb::ExecuteRequest::kLinkInteractionToParty:
    case pb::ExecuteRequest::kRecordInteractionReport:
    case pb::ExecuteRequest::kLinkInteractionToZaak:
      return pb::AGGREGATE_TYPE_INTERACTION;
    case pb::ExecuteRequest::kRequestCallback:
    case pb::ExecuteRequest::kRecordCallbackAttempt:
    case pb::ExecuteRequest::kCompleteCallback:
    case pb::ExecuteRequest::kCancelCallback:
    case pb::ExecuteRequest::kReassignCallback:
      return pb::AGGREGATE_TYPE_CALLBACK_REQUEST;
    case pb::ExecuteRequest::COMMAND_NOT_SET:
      break;
  }
  return pb::AGGREGATE_TYPE_UNSPECIFIED;
}

bool CreatesAggregate(const pb::ExecuteRequest& request) {
  switch (request.command_case()) {
    case pb::ExecuteRequest::kRegisterParty:
    case pb::ExecuteRequest::kRegisterInteraction:
    case pb::ExecuteRequest::kRequestCallback:
    case pb::ExecuteRequest::kRegisterMelding:
    case pb::ExecuteRequest::kRequestNotification:
    case pb::ExecuteRequest::kStartConversation:
    case pb::ExecuteRequest::kScheduleAppointment:
      return true;
    default:
      return false;
  }
}

bool UpsertsAggregate(const pb::ExecuteRequest& request) {
  return request.command_case() == pb::ExecuteRequest::kDefineMeldingCategory ||
         request.command_case() == pb::ExecuteRequest::kSetEmployeeAvailability;
}

std::string ResolveAggregateId(const pb::ExecuteRequest& request, std::string_view fresh_id) {
  const std::string& tenant = request.meta().tenant();
  if (request.command_case() == pb::ExecuteRequest::kDefineMeldingCategory)
    return StableIdFor(tenant + "/category", request.define_melding_category().code());
  if (request.command_case() == pb::ExecuteRequest::kSetEmployeeAvailability)
    return StableIdFor(tenant + "/employee", request.set_employee_availability().employee_id());
  if (!request.aggregate_id().empty()) return request.aggregate_id();
  if (!request.meta().idempotency_key().empty())
    return StableIdFor(tenant + "/" + std::string(AggregateTypeName(TargetAggregateType(request))),
                       request.meta().idempotency_key());
  return std::string(fresh_id);
}

pb::DigitalAddressKind AddressKindFor(pb::Channel channel) {
  switch (channel) {
    case pb::CHANNEL_WHATSAPP: return pb::DIGITAL_ADDRESS_KIND_WHATSAPP;
    case pb::CHANNEL_SMS:
    case pb::CHANNEL_PHONE: return pb::DIGITAL_ADDRESS_KIND_PHONE;
    case pb::CHANNEL_EMAIL: return pb::DIGITAL_ADDRESS_KIND_EMAIL;
    case pb::CHANNEL_TWITTER: return pb::DIGITAL_ADDRESS_KIND_TWITTER;
    case pb::CHANNEL_FACEBOOK: return pb::DIGITAL_ADDRESS_KIND_FACEBOOK;
    default: return pb::DIGITAL_ADDRESS_KIND_UNSPECIFIED;
  }
}

std::string_view AggregateTypeName(pb::AggregateType type) {
  switch (type) {
    case pb::AGGREGATE_TYPE_PARTY: return "party";
    case pb::AGGREGATE_TYPE_INTERACTION: return "interaction";
    case pb::AGGREGATE_TYPE_CALLBACK_REQUEST: return "callback request";
    case pb::AGGREGATE_TYPE_MELDING: return "melding";
    case pb::AGGREGATE_TYPE_MELDING_CATEGORY: return "melding category";
    case pb::AGGREGATE_TYPE_EMPLOYEE: return "employee";
    case pb::AGGREGATE_TYPE_NOTIFICATION: return "notification";
    case pb::AGGREGATE_TYPE_CONVERSATION: return "conversation";
    case pb::AGGREGATE_TYPE_APPOINTMENT: return "appointment";
    default: return "aggregate";
  }
}

std::string PersonalDataKeyId(const AggregateState& state, const pb::EventEnvelope& event) {
  auto owned = [&](std::string_view party_id, std::string_view own_kind) {
    return party_id.empty() ? fmt::format("{}/{}", own_kind, event.aggregate_id()) : fmt::format("party/{}", party_id);
  };
  switch (AggregateTypeOfEvent(event)) {
    case pb::AGGREGATE_TYPE_PARTY:
      return owned(event.aggregate_id(), "party");
    case pb::AGGREGATE_TYPE_INTERACTION:
      if (event.has_interaction_registered()) return owned(event.interaction_registered().party_id(), "interaction");
      return owned(state.as<InteractionState>().party_id, "interaction");
    case pb::AGGREGATE_TYPE_CALLBACK_REQUEST:
      if (event.has_callback_requested()) return owned(event.callback_requested().party_id(), "callback");
      return owned(state.as<CallbackState>().party_id, "callback");
    case pb::AGGREGATE_TYPE_MELDING:
      if (event.has_melding_registered()) return owned(event.melding_registered().reporter_party_id(), "melding");
      return owned(state.as<MeldingState>().reporter_party_id, "melding");
    case pb::AGGREGATE_TYPE_NOTIFICATION:
      if (event.has_notification_requested()) return owned(event.notification_requested().party_id(), "notification");
      return owned(state.as<NotificationState>().request.party_id(), "notification");
    case pb::AGGREGATE_TYPE_CONVERSATION:
      if (event.has_conversation_started()) return owned(event.conversation_started().party_id(), "conversation");
      return owned(state.as<ConversationState>().party_id, "conversation");
    case pb::AGGREGATE_TYPE_APPOINTMENT:
      if (event.has_appointment_scheduled()) return owned(event.appointment_scheduled().party_id(), "appointment");
      return owned(state.as<AppointmentState>().party_id, "appointment");
    default:
      return "";
  }
}

std::string_view PartyOfKeyId(std::string_view key_id) {
  constexpr std::string_view kPrefix = "party/";
  return key_id.starts_with(kPrefix) ? key_id.substr(kPrefix.size()) : std::string_view();
}

pb::AggregateType AggregateTypeOfEvent(const pb::EventEnvelope& event) {
  const int field = static_cast<int>(event.payload_case());
  if (field >= 100 && field < 200) return pb::AGGREGATE_TYPE_PARTY;
  if (field >= 200 && field < 300) return pb::AGGREGATE_TYPE_INTERACTION;
  if (field >= 300 && field < 400) return pb::AGGREGATE_TYPE_CALLBACK_REQUEST;
  if (field >= 400 && field < 500) return pb::AGGREGATE_TYPE_MELDING;
  if (field >= 500 && field < 600) return pb::AGGREGATE_TYPE_MELDING_CATEGORY;
  if (field >= 600 && field < 700) return pb::AGGREGATE_TYPE_EMPLOYEE;
  if (field >= 700 && field < 800) return pb::AGGREGATE_TYPE_NOTIFICATION;
  if (field >= 800 && field < 900) return pb::AGGREGATE_TYPE_CONVERSATION;
  if (field >= 900 && field < 1000) return pb::AGGREGATE_TYPE_APPOINTMENT;
  return pb::AGGREGATE_TYPE_UNSPECIFIED;
}

Result<std::vector<pb::EventEnvelope>> Decide(const AggregateState& state, const pb::ExecuteRequest& request,
                                              std::string_view aggregate_id, References& references) {
  const pb::AggregateType type = TargetAggregateType(request);
  const std::string_view tenant = request.meta().tenant();
  // Another tenant's aggregate is reported like a missing one (ids are random, so a clash on
  // create is only ever reported as taken).
  const bool visible = state.exists() && state.tenant == tenant;
  if (UpsertsAggregate(request)) {
    if (state.exists() && !visible)
      return std::unexpected(AlreadyExists("aggregate_id: '{}' is already taken", aggregate_id));
  } else if (CreatesAggregate(request)) {
    if (state.exists())
      return std::unexpected(AlreadyExists("aggregate_id: '{}' is already taken", aggregate_id));
  } else {
    if (!visible)
      return std::unexpected(NotFound("aggregate_id: no {} '{}' in tenant {}", AggregateTypeName(type), aggregate_id, tenant));
    if (state.type != type)
      return std::unexpected(FailedPrecondition("aggregate_id: '{}' is a {}, not a {}", aggregate_id,
                                                AggregateTypeName(state.type), AggregateTypeName(type)));
  }
  switch (type) {
    case pb::AGGREGATE_TYPE_PARTY: return DecideParty(state, request, references);
    case pb::AGGREGATE_TYPE_INTERACTION: return DecideInteraction(state, request, references);
    case pb::AGGREGATE_TYPE_CALLBACK_REQUEST: return DecideCallback(state, request, references);
    case pb::AGGREGATE_TYPE_MELDING: return DecideMelding(state, request, references);
    case pb::AGGREGATE_TYPE_MELDING_CATEGORY: return DecideCategory(state, request);
    case pb::AGGREGATE_TYPE_EMPLOYEE: return DecideEmployee(state, request);
    case pb::AGGREGATE_TYPE_NOTIFICATION: return DecideNotification(state, request, references);
    case pb::AGGREGATE_TYPE_CONVERSATION: return DecideConversation(state, request, references);
    case pb::AGGREGATE_TYPE_APPOINTMENT: return DecideAppointment(state, request, references);
    default: break;
  }
  return std::unexpected(InvalidArgument("command: exactly one command must be set"));
}

bool EvolveReadsPersonalData(const pb::EventEnvelope& event) {
  switch (AggregateTypeOfEvent(event)) {
    case pb::AGGREGATE_TYPE_INTERACTION:
    case pb::AGGREGATE_TYPE_CALLBACK_REQUEST:
    case pb::AGGREGATE_TYPE_CONVERSATION:
      return false;
    default:
      return true;
  }
}

AggregateState Evolve(AggregateState state, const pb::EventEnvelope& event) {
  KS_CHECK(event.aggregate_version() == state.version + 1);
  if (state.version == 0) {
    state.type = AggregateTypeOfEvent(event);
    state.tenant = event.tenant();
  }
  state.version = event.aggregate_version();
  switch (event.payload_case()) {
    case pb::EventEnvelope::kPartyRegistered: {
      RequireOpened(event);
      const auto& ev = event.party_registered();
      PartyState party;
      party.kind = ev.kind();
      party.display_name = ev.display_name();
      party.identifiers.assign(ev.identifiers().begin(), ev.identifiers().end());
      party.digital_addresses.assign(ev.digital_addresses().begin(), ev.digital_addresses().end());
      party.residence = ev.residence();
      state.data = std::move(party);
      break;
    }
    case pb::EventEnvelope::kPartyNameChanged:
      RequireOpened(event);
      state.as<PartyState>().display_name = event.party_name_changed().display_name();
      break;
    case pb::EventEnvelope::kDigitalAddressAdded: {
      RequireOpened(event);
      AddDigitalAddress(state.as<PartyState>().digital_addresses, event.digital_address_added().address());
      break;
    }
    case pb::EventEnvelope::kPartyIdentifierAdded:
      RequireOpened(event);
      state.as<PartyState>().identifiers.push_back(event.party_identifier_added().identifier());
      break;
    case pb::EventEnvelope::kPreferredChannelSet:
      state.as<PartyState>().preferred_channel = event.preferred_channel_set().channel();
      break;
    case pb::EventEnvelope::kPartyLabelAdded:
      state.as<PartyState>().labels.push_back(event.party_label_added().label());
      break;
    case pb::EventEnvelope::kPartyLabelRemoved:
      std::erase(state.as<PartyState>().labels, event.party_label_removed().label());
      break;
    case pb::EventEnvelope::kPartyErased: {
      auto& party = state.as<PartyState>();
      party.display_name.clear();
      party.identifiers.clear();
      party.digital_addresses.clear();
      party.preferred_channel = pb::CHANNEL_UNSPECIFIED;
      party.residence.Clear();
      party.erased = true;
      break;
    }
    case pb::EventEnvelope::kResidenceChanged:
      RequireOpened(event);
      state.as<PartyState>().residence = event.residence_changed().residence();
      break;
    case pb::EventEnvelope::kPartyIdentified:
      break;
    case pb::EventEnvelope::kPartyMerged:
      state.as<PartyState>().merged_into = event.party_merged().into_party_id();
      break;
    case pb::EventEnvelope::kContactPersonAdded:
      state.as<PartyState>().contact_persons.push_back(event.contact_person_added().party_id());
      break;
    case pb::EventEnvelope::kInteractionRegistered: {
      InteractionState interaction;
      interaction.party_id = event.interaction_registered().party_id();
      interaction.channel = event.interaction_registered().channel();
      state.data = std::move(interaction);
      break;
    }
    case pb::EventEnvelope::kInteractionLinkedToParty:
      state.as<InteractionState>().party_id = event.interaction_linked_to_party().party_id();
      break;
    case pb::EventEnvelope::kInteractionReportRecorded:
      break;
    case pb::EventEnvelope::kInteractionLinkedToZaak:
      state.as<InteractionState>().zaken.push_back(event.interaction_linked_to_zaak().zaak().identification());
      break;
    case pb::EventEnvelope::kCallbackRequested: {
      CallbackState callback;
      callback.party_id = event.callback_requested().party_id();
      callback.status = pb::CALLBACK_STATUS_OPEN;
      callback.target = event.callback_requested().target();
      state.data = std::move(callback);
      break;
    }
    case pb::EventEnvelope::kCallbackAttemptRecorded:
      ++state.as<CallbackState>().attempts;
      break;
    case pb::EventEnvelope::kCallbackCompleted:
      state.as<CallbackState>().status = pb::CALLBACK_STATUS_COMPLETED;
      break;
    case pb::EventEnvelope::kCallbackCancelled:
      state.as<CallbackState>().status = pb::CALLBACK_STATUS_CANCELLED;
      break;
    case pb::EventEnvelope::kCallbackReassigned:
      state.as<CallbackState>().target = event.callback_reassigned().target();
      break;
    case pb::EventEnvelope::PAYLOAD_NOT_SET:
      break;
    default:
      if (AggregateTypeOfEvent(event) == pb::AGGREGATE_TYPE_CONVERSATION ||
          AggregateTypeOfEvent(event) == pb::AGGREGATE_TYPE_APPOINTMENT)
        EvolveEngagement(state, event);
      else
        EvolveMeldingFamily(state, event);
      break;
  }
  return state;
}

}  // namespace ks::domain
