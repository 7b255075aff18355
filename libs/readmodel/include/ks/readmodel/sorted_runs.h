// SortedRuns: entries that a rebuild writes once and never reads back nor deletes (the audit
// trail), kept out of RocksDB's memtable and compactions. They are buffered, sorted and written
// to run files; at the end the runs are merged into table files of non-overlapping ranges, which
// the store ingests in one step, each at the lowest level it fits (usually the bottom).
//
// Why: a 10M-event rebuild wrote about a million audit entries per million events (a quarter of
// its bytes), and every byte written through the memtable was rewritten by four or five levels
// of compaction while the folding waited for CPU. Here each is written twice (its run, the merged
// file) and compacted never.
//
// Not thread-safe: one thread adds (the projector's committer).
#pragma once

#include <string>
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
  // only ever scanned by prefix); the runs are neither compressed nor checksummed (each is read
  // once, by the rebuild that wrote it). A run is written once the buffered entries reach
  // `buffer_bytes`.
  SortedRuns(std::string dir, const rocksdb::Options& table_options, size_t buffer_bytes);

  // Adds an entry. A key added twice keeps one value (write-once entries repeat only as the same
  // entry, written again). UNAVAILABLE when a run cannot be written.
  Status Add(std::string key, std::string value);

  // Writes the buffer's last run and merges every run into table files in key order, cut at
  // about `file_bytes`. Returns their paths (in `dir`); the runs are deleted. None when nothing
  // was added.
  Result<std::vector<std::string>> Merge(size_t file_bytes);

  // Entries added; runs written (each a file until Merge).
  uint64_t entries() const { return entries_; }
  size_t runs_written() const { return runs_written_; }
  // Time spent sorting and writing the runs, and merging them.
  double spill_seconds() const { return spill_seconds_; }
  double merge_seconds() const { return merge_seconds_; }

 private:
  Status Spill();

  const std::string dir_;
  rocksdb::Options run_options_;    // for the runs
  rocksdb::Options table_options_;  // for the merged files
  const size_t buffer_bytes_;
  std::vector<std::pair<std::string, std::string>> buffer_;
  size_t buffered_bytes_ = 0;
  std::vector<std::string> runs_;
  uint64_t entries_ = 0;
  size_t runs_written_ = 0;
  double spill_seconds_ = 0;
  double merge_seconds_ = 0;
};

}  // namespace ks::readmodel
