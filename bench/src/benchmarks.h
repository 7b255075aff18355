// The benchmarks. Each returns one Sample (throughput and latency); main() repeats them, takes
// medians and holds each against its reference from the same run.
#pragma once

#include <string>

#include "src/measure.h"

namespace ks::bench {

struct BenchOptions {
  std::string work_dir;     // scratch space, removed afterwards
  size_t parties = 2000;
  size_t commands = 50000;  // per ingest run
  int concurrency = 64;     // calls in flight
  size_t queries = 20000;   // per query run
  uint32_t seed = 1;
  size_t replay_events = 1'000'000;  // history for the KPI replay
};

// gRPC alone: an echo of `payload_bytes` with `concurrency` calls in flight, `calls` in all.
Sample EchoBenchmark(int concurrency, size_t calls, size_t payload_bytes);

// Commands through CommandService over gRPC into the embedded log (fsynced group commits), each
// answered after its append is durable. Leaves the log in `options.work_dir/ingest-<seed>`; sets
// *request_bytes to the average command size.
Sample IngestBenchmark(const BenchOptions& options, size_t* request_bytes);

// Folding that log into fresh read models (all of them), events per second.
Sample ProjectionBenchmark(const BenchOptions& options);

// RocksDB alone: read-modify-write of `events` values of `value_bytes` under keys drawn like the
// projector's, committed in batches of 4,000 writes.
Sample RocksReadModifyWrite(const std::string& dir, size_t events, size_t value_bytes);
// The same writes without reading first: RocksDB's batch put of the same keys and sizes.
Sample RocksBatchPut(const std::string& dir, size_t events, size_t value_bytes);

// The ingest log's events on Kafka (librdkafka's mock cluster on loopback, 3 brokers, 12
// partitions): `produce` is appending them all (acks=all, idempotent, batched by librdkafka),
// `consume` reading them back without decoding, `project` folding them from the topic into fresh
// read models. One run gives all three, so they describe the same messages.
struct KafkaSamples {
  Sample produce, consume, project;
};
KafkaSamples KafkaBenchmark(const BenchOptions& options);

// Writes a history of at least `options.replay_events` events into `options.work_dir/replay-log`:
// the ingest log's events copied over again with new aggregate ids, spread over three months and
// five municipalities (events of real shape and size, written straight into the log). Returns
// the number of events written.
size_t BuildReplayHistory(const BenchOptions& options);
// The analysts' KPI replay (all municipalities, the whole history, 2 threads) of that log.
Sample ReplayBenchmark(const BenchOptions& options);
// Reading the same log without decoding anything: the raw limit of the replay.
Sample RawLogReadBenchmark(const BenchOptions& options);

// GetCustomerView of a party with 300 contacts (first page of 50), `concurrency` in flight; sets
// *answer_bytes to the answer's size.
Sample CustomerViewBenchmark(const BenchOptions& options, size_t* answer_bytes);

// A KCC's two other screens, with `concurrency` calls in flight: a department's callback queue
// (500 open requests, first 100 in handling order) and the open meldingen (1,000, first page of
// 50 by due time). Each sets its answer's size for the echo reference.
Sample CallbackQueueBenchmark(const BenchOptions& options, size_t* answer_bytes);
Sample OpenMeldingenBenchmark(const BenchOptions& options, size_t* answer_bytes);

// Freshness: commands sent at `rate` per second; after each answer, a customer-view query that
// asks for the command's positions (read-your-writes). The sample's p50/p99 is the time from the
// command's answer to that query's answer: how soon a write is visible, projector included.
Sample FreshnessBenchmark(const BenchOptions& options, double rate, size_t commands);

}  // namespace ks::bench
