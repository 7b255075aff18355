#include "src/benchmarks.h"

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <random>

#include <grpcpp/grpcpp.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "bench.grpc.pb.h"
#include "klantstroom/v1/command_service.grpc.pb.h"
#include "klantstroom/v1/query_service.grpc.pb.h"
#include "ks/allinone/all_in_one.h"
#include "ks/core/log.h"
#include "ks/eventlog/dev_cluster.h"
#include "ks/eventlog/embedded_log.h"
#include "ks/eventlog/kafka_log.h"
#include "ks/eventlog/open.h"
#include "ks/replay/replay.h"
#include <google/protobuf/util/time_util.h>
#include "ks/projector/projector.h"
#include "ks/rpc/server.h"
#include "src/workload.h"

namespace ks::bench {
namespace {

namespace pb = ::klantstroom::v1;
using Clock = std::chrono::steady_clock;
using google::protobuf::util::TimeUtil;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Keeps `concurrency` calls in flight until `total` have completed. `issue(i, done)` starts call i
// and must call done(ok) exactly once when it completes (from any thread). The shared state lives
// as long as the last callback that touches it, not just as long as this function.
Sample RunInFlight(size_t total, int concurrency, const std::function<void(size_t, std::function<void(bool)>)>& issue) {
  struct State {
    std::mutex mutex;
    std::condition_variable cv;
    size_t next = 0;
    size_t finished = 0;
    size_t failed = 0;
    Latencies latencies;
    std::function<void(size_t, std::function<void(bool)>)> issue;
    size_t total = 0;
    // Starts the next call, if any; its completion starts the one after. Owned by the state, so
    // it lives as long as any callback that may still run it.
    std::function<void(const std::shared_ptr<State>&)> launch;
  };
  auto state = std::make_shared<State>();
  state->issue = issue;
  state->total = total;
  state->launch = [](const std::shared_ptr<State>& st) {
    size_t i;
    {
      std::lock_guard lock(st->mutex);
      if (st->next >= st->total) return;
      i = st->next++;
    }
    const auto started = Clock::now();
    st->issue(i, [st, started](bool ok) {
      bool all_done;
      {
        std::lock_guard lock(st->mutex);
        st->latencies.Add(Ms(Clock::now() - started));
        ++st->finished;
        if (!ok) ++st->failed;
        all_done = st->finished == st->total;
      }
      if (all_done) {
        st->cv.notify_one();
      } else {
        st->launch(st);
      }
    });
  };
  const auto start = Clock::now();
  for (int c = 0; c < concurrency; ++c) state->launch(state);
  std::unique_lock lock(state->mutex);
  state->cv.wait(lock, [&] { return state->finished == state->total; });
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (state->failed > 0) log::Warn("bench", "{} of {} calls failed", state->failed, total);
  const Sample sample{static_cast<double>(total) / seconds, state->latencies.Percentile(50),
                      state->latencies.Percentile(99), seconds};
  lock.unlock();
  // The state holds its own launch function, which holds nothing: no cycle keeps it alive.
  return sample;
}

class EchoService final : public klantstroom::bench::Echo::CallbackService {
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context, const klantstroom::bench::EchoMessage* request,
                                 klantstroom::bench::EchoMessage* reply) override {
    *reply = *request;
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

}  // namespace

Sample EchoBenchmark(int concurrency, size_t calls, size_t payload_bytes) {
  EchoService service;
  int port = 0;
  auto server = rpc::StartServer("127.0.0.1:0", {&service}, &port);
  KS_CHECK(server.has_value());
  auto stub = klantstroom::bench::Echo::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  klantstroom::bench::EchoMessage message;
  message.set_payload(std::string(payload_bytes, 'x'));
  struct Call {
    grpc::ClientContext context;
    klantstroom::bench::EchoMessage reply;
  };
  Sample s = RunInFlight(calls, concurrency, [&](size_t, std::function<void(bool)> done) {
    auto* call = new Call();
    stub->async()->Echo(&call->context, &message, &call->reply, [call, done](grpc::Status status) {
      delete call;
      done(status.ok());
    });
  });
  (*server)->Shutdown();
  return s;
}

Sample IngestBenchmark(const BenchOptions& options, size_t* request_bytes) {
  const std::string dir = options.work_dir + "/ingest-" + std::to_string(options.seed);
  std::filesystem::remove_all(dir);
  auto app = allinone::AllInOne::Start({.data_dir = dir, .listen = "127.0.0.1:0", .partitions = 12, .sync = true});
  KS_CHECK(app.has_value());
  auto stub = pb::CommandService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string((*app)->port()), grpc::InsecureChannelCredentials()));
  const Workload workload = MakeWorkload(options.parties, options.commands, options.seed);
  struct Call {
    grpc::ClientContext context;
    pb::ExecuteReply reply;
  };
  auto send = [&](const std::vector<pb::ExecuteRequest>& requests) {
    return RunInFlight(requests.size(), options.concurrency, [&](size_t i, std::function<void(bool)> done) {
      auto* call = new Call();
      stub->async()->Execute(&call->context, &requests[i], &call->reply, [call, done](grpc::Status status) {
        delete call;
        done(status.ok());
      });
    });
  };
  (void)send(workload.parties);  // the parties first; not measured
  const Sample s = send(workload.commands);
  size_t bytes = 0;
  for (const auto& r : workload.commands) bytes += r.ByteSizeLong();
  *request_bytes = bytes / std::max<size_t>(1, workload.commands.size());
  return s;
}

Sample ProjectionBenchmark(const BenchOptions& options) {
  const std::string dir = options.work_dir + "/ingest-" + std::to_string(options.seed);
  auto log = eventlog::OpenEmbeddedLog({.path = dir + "/log", .sync = false});
  KS_CHECK(log.has_value());
  const std::string store_dir = options.work_dir + "/projection-" + std::to_string(options.seed);
  std::filesystem::remove_all(store_dir);
  auto store = readmodel::ReadModelStore::OpenPrimary(store_dir);
  KS_CHECK(store.has_value());
  // The keys the ingest run sealed the events' personal data with.
  auto vault = privacy::KeyVault::Open(dir + "/vault", /*create=*/true);
  KS_CHECK(vault.has_value());
  auto projector = projector::Projector::Open(**log, **store, **vault);
  KS_CHECK(projector.has_value());
  auto ends = (*log)->EndOffsets();
  KS_CHECK(ends.has_value());
  const auto start = Clock::now();
  KS_CHECK((*projector)->CatchUpTo(*ends).ok());
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return {static_cast<double>((*projector)->events_applied()) / seconds, 0, 0, seconds};
}

namespace {

// Reads every record of `log` without decoding any: the raw limit of whatever reads it.
Sample ReadEverything(eventlog::EventLog& log) {
  auto ends = log.EndOffsets();
  KS_CHECK(ends.has_value());
  size_t n = 0;
  const auto start = Clock::now();
  KS_CHECK(eventlog::ReadUntil(log, std::vector<int64_t>(ends->size(), 0), *ends,
                               [&](const eventlog::StoredRecord&) {
                                 ++n;
                                 return Status::Ok();
                               })
               .ok());
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return {static_cast<double>(n) / seconds, 0, 0, seconds};
}

}  // namespace

KafkaSamples KafkaBenchmark(const BenchOptions& options) {
  auto source = eventlog::OpenEmbeddedLog({.path = options.work_dir + "/ingest-" + std::to_string(options.seed) + "/log",
                                           .sync = false});
  KS_CHECK(source.has_value());
  auto source_ends = (*source)->EndOffsets();
  KS_CHECK(source_ends.has_value());
  std::vector<eventlog::Record> records;
  KS_CHECK(eventlog::ReadUntil(**source, std::vector<int64_t>(source_ends->size(), 0), *source_ends,
                               [&](const eventlog::StoredRecord& r) {
                                 records.push_back({r.key, r.value, r.timestamp_ms});
                                 return Status::Ok();
                               })
               .ok());
  source->reset();
  const size_t n = records.size();
  auto cluster = eventlog::DevCluster::Start(3, "bench", 12);
  KS_CHECK(cluster.has_value());
  auto kafka = eventlog::OpenKafkaLog({.bootstrap_servers = (*cluster)->bootstrap_servers(), .topic = "bench",
                                       .partitions = 12, .linger_ms = 5});
  KS_CHECK(kafka.has_value());
  KafkaSamples out;
  {
    // Appends of 100 records each, many in flight, as the command service's group commits do.
    std::mutex mutex;
    std::condition_variable cv;
    size_t pending = 0;
    const auto start = Clock::now();
    for (size_t i = 0; i < n; i += 100) {
      std::vector<eventlog::Record> batch(records.begin() + static_cast<std::ptrdiff_t>(i),
                                          records.begin() + static_cast<std::ptrdiff_t>(std::min(n, i + 100)));
      {
        std::lock_guard lock(mutex);
        ++pending;
      }
      (*kafka)->AppendAsync(std::move(batch), [&](Result<std::vector<eventlog::Position>> done) {
        KS_CHECK(done.has_value());
        std::lock_guard lock(mutex);
        --pending;
        cv.notify_all();
      });
    }
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return pending == 0; });
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    out.produce = {static_cast<double>(n) / seconds, 0, 0, seconds};
  }
  auto ends = (*kafka)->EndOffsets();
  KS_CHECK(ends.has_value());
  out.consume = ReadEverything(**kafka);
  {
    const std::string store_dir = options.work_dir + "/kafka-projection";
    std::filesystem::remove_all(store_dir);
    auto store = readmodel::ReadModelStore::OpenPrimary(store_dir);
    KS_CHECK(store.has_value());
    auto vault = privacy::KeyVault::Open(options.work_dir + "/ingest-" + std::to_string(options.seed) + "/vault",
                                         /*create=*/true);
    KS_CHECK(vault.has_value());
    auto projector = projector::Projector::Open(**kafka, **store, **vault);
    KS_CHECK(projector.has_value());
    const auto start = Clock::now();
    KS_CHECK((*projector)->CatchUpTo(*ends).ok());
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    out.project = {static_cast<double>((*projector)->events_applied()) / seconds, 0, 0, seconds};
  }
  return out;
}

size_t BuildReplayHistory(const BenchOptions& options) {
  auto source = eventlog::OpenEmbeddedLog({.path = options.work_dir + "/ingest-" + std::to_string(options.seed) + "/log",
                                           .sync = false});
  KS_CHECK(source.has_value());
  auto ends = (*source)->EndOffsets();
  KS_CHECK(ends.has_value());
  std::vector<pb::EventEnvelope> events;
  KS_CHECK(eventlog::ReadUntil(**source, std::vector<int64_t>(ends->size(), 0), *ends,
                               [&](const eventlog::StoredRecord& r) {
                                 pb::EventEnvelope e;
                                 KS_CHECK(e.ParseFromString(r.value));
                                 events.push_back(std::move(e));
                                 return Status::Ok();
                               })
               .ok());
  source->reset();
  const std::string dir = options.work_dir + "/replay-log";
  std::filesystem::remove_all(dir);
  auto log = eventlog::OpenEmbeddedLog({.path = dir, .partitions = 12, .sync = false});
  KS_CHECK(log.has_value());
  constexpr int64_t kDayMs = 24LL * 3600 * 1000;
  size_t written = 0;
  for (size_t copy = 0; written < options.replay_events; ++copy) {
    std::vector<eventlog::Record> batch;
    for (pb::EventEnvelope e : events) {
      const std::string suffix = "-" + std::to_string(copy);
      e.set_aggregate_id(e.aggregate_id() + suffix);
      e.set_event_id(e.event_id() + suffix);
      e.set_tenant(e.tenant() + "-" + std::to_string(copy % 5));
      if (e.has_interaction_registered() && !e.interaction_registered().party_id().empty())
        e.mutable_interaction_registered()->set_party_id(e.interaction_registered().party_id() + suffix);
      const int64_t shift = static_cast<int64_t>(copy % 90) * kDayMs;
      *e.mutable_occurred_at() = TimeUtil::MillisecondsToTimestamp(TimeUtil::TimestampToMilliseconds(e.occurred_at()) + shift);
      batch.push_back({e.aggregate_id(), e.SerializeAsString(), TimeUtil::TimestampToMilliseconds(e.recorded_at())});
    }
    written += batch.size();
    KS_CHECK((*log)->Append(std::move(batch)).has_value());
  }
  return written;
}

Sample ReplayBenchmark(const BenchOptions& options) {
  auto log = eventlog::OpenLogForReading("embedded:" + options.work_dir + "/replay-log");
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

Sample RawLogReadBenchmark(const BenchOptions& options) {
  auto log = eventlog::OpenLogForReading("embedded:" + options.work_dir + "/replay-log");
  KS_CHECK(log.has_value());
  return ReadEverything(**log);
}

namespace {

// The projector's raw limit in RocksDB: the same volume of records (mostly new keys, some busy
// ones) and their versions, in batches of 4,000 writes; with `read_first` each record is read
// before it is written, as the projector reads the record it folds an event into.
Sample RocksWrites(const std::string& dir, size_t events, size_t value_bytes, bool read_first) {
  using namespace std::string_literals;
  std::filesystem::remove_all(dir);
  rocksdb::Options options;
  options.create_if_missing = true;
  options.IncreaseParallelism(2);
  rocksdb::DB* raw = nullptr;
  KS_CHECK(rocksdb::DB::Open(options, dir, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::mt19937 rng(1);
  const std::string value(value_bytes, 'v');
  const auto start = Clock::now();
  rocksdb::WriteBatch batch;
  std::string current;
  for (size_t i = 0; i < events; ++i) {
    // (std::string literals: a plain "I\0..." would end at its first '\0'.)
    const std::string key = (rng() % 10 < 3) ? "I\0bench\0busy-"s + std::to_string(rng() % 40)
                                             : "I\0bench\0agg-"s + std::to_string(i);
    if (read_first) {
      rocksdb::Status s = db->Get(rocksdb::ReadOptions(), key, &current);
      KS_CHECK(s.ok() || s.IsNotFound());
    }
    batch.Put(key, value);
    batch.Put("V\0"s + key, "12345678");
    if (batch.Count() >= 4000) {
      KS_CHECK(db->Write(rocksdb::WriteOptions(), &batch).ok());
      batch.Clear();
    }
  }
  KS_CHECK(db->Write(rocksdb::WriteOptions(), &batch).ok());
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return {static_cast<double>(events) / seconds, 0, 0, seconds};
}

}  // namespace

Sample RocksReadModifyWrite(const std::string& dir, size_t events, size_t value_bytes) {
  return RocksWrites(dir, events, value_bytes, /*read_first=*/true);
}

Sample RocksBatchPut(const std::string& dir, size_t events, size_t value_bytes) {
  return RocksWrites(dir, events, value_bytes, /*read_first=*/false);
}

Sample CustomerViewBenchmark(const BenchOptions& options, size_t* answer_bytes) {
  const std::string dir = options.work_dir + "/views";
  std::filesystem::remove_all(dir);
  auto app = allinone::AllInOne::Start({.data_dir = dir, .listen = "127.0.0.1:0", .partitions = 12, .sync = false});
  KS_CHECK(app.has_value());
  pb::LogPosition last;
  for (auto& request : BusyParty("veelbeller", 300)) {
    auto reply = (*app)->commands().ExecuteSync(std::move(request));
    KS_CHECK(reply.has_value());
  }
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string((*app)->port()), grpc::InsecureChannelCredentials());
  auto stub = pb::QueryService::NewStub(channel);
  // Wait until the projector has applied everything.
  auto ends = (*app)->log().EndOffsets();
  KS_CHECK(ends.has_value());
  pb::GetCustomerViewRequest request;
  request.set_tenant("gemeente-ede");
  request.set_party_id("veelbeller");
  request.set_page_size(50);
  for (size_t p = 0; p < ends->size(); ++p) {
    if ((*ends)[p] == 0) continue;
    auto* min = request.mutable_consistency()->add_min_positions();
    min->set_partition(static_cast<int32_t>(p));
    min->set_offset((*ends)[p] - 1);
  }
  {
    grpc::ClientContext context;
    pb::CustomerView view;
    KS_CHECK(stub->GetCustomerView(&context, request, &view).ok());
    KS_CHECK(view.timeline_size() == 50);
    *answer_bytes = view.ByteSizeLong();
  }
  request.clear_consistency();
  struct Call {
    grpc::ClientContext context;
    pb::CustomerView reply;
  };
  return RunInFlight(options.queries, options.concurrency, [&](size_t, std::function<void(bool)> done) {
    auto* call = new Call();
    stub->async()->GetCustomerView(&call->context, &request, &call->reply, [call, done](grpc::Status status) {
      delete call;
      done(status.ok());
    });
  });
}

namespace {

pb::ExecuteRequest BenchRequest(const std::string& key) {
  pb::ExecuteRequest r;
  r.mutable_meta()->set_tenant("gemeente-ede");
  r.mutable_meta()->mutable_actor()->set_kind(pb::ACTOR_KIND_EMPLOYEE);
  r.mutable_meta()->mutable_actor()->set_id("bench-kcc");
  r.mutable_meta()->set_idempotency_key(key);
  return r;
}

// An all-in-one with `callbacks` open callback requests for department "vergunningen" and
// `meldingen` open meldingen, fully projected.
std::unique_ptr<allinone::AllInOne> LoadedApp(const std::string& dir, size_t callbacks, size_t meldingen) {
  std::filesystem::remove_all(dir);
  auto app = allinone::AllInOne::Start({.data_dir = dir, .listen = "127.0.0.1:0", .partitions = 12, .sync = false});
  KS_CHECK(app.has_value());
  auto& handler = (*app)->commands();
  pb::ExecuteRequest party = BenchRequest("party");
  party.mutable_register_party()->set_kind(pb::PARTY_KIND_PERSON);
  party.mutable_register_party()->set_display_name("Bench Burger");
  auto registered = handler.ExecuteSync(party);
  KS_CHECK(registered.has_value());
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (size_t i = 0; i < callbacks; ++i) {
    pb::ExecuteRequest r = BenchRequest("cb-" + std::to_string(i));
    auto* c = r.mutable_request_callback();
    c->set_party_id(registered->aggregate_id());
    c->set_subject("Vraag over de vergunning");
    c->set_context(std::string(300, 'x'));
    c->set_urgency(i % 3 == 0 ? pb::URGENCY_HIGH : pb::URGENCY_NORMAL);
    c->mutable_target()->set_department("vergunningen");
    *c->mutable_due_at() = TimeUtil::SecondsToTimestamp(now_s + static_cast<int64_t>(i % 100) * 3600);
    KS_CHECK(handler.ExecuteSync(std::move(r)).has_value());
  }
  if (meldingen > 0) {
    pb::ExecuteRequest category = BenchRequest("category");
    category.mutable_define_melding_category()->set_code("STRAAT");
    category.mutable_define_melding_category()->set_name("Straat en stoep");
    category.mutable_define_melding_category()->set_due_days(10);
    KS_CHECK(handler.ExecuteSync(std::move(category)).has_value());
  }
  for (size_t i = 0; i < meldingen; ++i) {
    pb::ExecuteRequest r = BenchRequest("melding-" + std::to_string(i));
    auto* m = r.mutable_register_melding();
    m->set_category("STRAAT");
    m->set_description("Losliggende stoeptegel voor nummer " + std::to_string(i));
    m->mutable_location()->set_street("Dorpsstraat");
    m->mutable_location()->set_house_number(std::to_string(i));
    m->set_channel(pb::CHANNEL_WEB_FORM);
    KS_CHECK(handler.ExecuteSync(std::move(r)).has_value());
  }
  // Until the projector has applied all of it.
  auto ends = (*app)->log().EndOffsets();
  KS_CHECK(ends.has_value());
  while (true) {
    auto progress = (*app)->store().View().ReadProgress();
    KS_CHECK(progress.has_value());
    bool done = true;
    for (size_t p = 0; p < ends->size(); ++p) {
      int64_t next = 0;
      for (const auto& [partition, offset] : *progress)
        if (partition == static_cast<int32_t>(p)) next = offset;
      if (next < (*ends)[p]) done = false;
    }
    if (done) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::move(*app);
}

// `send(context, request, reply, on_done)` starts one asynchronous call.
template <typename Request, typename Reply, typename Send>
Sample QueryInFlight(const BenchOptions& options, const Request& request, Send send) {
  struct Call {
    grpc::ClientContext context;
    Reply reply;
  };
  return RunInFlight(options.queries, options.concurrency, [&](size_t, std::function<void(bool)> done) {
    auto* call = new Call();
    send(&call->context, &request, &call->reply, [call, done](grpc::Status status) {
      delete call;
      done(status.ok());
    });
  });
}

}  // namespace

Sample CallbackQueueBenchmark(const BenchOptions& options, size_t* answer_bytes) {
  auto app = LoadedApp(options.work_dir + "/queue", 500, 0);
  auto stub = pb::QueryService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(app->port()), grpc::InsecureChannelCredentials()));
  pb::GetCallbackQueueRequest request;
  request.set_tenant("gemeente-ede");
  request.set_department("vergunningen");
  request.set_limit(100);
  {
    grpc::ClientContext context;
    pb::CallbackQueue queue;
    KS_CHECK(stub->GetCallbackQueue(&context, request, &queue).ok());
    KS_CHECK(queue.callbacks_size() == 100);
    *answer_bytes = queue.ByteSizeLong();
  }
  return QueryInFlight<pb::GetCallbackQueueRequest, pb::CallbackQueue>(
      options, request, [&](auto* context, auto* req, auto* reply, std::function<void(grpc::Status)> done) {
        stub->async()->GetCallbackQueue(context, req, reply, std::move(done));
      });
}

Sample OpenMeldingenBenchmark(const BenchOptions& options, size_t* answer_bytes) {
  auto app = LoadedApp(options.work_dir + "/meldingen", 0, 1000);
  auto stub = pb::QueryService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(app->port()), grpc::InsecureChannelCredentials()));
  pb::ListMeldingenRequest request;
  request.set_tenant("gemeente-ede");
  request.set_limit(50);  // no statuses given: every open one
  {
    grpc::ClientContext context;
    pb::MeldingList list;
    KS_CHECK(stub->ListMeldingen(&context, request, &list).ok());
    KS_CHECK(list.meldingen_size() == 50);
    *answer_bytes = list.ByteSizeLong();
  }
  return QueryInFlight<pb::ListMeldingenRequest, pb::MeldingList>(
      options, request, [&](auto* context, auto* req, auto* reply, std::function<void(grpc::Status)> done) {
        stub->async()->ListMeldingen(context, req, reply, std::move(done));
      });
}

Sample FreshnessBenchmark(const BenchOptions& options, double rate, size_t commands) {
  const std::string dir = options.work_dir + "/freshness";
  std::filesystem::remove_all(dir);
  auto app = allinone::AllInOne::Start({.data_dir = dir, .listen = "127.0.0.1:0", .partitions = 12, .sync = true});
  KS_CHECK(app.has_value());
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string((*app)->port()), grpc::InsecureChannelCredentials());
  auto commands_stub = pb::CommandService::NewStub(channel);
  auto queries_stub = pb::QueryService::NewStub(channel);
  const Workload workload = MakeWorkload(options.parties, commands, options.seed + 1000);
  for (const auto& party : workload.parties) KS_CHECK((*app)->commands().ExecuteSync(party).has_value());

  struct Shared {
    std::mutex mutex;
    std::condition_variable cv;
    size_t finished = 0;
    size_t failed = 0;
    Latencies freshness;
  } shared;
  struct Call {
    grpc::ClientContext command_context;
    pb::ExecuteReply reply;
    grpc::ClientContext query_context;
    pb::GetCustomerViewRequest query;
    pb::CustomerView view;
    Clock::time_point answered;
  };
  auto finish = [&shared](bool ok, double ms) {
    std::lock_guard lock(shared.mutex);
    if (ok) shared.freshness.Add(ms); else ++shared.failed;
    ++shared.finished;
    shared.cv.notify_all();
  };
  const auto start = Clock::now();
  const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
  for (size_t i = 0; i < workload.commands.size(); ++i) {
    std::this_thread::sleep_until(start + interval * static_cast<int64_t>(i));
    const pb::ExecuteRequest& request = workload.commands[i];
    auto* call = new Call();
    commands_stub->async()->Execute(&call->command_context, &request, &call->reply,
        [&, call, request_ptr = &request](grpc::Status status) {
          if (!status.ok()) {
            finish(false, 0);
            delete call;
            return;
          }
          call->answered = Clock::now();
          call->query.set_tenant(request_ptr->meta().tenant());
          // The party whose view shows the write (contacts and callbacks name one).
          call->query.set_party_id(request_ptr->has_register_interaction() ? request_ptr->register_interaction().party_id()
                                                                             : request_ptr->request_callback().party_id());
          call->query.set_page_size(1);
          for (const auto& p : call->reply.positions()) *call->query.mutable_consistency()->add_min_positions() = p;
          call->query_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
          queries_stub->async()->GetCustomerView(&call->query_context, &call->query, &call->view,
                                                 [&, call](grpc::Status query_status) {
                                                   finish(query_status.ok(), Ms(Clock::now() - call->answered));
                                                   delete call;
                                                 });
        });
  }
  std::unique_lock lock(shared.mutex);
  shared.cv.wait(lock, [&] { return shared.finished == workload.commands.size(); });
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (shared.failed > 0) log::Warn("bench", "freshness: {} of {} failed", shared.failed, workload.commands.size());
  return {static_cast<double>(workload.commands.size()) / seconds, shared.freshness.Percentile(50),
          shared.freshness.Percentile(99), seconds};
}

}  // namespace ks::bench
