#include "ks/projector/projector.h"

#include <google/protobuf/util/time_util.h>
#include <absl/container/flat_hash_map.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>

#include "klantstroom/v1/events.pb.h"
#include "ks/core/log.h"
#include "ks/domain/aggregate.h"
#include "ks/domain/event_codec.h"
#include "ks/privacy/sealing.h"
#include "ks/projector/folds.h"
#include "ks/readmodel/keys.h"
#include "list_order_upgrade.h"
#include "ks/projector/written_records.h"

namespace ks::projector {
namespace {

namespace keys = readmodel::keys;
using readmodel::ReadModelStore;

// One batch being built. Records touched in the batch are kept in memory (the latest value of
// each) and written once at commit, so a busy party's record is read from RocksDB once per batch
// however many of its events the batch holds. Every write is collected and handed to RocksDB in
// key order: the memtable's skip list remembers where its last insert went, so a key just after
// the previous one is placed in a few steps instead of a search from the top (unsorted, those
// searches were the largest part of a rebuild's time). Of several puts and deletes of one key,
// only the last is written.
//
// A batch is folded while the one before it is still being written (see Projector::Committer): its
// reads look in that batch's records first. Only records are ever read back, and every write of
// a record goes through its batch's record map, so what RocksDB does not hold yet is found there.
class BatchTxn {
 public:
  // `earlier`: the batch being committed meanwhile (its transactions), or none. `written`: the
  // records written into a store that started empty, or none (see WrittenRecords).
  // `rebuilt`: a store being rebuilt, which takes the entries never read back aside
  // (ReadModelStore::WriteAside), or none.
  BatchTxn(rocksdb::DB* db, bool write_ahead_log, const std::vector<std::unique_ptr<BatchTxn>>* earlier,
           WrittenRecords* written, ReadModelStore* rebuilt)
      : db_(db), write_ahead_log_(write_ahead_log), earlier_(earlier), written_(written), rebuilt_(rebuilt) {}

  Result<std::optional<std::string>> GetRecord(const std::string& key) {
    if (auto it = records_.find(key); it != records_.end())
      return std::optional<std::string>(it->second);
    if (earlier_ != nullptr)
      for (const auto& txn : *earlier_)
        if (auto it = txn->records_.find(key); it != txn->records_.end())
          return std::optional<std::string>(it->second);
    if (written_ != nullptr && !written_->MayContain(key)) return std::optional<std::string>();
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return std::unexpected(ReadModelStore::FromRocks(s, "read"));
    return std::optional<std::string>(std::move(value));
  }
  void PutRecord(const std::string& key, std::string value) {
    if (written_ != nullptr) written_->Add(key);
    records_[key] = std::move(value);
  }
  // Room for the records of `events` events, so that the map is not rehashed while it fills.
  void Reserve(size_t events) { records_.reserve(events); }
  void Put(std::string key, std::string value) { writes_.push_back({std::move(key), std::move(value), Op::kPut}); }
  void Delete(std::string key) { writes_.push_back({std::move(key), {}, Op::kDelete}); }
  // An entry the folding never reads back (an index entry, the audit trail): in a rebuild kept out
  // of the batch, and written aside.
  void PutAside(std::string key, std::string value) {
    if (rebuilt_ == nullptr)
      Put(std::move(key), std::move(value));
    else
      aside_.push_back({std::move(key), std::move(value), false});
  }
  void DeleteAside(std::string key) {
    if (rebuilt_ == nullptr)
      Delete(std::move(key));
    else
      aside_.push_back({std::move(key), {}, true});
  }
  // Adds `delta` to an index counter; a batch merges one sum per counter.
  void Count(std::string counter_key, int64_t delta) { counts_[std::move(counter_key)] += delta; }

  // Once its folding is done, the batch before it is no longer read.
  void ForgetEarlier() { earlier_ = nullptr; }
  // Builds the WriteBatch, once the folding is done (on the folding thread: the commit's thread
  // has the write itself, which takes about as long as the folding). The records stay readable
  // by the next batch's folding until this transaction is destroyed.
  void Prepare(const std::function<void(const rocksdb::WriteBatch&)>& before_commit) {
    std::vector<std::string> sums;
    std::vector<WriteView> views;
    views.reserve(writes_.size() + records_.size() + counts_.size());
    for (const PendingWrite& w : writes_) views.push_back({w.key, w.value, w.op});
    for (const auto& [key, value] : records_) views.push_back({key, value, Op::kPut});
    sums.reserve(counts_.size());  // the views point into it: no reallocation
    for (const auto& [key, delta] : counts_)
      if (delta != 0) views.push_back({key, sums.emplace_back(keys::EncodeInt64(delta)), Op::kMerge});
    // Equal keys keep their order: of puts and deletes of one key the last counts (a counter's
    // merges, one per batch, add to whatever it holds).
    std::stable_sort(views.begin(), views.end(),
                     [](const WriteView& a, const WriteView& b) { return a.key < b.key; });
    // Room for every write at once (a tag and two length prefixes each, at most 11 bytes), not
    // grown and copied again as it fills.
    size_t bytes = 12;
    for (const WriteView& w : views) bytes += w.key.size() + w.value.size() + 11;
    batch_ = rocksdb::WriteBatch(bytes);
    for (size_t n = 0; n < views.size(); ++n) {
      const WriteView& w = views[n];
      // A put or delete followed by another of the same key (an index entry added and moved on
      // within the batch) is superseded: only the last reaches the memtable.
      if (n + 1 < views.size() && w.op != Op::kMerge) {
        const WriteView& later = views[n + 1];
        if (later.op != Op::kMerge && later.key == w.key) continue;
      }
      switch (w.op) {
        case Op::kPut: KS_CHECK(batch_.Put(ToSlice(w.key), ToSlice(w.value)).ok()); break;
        case Op::kDelete: KS_CHECK(batch_.Delete(ToSlice(w.key)).ok()); break;
        case Op::kMerge: KS_CHECK(batch_.Merge(ToSlice(w.key), ToSlice(w.value)).ok()); break;
      }
    }
    writes_.clear();
    writes_.shrink_to_fit();
    counts_.clear();
    // Sorted here, on the folding thread, while they are in its cache: the rebuilt store's runs
    // then merge sorted batches instead of sorting whole runs.
    std::stable_sort(aside_.begin(), aside_.end(),
                     [](const readmodel::SortedRuns::Entry& a, const readmodel::SortedRuns::Entry& b) {
                       return a.key < b.key;
                     });
    if (before_commit) before_commit(batch_);
  }
  bool empty() const { return batch_.Count() == 0 && aside_.empty(); }
  // Writes the prepared batch (from the committer's thread).
  Status Write() {
    rocksdb::WriteOptions options;
    // The WAL makes a commit survive a process crash; the read models can always be rebuilt from
    // the log, so the projector does not pay for an fsync per batch.
    options.sync = false;
    options.disableWAL = !write_ahead_log_;
    if (Status s = ReadModelStore::FromRocks(db_->Write(options, &batch_), "commit batch"); !s.ok()) return s;
    if (!aside_.empty())
      if (Status s = rebuilt_->WriteAside(std::exchange(aside_, {})); !s.ok()) return s;
    return Status::Ok();
  }

 private:
  enum class Op { kPut, kDelete, kMerge };
  struct PendingWrite {
    std::string key;
    std::string value;
    Op op;
  };
  struct WriteView {
    std::string_view key;
    std::string_view value;
    Op op;
  };
  static rocksdb::Slice ToSlice(std::string_view s) { return {s.data(), s.size()}; }
  rocksdb::DB* db_;
  bool write_ahead_log_;
  const std::vector<std::unique_ptr<BatchTxn>>* earlier_;
  WrittenRecords* written_;
  ReadModelStore* rebuilt_;
  std::vector<readmodel::SortedRuns::Entry> aside_;  // sorted by Prepare
  std::vector<PendingWrite> writes_;
  // Open addressing: a lookup (three per event read: this batch's, then the two of the batch being
  // written) probes a group of control bytes instead of walking a bucket's chain of nodes.
  absl::flat_hash_map<std::string, std::string> records_;
  absl::flat_hash_map<std::string, int64_t> counts_;
  rocksdb::WriteBatch batch_;
};

// The keys a batch works with: the open personal data of events and records exists only in
// memory, between opening and sealing.
struct Keys {
  privacy::KeyVault& vault;
  privacy::KeyRing& ring;
};

template <typename RecordT>
constexpr bool kHasPersonalData = requires(RecordT r) {
  r.personal_data();
};

// Before storing: the lookup digests from the open fields, then the personal fields sealed.
template <typename RecordT>
Status SealForStorage(RecordT& record, Keys& sealing) {
  if constexpr (std::is_same_v<RecordT, pb::PartyProfile> ||
                std::is_same_v<RecordT, pb::InteractionRecord>) {
    auto index_key = sealing.vault.IndexKey(record.tenant());
    if (!index_key) return index_key.error();
    if constexpr (std::is_same_v<RecordT, pb::PartyProfile>) {
      record.clear_lookup_digests();
      for (std::string& d : LookupDigests(record, *index_key))
        record.add_lookup_digests(std::move(d));
    } else {
      record.set_counterpart_digest(CounterpartDigest(record, *index_key));
    }
  }
  if constexpr (kHasPersonalData<RecordT>) return privacy::SealRecord(record, sealing.ring);
  return Status::Ok();
}

// The party whose data a record holds (for the audit of changes); empty for none.
template <typename RecordT>
std::string AuditedParty(const RecordT& record) {
  if constexpr (std::is_same_v<RecordT, pb::MeldingRecord>)
    return record.reporter_party_id();
  else if constexpr (requires { record.party_id(); })
    return record.party_id();
  else
    return "";
}

// Folds `event` into the record stored at `key` and moves its index entries along. The record's
// own version says which events it has applied: an event at or below it is a duplicate and is
// skipped (returns false).
template <typename RecordT, typename Fold>
Result<bool> ApplyToRecord(BatchTxn& txn, Keys& sealing, const std::string& key,
                           const pb::EventEnvelope& event, bool event_carried_personal_data,
                           Fold fold) {
  auto stored = txn.GetRecord(key);
  if (!stored) return std::unexpected(stored.error());
  RecordT before;
  if (stored->has_value() && !before.ParseFromString(**stored))
    return std::unexpected(
        Status(StatusCode::kDataLoss, fmt::format("read model record at {} does not parse", key)));
  if (event.aggregate_version() <= before.version()) return false;
  RecordT after;
  bool still_sealed = false;
  if constexpr (kHasPersonalData<RecordT>) {
    // Most events of a record bring nothing personal (an attempt, a status): folded into the
    // record as stored, its sealed parts stay as they are, unless the fold moved the record under
    // another key (a contact linked to its party) or dropped them (an erasure).
    if (!event_carried_personal_data && privacy::HasSealedData(before)) {
      after = fold(before, event);
      still_sealed = privacy::HasSealedData(after) && privacy::SealedUnder(after, privacy::KeyIdOf(after)) &&
                     !privacy::HasOpenPersonalFields(after);
    }
    if (!still_sealed) {
      if (auto opened = privacy::OpenRecord(before, sealing.ring); !opened)
        return std::unexpected(opened.error());
    }
  }
  if (!still_sealed) {
    after = fold(before, event);
    if constexpr (std::is_same_v<RecordT, pb::InteractionRecord>)
      if (event.has_personal_data()) {  // a registration left sealed (RegistrationStaysSealed)
        *after.mutable_sealed_registration() = event.personal_data();
        // Under another key than the contact's (not as the command service seals): opened, to be
        // sealed again with the rest under the right one.
        if (!privacy::SealedUnder(after, privacy::KeyIdOf(after)))
          if (auto opened = privacy::OpenRegistration(after, sealing.ring); !opened)
            return std::unexpected(opened.error());
      }
    if (Status s = SealForStorage(after, sealing); !s.ok()) return std::unexpected(s);
  }
  const std::vector<std::string> old_keys = IndexKeys(before);
  const std::vector<std::string> new_keys = IndexKeys(after);
  for (const std::string& k : old_keys)
    if (std::find(new_keys.begin(), new_keys.end(), k) == new_keys.end()) {
      if (auto counter = keys::IndexCounterOf(k)) txn.Count(std::move(*counter), -1);
      txn.DeleteAside(k);
    }
  for (const std::string& k : new_keys)
    if (std::find(old_keys.begin(), old_keys.end(), k) == old_keys.end()) {
      if (auto counter = keys::IndexCounterOf(k)) txn.Count(std::move(*counter), +1);
      txn.PutAside(k, "");
    }
  txn.PutRecord(key, after.SerializeAsString());
  // Who changed whose data, when: kept under the party, for the privacy officer's audit trail.
  // The tenant and the party are in the key, and the query service fills them in: in the value
  // they were a fifth of the bytes of the store's most numerous entries (one per event).
  if (const std::string party = AuditedParty(after); !party.empty()) {
    pb::AuditEntry entry;
    *entry.mutable_at() = event.recorded_at();
    entry.set_kind(pb::AUDIT_KIND_CHANGE);
    *entry.mutable_actor() = event.actor();
    entry.set_action(event.event_type());
    entry.set_subject_id(event.aggregate_id());
    entry.set_channel(event.channel());
    txn.PutAside(
        keys::Audit(event.tenant(), party,
                    google::protobuf::util::TimeUtil::TimestampToMilliseconds(event.recorded_at()),
                    event.event_id()),
        entry.SerializeAsString());
  }
  return true;
}

// Folds one event into its read model. Returns false when it was skipped as already applied.
Result<bool> ApplyEvent(BatchTxn& txn, Keys& sealing, const pb::EventEnvelope& event,
                        bool carried_personal_data) {
  return WithFoldFor(
      event, [&]<typename RecordT>(const std::string& key,
                                   RecordT (*fold)(RecordT, const pb::EventEnvelope&)) {
        return ApplyToRecord<RecordT>(txn, sealing, key, event, carried_personal_data, fold);
      });
}

// A contact's registration is stored with its event's sealed part as it is (the record's
// sealed_registration): no fold and no index reads its text or counterpart, and the event says
// what the counterpart's digest is (`counterpart_digested`). Opening it and sealing it again
// took about a quarter of the projection's time; it is only checked (CheckEvent). Contacts of
// older logs are opened, for the digest.
bool RegistrationStaysSealed(const pb::EventEnvelope& event) {
  return event.has_interaction_registered() && event.interaction_registered().counterpart_digested() &&
         event.has_personal_data();
}

std::string DeadLetterKey(int32_t partition, int64_t offset) {
  return "~dead" + keys::EncodeInt64(partition) + keys::EncodeInt64(offset);
}

}  // namespace

Result<std::unique_ptr<Projector>> Projector::Open(eventlog::EventLog& log, ReadModelStore& store,
                                                   privacy::KeyVault& vault,
                                                   ProjectorOptions options) {
  if (NeedsListOrderUpgrade(store))  // before anything is folded into it
    if (Status s = UpgradeListOrder(store); !s.ok()) return std::unexpected(s);
  auto progress = store.View().ReadProgress();
  if (!progress) return std::unexpected(progress.error());
  std::vector<int64_t> next(static_cast<size_t>(log.partition_count()), 0);
  for (const auto& [partition, offset] : *progress) {
    if (partition >= log.partition_count())
      return std::unexpected(
          FailedPrecondition("read models at {} were built from a log with partition {}, but {} "
                             "has {} partitions; rebuild them",
                             store.path(), partition, log.description(), log.partition_count()));
    next[static_cast<size_t>(partition)] = offset;
  }
  auto ends = log.EndOffsets();
  if (!ends) return std::unexpected(ends.error());
  for (size_t p = 0; p < next.size(); ++p)
    if (next[p] > (*ends)[p])
      return std::unexpected(
          FailedPrecondition("read models at {} have applied partition {} up to offset {}, but {} "
                             "ends at {}: they were built from "
                             "another log (a reset broker?); rebuild them",
                             store.path(), p, next[p], log.description(), (*ends)[p]));
  int64_t total = 0;
  for (int64_t n : next) total += n;
  if (options.written_records_filter_bytes > 0 && !progress->empty())
    return std::unexpected(FailedPrecondition(
        "read models at {} already hold {} events: a filter of the records written (for a rebuild) "
        "needs a store that starts empty",
        store.path(), total));
  auto reader = log.OpenReader(next);
  if (!reader) return std::unexpected(reader.error());
  log::Info("projector", "resuming {} from {} events already applied ({} partitions)", store.path(),
            total, next.size());
  return std::unique_ptr<Projector>(
      new Projector(log, store, vault, options, std::move(next), std::move(*reader)));
}

namespace {

// What one worker made of its share of a batch.
struct ShareResult {
  Status status;
  int64_t applied = 0;
  int64_t skipped = 0;
  int64_t parked = 0;
};

// Folds `share` (the batch's records of some partitions, in log order) into `txn`, with those
// partitions' new positions. `next` holds every partition's next offset; only the share's
// partitions are read and moved on here. `before` is where they stood before this batch.
ShareResult FoldShare(BatchTxn& txn, Keys keys, const std::vector<const eventlog::StoredRecord*>& share,
                      std::vector<int64_t>& next, const std::vector<int64_t>& before) {
  ShareResult out;
  txn.Reserve(share.size());
  for (const eventlog::StoredRecord* record : share) {
    const auto p = static_cast<size_t>(record->partition);
    if (record->offset < next[p]) continue;  // re-delivered below our position
    next[p] = record->offset + 1;
    auto event = domain::DecodeEvent(record->value);
    const bool carried_personal_data = event && event->has_personal_data();
    if (event) {
      // A registration left sealed is checked all the same (a decryption, without the parsing and
      // the sealing again): what the read models keep of it opens later.
      auto opened = RegistrationStaysSealed(*event) ? privacy::CheckEvent(*event, keys.ring)
                                                    : privacy::OpenEvent(*event, keys.ring);
      // Bytes that do not authenticate are parked like any undecodable event; a vault that
      // cannot be read is a passing trouble: the batch is retried.
      if (!opened && opened.error().code() != StatusCode::kDataLoss) return {opened.error()};
      if (!opened) event = std::unexpected(opened.error());
    }
    if (!event) {
      log::Error("projector", "event at {}/{} (key {}) parked as a dead letter: {}",
                 record->partition, record->offset, record->key, event.error().ToString());
      txn.Put(DeadLetterKey(record->partition, record->offset), record->value);
      ++out.parked;
      continue;
    }
    auto result = ApplyEvent(txn, keys, *event, carried_personal_data);
    if (!result) return {result.error()};
    if (*result)
      ++out.applied;
    else
      ++out.skipped;
  }
  std::vector<bool> ours(next.size(), false);
  for (const eventlog::StoredRecord* record : share)
    ours[static_cast<size_t>(record->partition)] = true;
  for (size_t p = 0; p < next.size(); ++p)
    if (ours[p] && next[p] != before[p])
      txn.Put(keys::PartitionProgress(static_cast<int32_t>(p)), keys::EncodeInt64(next[p]));
  return out;
}

}  // namespace

// Writes a folded batch on a thread of its own while the projector folds the next one. The write
// (the memtable's inserts, most of it) took as long as the folding before it, on one thread while
// the other core had little to do: the projection benchmark went from 106,000 to 180,000 events
// a second. One write at a time, in the order given.
class Projector::Committer {
 public:
  ~Committer() {
    {
      std::lock_guard lock(mutex_);
      quit_ = true;
    }
    changed_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  // Requires the previous write to have been waited for.
  void Start(std::function<Status()> write) {
    {
      std::lock_guard lock(mutex_);
      KS_CHECK(!job_ && !done_);
      job_ = std::move(write);
    }
    if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
    changed_.notify_all();
  }
  // Waits for the write started last and returns how it went.
  Status Wait() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return done_; });
    done_ = false;
    return std::move(result_);
  }

 private:
  void Loop() {
    std::unique_lock lock(mutex_);
    while (true) {
      changed_.wait(lock, [&] { return quit_ || job_; });
      if (!job_) return;
      auto job = std::move(job_);
      job_ = nullptr;
      lock.unlock();
      Status status = job();
      lock.lock();
      result_ = std::move(status);
      done_ = true;
      changed_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::function<Status()> job_;
  Status result_;
  bool done_ = false;
  bool quit_ = false;
  std::thread thread_;
};

// A folded batch while it is being written: its transactions (their records are read by the next
// batch's folding), and what becomes true once it is committed.
struct Projector::InFlight {
  std::vector<std::unique_ptr<BatchTxn>> txns;
  std::vector<int64_t> next;
  int64_t applied = 0;
  int64_t skipped = 0;
  int64_t parked = 0;
};

Projector::Projector(eventlog::EventLog& log, readmodel::ReadModelStore& store, privacy::KeyVault& vault,
                     ProjectorOptions options, std::vector<int64_t> next_offsets,
                     std::unique_ptr<eventlog::LogReader> reader)
    : log_(log),
      store_(store),
      vault_(vault),
      options_(std::move(options)),
      next_offsets_(next_offsets),
      folded_next_(std::move(next_offsets)),
      reader_(std::move(reader)),
      committer_(std::make_unique<Committer>()) {
  for (size_t w = 0; w < std::max<size_t>(1, options_.workers); ++w) key_rings_.emplace_back(&vault_, &shared_keys_);
  if (options_.written_records_filter_bytes > 0)
    written_records_ = std::make_unique<WrittenRecords>(options_.written_records_filter_bytes);
}

Projector::~Projector() { (void)FinishCommit(); }

Result<size_t> Projector::FoldNext() {
  auto records = reader_->Poll(options_.max_batch_events, options_.poll_wait);
  if (!records) return std::unexpected(records.error());
  if (records->empty()) {
    // Nothing new: the batch in flight, if any, is the last for now.
    if (Status s = FinishCommit(); !s.ok()) return std::unexpected(s);
    return size_t{0};
  }

  // Each worker takes the partitions p with p % workers == its number.
  const size_t workers = key_rings_.size();
  std::vector<std::vector<const eventlog::StoredRecord*>> shares(workers);
  for (const eventlog::StoredRecord& record : *records)
    shares[static_cast<size_t>(record.partition) % workers].push_back(&record);
  // The projector's key caches live across batches: a key read before its party's erasure can
  // only ever seal data under that (destroyed) key, which stays unreadable; the read models hold
  // nothing in the clear either way. (The search indexer, which stores words, reads keys afresh.)
  std::vector<int64_t> next = folded_next_;
  std::vector<ShareResult> results(workers);
  auto batch = std::make_unique<InFlight>();
  const auto* earlier = in_flight_ ? &in_flight_->txns : nullptr;
  for (size_t w = 0; w < workers; ++w)
    batch->txns.push_back(
        std::make_unique<BatchTxn>(store_.db(), options_.write_ahead_log, earlier, written_records_.get(),
                                   store_.rebuilding() ? &store_ : nullptr));
  auto run = [&](size_t w) {
    results[w] = FoldShare(*batch->txns[w], Keys{vault_, key_rings_[w]}, shares[w], next, folded_next_);
    if (results[w].status.ok()) batch->txns[w]->Prepare(options_.before_commit);
  };
  std::vector<std::thread> helpers;
  size_t first = workers;
  for (size_t w = 0; w < workers; ++w) {
    if (shares[w].empty()) continue;
    if (first == workers)
      first = w;  // this thread's own
    else
      helpers.emplace_back(run, w);
  }
  run(first);
  for (std::thread& t : helpers) t.join();
  for (const auto& txn : batch->txns) txn->ForgetEarlier();
  for (const ShareResult& r : results)
    if (!r.status.ok()) return std::unexpected(r.status);
  for (const ShareResult& r : results) {
    batch->applied += r.applied;
    batch->skipped += r.skipped;
    batch->parked += r.parked;
  }
  batch->next = next;

  // Batches are committed in log order, one after the other: a crash leaves the store at the end
  // of one of them, its progress keys saying where.
  if (Status s = FinishCommit(); !s.ok()) return std::unexpected(s);
  folded_next_ = std::move(next);
  in_flight_ = std::move(batch);
  committer_->Start([txns = &in_flight_->txns] {
    for (const auto& txn : *txns)
      if (!txn->empty())  // a worker whose partitions had nothing in this batch
        if (Status s = txn->Write(); !s.ok()) return s;
    return Status::Ok();
  });
  return records->size();
}

Status Projector::FinishCommit() {
  if (!in_flight_) return Status::Ok();
  const Status status = committer_->Wait();
  std::unique_ptr<InFlight> batch = std::move(in_flight_);
  if (!status.ok()) return status;
  next_offsets_ = std::move(batch->next);
  events_applied_ += batch->applied;
  events_skipped_ += batch->skipped;
  events_parked_ += batch->parked;

  const auto now = std::chrono::steady_clock::now();
  if (now - last_report_ > std::chrono::seconds(10)) {
    const double secs = std::chrono::duration<double>(now - last_report_).count();
    log::Info("projector", "{} events applied ({:.0f}/s), {} duplicates skipped, {} parked",
              events_applied_,
              static_cast<double>(events_applied_ - applied_at_last_report_) / secs,
              events_skipped_, events_parked_);
    last_report_ = now;
    applied_at_last_report_ = events_applied_;
  }
  return Status::Ok();
}

Result<size_t> Projector::Step() {
  auto n = FoldNext();
  if (Status s = FinishCommit(); !s.ok()) return std::unexpected(s);
  return n;
}

Status Projector::Run() {
  while (!stopping_.load()) {
    if (auto n = FoldNext(); !n) {
      (void)FinishCommit();
      return n.error();
    }
  }
  return FinishCommit();
}

Status Projector::CatchUpTo(const std::vector<int64_t>& end_offsets) {
  auto reached = [&] {
    for (size_t p = 0; p < folded_next_.size(); ++p)
      if (folded_next_[p] < end_offsets[p]) return false;
    return true;
  };
  while (!reached() && !stopping_.load()) {
    if (auto n = FoldNext(); !n) {
      (void)FinishCommit();
      return n.error();
    }
  }
  return FinishCommit();
}

}  // namespace ks::projector
