#include "ks/privacy/personal_fields.h"

#include <map>
#include <string>

#include "klantstroom/v1/events.pb.h"
#include "klantstroom/v1/read_models.pb.h"
#include "ks/core/status.h"

namespace ks::privacy {
namespace {

namespace pb = ::klantstroom::v1;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

// Events (payloads) and read-model records, by field name. A new event or record with personal
// data adds its line here; the privacy test checks that a person's data is unreadable after
// erasure in every read path.
const std::map<const Descriptor*, std::vector<std::string>>& Names() {
  static const auto* names = new std::map<const Descriptor*, std::vector<std::string>>{
      {pb::PartyRegistered::descriptor(), {"display_name", "identifiers", "digital_addresses", "birth_date", "residence"}},
      {pb::ResidenceChanged::descriptor(), {"residence"}},
      {pb::PartyIdentified::descriptor(), {"reference"}},
      {pb::PartyNameChanged::descriptor(), {"display_name"}},
      {pb::DigitalAddressAdded::descriptor(), {"address"}},
      {pb::PartyIdentifierAdded::descriptor(), {"identifier"}},
      {pb::InteractionRegistered::descriptor(), {"text", "counterpart"}},
      {pb::InteractionReportRecorded::descriptor(), {"report"}},
      {pb::CallbackRequested::descriptor(), {"context", "phone_number"}},
      {pb::CallbackAttemptRecorded::descriptor(), {"note"}},
      {pb::CallbackCompleted::descriptor(), {"report"}},
      {pb::MeldingRegistered::descriptor(), {"reporter_address", "acknowledge_to"}},
      {pb::MeldingStatusChanged::descriptor(), {"notify_to"}},
      {pb::MeldingContactRecorded::descriptor(), {"note"}},
      {pb::MeldingSatisfactionRecorded::descriptor(), {"comment"}},
      {pb::NotificationRequested::descriptor(), {"address", "text"}},
      {pb::NotificationFailed::descriptor(), {"error"}},
      {pb::ConversationStarted::descriptor(), {"subject", "counterpart"}},
      {pb::ConversationHandedOver::descriptor(), {"reason", "summary", "phone_number"}},
      {pb::ConversationClosed::descriptor(), {"report"}},
      {pb::AppointmentScheduled::descriptor(), {"person_name", "place", "subject", "what_to_bring", "notify_to"}},
      {pb::AppointmentRescheduled::descriptor(), {"place", "reason", "notify_to"}},
      {pb::AppointmentRemindersSet::descriptor(), {"notify_to"}},
      {pb::AppointmentCancelled::descriptor(), {"reason", "notify_to"}},
      {pb::AppointmentOutcomeRecorded::descriptor(), {"note"}},

      {pb::PartyProfile::descriptor(),
       {"display_name", "identifiers", "digital_addresses", "birth_date", "residence", "identifications"}},
      {pb::InteractionRecord::descriptor(), {"text", "counterpart", "report"}},
      {pb::CallbackRecord::descriptor(), {"context", "phone_number", "completion_report"}},
      {pb::MeldingRecord::descriptor(), {"reporter_address", "satisfaction_comment"}},
      {pb::NotificationRecord::descriptor(), {"address", "text", "last_error"}},
      {pb::ConversationRecord::descriptor(),
       {"subject", "counterpart", "handover_reason", "handover_summary", "callback_phone_number", "report"}},
      {pb::AppointmentRecord::descriptor(),
       {"person_name", "place", "subject", "what_to_bring", "notify_to", "cancel_reason", "outcome_note"}},
  };
  return *names;
}

}  // namespace

const std::vector<const FieldDescriptor*>& PersonalFields(const Descriptor* type) {
  static const auto* table = [] {
    auto* out = new std::map<const Descriptor*, std::vector<const FieldDescriptor*>>();
    for (const auto& [descriptor, fields] : Names()) {
      auto& list = (*out)[descriptor];
      for (const std::string& name : fields) {
        const FieldDescriptor* field = descriptor->FindFieldByName(name);
        KS_CHECK(field != nullptr && "a personal field named in the table does not exist");
        list.push_back(field);
      }
    }
    return out;
  }();
  static const std::vector<const FieldDescriptor*> none;
  auto it = table->find(type);
  return it == table->end() ? none : it->second;
}

}  // namespace ks::privacy
