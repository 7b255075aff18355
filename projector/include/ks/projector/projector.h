// Projector: consumes the event log in batches and folds every event into the read models.
// Each batch is one RocksDB WriteBatch holding the new records (each record carries the version of
// its aggregate it reflects), their index entries and the log positions consumed, so a crash at
// any moment leaves the store at the end of some batch: on restart it resumes exactly there,
// never losing an event and never counting one twice. An event whose aggregate version is already
// applied is skipped (duplicate delivery). An event that cannot be decoded, or whose type this
// version does not know, is parked in a dead-letter record with its position, and projection goes
// on.
//
// Thread-safety: Run/Step from one thread; stop() from any.
#pragma once

#include <rocksdb/write_batch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "ks/eventlog/event_log.h"
#include "ks/privacy/key_vault.h"
#include "ks/readmodel/store.h"

namespace ks::projector {

struct ProjectorOptions {
  // Most events folded in one batch (one WriteBatch, one commit). Default: 2000.
  size_t max_batch_events = 2000;
  // How long a poll waits for the first event of a batch. Default: 20 ms.
  std::chrono::milliseconds poll_wait{20};
  // Threads that fold a batch side by side, partition p on worker p % workers (their WriteBatches
  // are then written one after the other, while the next batch is folded). Each
  // aggregate lives in one partition and each event changes only its own aggregate's record, so
  // the workers never touch the same record; progress is stored per partition in the same
  // WriteBatch as its records, so a crash between two workers' commits loses nothing and doubles
  // nothing. But with more than one, partitions become visible independently: a query that waits
  // for one command's position may not yet see an earlier command on another partition (callers
  // must then ask for every position they wrote). One worker commits a whole batch at once, and
  // two gained little here (RocksDB's write path is the limit: BENCHMARKS.md). Default: 1.
  size_t workers = 1;
  // Whether commits go through RocksDB's write-ahead log. A rebuild into a fresh directory needs
  // none: nobody reads that store before the rebuild has flushed it whole, and a rebuild that
  // crashes is started again from nothing. Default: true.
  bool write_ahead_log = true;
  // For a store that starts empty (a rebuild): the size in bytes of a Bloom filter over the record
  // keys this projector writes, so that a read of a record it never wrote (most of a rebuild's
  // reads: a contact's first event) is skipped instead of searching every level of the store. A
  // fixed size: the more records, the more often it answers "maybe" and the store is read, never
  // wrongly. Open refuses it (FAILED_PRECONDITION) for a store that holds anything applied.
  // Default: 0, none.
  size_t written_records_filter_bytes = 0;
  // Sees each WriteBatch once it is built, before it is committed (from the workers' threads,
  // possibly two at once, while the batch before it may still be being written; a batch whose
  // commit never comes, after an error, is seen too). For measuring: the benchmarks replay exactly
  // these writes into bare RocksDB as the projector's raw limit. Default: none.
  std::function<void(const rocksdb::WriteBatch&)> before_commit;
};

class WrittenRecords;

class Projector {
 public:
  // Resumes from the positions stored in `store` (offset 0 for a new store). `log`, `store` and
  // `vault` (the keys that open events' personal data and seal it again in the records) must
  // outlive the projector. FAILED_PRECONDITION when the store was built from another log (more
  // partitions, or positions past the log's end).
  static Result<std::unique_ptr<Projector>> Open(eventlog::EventLog& log,
                                                 readmodel::ReadModelStore& store,
                                                 privacy::KeyVault& vault,
                                                 ProjectorOptions options = {});

  ~Projector();

  // Polls one batch, folds it and commits it. Returns the number of events consumed (0 when none
  // arrived within poll_wait). UNAVAILABLE on a log or storage error; the partitions of the worker
  // that failed are then not committed, and this Projector must not be stepped again: a new one
  // (Open) resumes from what each partition's progress says (with several workers, shares written
  // before the failing one may be committed without next_offsets() counting them).
  Result<size_t> Step();

  // Steps until stop() is called or an error occurs; when it returns, no batch is being written
  // any more (all committed, unless one failed). Run and CatchUpTo fold each batch while the one
  // before it is being written (on a thread of their own), still committing batches in log
  // order, one at a time.
  Status Run();
  // Steps until every partition's next offset reaches `end_offsets` (or stop()).
  Status CatchUpTo(const std::vector<int64_t>& end_offsets);
  void stop() { stopping_.store(true); }

  // Per partition, the next offset to apply, as committed.
  const std::vector<int64_t>& next_offsets() const { return next_offsets_; }
  int64_t events_applied() const { return events_applied_; }
  int64_t events_skipped() const { return events_skipped_; }
  int64_t events_parked() const { return events_parked_; }

 private:
  class Committer;
  struct InFlight;
  Projector(eventlog::EventLog& log, readmodel::ReadModelStore& store, privacy::KeyVault& vault,
            ProjectorOptions options, std::vector<int64_t> next_offsets,
            std::unique_ptr<eventlog::LogReader> reader);
  // Polls and folds one batch, waits for the batch before it to be committed, and starts this
  // one's commit. Returns the number of events consumed.
  Result<size_t> FoldNext();
  // Waits for the batch being committed, if any, and counts it as done when it succeeded.
  Status FinishCommit();

  eventlog::EventLog& log_;
  readmodel::ReadModelStore& store_;
  privacy::KeyVault& vault_;
  // One key ring per worker, with the keys they read shared (a party's events reach both workers).
  static constexpr size_t kSharedKeys = 100'000;  // about 12 MB
  privacy::SharedKeys shared_keys_{kSharedKeys};
  std::vector<privacy::KeyRing> key_rings_;
  std::unique_ptr<WrittenRecords> written_records_;  // none unless options_ ask for it
  const ProjectorOptions options_;
  std::vector<int64_t> next_offsets_;  // committed
  std::vector<int64_t> folded_next_;   // folded (committed, or being committed)
  std::unique_ptr<eventlog::LogReader> reader_;
  std::unique_ptr<InFlight> in_flight_;  // declared before the committer: outlives its thread
  std::unique_ptr<Committer> committer_;
  std::atomic<bool> stopping_{false};
  int64_t events_applied_ = 0;
  int64_t events_skipped_ = 0;
  int64_t events_parked_ = 0;
  std::chrono::steady_clock::time_point last_report_ = std::chrono::steady_clock::now();
  int64_t applied_at_last_report_ = 0;
};

}  // namespace ks::projector
