#include "src/history.h"

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <random>

#include "klantstroom/v1/events.pb.h"
#include "klantstroom/v1/query_service.grpc.pb.h"
#include "ks/core/child_process.h"
#include "ks/core/log.h"
#include "ks/eventlog/embedded_log.h"
#include "ks/eventlog/open.h"
#include "ks/privacy/key_vault.h"
#include "ks/privacy/sealing.h"
#include "ks/replay/replay.h"

namespace ks::bench {
namespace {

namespace pb = ::klantstroom::v1;
using Clock = std::chrono::steady_clock;
using google::protobuf::util::TimeUtil;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string IngestDir(const BenchOptions& options) {
  return options.work_dir + "/ingest-" + std::to_string(options.seed);
}

// The parties of a history (tenant, id), read back from its log: who the customer views ask for.
std::vector<std::pair<std::string, std::string>> PartiesOf(const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> parties;
  ForEachRecord("embedded:" + dir + "/log", [&](const eventlog::StoredRecord& r) {
    pb::EventEnvelope e;
    if (e.ParseFromString(r.value) && e.has_party_registered())
      parties.emplace_back(e.tenant(), e.aggregate_id());
  });
  return parties;
}

// GetCustomerView of `count` parties drawn from `parties`, 8 calls in flight, against `port`.
Sample AskCustomerViews(int port, const std::vector<std::pair<std::string, std::string>>& parties,
                        size_t count) {
  auto stub = pb::QueryService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  std::mt19937 rng(5);
  std::vector<pb::GetCustomerViewRequest> requests(count);
  for (auto& request : requests) {
    const auto& [tenant, party] = parties[rng() % parties.size()];
    request.set_tenant(tenant);
    request.set_party_id(party);
    request.set_page_size(50);
  }
  struct Call {
    grpc::ClientContext context;
    pb::CustomerView reply;
  };
  return RunInFlight(count, 8, [&](size_t i, std::function<void(bool)> done) {
    auto* call = new Call();
    stub->async()->GetCustomerView(&call->context, &requests[i], &call->reply,
                                   [call, done](grpc::Status status) {
                                     delete call;
                                     done(status.ok());
                                   });
  });
}

}  // namespace

size_t BuildHistory(const BenchOptions& options, size_t events, const std::string& dir) {
  std::vector<pb::EventEnvelope> originals;
  ForEachRecord("embedded:" + IngestDir(options) + "/log", [&](const eventlog::StoredRecord& r) {
    pb::EventEnvelope e;
    KS_CHECK(e.ParseFromString(r.value));
    originals.push_back(std::move(e));
  });
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  // The ingest run's vault, for its tenants' index keys and to open the originals' personal data.
  std::filesystem::copy(IngestDir(options) + "/vault", dir + "/vault",
                        std::filesystem::copy_options::recursive);
  // Keys made without fsync: a generated history, where a lost key costs nothing.
  auto vault = privacy::KeyVault::Open(dir + "/vault", /*create=*/false, /*sync=*/false);
  KS_CHECK(vault.has_value());
  privacy::KeyRing ring(vault->get());
  auto log = eventlog::OpenEmbeddedLog({.path = dir + "/log", .partitions = 12, .sync = false});
  KS_CHECK(log.has_value());
  constexpr int64_t kDayMs = 24LL * 3600 * 1000;
  size_t written = 0;
  for (size_t copy = 0; written < events; ++copy) {
    const std::string suffix = fmt::format("-{}", copy);
    std::vector<eventlog::Record> batch;
    batch.reserve(originals.size());
    for (pb::EventEnvelope e : originals) {
      e.set_aggregate_id(e.aggregate_id() + suffix);
      e.set_event_id(e.event_id() + suffix);
      // Each command of a copy is a command of its own, as in a real history.
      if (!e.idempotency_key().empty()) e.set_idempotency_key(e.idempotency_key() + suffix);
      // The copy's own key, as the command service makes it when a party registers: the read
      // models seal each party's data under the party's key.
      if (e.has_party_registered())
        KS_CHECK(
            ((*vault)->GetOrCreate(e.tenant(), privacy::PartyKeyId(e.aggregate_id()))).has_value());
      if (e.has_interaction_registered() && !e.interaction_registered().party_id().empty())
        e.mutable_interaction_registered()->set_party_id(e.interaction_registered().party_id() +
                                                         suffix);
      if (e.has_callback_requested() && !e.callback_requested().party_id().empty())
        e.mutable_callback_requested()->set_party_id(e.callback_requested().party_id() + suffix);
      // The personal data of a copied party, contact or callback request (whose party ids above
      // are the copy's) sealed again under the copy's key ("party/<id>-N" for "party/<id>", or
      // the aggregate's own), as the command service seals them under their party's key.
      const bool copied_owner = e.aggregate_type() == pb::AGGREGATE_TYPE_PARTY ||
                                e.aggregate_type() == pb::AGGREGATE_TYPE_INTERACTION ||
                                e.aggregate_type() == pb::AGGREGATE_TYPE_CALLBACK_REQUEST;
      if (copied_owner && e.has_personal_data()) {
        const std::string key_id = e.personal_data().key_id() + suffix;
        KS_CHECK(privacy::OpenEvent(e, ring).has_value());
        KS_CHECK(privacy::SealEvent(e, key_id, [&] { return (*vault)->GetOrCreate(e.tenant(), key_id); }).ok());
      }
      const int64_t shift = static_cast<int64_t>(copy % 90) * kDayMs;
      *e.mutable_occurred_at() = TimeUtil::MillisecondsToTimestamp(
          TimeUtil::TimestampToMilliseconds(e.occurred_at()) + shift);
      batch.push_back({e.aggregate_id(), e.SerializeAsString(),
                       TimeUtil::TimestampToMilliseconds(e.recorded_at())});
    }
    written += batch.size();
    KS_CHECK((*log)->Append(std::move(batch)).has_value());
  }
  return written;
}

std::vector<ProcessFigure> HistoryBenchmark(const BenchOptions& options, const std::string& dir,
                                            const std::string& programs_dir) {
  auto log = eventlog::OpenLogForReading("embedded:" + dir + "/log");
  KS_CHECK(log.has_value());
  auto ends = (*log)->EndOffsets();
  KS_CHECK(ends.has_value());
  size_t events = 0;
  for (int64_t n : *ends) events += static_cast<size_t>(n);
  log->reset();
  const std::string log_flag = "--log=embedded:" + dir + "/log";
  const std::string vault_flag = "--vault=" + dir + "/vault";
  const std::string read_models = dir + "/read-models";
  const std::string stderr_path = dir + "/programs.log";
  std::filesystem::remove_all(read_models);
  std::vector<ProcessFigure> out;
  constexpr auto kPatience = std::chrono::minutes(30);

  {  // The projector rebuilds every read model from offset 0 and exits.
    const auto start = Clock::now();
    ChildProcess projector(programs_dir + "/projector/projector",
                           {log_flag, vault_flag, "--rebuild-into=" + read_models}, stderr_path);
    const auto code = projector.WaitForExit(kPatience);
    KS_CHECK(code.has_value() && *code == 0);
    const double seconds = SecondsSince(start);
    out.push_back({"projector --rebuild-into", events, seconds,
                   static_cast<double>(events) / seconds, projector.PeakRssBytes(),
                   "rebuild of all read models (events/s)"});
  }

  {  // ks-replay of the whole history, every KPI, all municipalities.
    const auto start = Clock::now();
    ChildProcess replay(programs_dir + "/replay/ks-replay",
                        {log_flag, "--from=2026-01-01", "--to=2028-01-01", "--from-start",
                         "--formats=json", "--out=" + dir + "/kpi-report"},
                        stderr_path);
    replay.ReadAll(kPatience);
    const auto code = replay.WaitForExit(kPatience);
    KS_CHECK(code.has_value() && *code == 0);
    const double seconds = SecondsSince(start);
    out.push_back({"ks-replay --from-start", events, seconds, static_cast<double>(events) / seconds,
                   replay.PeakRssBytes(), "KPI report of the whole history (events/s)"});
  }

  {  // The query service on the rebuilt read models, answering customer views of random parties.
    const auto parties = PartiesOf(dir);
    KS_CHECK(!parties.empty());
    ChildProcess queries(
        programs_dir + "/query-service/query-service",
        {"--read-models=" + read_models, vault_flag, "--listen=127.0.0.1:0", "--search-index=none",
         "--audit=" + dir + "/audit", "--attachments=" + dir + "/attachments"},
        stderr_path);
    const int port = queries.WaitForPort(std::chrono::minutes(5));
    KS_CHECK(port > 0);
    const Sample asked = AskCustomerViews(port, parties, options.queries / 2);
    out.push_back({"query-service", events, asked.seconds, asked.per_second, queries.PeakRssBytes(),
                   fmt::format("{} customer views of random parties, 8 in flight (views/s)",
                               options.queries / 2)});
    KS_CHECK(queries.Terminate() == 0);
  }

  {  // The command service starts: its aggregates' state is rebuilt from the whole log. Last,
     // because its policies may append to the log (labels for frequent contact).
    const auto start = Clock::now();
    ChildProcess commands(
        programs_dir + "/command-service/command-service",
        {log_flag, vault_flag, "--listen=127.0.0.1:0", "--attachments=" + dir + "/attachments"},
        stderr_path);
    KS_CHECK(commands.WaitForPort(kPatience) > 0);
    const double seconds = SecondsSince(start);
    out.push_back({"command-service", events, seconds, static_cast<double>(events) / seconds,
                   commands.PeakRssBytes(),
                   "start: every aggregate's state rebuilt from the log (events/s)"});
    KS_CHECK(commands.Terminate() == 0);
  }
  return out;
}

Sample ReplayBenchmark(const std::string& dir) {
  auto log = eventlog::OpenLogForReading("embedded:" + dir + "/log");
  KS_CHECK(log.has_value());
  replay::ReplayOptions replay_options;
  replay_options.from_ms = 0;
  replay_options.to_ms = 4'102'444'800'000;  // 2100-01-01
  replay_options.from_start = true;
  replay_options.threads = 2;
  auto result = replay::RunReplay(**log, replay_options);
  KS_CHECK(result.has_value());
  KS_CHECK(result->report.figures_size() > 0);
  return {static_cast<double>(result->events_read) / result->seconds, 0, 0, result->seconds};
}

Sample RawLogReadBenchmark(const std::string& dir) {
  auto log = eventlog::OpenLogForReading("embedded:" + dir + "/log");
  KS_CHECK(log.has_value());
  return ReadEverything(**log);
}

std::string FormatProcessTable(const std::vector<ProcessFigure>& figures) {
  std::string out = fmt::format("{:<26} {:>12} {:>10} {:>12} {:>14}   {}\n", "program", "history",
                                "seconds", "per second", "peak RSS MiB", "work");
  for (const ProcessFigure& f : figures)
    out += fmt::format("{:<26} {:>12} {:>10.1f} {:>12.0f} {:>14.0f}   {}\n", f.program,
                       f.history_events, f.seconds, f.events_per_second,
                       static_cast<double>(f.peak_rss_bytes) / (1 << 20), f.work);
  return out;
}

std::string FormatProcessJson(const std::vector<ProcessFigure>& figures) {
  std::string out = "[\n";
  for (size_t i = 0; i < figures.size(); ++i) {
    const ProcessFigure& f = figures[i];
    out += fmt::format(
        "  {{\"program\": \"{}\", \"history_events\": {}, \"seconds\": {:.2f}, \"per_second\": "
        "{:.1f}, "
        "\"peak_rss_bytes\": {}, \"work\": \"{}\"}}{}\n",
        f.program, f.history_events, f.seconds, f.events_per_second, f.peak_rss_bytes, f.work,
        i + 1 < figures.size() ? "," : "");
  }
  return out + "]\n";
}

}  // namespace ks::bench
