#include "ks/projector/projector.h"

#include <set>

#include <rocksdb/utilities/write_batch_with_index.h>

#include "klantstroom/v1/events.pb.h"
#include "ks/core/log.h"
#include "ks/domain/aggregate.h"
#include "ks/domain/event_codec.h"
#include "ks/projector/folds.h"
#include "ks/readmodel/keys.h"

namespace ks::projector {
namespace {

namespace keys = readmodel::keys;
using readmodel::ReadModelStore;

// One batch being built: writes go to a WriteBatchWithIndex, so that reads within the batch see
// the batch's own earlier writes (an interaction registered and reported in the same batch).
class BatchTxn {
 public:
  explicit BatchTxn(rocksdb::DB* db) : db_(db), batch_(rocksdb::BytewiseComparator(), 0, true) {}

  Result<std::optional<std::string>> Get(const std::string& key) {
    std::string value;
    rocksdb::Status s = batch_.GetFromBatchAndDB(db_, rocksdb::ReadOptions(), key, &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return std::unexpected(ReadModelStore::FromRocks(s, "read"));
    return std::optional<std::string>(std::move(value));
  }
  void Put(const std::string& key, const std::string& value) { KS_CHECK(batch_.Put(key, value).ok()); }
  void Delete(const std::string& key) { KS_CHECK(batch_.Delete(key).ok()); }
  Status Commit() {
    rocksdb::WriteOptions options;
    // The WAL makes a commit survive a process crash; the read models can always be rebuilt from
    // the log, so the projector does not pay for an fsync per batch.
    options.sync = false;
    return ReadModelStore::FromRocks(db_->Write(options, batch_.GetWriteBatch()), "commit batch");
  }

 private:
  rocksdb::DB* db_;
  rocksdb::WriteBatchWithIndex batch_;
};

// Folds `event` into the record stored at `key` and moves its index entries along.
template <typename RecordT, typename Fold>
Status ApplyToRecord(BatchTxn& txn, const std::string& key, const pb::EventEnvelope& event, Fold fold) {
  auto stored = txn.Get(key);
  if (!stored) return stored.error();
  RecordT before;
  if (stored->has_value() && !before.ParseFromString(**stored))
    return Status(StatusCode::kDataLoss, fmt::format("read model record at {} does not parse", key));
  RecordT after = fold(before, event);
  const std::vector<std::string> old_keys = IndexKeys(before);
  const std::vector<std::string> new_keys = IndexKeys(after);
  const std::set<std::string> keep(new_keys.begin(), new_keys.end());
  for (const std::string& k : old_keys)
    if (!keep.count(k)) txn.Delete(k);
  for (const std::string& k : new_keys) txn.Put(k, "");
  txn.Put(key, after.SerializeAsString());
  return Status::Ok();
}

// Folds one event into every read model. Returns false when it was skipped as already applied.
Result<bool> ApplyEvent(BatchTxn& txn, const pb::EventEnvelope& event) {
  const std::string version_key = keys::AppliedVersion(event.aggregate_id());
  auto applied = txn.Get(version_key);
  if (!applied) return std::unexpected(applied.error());
  const int64_t applied_version = applied->has_value() ? keys::DecodeInt64(**applied) : 0;
  if (event.aggregate_version() <= applied_version) return false;

  Status s;
  switch (domain::AggregateTypeOfEvent(event)) {
    case pb::AGGREGATE_TYPE_PARTY:
      s = ApplyToRecord<pb::PartyProfile>(txn, keys::Party(event.tenant(), event.aggregate_id()), event, FoldParty);
      break;
    case pb::AGGREGATE_TYPE_INTERACTION:
      s = ApplyToRecord<pb::InteractionRecord>(txn, keys::Interaction(event.tenant(), event.aggregate_id()), event,
                                               FoldInteraction);
      break;
    case pb::AGGREGATE_TYPE_CALLBACK_REQUEST:
      s = ApplyToRecord<pb::CallbackRecord>(txn, keys::Callback(event.tenant(), event.aggregate_id()), event,
                                            FoldCallback);
      break;
    case pb::AGGREGATE_TYPE_MELDING:
      s = ApplyToRecord<pb::MeldingRecord>(txn, keys::Melding(event.tenant(), event.aggregate_id()), event, FoldMelding);
      break;
    case pb::AGGREGATE_TYPE_MELDING_CATEGORY:
      s = ApplyToRecord<pb::MeldingCategoryRecord>(
          txn, keys::Category(event.tenant(), event.melding_category_defined().code()), event, FoldCategory);
      break;
    case pb::AGGREGATE_TYPE_EMPLOYEE:
      s = ApplyToRecord<pb::EmployeeRecord>(
          txn, keys::Employee(event.tenant(), event.employee_availability_changed().employee_id()), event, FoldEmployee);
      break;
    case pb::AGGREGATE_TYPE_NOTIFICATION:
      s = ApplyToRecord<pb::NotificationRecord>(txn, keys::Notification(event.tenant(), event.aggregate_id()), event,
                                                FoldNotification);
      break;
    default:
      KS_CHECK(false && "events of unknown type are parked before they get here");
  }
  if (!s.ok()) return std::unexpected(s);
  txn.Put(version_key, keys::EncodeInt64(event.aggregate_version()));
  return true;
}

std::string DeadLetterKey(int32_t partition, int64_t offset) {
  return "~dead" + keys::EncodeInt64(partition) + keys::EncodeInt64(offset);
}

}  // namespace

Result<std::unique_ptr<Projector>> Projector::Open(eventlog::EventLog& log, ReadModelStore& store,
                                                   ProjectorOptions options) {
  auto progress = store.View().ReadProgress();
  if (!progress) return std::unexpected(progress.error());
  std::vector<int64_t> next(static_cast<size_t>(log.partition_count()), 0);
  for (const auto& [partition, offset] : *progress) {
    if (partition >= log.partition_count())
      return std::unexpected(FailedPrecondition(
          "read models at {} were built from a log with partition {}, but {} has {} partitions; rebuild them",
          store.path(), partition, log.description(), log.partition_count()));
    next[static_cast<size_t>(partition)] = offset;
  }
  auto ends = log.EndOffsets();
  if (!ends) return std::unexpected(ends.error());
  for (size_t p = 0; p < next.size(); ++p)
    if (next[p] > (*ends)[p])
      return std::unexpected(FailedPrecondition(
          "read models at {} have applied partition {} up to offset {}, but {} ends at {}: they were built from "
          "another log (a reset broker?); rebuild them",
          store.path(), p, next[p], log.description(), (*ends)[p]));
  auto reader = log.OpenReader(next);
  if (!reader) return std::unexpected(reader.error());
  int64_t total = 0;
  for (int64_t n : next) total += n;
  log::Info("projector", "resuming {} from {} events already applied ({} partitions)", store.path(), total, next.size());
  return std::unique_ptr<Projector>(new Projector(log, store, options, std::move(next), std::move(*reader)));
}

Result<size_t> Projector::Step() {
  auto records = reader_->Poll(options_.max_batch_events, options_.poll_wait);
  if (!records) return std::unexpected(records.error());
  if (records->empty()) return size_t{0};

  BatchTxn txn(store_.db());
  std::vector<int64_t> next = next_offsets_;
  int64_t applied = 0;
  int64_t skipped = 0;
  int64_t parked = 0;
  for (const eventlog::StoredRecord& record : *records) {
    const auto p = static_cast<size_t>(record.partition);
    if (record.offset < next[p]) continue;  // re-delivered below our position
    next[p] = record.offset + 1;
    auto event = domain::DecodeEvent(record.value);
    if (!event) {
      log::Error("projector", "event at {}/{} (key {}) parked as a dead letter: {}", record.partition, record.offset,
                 record.key, event.error().ToString());
      txn.Put(DeadLetterKey(record.partition, record.offset), record.value);
      ++parked;
      continue;
    }
    auto result = ApplyEvent(txn, *event);
    if (!result) return std::unexpected(result.error());
    if (*result)
      ++applied;
    else
      ++skipped;
  }
  for (size_t p = 0; p < next.size(); ++p)
    if (next[p] != next_offsets_[p]) txn.Put(keys::PartitionProgress(static_cast<int32_t>(p)), keys::EncodeInt64(next[p]));
  if (Status s = txn.Commit(); !s.ok()) return std::unexpected(s);
  next_offsets_ = std::move(next);
  events_applied_ += applied;
  events_skipped_ += skipped;
  events_parked_ += parked;

  const auto now = std::chrono::steady_clock::now();
  if (now - last_report_ > std::chrono::seconds(10)) {
    const double secs = std::chrono::duration<double>(now - last_report_).count();
    log::Info("projector", "{} events applied ({:.0f}/s), {} duplicates skipped, {} parked", events_applied_,
              static_cast<double>(events_applied_ - applied_at_last_report_) / secs, events_skipped_, events_parked_);
    last_report_ = now;
    applied_at_last_report_ = events_applied_;
  }
  return records->size();
}

Status Projector::Run() {
  while (!stopping_.load()) {
    auto n = Step();
    if (!n) return n.error();
  }
  return Status::Ok();
}

Status Projector::CatchUpTo(const std::vector<int64_t>& end_offsets) {
  auto reached = [&] {
    for (size_t p = 0; p < next_offsets_.size(); ++p)
      if (next_offsets_[p] < end_offsets[p]) return false;
    return true;
  };
  while (!reached() && !stopping_.load()) {
    auto n = Step();
    if (!n) return n.error();
  }
  return Status::Ok();
}

}  // namespace ks::projector
