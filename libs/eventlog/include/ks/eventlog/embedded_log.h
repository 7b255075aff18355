// The embedded event log: a durable, partitioned log in one RocksDB database, for a single
// machine and for the all-in-one mode. Same partitioner and semantics as Kafka (see EventLog).
//
// One writer thread takes every pending append, gives the records their offsets and writes them in
// one WriteBatch (group commit), so throughput comes from batching while each append is still
// acknowledged only once it is in the WAL (and fsynced, unless `sync` is off).
//
// Only one process may open a directory for writing at a time (RocksDB's lock); a second gets
// UNAVAILABLE. Readers that open it read-only may be many.
#pragma once

#include <memory>
#include <string>

#include "ks/eventlog/event_log.h"

namespace ks::eventlog {

struct EmbeddedLogOptions {
  // Directory of the RocksDB database; created when missing.
  std::string path;
  // Partitions of a new log; 0 means 12. An existing log keeps the count it was created with, and
  // a different non-zero value here is refused with FAILED_PRECONDITION (a log's partitioning
  // never changes). Default: 0.
  int32_t partitions = 0;
  // fsync the WAL before acknowledging an append. Off, a process crash still loses nothing, but
  // a power cut may lose the last acknowledged appends. Default: true.
  bool sync = true;
  // Most records written in one group commit. Default: 4096.
  size_t max_batch_records = 4096;
  // Open for reading only, as the log is at this moment, beside a process that has it open for
  // writing (the analysts' replay next to a running service). Appends are refused with
  // FAILED_PRECONDITION; a missing log is NOT_FOUND. Default: false.
  bool read_only = false;
};

Result<std::unique_ptr<EventLog>> OpenEmbeddedLog(const EmbeddedLogOptions& options);

}  // namespace ks::eventlog
