#include "src/benchmarks.h"

#include <google/protobuf/util/time_util.h>
#include <grpcpp/grpcpp.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>

#include "bench.grpc.pb.h"
#include "klantstroom/v1/command_service.grpc.pb.h"
#include "klantstroom/v1/query_service.grpc.pb.h"
#include "ks/allinone/all_in_one.h"
#include "ks/core/child_process.h"
#include "ks/core/log.h"
#include "ks/eventlog/dev_cluster.h"
#include "ks/eventlog/embedded_log.h"
#include "ks/eventlog/kafka_log.h"
#include "ks/eventlog/open.h"
#include "ks/projector/projector.h"
#include "ks/replay/replay.h"
#include "ks/rpc/server.h"
#include "ks/search/search_index.h"
#include "src/workload.h"

namespace ks::bench {
namespace {

namespace pb = ::klantstroom::v1;
using Clock = std::chrono::steady_clock;
using google::protobuf::util::TimeUtil;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

class EchoService final : public klantstroom::bench::Echo::CallbackService {
  grpc::ServerUnaryReactor* Echo(grpc::CallbackServerContext* context,
                                 const klantstroom::bench::EchoMessage* request,
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

namespace {

// Sends the workload to the CommandService on `port`, `options.concurrency` commands in flight:
// the parties first (not measured), then the commands, one per Execute call or `batch` per
// ExecuteBatch call.
Sample SendWorkload(int port, const BenchOptions& options, size_t* request_bytes, size_t batch = 1,
                    Sample* registrations = nullptr) {
  auto stub = pb::CommandService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  const Workload workload = MakeWorkload(options.parties, options.commands, options.seed);
  struct Call {
    grpc::ClientContext context;
    pb::ExecuteReply reply;
  };
  auto send = [&](const std::vector<pb::ExecuteRequest>& requests) {
    return RunInFlight(requests.size(), options.concurrency,
                       [&](size_t i, std::function<void(bool)> done) {
                         auto* call = new Call();
                         stub->async()->Execute(&call->context, &requests[i], &call->reply,
                                                [call, done](grpc::Status status) {
                                                  delete call;
                                                  done(status.ok());
                                                });
                       });
  };
  const Sample registered = send(workload.parties);
  if (registrations != nullptr) *registrations = registered;
  size_t bytes = 0;
  for (const auto& r : workload.commands) bytes += r.ByteSizeLong();
  *request_bytes = bytes / std::max<size_t>(1, workload.commands.size());
  if (batch <= 1) return send(workload.commands);

  std::vector<pb::ExecuteBatchRequest> batches;
  for (size_t i = 0; i < workload.commands.size(); i += batch) {
    pb::ExecuteBatchRequest& b = batches.emplace_back();
    for (size_t j = i; j < std::min(i + batch, workload.commands.size()); ++j)
      *b.add_commands() = workload.commands[j];
  }
  struct BatchCall {
    grpc::ClientContext context;
    pb::ExecuteBatchReply reply;
  };
  const int calls_in_flight = std::max(1, options.concurrency / static_cast<int>(batch));
  Sample s = RunInFlight(batches.size(), calls_in_flight, [&](size_t i, std::function<void(bool)> done) {
    auto* call = new BatchCall();
    stub->async()->ExecuteBatch(&call->context, &batches[i], &call->reply,
                                [call, done](grpc::Status status) {
                                  bool ok = status.ok();
                                  for (const auto& result : call->reply.results()) ok = ok && result.has_reply();
                                  delete call;
                                  done(ok);
                                });
  });
  s.per_second = static_cast<double>(workload.commands.size()) / s.seconds;
  return s;
}

}  // namespace

Sample IngestBenchmark(const BenchOptions& options, const std::string& programs_dir,
                       size_t* request_bytes, size_t batch, Sample* registrations) {
  const std::string dir = options.work_dir + (batch > 1 ? "/ingest-batch-" : "/ingest-") +
                          std::to_string(options.seed);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  ChildProcess service(programs_dir + "/command-service/command-service",
                       {"--log=embedded:" + dir + "/log", "--vault=" + dir + "/vault",
                        "--attachments=" + dir + "/attachments", "--listen=127.0.0.1:0"},
                       options.work_dir + "/command-service.log");
  const int port = service.WaitForPort();
  KS_CHECK(port > 0);
  const Sample s = SendWorkload(port, options, request_bytes, batch, registrations);
  KS_CHECK(service.Terminate() == 0);
  return s;
}

Sample AllInOneIngestBenchmark(const BenchOptions& options) {
  const std::string dir = options.work_dir + "/all-in-one-" + std::to_string(options.seed);
  std::filesystem::remove_all(dir);
  auto app = allinone::AllInOne::Start(
      {.data_dir = dir, .listen = "127.0.0.1:0", .partitions = 12, .sync = true});
  KS_CHECK(app.has_value());
  size_t request_bytes = 0;
  return SendWorkload((*app)->port(), options, &request_bytes);
}

Sample ProjectionBenchmark(const BenchOptions& options, ProjectorWrites* writes) {
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
  projector::ProjectorOptions projector_options;
  if (writes != nullptr) {
    writes->batches.clear();
    // With several workers their batches are built side by side: kept in the order they arrive.
    auto mutex = std::make_shared<std::mutex>();
    projector_options.before_commit = [writes, mutex](const rocksdb::WriteBatch& batch) {
      std::lock_guard lock(*mutex);
      writes->batches.push_back(batch.Data());
    };
  }
  auto projector = projector::Projector::Open(**log, **store, **vault, projector_options);
  KS_CHECK(projector.has_value());
  auto ends = (*log)->EndOffsets();
  KS_CHECK(ends.has_value());
  const auto start = Clock::now();
  KS_CHECK((*projector)->CatchUpTo(*ends).ok());
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (writes != nullptr) writes->events = static_cast<size_t>((*projector)->events_applied());
  return {static_cast<double>((*projector)->events_applied()) / seconds, 0, 0, seconds};
}

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

void ForEachRecord(const std::string& log_spec,
                   const std::function<void(const eventlog::StoredRecord&)>& visit) {
  auto log = eventlog::OpenLogForReading(log_spec);
  KS_CHECK(log.has_value());
  auto ends = (*log)->EndOffsets();
  KS_CHECK(ends.has_value());
  KS_CHECK(eventlog::ReadUntil(**log, std::vector<int64_t>(ends->size(), 0), *ends,
                               [&](const eventlog::StoredRecord& r) {
                                 visit(r);
                                 return Status::Ok();
                               })
               .ok());
}

KafkaSamples KafkaBenchmark(const BenchOptions& options) {
  std::vector<eventlog::Record> records;
  ForEachRecord("embedded:" + options.work_dir + "/ingest-" + std::to_string(options.seed) + "/log",
                [&](const eventlog::StoredRecord& r) {
                  records.push_back({r.key, r.value, r.timestamp_ms});
                });
  const size_t n = records.size();
  auto cluster = eventlog::DevCluster::Start(3, "bench", 12);
  KS_CHECK(cluster.has_value());
  auto kafka = eventlog::OpenKafkaLog({.bootstrap_servers = (*cluster)->bootstrap_servers(),
                                       .topic = "bench",
                                       .partitions = 12,
                                       .linger_ms = 5});
  KS_CHECK(kafka.has_value());
  KafkaSamples out;
  {
    // Appends of 100 records each, many in flight, as the command service's group commits do.
    std::mutex mutex;
    std::condition_variable cv;
    size_t pending = 0;
    const auto start = Clock::now();
    for (size_t i = 0; i < n; i += 100) {
      std::vector<eventlog::Record> batch(
          records.begin() + static_cast<std::ptrdiff_t>(i),
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
    auto vault = privacy::KeyVault::Open(
        options.work_dir + "/ingest-" + std::to_string(options.seed) + "/vault",
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

namespace {

// Replays the projector's batches into a fresh store of the same options: each put and delete
// as the projector wrote it, with `read_first` each key read before it is written.
Sample ReplayWrites(const std::string& dir, const ProjectorWrites& writes, bool read_first) {
  struct Copy : rocksdb::WriteBatch::Handler {
    rocksdb::DB* db = nullptr;
    bool read_first = false;
    rocksdb::WriteBatch out;
    std::string current;
    void Read(const rocksdb::Slice& key) {
      if (!read_first) return;
      const rocksdb::Status s = db->Get(rocksdb::ReadOptions(), key, &current);
      KS_CHECK(s.ok() || s.IsNotFound());
    }
    void Put(const rocksdb::Slice& key, const rocksdb::Slice& value) override {
      Read(key);
      KS_CHECK(out.Put(key, value).ok());
    }
    void Delete(const rocksdb::Slice& key) override {
      Read(key);
      KS_CHECK(out.Delete(key).ok());
    }
    void Merge(const rocksdb::Slice& key, const rocksdb::Slice& value) override {
      Read(key);
      KS_CHECK(out.Merge(key, value).ok());
    }
  };
  std::filesystem::remove_all(dir);
  auto store = readmodel::ReadModelStore::OpenPrimary(dir);
  KS_CHECK(store.has_value());
  rocksdb::DB* db = (*store)->db();
  rocksdb::WriteOptions options;
  options.sync = false;  // as the projector commits
  Copy copy;
  copy.db = db;
  copy.read_first = read_first;
  const auto start = Clock::now();
  for (const std::string& data : writes.batches) {
    rocksdb::WriteBatch batch(data);
    copy.out.Clear();
    KS_CHECK(batch.Iterate(&copy).ok());
    KS_CHECK(db->Write(options, &copy.out).ok());
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return {static_cast<double>(writes.events) / seconds, 0, 0, seconds};
}

}  // namespace

Sample RocksReadModifyWrite(const std::string& dir, const ProjectorWrites& writes) {
  return ReplayWrites(dir, writes, /*read_first=*/true);
}

Sample RocksBatchPut(const std::string& dir, const ProjectorWrites& writes) {
  return ReplayWrites(dir, writes, /*read_first=*/false);
}

namespace {

// Until the all-in-one's search indexer has committed the setup's events (up to `ends`): the
// query benchmarks time the queries without the setup's indexing beside them, as the echo they
// are held to runs alone (indexing a thousand meldingen, each then sealed under a new key when
// the reporter was anonymous, took over a second and overlapped the timed calls). A read that fails
// while the indexer commits is tried again; an indexer that never gets there stops the run.
void WaitUntilIndexed(const std::string& data_dir, const std::vector<int64_t>& ends) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (true) {
    auto indexed = search::CommittedPositions(data_dir + "/search", ends.size());
    bool done = indexed.has_value();
    for (size_t p = 0; done && p < ends.size(); ++p) done = (*indexed)[p] >= ends[p];
    if (done) return;
    if (std::chrono::steady_clock::now() > give_up) {
      log::Error("bench", "the search index did not reach the log's end within 5 minutes{}",
                 indexed ? "" : ": " + indexed.error().ToString());
      std::abort();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

Sample CustomerViewBenchmark(const BenchOptions& options, size_t* answer_bytes) {
  const std::string dir = options.work_dir + "/views";
  std::filesystem::remove_all(dir);
  auto app = allinone::AllInOne::Start(
      {.data_dir = dir, .listen = "127.0.0.1:0", .partitions = 12, .sync = false});
  KS_CHECK(app.has_value());
  pb::LogPosition last;
  for (auto& request : BusyParty("veelbeller", 300)) {
    auto reply = (*app)->commands().ExecuteSync(std::move(request));
    KS_CHECK(reply.has_value());
  }
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string((*app)->port()),
                                     grpc::InsecureChannelCredentials());
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
  WaitUntilIndexed(dir, *ends);
  struct Call {
    grpc::ClientContext context;
    pb::CustomerView reply;
  };
  return RunInFlight(options.queries, options.concurrency,
                     [&](size_t, std::function<void(bool)> done) {
                       auto* call = new Call();
                       stub->async()->GetCustomerView(&call->context, &request, &call->reply,
                                                      [call, done](grpc::Status status) {
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
// `meldingen` open meldingen, fully projected. The callbacks are for one party, "Bench Burger",
// whose id goes to `*party_id`; with `reported_by_party` she reported the meldingen too (else no one
// is named).
std::unique_ptr<allinone::AllInOne> LoadedApp(const std::string& dir, size_t callbacks,
                                              size_t meldingen, bool reported_by_party = false,
                                              std::string* party_id = nullptr) {
  std::filesystem::remove_all(dir);
  auto app = allinone::AllInOne::Start(
      {.data_dir = dir, .listen = "127.0.0.1:0", .partitions = 12, .sync = false});
  KS_CHECK(app.has_value());
  auto& handler = (*app)->commands();
  pb::ExecuteRequest party = BenchRequest("party");
  party.mutable_register_party()->set_kind(pb::PARTY_KIND_PERSON);
  party.mutable_register_party()->set_display_name("Bench Burger");
  auto registered = handler.ExecuteSync(party);
  KS_CHECK(registered.has_value());
  if (party_id != nullptr) *party_id = registered->aggregate_id();
  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  for (size_t i = 0; i < callbacks; ++i) {
    pb::ExecuteRequest r = BenchRequest("cb-" + std::to_string(i));
    auto* c = r.mutable_request_callback();
    c->set_party_id(registered->aggregate_id());
    c->set_subject("Vraag over de vergunning");
    c->set_context(std::string(300, 'x'));
    c->set_urgency(i % 3 == 0 ? pb::URGENCY_HIGH : pb::URGENCY_NORMAL);
    c->mutable_target()->set_department("vergunningen");
    *c->mutable_due_at() =
        TimeUtil::SecondsToTimestamp(now_s + static_cast<int64_t>(i % 100) * 3600);
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
    // No address to acknowledge to: a notification per melding would be requested beside the
    // run (by the all-in-one's policy runner) and change the view while it is measured.
    if (reported_by_party) m->set_reporter_party_id(registered->aggregate_id());
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
  WaitUntilIndexed(dir, *ends);
  return std::move(*app);
}

// `send(context, request, reply, on_done)` starts one asynchronous call. A quarter of
// `options.queries` calls: each of these answers opens and serialises a page of 50-100 records,
// and 5,000 calls give a steady p99 while keeping the run within minutes.
template <typename Request, typename Reply, typename Send>
Sample QueryInFlight(const BenchOptions& options, const Request& request, Send send) {
  struct Call {
    grpc::ClientContext context;
    Reply reply;
  };
  return RunInFlight(std::max<size_t>(1, options.queries / 4), options.concurrency,
                     [&](size_t, std::function<void(bool)> done) {
                       auto* call = new Call();
                       send(&call->context, &request, &call->reply,
                            [call, done](grpc::Status status) {
                              delete call;
                              done(status.ok());
                            });
                     });
}

}  // namespace

Sample CallbackQueueBenchmark(const BenchOptions& options, size_t* answer_bytes) {
  auto app = LoadedApp(options.work_dir + "/queue", options.open_callbacks, 0);
  auto stub = pb::QueryService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(app->port()), grpc::InsecureChannelCredentials()));
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
      options, request,
      [&](auto* context, auto* req, auto* reply, std::function<void(grpc::Status)> done) {
        stub->async()->GetCallbackQueue(context, req, reply, std::move(done));
      });
}

Sample FrequentReporterViewBenchmark(const BenchOptions& options, size_t* answer_bytes) {
  std::string party_id;
  auto app = LoadedApp(options.work_dir + "/reporter", options.open_callbacks, options.open_meldingen,
                       /*reported_by_party=*/true, &party_id);
  auto stub = pb::QueryService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(app->port()), grpc::InsecureChannelCredentials()));
  pb::GetCustomerViewRequest request;
  request.set_tenant("gemeente-ede");
  request.set_party_id(party_id);
  request.set_page_size(50);
  {
    grpc::ClientContext context;
    pb::CustomerView view;
    KS_CHECK(stub->GetCustomerView(&context, request, &view).ok());
    KS_CHECK(static_cast<size_t>(view.meldingen_size()) == std::min<size_t>(200, options.open_meldingen));
    KS_CHECK(static_cast<size_t>(view.open_callbacks_size()) == std::min<size_t>(100, options.open_callbacks));
    *answer_bytes = view.ByteSizeLong();
  }
  return QueryInFlight<pb::GetCustomerViewRequest, pb::CustomerView>(
      options, request,
      [&](auto* context, auto* req, auto* reply, std::function<void(grpc::Status)> done) {
        stub->async()->GetCustomerView(context, req, reply, std::move(done));
      });
}

Sample OpenMeldingenBenchmark(const BenchOptions& options, size_t* answer_bytes) {
  auto app = LoadedApp(options.work_dir + "/meldingen", 0, options.open_meldingen);
  auto stub = pb::QueryService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(app->port()), grpc::InsecureChannelCredentials()));
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
      options, request,
      [&](auto* context, auto* req, auto* reply, std::function<void(grpc::Status)> done) {
        stub->async()->ListMeldingen(context, req, reply, std::move(done));
      });
}

Sample FreshnessBenchmark(const BenchOptions& options, double rate, size_t commands, size_t probe_every) {
  KS_CHECK(probe_every >= 1);
  const std::string dir = options.work_dir + "/freshness";
  std::filesystem::remove_all(dir);
  auto app = allinone::AllInOne::Start(
      {.data_dir = dir, .listen = "127.0.0.1:0", .partitions = 12, .sync = true});
  KS_CHECK(app.has_value());
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string((*app)->port()),
                                     grpc::InsecureChannelCredentials());
  auto commands_stub = pb::CommandService::NewStub(channel);
  auto queries_stub = pb::QueryService::NewStub(channel);
  const Workload workload = MakeWorkload(options.parties, commands, options.seed + 1000);
  for (const auto& party : workload.parties)
    KS_CHECK((*app)->commands().ExecuteSync(party).has_value());

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
  // A command is finished when it failed, when it was answered and not probed (no latency), or
  // when its probe answered (the latency from the command's answer).
  auto finish = [&shared](bool ok, std::optional<double> ms) {
    std::lock_guard lock(shared.mutex);
    if (!ok)
      ++shared.failed;
    else if (ms)
      shared.freshness.Add(*ms);
    ++shared.finished;
    shared.cv.notify_all();
  };
  const auto start = Clock::now();
  const auto interval =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / rate));
  for (size_t i = 0; i < workload.commands.size(); ++i) {
    std::this_thread::sleep_until(start + interval * static_cast<int64_t>(i));
    const pb::ExecuteRequest& request = workload.commands[i];
    auto* call = new Call();
    commands_stub->async()->Execute(
        &call->command_context, &request, &call->reply,
        [&, call, i, request_ptr = &request](grpc::Status status) {
          if (!status.ok()) {
            finish(false, std::nullopt);
            delete call;
            return;
          }
          call->answered = Clock::now();
          if (i % probe_every != 0) {
            finish(true, std::nullopt);
            delete call;
            return;
          }
          call->query.set_tenant(request_ptr->meta().tenant());
          // The party whose view shows the write (contacts and callbacks name one).
          call->query.set_party_id(request_ptr->has_register_interaction()
                                       ? request_ptr->register_interaction().party_id()
                                       : request_ptr->request_callback().party_id());
          call->query.set_page_size(1);
          for (const auto& p : call->reply.positions())
            *call->query.mutable_consistency()->add_min_positions() = p;
          call->query_context.set_deadline(std::chrono::system_clock::now() +
                                           std::chrono::seconds(10));
          queries_stub->async()->GetCustomerView(&call->query_context, &call->query, &call->view,
                                                 [&, call](grpc::Status query_status) {
                                                   finish(query_status.ok(),
                                                          Ms(Clock::now() - call->answered));
                                                   delete call;
                                                 });
        });
  }
  std::unique_lock lock(shared.mutex);
  shared.cv.wait(lock, [&] { return shared.finished == workload.commands.size(); });
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (shared.failed > 0)
    log::Warn("bench", "freshness: {} of {} failed", shared.failed, workload.commands.size());
  return {static_cast<double>(workload.commands.size()) / seconds, shared.freshness.Percentile(50),
          shared.freshness.Percentile(99), seconds};
}

}  // namespace ks::bench
