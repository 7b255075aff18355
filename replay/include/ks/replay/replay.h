// The analysts' replay: reads the event log (Kafka or embedded) over a period, folds the events
// with the projector's own folds into records held in memory, and computes the KPIs from them
// with the same calculator the query service's live KPIs use. It never writes to the log or to
// the live read models.
//
// What is read: from the first record appended at or after `from - lookback` (or from the start)
// up to the log's end as it is when the replay starts. Contacts, callback requests, meldingen and
// notifications that occurred in [from, to) are counted, and what happened to them later (a
// callback completed after `to`) is followed. Reading before `from` gives the state the figures
// need: earlier contacts for repeat contacts, and events recorded later than they occurred (a
// letter registered a week after it arrived). An event recorded more than `lookback` after it
// occurred is missed unless `from_start` is set.
//
// Thread-safety: RunReplay may be called from any thread; on_progress is called from one of the
// replay's threads at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "klantstroom/v1/kpi.pb.h"
#include "ks/core/status.h"
#include "ks/eventlog/event_log.h"
#include "ks/kpi/calculator.h"

namespace ks::replay {

struct ReplayProgress {
  int64_t events_read = 0;
  int64_t events_total = 0;
  double events_per_second = 0;
};

struct ReplayOptions {
  // Municipality; empty for all.
  std::string tenant;
  // The period [from, to), Unix milliseconds.
  int64_t from_ms = 0;
  int64_t to_ms = 0;
  // How long before `from` reading starts. Default: 30 days.
  int64_t lookback_ms = 30LL * 24 * 3600 * 1000;
  // Read the whole log, whatever the period. Default: false.
  bool from_start = false;
  // Threads that read and fold partitions in parallel (each owns whole partitions, since an
  // aggregate's events are all in one). Default: 2.
  int threads = 2;
  kpi::KpiOptions kpi;
  // Called about once a second while reading, and once at the end.
  std::function<void(const ReplayProgress&)> on_progress;
};

struct ReplayResult {
  ::klantstroom::v1::KpiReport report;
  int64_t events_read = 0;
  // Events of the selected municipality folded into a record.
  int64_t events_folded = 0;
  // Read twice (an aggregate version already folded), counted once.
  int64_t duplicates_skipped = 0;
  // Events this version cannot decode (a newer schema); the projector parks the same ones.
  int64_t undecodable = 0;
  double seconds = 0;
};

// INVALID_ARGUMENT when the period is empty or threads < 1; the log's errors otherwise.
Result<ReplayResult> RunReplay(eventlog::EventLog& log, const ReplayOptions& options);

}  // namespace ks::replay
