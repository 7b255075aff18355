// The crash test: command-service, projector and query-service run as processes on the Kafka mock
// cluster under a continuous random workload, and are killed with SIGKILL at random moments and
// restarted, many times. The driver retries every command (same idempotency key) until it is
// accepted and keeps its own model of what was accepted. At the end the read models equal a clean
// rebuild from the log and the driver's model: zero lost, zero doubled.
//
// KS_CRASH_KILLS sets the number of kills (default 24; the long mode in the README uses 300).
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "klantstroom/v1/query_service.grpc.pb.h"
#include "ks/eventlog/dev_cluster.h"
#include "ks/eventlog/kafka_log.h"
#include "ks/query/query_engine.h"
#include "support/process.h"
#include "support/stack.h"
#include "support/temp_dir.h"

using namespace ks::testing;
namespace pb = ::klantstroom::v1;

namespace {

// One service process that can be killed and started again; its port changes every start.
class Service {
 public:
  Service(std::string program, std::vector<std::string> args, std::string log_path, bool serves)
      : program_(std::move(program)),
        args_(std::move(args)),
        log_path_(std::move(log_path)),
        serves_(serves) {
    Start();
  }
  void Start() {
    process_ = std::make_unique<ChildProcess>(ProgramPath(program_), args_, log_path_);
    if (serves_) {
      const int port = process_->WaitForPort();
      REQUIRE(port > 0);
      std::lock_guard lock(mutex_);
      address_ = "127.0.0.1:" + std::to_string(port);
    }
  }
  void KillAndRestart() {
    killed_.push_back(process_->pid());
    process_->Kill();
    Start();
  }
  int Terminate() {
    stopped_ = process_->pid();
    return process_->Terminate();
  }
  // The processes this service ran that are gone: killed, or stopped by Terminate().
  std::vector<pid_t> gone() const {
    std::vector<pid_t> out = killed_;
    if (stopped_ > 0) out.push_back(stopped_);
    return out;
  }
  std::string address() {
    std::lock_guard lock(mutex_);
    return address_;
  }

 private:
  std::string program_;
  std::vector<std::string> args_;
  std::string log_path_;
  bool serves_;
  std::unique_ptr<ChildProcess> process_;
  std::vector<pid_t> killed_;
  pid_t stopped_ = -1;
  std::mutex mutex_;
  std::string address_;
};

struct Model {
  std::vector<std::string> parties;
  std::map<std::string, int> messages_per_party;
  std::map<std::string, std::string> callback_party;
  std::map<std::string, int> attempts;
  // The highest position of every partition an accepted command was written at: a party's
  // messages are aggregates of their own, spread over partitions, and the projector (restarted,
  // catching up in small batches) may have reached one partition before another.
  std::map<int32_t, int64_t> written;
};

}  // namespace

TEST_CASE("crash test: services killed at random under load lose nothing and double nothing",
          "[e2e][crash]") {
  const char* env = std::getenv("KS_CRASH_KILLS");
  const int kills = env != nullptr ? std::atoi(env) : 24;
  auto cluster = ks::eventlog::DevCluster::Start(1, "klantstroom.events", 6);
  REQUIRE(cluster.has_value());
  TempDir dir;
  const std::string log_flag =
      "--log=kafka:" + (*cluster)->bootstrap_servers() + "/klantstroom.events";
  const std::string live = dir.Sub("read-models");
  const std::string logs = dir.Sub("services.log");
  Service commands("command-service/command-service",
                   {log_flag, "--listen=127.0.0.1:0", "--attachments=" + dir.Sub("attachments"),
                    "--vault=" + dir.Sub("vault")},
                   logs, true);
  Service projector(
      "projector/projector",
      {log_flag, "--read-models=" + live, "--batch=50", "--vault=" + dir.Sub("vault")}, logs,
      false);
  // Every directory under the test's own: the defaults (data/... in the working directory) are
  // shared with tests running beside this one, and two query services cannot hold one audit log.
  Service queries("query-service/query-service",
                  {"--read-models=" + live, "--listen=127.0.0.1:0", "--vault=" + dir.Sub("vault"),
                   "--audit=" + dir.Sub("audit"), "--attachments=" + dir.Sub("attachments")},
                  logs, true);

  Model model;
  std::atomic<bool> stop{false};
  std::atomic<int> retries{0};
  std::atomic<int> unexpected_codes{0};
  std::atomic<int> views_checked{0};
  std::atomic<int> commands_done{0};
  std::thread driver([&] {
    std::mt19937 rng(99);
    // Sends one command until it is accepted; retries reuse its idempotency key.
    auto send = [&](pb::ExecuteRequest request) -> pb::ExecuteReply {
      request.mutable_meta()->set_idempotency_key("crash-" + std::to_string(commands_done.load()));
      while (true) {
        auto stub = pb::CommandService::NewStub(
            grpc::CreateChannel(commands.address(), grpc::InsecureChannelCredentials()));
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        pb::ExecuteReply reply;
        grpc::Status status = stub->Execute(&context, request, &reply);
        if (status.ok()) {
          ++commands_done;
          for (const auto& p : reply.positions())
            model.written[p.partition()] = std::max(model.written[p.partition()], p.offset());
          return reply;
        }
        // Only transient answers are expected: the service is down, restarting or catching up.
        // (Counted, not REQUIREd: Catch2 assertions belong on the test's own thread.)
        const auto code = status.error_code();
        if (code != grpc::StatusCode::UNAVAILABLE && code != grpc::StatusCode::DEADLINE_EXCEEDED &&
            code != grpc::StatusCode::RESOURCE_EXHAUSTED && code != grpc::StatusCode::CANCELLED)
          ++unexpected_codes;
        ++retries;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    };
    while (!stop.load()) {
      const int what = static_cast<int>(rng() % 10);
      if (model.parties.size() < 5 || what == 0) {
        model.parties.push_back(
            send(RegisterPerson("Burger " + std::to_string(model.parties.size()))).aggregate_id());
      } else if (what < 6) {
        const std::string party = model.parties[rng() % model.parties.size()];
        send(RegisterMessage(party, pb::CHANNEL_WHATSAPP,
                             "bericht " + std::to_string(commands_done.load()),
                             1'794'815'220 + commands_done.load()));
        const int expected = ++model.messages_per_party[party];
        // Now and then, read it back through the query service (which may itself be down).
        if (rng() % 4 == 0) {
          pb::GetCustomerViewRequest request;
          request.set_tenant("gemeente-test");
          request.set_party_id(party);
          request.set_page_size(500);
          for (const auto& [partition, offset] : model.written) {
            auto* min = request.mutable_consistency()->add_min_positions();
            min->set_partition(partition);
            min->set_offset(offset);
          }
          auto stub = pb::QueryService::NewStub(
              grpc::CreateChannel(queries.address(), grpc::InsecureChannelCredentials()));
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
          pb::CustomerView view;
          if (stub->GetCustomerView(&context, request, &view).ok()) {
            ++views_checked;
            if (view.timeline_size() != expected)
              ++unexpected_codes;  // read-your-writes, exactly once
          }
        }
      } else if (what < 8 || model.callback_party.empty()) {
        const std::string party = model.parties[rng() % model.parties.size()];
        const auto reply =
            send(RequestCallback(party, "burgerzaken", "mdw-" + std::to_string(rng() % 3),
                                 pb::URGENCY_HIGH, 1'800'000'000));
        model.callback_party[reply.aggregate_id()] = party;
        model.attempts[reply.aggregate_id()] = 0;
      } else {
        auto it = model.callback_party.begin();
        std::advance(it, static_cast<long>(rng() % model.callback_party.size()));
        auto attempt = NewRequest();
        attempt.set_aggregate_id(it->first);
        attempt.mutable_record_callback_attempt()->set_outcome(pb::ATTEMPT_OUTCOME_NO_ANSWER);
        send(attempt);
        ++model.attempts[it->first];
      }
    }
  });

  std::mt19937 rng(2026);
  for (int k = 0; k < kills; ++k) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + rng() % 400));
    switch (rng() % 3) {
      case 0:
        commands.KillAndRestart();
        break;
      case 1:
        projector.KillAndRestart();
        break;
      default:
        queries.KillAndRestart();
        break;
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop.store(true);
  driver.join();
  INFO("commands accepted: " << commands_done.load() << ", retries after kills: " << retries.load()
                             << ", customer views read back: " << views_checked.load());
  CHECK(commands_done.load() > kills);
  CHECK(unexpected_codes.load() == 0);
  CHECK(views_checked.load() > 0);

  // The command service stops first: its policies may still be appending, so the log's end is
  // known only once it is down. Here that is the frequent-contact label (domain/policy.h): a party
  // registered late in the run reaches its fifth message in the last commands, and the policy
  // runner adds the label after that command was answered (the "late append" of an earlier
  // flake, when the end was read first). Then the projector finishes, and the rest stops cleanly.
  CHECK(commands.Terminate() == 0);
  auto log = ks::eventlog::OpenKafkaLog({.bootstrap_servers = (*cluster)->bootstrap_servers()});
  REQUIRE(log.has_value());
  auto ends = (*log)->EndOffsets();
  REQUIRE(ends.has_value());
  int64_t total = 0;
  for (int64_t e : *ends) total += e;
  int64_t applied = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (applied < total && std::chrono::steady_clock::now() < deadline) {
    auto stub = pb::QueryService::NewStub(
        grpc::CreateChannel(queries.address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    pb::Progress progress;
    if (stub->GetProgress(&context, pb::GetProgressRequest(), &progress).ok()) {
      applied = 0;
      for (const auto& p : progress.reflects()) applied += p.next_offset();
    }
    if (applied < total) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  REQUIRE(applied == total);
  CHECK(queries.Terminate() == 0);
  CHECK(projector.Terminate() == 0);
  // A killed query service leaves its private directory behind; the next one to start removes
  // it, and one stopped cleanly removes its own: none of them is left.
  for (pid_t pid : queries.gone()) {
    const std::string mine = "klantstroom-query-" + std::to_string(pid) + "-";
    for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::temp_directory_path())) {
      INFO(entry.path().string());
      CHECK_FALSE(entry.path().filename().string().starts_with(mine));
    }
  }

  // The read models equal a clean rebuild...
  CheckEqualsCleanRebuild(log_flag, "--vault=" + dir.Sub("vault"), live, dir.Sub("clean"), logs);

  // ...and the driver's own record of every command it was told was accepted.
  auto store = ks::readmodel::ReadModelStore::OpenPrimary(live);
  REQUIRE(store.has_value());
  auto vault = ks::privacy::KeyVault::Open(dir.Sub("vault"), false);  // the one the services used
  REQUIRE(vault.has_value());
  ks::query::QueryEngine engine(**store, **vault);
  for (const std::string& party : model.parties) {
    pb::GetCustomerViewRequest request;
    request.set_tenant("gemeente-test");
    request.set_party_id(party);
    request.set_page_size(500);
    auto view = engine.GetCustomerView((*store)->View(), request);
    REQUIRE(view.has_value());
    CHECK(view->timeline_size() == model.messages_per_party[party]);
    int callbacks = 0;
    for (const auto& [id, owner] : model.callback_party) callbacks += owner == party ? 1 : 0;
    CHECK(view->open_callbacks_size() == callbacks);
    for (const auto& cb : view->open_callbacks())
      CHECK(cb.attempts() == model.attempts[cb.callback_id()]);
  }
}
