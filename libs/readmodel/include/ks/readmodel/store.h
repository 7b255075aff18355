// ReadModelStore: the RocksDB database that holds the read models and the log positions they
// reflect. The projector opens it as the primary (the one writer); a query service in another
// process opens it as a RocksDB secondary instance and catches up with the primary's writes.
//
// Reads go through a ReadView: a consistent picture of the store (a snapshot on the primary; on a
// secondary, the state between two catch-ups) whose positions say what it reflects.
//
// Thread-safety: all methods may be called from any thread; a ReadView is used by one thread.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>
#include <rocksdb/write_batch.h>

#include "ks/core/status.h"
#include "ks/readmodel/keys.h"
#include "ks/readmodel/sorted_runs.h"

namespace ks::readmodel {

// Per partition, the next offset to apply (every offset below it is reflected).
using Progress = std::vector<std::pair<int32_t, int64_t>>;

class ReadView;

// What an operator sizes. The block cache holds data blocks and, partitioned, the index and
// filter blocks of every table file: it bounds the store's memory whatever the history's length.
struct StoreTuning {
  size_t block_cache_mb = 64;
};

class ReadModelStore {
 public:
  // The writer's store, created when missing. UNAVAILABLE when RocksDB cannot open it (for
  // example another projector holds its lock). `file_system`, when given, is the RocksDB
  // FileSystem to store through (tests inject disk faults with it). Default: the local disk.
  static Result<std::unique_ptr<ReadModelStore>> OpenPrimary(
      const std::string& path, std::shared_ptr<rocksdb::FileSystem> file_system = nullptr,
      StoreTuning tuning = {});
  // A reader of a primary in another process. `secondary_path` is a private directory for the
  // secondary's own files. UNAVAILABLE while the primary has not created the store yet.
  static Result<std::unique_ptr<ReadModelStore>> OpenSecondary(const std::string& path,
                                                               const std::string& secondary_path,
                                                               StoreTuning tuning = {});
  ~ReadModelStore();

  // Secondary: applies what the primary has written since the last call. Primary: nothing to do.
  Status CatchUp();

  ReadView View() const;

  // Primary, on a store nothing was applied to yet (FAILED_PRECONDITION otherwise): starts a
  // rebuild, whose entries written aside (PutAside, DeleteAside) bypass the memtable. Until
  // Settle completes it the store is marked unfinished (kUnfinishedRebuild, a file in its
  // directory): those entries are not in it yet, so a rebuild cut short is refused by every later
  // OpenPrimary and OpenSecondary (delete the directory and rebuild again). `run_bytes`: the
  // entries held in memory before they are sorted into a run file.
  Status BeginRebuild(size_t run_bytes = kRebuildRunBytes);
  // 64 MB runs: about 450,000 entries each, 80-90 runs for 10M events.
  static constexpr size_t kRebuildRunBytes = size_t{64} << 20;
  bool rebuilding() const { return aside_ != nullptr; }
  // During a rebuild: an entry that nothing reads before Settle (the audit trail, the index
  // entries; the folding reads only records), put or deleted. Collected in sorted runs
  // (SortedRuns), where the last put or delete of a key counts, and ingested by Settle. A key
  // written aside is only ever written aside until then. From one thread at a time. UNAVAILABLE
  // when a run cannot be written.
  Status PutAside(std::string key, std::string value);
  Status DeleteAside(std::string key);
  // Puts and deletes already in key order, equal keys in the order made (see
  // SortedRuns::AddSorted).
  Status WriteAside(std::vector<SortedRuns::Entry> sorted);

  // Primary: writes the memtable out and compacts every file into the bottom level (two halves of
  // the key space side by side), for a store that has just been built in one go (a rebuild): its
  // readers then open no write-ahead log into a memtable, and each lookup checks one file instead
  // of every overlapping level-0 file. A rebuild's entries written aside are then merged and
  // ingested, and the store is marked finished.
  Status Settle();

  // The key layout (keys::kLayoutVersion) the store is in. A primary may be in an older one that
  // is upgraded in place (3: the projector re-keys a party's lists before it writes anything);
  // a secondary is always in the current one (an older one is refused).
  int layout() const { return layout_; }
  // Primary: writes `batch` (the upgrade's changes) with the new layout version, synced.
  Status CommitUpgrade(rocksdb::WriteBatch& batch, int layout);

  // For the writer. REQUIRES: a primary store.
  rocksdb::DB* db() const { return db_.get(); }
  bool is_primary() const { return primary_; }
  const std::string& path() const { return path_; }

  static Status FromRocks(const rocksdb::Status& s, std::string_view what);

  // The file in the store's directory that marks a rebuild not yet completed.
  static constexpr std::string_view kUnfinishedRebuild = "UNFINISHED-REBUILD";

 private:
  ReadModelStore(std::unique_ptr<rocksdb::DB> db, bool primary, std::string path, std::unique_ptr<rocksdb::Env> env)
      : env_(std::move(env)), db_(std::move(db)), primary_(primary), path_(std::move(path)) {}
  // Settle's first part: the memtable written out, every file compacted into the bottom level.
  Status CompactAll();
  friend class ReadView;
  std::unique_ptr<rocksdb::Env> env_;  // outlives db_ (declared first, destroyed last)
  std::unique_ptr<rocksdb::DB> db_;
  const bool primary_;
  const std::string path_;
  int layout_ = keys::kLayoutVersion;
  std::unique_ptr<SortedRuns> aside_;  // during a rebuild
  // A secondary's catch-up changes what reads see: it waits for open views to finish.
  mutable std::shared_mutex catch_up_mutex_;
  uint64_t catch_ups_ = 0;  // a secondary's state: written under catch_up_mutex_ held uniquely
  // The progress last read and the state it was read in (ReadView::ReadProgress): every answer
  // reports it, and reading it is a scan of one key per partition.
  mutable std::mutex progress_mutex_;
  mutable std::optional<std::pair<uint64_t, Progress>> last_progress_;
};

class ReadView {
 public:
  ~ReadView();
  ReadView(ReadView&& other) noexcept
      : store_(other.store_), lock_(std::move(other.lock_)), snapshot_(std::exchange(other.snapshot_, nullptr)) {}
  ReadView& operator=(ReadView&&) = delete;

  // The value at `key`, std::nullopt when there is none. UNAVAILABLE on a storage error.
  Result<std::optional<std::string>> Get(const std::string& key) const;
  // The values at `keys`, in their order, in one batched lookup (RocksDB's MultiGet: cheaper per
  // key than Get when a query reads a page of records). UNAVAILABLE on a storage error.
  Result<std::vector<std::optional<std::string>>> MultiGet(const std::vector<std::string>& keys) const;
  // Calls `visit(key, value)` for each key starting with `prefix`, in key order, from `start`
  // (>= prefix; empty = from the prefix) until `visit` returns false.
  Status Scan(const std::string& prefix, const std::string& start,
              const std::function<bool(std::string_view key, std::string_view value)>& visit) const;
  // How many entries a counted index holds under `index_prefix` (keys::IndexCounter), without
  // reading them. UNAVAILABLE on a storage error.
  Result<int64_t> Count(const std::string& index_prefix) const;
  // What this view reflects. Views of one state (one snapshot of a primary, a secondary between
  // two catch-ups) share one reading of it.
  Result<Progress> ReadProgress() const;

 private:
  friend class ReadModelStore;
  ReadView(const ReadModelStore* store);
  // Names the state the view sees: a snapshot's sequence number, or a secondary's catch-up count.
  uint64_t State() const;
  const ReadModelStore* store_;
  std::shared_lock<std::shared_mutex> lock_;
  const rocksdb::Snapshot* snapshot_ = nullptr;
};

}  // namespace ks::readmodel
