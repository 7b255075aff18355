// SortedRuns: entries that a rebuild writes and never reads back (the audit trail, the indexes),
// kept out of RocksDB's memtable and compactions. They are buffered, sorted and written to run
// files; at the end the runs are merged into table files of non-overlapping ranges, which the
// store ingests in one step, each at the lowest level it fits (usually the bottom). An entry may
// be replaced or erased later (an index entry moves when its record changes): of a key's adds and
// erasures the last one counts, and an erased key reaches no file.
//
// Why: a 10M-event rebuild wrote about a million audit entries per million events (a quarter of
// its bytes) and two index entries per event, and every byte written through the memtable was
// rewritten by four or five levels of compaction while the folding waited for CPU. Here each is
// written twice (its run, the merged file) and compacted never.
//
// Not thread-safe: one thread adds (the projector's committer). Runs are sorted and written on a
// thread of their own, so memory holds up to two runs' worth of entries.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <rocksdb/options.h>

#include "ks/core/status.h"

namespace ks::readmodel {

class SortedRuns {
 public:
  // Run files go into `dir` (created when missing; on the store's file system, so that ingestion
  // moves the merged files rather than copying them). `table_options`: the store's options; the
  // merged files take its table format and compression, without bloom filters (the entries are
  // only ever scanned by prefix); the runs are plain files of entries in key order, neither
  // compressed nor checksummed (each is read once, by the rebuild that wrote it). A run is
  // written once the buffered entries reach `buffer_bytes`.
  SortedRuns(std::string dir, const rocksdb::Options& table_options, size_t buffer_bytes);
  ~SortedRuns();
  SortedRuns(const SortedRuns&) = delete;
  SortedRuns& operator=(const SortedRuns&) = delete;

  // An entry added (with its value), or erased: it replaces what was added or erased before under
  // the same key.
  struct Entry {
    std::string key;
    std::string value;
    bool erased = false;
  };
  // Adds an entry. UNAVAILABLE when a run could not be written (found when the next run starts,
  // or by Merge).
  Status Add(std::string key, std::string value);
  // Erases the entry under `key`, if one was added before (until it is added again).
  Status Erase(std::string key);
  // Adds entries already in key order (equal keys in the order they were made), as
  // std::stable_sort leaves them. Sorted where they were made (a projector worker's batch, a few
  // thousand entries still in its cache), a run only merges them: sorting whole runs of about
  // 450,000 entries here took about a seventh of a rebuild's CPU.
  Status AddSorted(std::vector<Entry> entries);

  // Keys that must not share a merged file (`before` < `after`, next to each other): the store
  // keeps each file within one key family, so that ingestion places none of them above another
  // family's files.
  using FileBoundary = std::function<bool(std::string_view before, std::string_view after)>;

  // Writes the buffer's last run and merges every run into table files in key order, cut at
  // about `file_bytes` and wherever `boundary` says. Returns their paths (in `dir`); the runs are
  // deleted. None when nothing was added (or everything was erased).
  Result<std::vector<std::string>> Merge(size_t file_bytes, const FileBoundary& boundary = {});

  // Entries added or erased; runs written (each a file until Merge).
  uint64_t entries() const { return entries_; }
  size_t runs_written() const { return runs_written_; }
  // Time spent sorting and writing the runs (on a thread of their own), and merging them.
  double spill_seconds() const { return spill_seconds_; }
  double merge_seconds() const { return merge_seconds_; }

 private:
  // Appends `count` entries, already in key order, at the end of the buffer.
  Status Appended(size_t count, size_t bytes);
  // Hands the buffer to a thread of its own, which sorts it and writes it as the next run, and
  // starts an empty one: the adding thread (the projector's committer, which the folding waits
  // for) goes on meanwhile. Waits first for the run before it.
  Status StartSpill();
  // Waits for the run being written, if any, and returns how its writing went.
  Status FinishSpill();
  // Merges `entries`, sorted between each of `starts` (and the end), and writes them to `path`
  // (the last of equal keys counts).
  static Status WriteRun(std::vector<Entry>& entries, std::vector<size_t>& starts, const std::string& dir,
                         const std::string& path);

  const std::string dir_;
  rocksdb::Options table_options_;  // for the merged files
  const size_t buffer_bytes_;
  std::vector<Entry> buffer_;
  std::vector<size_t> buffer_starts_;  // where each sorted sequence in buffer_ starts
  size_t buffered_bytes_ = 0;
  std::vector<Entry> spilling_;  // the run being written by spiller_
  std::vector<size_t> spilling_starts_;
  std::thread spiller_;
  Status spilled_ = Status::Ok();  // how spiller_'s run went
  double spill_seconds_ = 0;       // written by spiller_
  std::vector<std::string> runs_;
  uint64_t entries_ = 0;
  size_t runs_written_ = 0;
  double merge_seconds_ = 0;
};

}  // namespace ks::readmodel
