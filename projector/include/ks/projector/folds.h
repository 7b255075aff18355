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

namespace ks::projector {

namespace pb = ::klantstroom::v1;

pb::PartyProfile FoldParty(pb::PartyProfile profile, const pb::EventEnvelope& event);
pb::InteractionRecord FoldInteraction(pb::InteractionRecord record, const pb::EventEnvelope& event);
pb::CallbackRecord FoldCallback(pb::CallbackRecord record, const pb::EventEnvelope& event);

pb::MeldingRecord FoldMelding(pb::MeldingRecord record, const pb::EventEnvelope& event);
pb::MeldingCategoryRecord FoldCategory(pb::MeldingCategoryRecord record, const pb::EventEnvelope& event);
pb::EmployeeRecord FoldEmployee(pb::EmployeeRecord record, const pb::EventEnvelope& event);
pb::NotificationRecord FoldNotification(pb::NotificationRecord record, const pb::EventEnvelope& event);

// Party lookup keys: one per identifier and per digital address.
std::vector<std::string> IndexKeys(const pb::PartyProfile& profile);
// Timeline keys: under the party (when linked) and under the counterpart address (when known).
std::vector<std::string> IndexKeys(const pb::InteractionRecord& record);
// While open: the party's open callbacks and the department/employee queues.
std::vector<std::string> IndexKeys(const pb::CallbackRecord& record);
// Number, reporter, status; while open also category, neighbourhood, address, department, employee.
std::vector<std::string> IndexKeys(const pb::MeldingRecord& record);
std::vector<std::string> IndexKeys(const pb::MeldingCategoryRecord& record);
// While absent with a replacement: the replacement's "replaces" entry.
std::vector<std::string> IndexKeys(const pb::EmployeeRecord& record);
// Under the party (newest first) and under the melding it is about.
std::vector<std::string> IndexKeys(const pb::NotificationRecord& record);

}  // namespace ks::projector
