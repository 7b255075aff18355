// Projector crash-resume: while commands stream into Kafka (the mock cluster, over TCP), the
// projector process is killed with SIGKILL at random moments and restarted. In the end its read
// models must equal a clean rebuild from the log and the driver's own record of every command it
// was told was accepted: no event lost, none counted twice.
#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <future>
#include <map>
#include <random>
#include <regex>
#include <thread>

#include "ks/command/command_handler.h"
#include "ks/eventlog/dev_cluster.h"
#include "ks/eventlog/kafka_log.h"
#include "ks/query/query_engine.h"
#include "support/process.h"
#include "support/stack.h"
#include "support/temp_dir.h"
#include "support/vault.h"

using namespace ks::testing;
namespace pb = ::klantstroom::v1;

namespace {

// What the driver knows it was told was accepted.
struct Model {
  std::mutex mutex;
  std::vector<std::string> parties;
  std::map<std::string, int> interactions_per_party;
  std::map<std::string, int> attempts_per_callback;
  std::map<std::string, std::string> callback_party;
  std::map<std::string, bool> callback_completed;
};

int64_t Sum(const std::vector<int64_t>& v) {
  int64_t total = 0;
  for (int64_t x : v) total += x;
  return total;
}

}  // namespace

TEST_CASE("a projector killed with SIGKILL mid-stream resumes to exactly a clean rebuild", "[e2e][crash]") {
  auto cluster = ks::eventlog::DevCluster::Start(1, "klantstroom.events", 6);
  REQUIRE(cluster.has_value());
  auto log = ks::eventlog::OpenKafkaLog({.bootstrap_servers = (*cluster)->bootstrap_servers(),
                                         .topic = "klantstroom.events", .linger_ms = 2});
  REQUIRE(log.has_value());
  auto handler = ks::command::CommandHandler::Start(**log, ks::testing::TestVault());
  REQUIRE(handler.has_value());
  TempDir dir;
  const std::string log_flag = "--log=kafka:" + (*cluster)->bootstrap_servers() + "/klantstroom.events";
  const std::string live = dir.Sub("live");
  const std::string projector_log = dir.Sub("projector.log");

  Model model;
  std::atomic<bool> producing{true};
  std::thread driver([&] {
    std::mt19937 rng(7);
    for (int wave = 0; wave < 12; ++wave) {
      std::vector<std::future<void>> pending;
      auto run = [&](pb::ExecuteRequest request, std::function<void(const pb::ExecuteReply&)> on_ok) {
        auto done = std::make_shared<std::promise<void>>();
        pending.push_back(done->get_future());
        (*handler)->Execute(std::move(request), [done, on_ok](ks::Result<pb::ExecuteReply> r) {
          if (r) on_ok(*r);
          done->set_value();
        });
      };
      for (int i = 0; i < 5; ++i)
        run(RegisterPerson("Burger " + std::to_string(wave) + "-" + std::to_string(i)), [&](const pb::ExecuteReply& r) {
          std::lock_guard lock(model.mutex);
          model.parties.push_back(r.aggregate_id());
        });
      for (auto& f : pending) f.wait();
      pending.clear();
      std::vector<std::string> parties;
      std::vector<std::string> callbacks;
      {
        std::lock_guard lock(model.mutex);
        parties = model.parties;
        for (const auto& [id, completed] : model.callback_completed)
          if (!completed) callbacks.push_back(id);
      }
      for (int i = 0; i < 120; ++i) {
        const std::string party = parties[rng() % parties.size()];
        run(RegisterMessage(party, pb::CHANNEL_WHATSAPP, "bericht " + std::to_string(i), 1'794'815'220 + wave * 1000 + i),
            [&, party](const pb::ExecuteReply&) {
              std::lock_guard lock(model.mutex);
              ++model.interactions_per_party[party];
            });
      }
      for (int i = 0; i < 10; ++i) {
        const std::string party = parties[rng() % parties.size()];
        run(RequestCallback(party, "burgerzaken", "medewerker-" + std::to_string(i % 3), pb::URGENCY_NORMAL, 0),
            [&, party](const pb::ExecuteReply& r) {
              std::lock_guard lock(model.mutex);
              model.callback_party[r.aggregate_id()] = party;
              model.callback_completed[r.aggregate_id()] = false;
              model.attempts_per_callback[r.aggregate_id()] = 0;
            });
      }
      for (const std::string& id : callbacks) {
        auto attempt = NewRequest();
        attempt.set_aggregate_id(id);
        attempt.mutable_record_callback_attempt()->set_outcome(pb::ATTEMPT_OUTCOME_NO_ANSWER);
        run(attempt, [&, id](const pb::ExecuteReply&) {
          std::lock_guard lock(model.mutex);
          ++model.attempts_per_callback[id];
        });
        if (rng() % 3 == 0) {
          auto complete = NewRequest();
          complete.set_aggregate_id(id);
          complete.mutable_complete_callback()->set_report("gebeld");
          run(complete, [&, id](const pb::ExecuteReply&) {
            std::lock_guard lock(model.mutex);
            model.callback_completed[id] = true;
          });
        }
      }
      for (auto& f : pending) f.wait();
      std::this_thread::sleep_for(std::chrono::milliseconds(150));
    }
    producing.store(false);
  });

  // Kill the projector at random moments while the stream runs.
  std::mt19937 rng(42);
  int kills = 0;
  while (producing.load() || kills < 4) {
    ChildProcess projector(ProgramPath("projector/projector"), {log_flag, "--read-models=" + live, "--batch=25", "--vault=" + ks::testing::TestVault().dir()},
                           projector_log);
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 400));
    projector.Kill();
    ++kills;
  }
  driver.join();
  INFO("kills: " << kills);
  CHECK(kills >= 4);

  // A last life: run until every event is applied, then stop cleanly.
  auto ends = (*log)->EndOffsets();
  REQUIRE(ends.has_value());
  const int64_t total = Sum(*ends);
  {
    ChildProcess projector(ProgramPath("projector/projector"), {log_flag, "--read-models=" + live, "--vault=" + ks::testing::TestVault().dir()}, projector_log);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    int64_t applied = 0;
    while (applied < total && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      auto reader = ks::readmodel::ReadModelStore::OpenSecondary(live, dir.Sub("secondary"));
      if (!reader) continue;
      auto progress = (*reader)->View().ReadProgress();
      applied = 0;
      if (progress)
        for (const auto& [p, next] : *progress) applied += next;
    }
    REQUIRE(applied == total);
    CHECK(projector.Terminate() == 0);
  }

  // The kills really landed mid-stream: some restart resumed between the first and the last event.
  {
    std::ifstream in(projector_log);
    std::string line;
    std::regex resumed("from ([0-9]+) events already applied");
    int mid_stream = 0;
    while (std::getline(in, line)) {
      std::smatch m;
      if (std::regex_search(line, m, resumed)) {
        const int64_t n = std::stoll(m[1]);
        if (n > 0 && n < total) ++mid_stream;
      }
    }
    INFO("restarts that resumed mid-stream: " << mid_stream);
    CHECK(mid_stream >= 2);
  }

  // A clean rebuild from offset 0 equals the read models that lived through the kills.
  CheckEqualsCleanRebuild(log_flag, "--vault=" + ks::testing::TestVault().dir(), live, dir.Sub("clean"),
                          projector_log);

  // And both equal what the driver was told was accepted.
  auto store = ks::readmodel::ReadModelStore::OpenPrimary(live);
  REQUIRE(store.has_value());
  ks::query::QueryEngine engine(**store, ks::testing::TestVault());
  auto view = (*store)->View();
  int64_t interactions_seen = 0;
  for (const std::string& party : model.parties) {
    pb::GetCustomerViewRequest request;
    request.set_tenant("gemeente-test");
    request.set_party_id(party);
    request.set_page_size(500);
    auto customer = engine.GetCustomerView(view, request);
    REQUIRE(customer.has_value());
    CHECK(customer->timeline_size() == model.interactions_per_party[party]);
    interactions_seen += customer->timeline_size();
    int open = 0;
    for (const auto& [id, p] : model.callback_party)
      if (p == party && !model.callback_completed[id]) ++open;
    CHECK(customer->open_callbacks_size() == open);
    for (const auto& cb : customer->open_callbacks()) CHECK(cb.attempts() == model.attempts_per_callback[cb.callback_id()]);
  }
  CHECK(interactions_seen == 12 * 120);
}
