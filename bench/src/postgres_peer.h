// The peer: the same commands as the ingest benchmark, done the way a PostgreSQL-backed CRM does
// them. A throwaway PostgreSQL server is started on loopback (initdb in the scratch directory;
// as the `postgres` user when the benchmark runs as root, since PostgreSQL refuses root), and each
// command becomes one transaction that appends the event to an events table and upserts the read
// models it changes (the contact or callback row, the party's summary), committed with
// PostgreSQL's defaults (fsync and synchronous_commit on), `concurrency` connections at once.
#pragma once

#include <optional>
#include <string>

#include "src/benchmarks.h"

namespace ks::bench {

// The sample, or std::nullopt (with *why set) when no PostgreSQL server is installed.
std::optional<Sample> PostgresPeerBenchmark(const BenchOptions& options, std::string* why);

}  // namespace ks::bench
