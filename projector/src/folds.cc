#include "ks/projector/folds.h"

#include <google/protobuf/util/time_util.h>

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
      *profile.mutable_registered_at() = event.occurred_at();
      break;
    }
    case pb::EventEnvelope::kPartyNameChanged:
      profile.set_display_name(event.party_name_changed().display_name());
      break;
    case pb::EventEnvelope::kDigitalAddressAdded:
      domain::AddDigitalAddress(*profile.mutable_digital_addresses(), event.digital_address_added().address());
      break;
    case pb::EventEnvelope::kPartyIdentifierAdded:
      *profile.add_identifiers() = event.party_identifier_added().identifier();
      break;
    default:
      return profile;
  }
  profile.set_version(event.aggregate_version());
  return profile;
}

pb::InteractionRecord FoldInteraction(pb::InteractionRecord record, const pb::EventEnvelope& event) {
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
      record.set_external_id(ev.external_id());
      if (ev.has_handled_by()) *record.mutable_handled_by() = ev.handled_by();
      *record.mutable_occurred_at() = event.occurred_at();
      break;
    }
    case pb::EventEnvelope::kInteractionLinkedToParty:
      record.set_party_id(event.interaction_linked_to_party().party_id());
      break;
    case pb::EventEnvelope::kInteractionReportRecorded:
      record.set_report(event.interaction_report_recorded().report());
      record.set_outcome(event.interaction_report_recorded().outcome());
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

std::vector<std::string> IndexKeys(const pb::PartyProfile& profile) {
  std::vector<std::string> out;
  if (profile.party_id().empty()) return out;
  for (const auto& id : profile.identifiers())
    out.push_back(keys::Lookup(profile.tenant(), keys::IdentifierTag(id.kind()), id.value(), profile.party_id()));
  for (const auto& a : profile.digital_addresses())
    out.push_back(keys::Lookup(profile.tenant(), keys::AddressTag(a.kind()), a.value(), profile.party_id()));
  return out;
}

std::vector<std::string> IndexKeys(const pb::InteractionRecord& record) {
  std::vector<std::string> out;
  if (record.interaction_id().empty()) return out;
  const int64_t ms = TimeUtil::TimestampToMilliseconds(record.occurred_at());
  if (!record.party_id().empty())
    out.push_back(keys::PartyTimeline(record.tenant(), record.party_id(), ms, record.interaction_id()));
  if (record.has_counterpart())
    out.push_back(keys::AddressTimeline(record.tenant(), record.counterpart().kind(), record.counterpart().value(), ms,
                                        record.interaction_id()));
  return out;
}

std::vector<std::string> IndexKeys(const pb::CallbackRecord& record) {
  std::vector<std::string> out;
  if (record.status() != pb::CALLBACK_STATUS_OPEN) return out;
  out.push_back(keys::OpenCallback(record.tenant(), record.party_id(), record.callback_id()));
  if (!record.target().department().empty())
    out.push_back(keys::DepartmentQueue(record.tenant(), record.target().department(), record.callback_id()));
  if (!record.target().employee_id().empty())
    out.push_back(keys::EmployeeQueue(record.tenant(), record.target().employee_id(), record.callback_id()));
  return out;
}

}  // namespace ks::projector
