// The benchmarks. Each returns one Sample (throughput and latency); main() repeats them, takes
// medians and holds each against its reference from the same run.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ks/eventlog/event_log.h"
#include "src/measure.h"

namespace ks::bench {

struct BenchOptions {
  std::string work_dir;  // scratch space, removed afterwards
  size_t parties = 2000;
  size_t commands = 50000;  // per ingest run
  int concurrency = 64;     // calls in flight
  size_t queries = 20000;   // per query run
  size_t open_callbacks = 500;   // in the callback queue benchmark's department
  size_t open_meldingen = 1000;  // in the open meldingen benchmark
  uint32_t seed = 1;
};

// Calls `visit` with every record of the log `log_spec` (e.g. "embedded:DIR"), in partition order.
void ForEachRecord(const std::string& log_spec,
                   const std::function<void(const eventlog::StoredRecord&)>& visit);

// Reads every record of `log` without decoding any: the raw limit of whatever reads it.
Sample ReadEverything(eventlog::EventLog& log);

// gRPC alone: an echo of `payload_bytes` with `concurrency` calls in flight, `calls` in all.
Sample EchoBenchmark(int concurrency, size_t calls, size_t payload_bytes);

// Commands through the command service (its own process, from `programs_dir`) over gRPC into the
// embedded log (fsynced group commits), each answered after its append is durable. Leaves the log
// and vault in `options.work_dir/ingest-<seed>`; sets *request_bytes to the average command size.
// With `batch` > 1 the commands go `batch` to an ExecuteBatch call (into `ingest-batch-<seed>`),
// with `options.concurrency` commands in flight; the sample counts commands, its latencies are
// the calls'. The parties the commands name are registered first, one per call: with
// `registrations`, how fast that went (each a new party, so a new key file fsynced in the vault).
Sample IngestBenchmark(const BenchOptions& options, const std::string& programs_dir,
                       size_t* request_bytes, size_t batch = 1, Sample* registrations = nullptr);
// The same commands into the all-in-one (one process): the projector and the search indexer fold
// them beside the command service, on the same cores, as the PostgreSQL peer updates its read
// models in the same transaction.
Sample AllInOneIngestBenchmark(const BenchOptions& options);

// What the projector wrote, batch by batch (each a RocksDB WriteBatch's bytes), for `events`
// events: the same keys and sizes for the RocksDB references.
struct ProjectorWrites {
  std::vector<std::string> batches;
  size_t events = 0;
};

// Folding that log into fresh read models (all of them), events per second. With `writes`, its
// batches are kept there too.
Sample ProjectionBenchmark(const BenchOptions& options, ProjectorWrites* writes = nullptr);

// RocksDB alone, the projector's raw limit: its own batches written again into a fresh store of
// the same options, each key read before it is written (read-modify-write) or not (batch put).
Sample RocksReadModifyWrite(const std::string& dir, const ProjectorWrites& writes);
Sample RocksBatchPut(const std::string& dir, const ProjectorWrites& writes);

// The ingest log's events on Kafka (librdkafka's mock cluster on loopback, 3 brokers, 12
// partitions): `produce` is appending them all (acks=all, idempotent, batched by librdkafka),
// `consume` reading them back without decoding, `project` folding them from the topic into fresh
// read models. One run gives all three, so they describe the same messages.
struct KafkaSamples {
  Sample produce, consume, project;
};
KafkaSamples KafkaBenchmark(const BenchOptions& options);

// GetCustomerView of a party with 300 contacts (first page of 50), `concurrency` in flight; sets
// *answer_bytes to the answer's size.
Sample CustomerViewBenchmark(const BenchOptions& options, size_t* answer_bytes);

// A KCC's two other screens, with `concurrency` calls in flight: a department's callback queue
// (500 open requests, first 100 in handling order) and the open meldingen (1,000, first page of
// 50 by due time). Each sets its answer's size for the echo reference.
Sample CallbackQueueBenchmark(const BenchOptions& options, size_t* answer_bytes);
Sample OpenMeldingenBenchmark(const BenchOptions& options, size_t* answer_bytes);

// GetCustomerView of a frequent reporter: one party with both of those (1,000 open meldingen she
// reported, 500 open callback requests): the view chooses 200 meldingen and 100 callbacks from
// their records read unopened, and opens those. Sets its answer's size for the echo reference.
Sample FrequentReporterViewBenchmark(const BenchOptions& options, size_t* answer_bytes);

// Freshness: commands sent at `rate` per second; after the answer of every `probe_every`-th, a
// customer-view query that asks for the command's positions (read-your-writes). The sample's
// p50/p99 is the time from the command's answer to that query's answer: how soon a write is
// visible, projector included; its rate counts every command.
Sample FreshnessBenchmark(const BenchOptions& options, double rate, size_t commands, size_t probe_every = 1);

}  // namespace ks::bench
