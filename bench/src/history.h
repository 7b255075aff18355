// Living with a long history: the history itself (written straight into an embedded log), and
// what each program costs on it, measured as a separate process as an operator runs it: the
// projector's rebuild of all read models (time and peak RSS), the command service's start (its
// aggregate state rebuilt from the log), the query service answering customer views on the
// rebuilt read models, and ks-replay of the whole history. Run at two history lengths, the peak
// RSS figures show whether memory follows the configured caches or the history's length.
#pragma once

#include <string>
#include <vector>

#include "src/benchmarks.h"

namespace ks::bench {

// Writes a history of at least `events` events into `dir`/log, with the keys to open its sealed
// personal data in `dir`/vault: the ingest log's events copied over again with new aggregate ids
// (contacts keep their tenant, and belong to the copy of their party), spread over three months.
// Events of real shape and size; the copies' parties have histories as long as the originals'.
// Returns the number of events written.
size_t BuildHistory(const BenchOptions& options, size_t events, const std::string& dir);

// One program's run on a history.
struct ProcessFigure {
  std::string program;  // what ran, as an operator would name it
  size_t history_events = 0;
  double seconds = 0;            // its wall time for the work named
  double events_per_second = 0;  // 0 where it does not apply
  size_t peak_rss_bytes = 0;
  std::string work;  // what it did in those seconds
};

// The four programs on the history in `dir` (made by BuildHistory); `programs_dir` holds the
// build's program directories (projector/, command-service/, query-service/, replay/).
std::vector<ProcessFigure> HistoryBenchmark(const BenchOptions& options, const std::string& dir,
                                            const std::string& programs_dir);

// The analysts' KPI replay (all municipalities, the whole history, 2 threads) of the history in
// `dir`, in this process.
Sample ReplayBenchmark(const std::string& dir);
// Reading the same log without decoding anything: the raw limit of the replay.
Sample RawLogReadBenchmark(const std::string& dir);

std::string FormatProcessTable(const std::vector<ProcessFigure>& figures);
std::string FormatProcessJson(const std::vector<ProcessFigure>& figures);

}  // namespace ks::bench
