// The read models' pure folds: the record a read model keeps for an aggregate, folded with one
// event, gives the new record; and the index keys a record occupies. The projector's I/O layer
// (projection.h) stores the records and keeps the indexes in step with them; the analysts' replay
// will run the same folds.
//
// Folds depend only on the aggregate's own events, which arrive in order (one partition per
// aggregate). Whatever joins aggregates (a party's timeline through its digital addresses) is done
// at query time, so no fold depends on the order of events across partitions.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "klantstroom/v1/events.pb.h"
#include "klantstroom/v1/read_models.pb.h"
#include "ks/core/status.h"
#include "ks/domain/aggregate.h"
#include "ks/privacy/key_vault.h"
#include "ks/readmodel/keys.h"

namespace ks::projector {

namespace pb = ::klantstroom::v1;

pb::PartyProfile FoldParty(pb::PartyProfile profile, const pb::EventEnvelope& event);
pb::InteractionRecord FoldInteraction(pb::InteractionRecord record, const pb::EventEnvelope& event);
pb::CallbackRecord FoldCallback(pb::CallbackRecord record, const pb::EventEnvelope& event);

pb::MeldingRecord FoldMelding(pb::MeldingRecord record, const pb::EventEnvelope& event);
pb::MeldingCategoryRecord FoldCategory(pb::MeldingCategoryRecord record,
                                       const pb::EventEnvelope& event);
pb::EmployeeRecord FoldEmployee(pb::EmployeeRecord record, const pb::EventEnvelope& event);
pb::NotificationRecord FoldNotification(pb::NotificationRecord record,
                                        const pb::EventEnvelope& event);
pb::ConversationRecord FoldConversation(pb::ConversationRecord record,
                                        const pb::EventEnvelope& event);
pb::AppointmentRecord FoldAppointment(pb::AppointmentRecord record, const pb::EventEnvelope& event);

// Party lookup keys: one per lookup digest (identifier or digital address; see LookupDigests).
std::vector<std::string> IndexKeys(const pb::PartyProfile& profile);
// When it occurred (for the live KPIs); timeline keys under the party (when linked) and under the
// counterpart address's digest (when known); a turn of its conversation; a contact of its zaken.
std::vector<std::string> IndexKeys(const pb::InteractionRecord& record);
// When it was requested; while open also the party's open callbacks and the department/employee
// queues.
std::vector<std::string> IndexKeys(const pb::CallbackRecord& record);
// Number, when registered, reporter, status; while open also category, neighbourhood, address,
// department, employee.
std::vector<std::string> IndexKeys(const pb::MeldingRecord& record);
// The entries of a melding in its reporter's list and of an open callback request in its
// party's (of those IndexKeys gives; for the in-place upgrade of layout 3 too).
std::string PartyMeldingEntry(const pb::MeldingRecord& record);
std::string OpenCallbackEntry(const pb::CallbackRecord& record);
std::vector<std::string> IndexKeys(const pb::MeldingCategoryRecord& record);
// While absent with a replacement: the replacement's "replaces" entry.
std::vector<std::string> IndexKeys(const pb::EmployeeRecord& record);
// When requested; under the party (newest first) and under the melding it is about.
std::vector<std::string> IndexKeys(const pb::NotificationRecord& record);
// Under the party; while it waits for an employee, in the handover queues of the department and
// the employee it was handed to.
std::vector<std::string> IndexKeys(const pb::ConversationRecord& record);
// Under the party, by start.
std::vector<std::string> IndexKeys(const pb::AppointmentRecord& record);

// The keyed digests the lookup indexes hold instead of the values: "tag:digest" per identifier
// and digital address of the party, the counterpart's digest of a contact. Computed from the
// open personal fields (none once erased), so the indexes never hold a BSN or a phone number.
// A contact's digest comes with its event (the command service makes it); one from a log
// written before digests existed is made here.
std::vector<std::string> LookupDigests(const pb::PartyProfile& profile,
                                       const privacy::Key& index_key);
std::string CounterpartDigest(const pb::InteractionRecord& record, const privacy::Key& index_key);

// Which read-model record `event` folds into, and with which fold: calls
// `apply(record_key, fold)`, where `fold` is one of the functions above (so `apply` can deduce the
// record type from it), and returns what `apply` returns. The projector (records in RocksDB) and
// the analysts' replay (records in memory) both route events through here.
// `event` must be of a known type (DecodeEvent refuses the others).
template <typename Apply>
auto WithFoldFor(const pb::EventEnvelope& event, Apply&& apply) {
  namespace keys = readmodel::keys;
  switch (domain::AggregateTypeOfEvent(event)) {
    case pb::AGGREGATE_TYPE_PARTY:
      return apply(keys::Party(event.tenant(), event.aggregate_id()), FoldParty);
    case pb::AGGREGATE_TYPE_INTERACTION:
      return apply(keys::Interaction(event.tenant(), event.aggregate_id()), FoldInteraction);
    case pb::AGGREGATE_TYPE_CALLBACK_REQUEST:
      return apply(keys::Callback(event.tenant(), event.aggregate_id()), FoldCallback);
    case pb::AGGREGATE_TYPE_MELDING:
      return apply(keys::Melding(event.tenant(), event.aggregate_id()), FoldMelding);
    case pb::AGGREGATE_TYPE_MELDING_CATEGORY:
      return apply(keys::Category(event.tenant(), event.melding_category_defined().code()),
                   FoldCategory);
    case pb::AGGREGATE_TYPE_EMPLOYEE:
      return apply(
          keys::Employee(event.tenant(), event.employee_availability_changed().employee_id()),
          FoldEmployee);
    case pb::AGGREGATE_TYPE_NOTIFICATION:
      return apply(keys::Notification(event.tenant(), event.aggregate_id()), FoldNotification);
    case pb::AGGREGATE_TYPE_CONVERSATION:
      return apply(keys::Conversation(event.tenant(), event.aggregate_id()), FoldConversation);
    case pb::AGGREGATE_TYPE_APPOINTMENT:
      return apply(keys::Appointment(event.tenant(), event.aggregate_id()), FoldAppointment);
    default:
      break;
  }
  KS_CHECK(false && "events of unknown type are refused by DecodeEvent before they get here");
  return apply(std::string(), FoldParty);
}

}  // namespace ks::projector
