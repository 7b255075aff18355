#include "ks/replay/replay.h"

#include <atomic>
#include <barrier>
#include <chrono>
#include <mutex>
#include <thread>
#include <tuple>

#include <absl/container/flat_hash_map.h>

#include <google/protobuf/util/time_util.h>

#include "ks/domain/event_codec.h"
#include "ks/projector/folds.h"

namespace ks::replay {
namespace {

namespace pb = ::klantstroom::v1;
using google::protobuf::util::TimeUtil;

// The record types the KPIs read.
template <typename RecordT>
constexpr bool kKeptForKpis = std::is_same_v<RecordT, pb::InteractionRecord> || std::is_same_v<RecordT, pb::CallbackRecord> ||
                              std::is_same_v<RecordT, pb::MeldingRecord> ||
                              std::is_same_v<RecordT, pb::NotificationRecord> || std::is_same_v<RecordT, pb::PartyProfile>;

// The records the KPIs read, folded in memory exactly as the projector folds them into RocksDB,
// each trimmed to what the KPIs read (kpi::KeptForKpis) after every fold and held as its wire
// form between folds (measured on 1M events: half the memory of parsed records, and faster, as
// there is less to allocate, touch and free). Categories, employees, conversations and
// appointments are not kept: no KPI reads them.
class RecordSet {
 public:
  // Folds `event`; false when it was a duplicate (its aggregate version already folded).
  bool Fold(const pb::EventEnvelope& event) {
    return projector::WithFoldFor(
        event, [&]<typename RecordT>(const std::string& key, RecordT (*fold)(RecordT, const pb::EventEnvelope&)) {
          if constexpr (kKeptForKpis<RecordT>) {
            std::string& stored = std::get<Stored<RecordT>>(maps_).records[key];
            RecordT record;
            if (!stored.empty()) KS_CHECK(record.ParseFromString(stored));
            if (event.aggregate_version() <= record.version()) return false;
            // Only what the KPIs read is kept: a record per aggregate of the whole history is held.
            record = kpi::KeptForKpis(fold(std::move(record), event));
            record.SerializeToString(&stored);
          }
          return true;
        });
  }

  void AddTo(kpi::KpiCalculator& calculator) const {
    std::apply([&](const auto&... map) { (AddAll(calculator, map), ...); }, maps_);
  }

 private:
  // A record type's records by key, each as its wire form: a parsed protobuf record with its
  // strings is about 1 KB of heap, its trimmed bytes about a tenth of that. absl's open-addressing
  // map: a lookup is about one cache miss where std::unordered_map's chained nodes cost several,
  // and the replay looks up an aggregate per event (the lookups were a third of its time).
  template <typename RecordT>
  struct Stored {
    absl::flat_hash_map<std::string, std::string> records;
  };

  template <typename RecordT>
  static void AddAll(kpi::KpiCalculator& calculator, const Stored<RecordT>& stored) {
    RecordT record;
    for (const auto& [key, bytes] : stored.records) {
      KS_CHECK(record.ParseFromString(bytes));
      calculator.Add(record);
    }
  }

  std::tuple<Stored<pb::InteractionRecord>, Stored<pb::CallbackRecord>, Stored<pb::MeldingRecord>,
             Stored<pb::NotificationRecord>, Stored<pb::PartyProfile>>
      maps_;
};

// What one reading thread found: its records go into a calculator of its own as soon as it has
// read everything (and are freed on that thread), and the calculators are merged.
struct Partial {
  explicit Partial(const ReplayOptions& o) : calculator(o.from_ms, o.to_ms, o.tenant, o.kpi) {}
  kpi::KpiCalculator calculator;
  int64_t folded = 0;
  int64_t duplicates = 0;
  int64_t undecodable = 0;
  int64_t last_occurred_ms = 0;
  Status status;
};

}  // namespace

Result<ReplayResult> RunReplay(eventlog::EventLog& log, const ReplayOptions& options) {
  if (options.to_ms <= options.from_ms)
    return std::unexpected(InvalidArgument("to: must be after from (the period is [from, to))"));
  constexpr int64_t kLatestMs = 253'402'300'799'000;  // 9999-12-31T23:59:59Z, the latest Timestamp
  if (options.from_ms < 0 || options.to_ms > kLatestMs)
    return std::unexpected(InvalidArgument("from, to: must lie between 1970 and 9999"));
  if (options.threads < 1) return std::unexpected(InvalidArgument("threads: must be at least 1"));
  const auto started = std::chrono::steady_clock::now();

  auto ends = log.EndOffsets();
  if (!ends) return std::unexpected(ends.error());
  std::vector<int64_t> starts(ends->size(), 0);
  if (!options.from_start) {
    auto at = log.OffsetsForTime(options.from_ms - options.lookback_ms);
    if (!at) return std::unexpected(at.error());
    starts = *at;
  }
  int64_t total = 0;
  for (size_t p = 0; p < starts.size(); ++p) total += (*ends)[p] - starts[p];

  std::atomic<int64_t> read{0};
  std::mutex progress_mutex;
  auto last_report = started;
  auto report_progress = [&](bool final) {
    if (!options.on_progress) return;
    std::lock_guard lock(progress_mutex);
    const auto now = std::chrono::steady_clock::now();
    if (!final && now - last_report < std::chrono::seconds(1)) return;
    last_report = now;
    const double secs = std::chrono::duration<double>(now - started).count();
    const int64_t n = read.load();
    options.on_progress({n, total, secs > 0 ? static_cast<double>(n) / secs : 0});
  };

  const auto partitions = static_cast<int>(starts.size());
  const int threads = std::min(options.threads, std::max(partitions, 1));
  std::vector<Partial> partials;
  partials.reserve(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) partials.emplace_back(options);
  // Freeing millions of records beside another thread's reading is slower than freeing them
  // after it (measured), and each thread frees fastest what it allocated itself.
  std::barrier all_read(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      Partial& partial = partials[static_cast<size_t>(t)];
      // This thread's partitions: t, t + threads, ...; the others end where they start.
      std::vector<int64_t> my_ends = starts;
      for (int p = t; p < partitions; p += threads) my_ends[static_cast<size_t>(p)] = (*ends)[static_cast<size_t>(p)];
      auto records = std::make_unique<RecordSet>();
      pb::EventEnvelope event;  // reused: decoding millions in a row
      partial.status = eventlog::ReadUntil(log, starts, my_ends, [&](const eventlog::StoredRecord& stored) {
        if ((read.fetch_add(1, std::memory_order_relaxed) & 0x3fff) == 0) report_progress(false);
        if (!domain::DecodeEventInto(stored.value, event).ok()) {
          ++partial.undecodable;
          return Status::Ok();
        }
        if (!options.tenant.empty() && event.tenant() != options.tenant) return Status::Ok();
        partial.last_occurred_ms =
            std::max(partial.last_occurred_ms, TimeUtil::TimestampToMilliseconds(event.occurred_at()));
        if (records->Fold(event))
          ++partial.folded;
        else
          ++partial.duplicates;
        return Status::Ok();
      });
      records->AddTo(partial.calculator);
      // Each thread frees its own records, once every thread has read (see all_read).
      all_read.arrive_and_wait();
      records.reset();
    });
  }
  for (std::thread& w : workers) w.join();
  report_progress(true);

  ReplayResult result;
  kpi::KpiCalculator calculator(options.from_ms, options.to_ms, options.tenant, options.kpi);
  int64_t as_of_ms = 0;
  for (Partial& partial : partials) {
    if (!partial.status.ok()) return std::unexpected(partial.status);
    calculator.Merge(std::move(partial.calculator));
    result.events_folded += partial.folded;
    result.duplicates_skipped += partial.duplicates;
    result.undecodable += partial.undecodable;
    as_of_ms = std::max(as_of_ms, partial.last_occurred_ms);
  }
  result.events_read = read.load();
  // Open items are judged at the last event's time, not the wall clock, so a replay of the same
  // log gives the same report whenever it runs.
  result.report = calculator.Report(std::max(as_of_ms, options.from_ms));
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace ks::replay
