// EventLog: the append-only, partitioned log that every event goes through, with two
// implementations of identical semantics: Kafka (through librdkafka) and an embedded durable log
// on RocksDB. Code above this interface never knows which one it has.
//
// Semantics (both implementations; the conformance suite in tests/libs/eventlog proves them):
//  - a record goes to partition PartitionForKey(key) (Kafka's murmur2 partitioner);
//  - offsets in a partition start at 0 and grow by one per record, without gaps;
//  - records of one partition are read in offset order; the order of one AppendAsync call's
//    records that share a partition is kept;
//  - an append is reported done only when its records are durable (Kafka: acks=all with an
//    idempotent producer; embedded: written to RocksDB's WAL, fsynced unless disabled);
//  - readers start from positions that their owner keeps, and may re-read (at-least-once).
//
// Thread-safety: an EventLog may be used from many threads at once. A LogReader is used by one
// thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ks/core/murmur2.h"
#include "ks/core/status.h"

namespace ks::eventlog {

// Where a record is: its partition and its offset within the partition.
struct Position {
  int32_t partition = 0;
  int64_t offset = 0;
  friend bool operator==(const Position&, const Position&) = default;
};

// A record to append. `key` decides the partition (the aggregate id); `timestamp_ms` is the
// record's time (Unix milliseconds), used when a reader starts "from a date".
struct Record {
  std::string key;
  std::string value;
  int64_t timestamp_ms = 0;
};

// A record read back, with where it is stored.
struct StoredRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::string key;
  std::string value;
};

// Called exactly once per AppendAsync, on a thread of the log: with one Position per record (in
// the order given) when all are durable, or with UNAVAILABLE when any could not be made durable
// (the records that did land are then readable but not reported; retry with an idempotency key).
using AppendCallback = std::function<void(Result<std::vector<Position>>)>;

class LogReader {
 public:
  virtual ~LogReader() = default;
  // Returns up to `max_records` records that follow the reader's positions, waiting up to `wait`
  // for the first one; an empty vector when nothing arrived. Advances the reader past them.
  // UNAVAILABLE when the log cannot be read (retrying later may help).
  virtual Result<std::vector<StoredRecord>> Poll(size_t max_records, std::chrono::milliseconds wait) = 0;
};

class EventLog {
 public:
  virtual ~EventLog() = default;

  virtual int32_t partition_count() const = 0;
  // "embedded:/path" or "kafka:host:port/topic", for logs and diagnostics.
  virtual std::string description() const = 0;

  int32_t PartitionFor(std::string_view key) const { return PartitionForKey(key, partition_count()); }

  // Appends the records without blocking and calls `done` when they are durable (see
  // AppendCallback). Appends from many threads are batched together.
  virtual void AppendAsync(std::vector<Record> records, AppendCallback done) = 0;

  // Blocking form of AppendAsync.
  Result<std::vector<Position>> Append(std::vector<Record> records);

  // For every partition, the offset the next appended record will get (the "high watermark").
  virtual Result<std::vector<int64_t>> EndOffsets() = 0;

  // For every partition, the offset of the first record whose timestamp is at or after
  // `timestamp_ms`, or the end offset when there is none: where a reader starts "from a date".
  // Timestamps are append times, which grow with the offset (Kafka's log-append semantics), so
  // the answer is exact up to the clock skew between writers.
  virtual Result<std::vector<int64_t>> OffsetsForTime(int64_t timestamp_ms) = 0;

  // A reader that starts at `start_offsets[p]` for every partition p (the vector has
  // partition_count() entries). INVALID_ARGUMENT when the vector has the wrong size.
  virtual Result<std::unique_ptr<LogReader>> OpenReader(const std::vector<int64_t>& start_offsets) = 0;
};

// Reads every record in [start_offsets, end_offsets) and hands each to `visit` in partition
// order per partition; used to rebuild state on start. Stops at the first error from `visit`.
// UNAVAILABLE when no record arrives for `patience` while some are still missing (the log cannot
// be reached, or lost them to retention).
Status ReadUntil(EventLog& log, const std::vector<int64_t>& start_offsets,
                 const std::vector<int64_t>& end_offsets,
                 const std::function<Status(const StoredRecord&)>& visit,
                 std::chrono::milliseconds patience = std::chrono::seconds(30));

}  // namespace ks::eventlog
