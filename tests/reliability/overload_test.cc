// Overload: more commands than the service takes at once are refused with RESOURCE_EXHAUSTED
// (bounded queues, bounded memory), never crash it, and every accepted one is in the log once.
#include <catch2/catch.hpp>

#include <atomic>
#include <future>
#include <mutex>
#include <set>

#include "klantstroom/v1/events.pb.h"
#include "ks/command/command_handler.h"
#include "ks/eventlog/embedded_log.h"
#include "support/stack.h"
#include "support/temp_dir.h"
#include "support/vault.h"

using namespace ks;
using namespace ks::testing;
namespace pb = ::klantstroom::v1;

TEST_CASE("overload is refused with RESOURCE_EXHAUSTED and nothing accepted is lost", "[reliability][integration]") {
  TempDir dir;
  // fsync on every group commit keeps appends slow enough for commands to pile up.
  auto log = eventlog::OpenEmbeddedLog({.path = dir.Sub("log"), .partitions = 4, .sync = true});
  REQUIRE(log.has_value());
  auto handler = command::CommandHandler::Start(**log, ks::testing::TestVault(), nullptr, {.max_waiting_per_aggregate = 20, .max_in_flight = 200});
  REQUIRE(handler.has_value());
  auto party = (*handler)->ExecuteSync(RegisterPerson("Drukke Burger"));
  REQUIRE(party.has_value());

  constexpr int kCommands = 3000;
  std::atomic<int> answered{0};
  std::atomic<int> accepted{0};
  std::atomic<int> exhausted{0};
  std::atomic<int> other{0};
  std::mutex mutex;
  std::set<std::string> accepted_texts;
  for (int i = 0; i < kCommands; ++i) {
    // Half on one busy aggregate (the party's own queue), half spread over new interactions.
    pb::ExecuteRequest request;
    if (i % 2 == 0) {
      request = NewRequest();
      request.set_aggregate_id(party->aggregate_id());
      request.mutable_change_party_name()->set_display_name("Naam " + std::to_string(i));
    } else {
      request = RegisterMessage(party->aggregate_id(), pb::CHANNEL_CHAT, "bericht " + std::to_string(i), 1'794'815'220);
    }
    const std::string text = i % 2 == 0 ? "Naam " + std::to_string(i) : "bericht " + std::to_string(i);
    (*handler)->Execute(std::move(request), [&, text](Result<pb::ExecuteReply> r) {
      if (r) {
        ++accepted;
        std::lock_guard lock(mutex);
        accepted_texts.insert(text);
      } else if (r.error().code() == StatusCode::kResourceExhausted) {
        ++exhausted;
      } else {
        UNSCOPED_INFO(r.error().ToString());
        ++other;
      }
      ++answered;
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (answered.load() < kCommands && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(answered.load() == kCommands);
  CHECK(other.load() == 0);
  CHECK(exhausted.load() > 0);
  CHECK(accepted.load() > 0);

  // Every accepted command is in the log exactly once; nothing refused is.
  auto ends = (*log)->EndOffsets();
  REQUIRE(ends.has_value());
  std::multiset<std::string> logged;
  REQUIRE(eventlog::ReadUntil(**log, std::vector<int64_t>(4, 0), *ends, [&](const eventlog::StoredRecord& record) {
            const pb::EventEnvelope event = ks::testing::OpenedEvent(record.value);
            if (event.has_party_name_changed()) logged.insert(event.party_name_changed().display_name());
            if (event.has_interaction_registered()) logged.insert(event.interaction_registered().text());
            return Status::Ok();
          }).ok());
  CHECK(logged.size() == static_cast<size_t>(accepted.load()));
  for (const auto& text : accepted_texts) CHECK(logged.count(text) == 1);
}

namespace {

// A command handler on an fsynced embedded log (slow appends, so that commands queue behind an
// aggregate), and one registered party to send renames to.
struct OneParty {
  TempDir dir;
  std::unique_ptr<eventlog::EventLog> log;
  std::unique_ptr<command::CommandHandler> handler;
  std::string party_id;

  OneParty() {
    auto opened = eventlog::OpenEmbeddedLog({.path = dir.Sub("log"), .partitions = 2, .sync = true});
    REQUIRE(opened.has_value());
    log = std::move(*opened);
    auto started = command::CommandHandler::Start(*log, ks::testing::TestVault());
    REQUIRE(started.has_value());
    handler = std::move(*started);
    auto party = handler->ExecuteSync(RegisterPerson("Burger"));
    REQUIRE(party.has_value());
    party_id = party->aggregate_id();
  }
  pb::ExecuteRequest Rename(const std::string& name) const {
    auto r = NewRequest();
    r.set_aggregate_id(party_id);
    r.mutable_change_party_name()->set_display_name(name);
    return r;
  }
};

}  // namespace

TEST_CASE("a command whose caller's deadline passed while it waited is not run", "[reliability][integration]") {
  OneParty setup;
  auto rename = [&](const std::string& name) { return setup.Rename(name); };
  std::atomic<int> answered{0};
  std::atomic<bool> expired_refused{false};
  // Many renames queue behind each other on one aggregate; the last one's deadline is already over.
  for (int i = 0; i < 50; ++i)
    setup.handler->Execute(rename("Naam " + std::to_string(i)), [&](Result<pb::ExecuteReply>) { ++answered; });
  setup.handler->Execute(
      rename("Te laat"),
      [&](Result<pb::ExecuteReply> r) {
        expired_refused = !r && r.error().code() == StatusCode::kDeadlineExceeded;
        ++answered;
      },
      std::chrono::system_clock::now() - std::chrono::milliseconds(1));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (answered.load() < 51 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(answered.load() == 51);
  CHECK(expired_refused.load());
  auto state = setup.handler->StateOf(setup.party_id);
  CHECK(state.as<ks::domain::PartyState>().display_name != "Te laat");
}

TEST_CASE("a command handler going away answers every command it accepted, and writes only what it confirmed",
          "[reliability][integration]") {
  // An append's callback answers its command and then runs the aggregate's next waiting one, on
  // the log's thread. A handler destroyed just after an answer waits for the append under way
  // and refuses what still waits (UNAVAILABLE, retryable, nothing written): no command is left
  // unanswered, and the callback never uses a handler that is gone.
  OneParty setup;
  constexpr int kRenames = 30;
  std::atomic<int> succeeded{0};
  std::atomic<int> refused{0};
  std::atomic<int> answered{0};
  std::promise<void> first_answer;
  for (int i = 0; i < kRenames; ++i) {
    setup.handler->Execute(setup.Rename("Naam " + std::to_string(i)), [&](Result<pb::ExecuteReply> r) {
      if (r)
        ++succeeded;
      else if (r.error().code() == StatusCode::kUnavailable)
        ++refused;
      if (answered.fetch_add(1) == 0) first_answer.set_value();
    });
  }
  first_answer.get_future().wait();
  setup.handler.reset();  // the others still wait behind the aggregate, one fsynced append each
  CHECK(answered.load() == kRenames);
  CHECK(succeeded.load() + refused.load() == kRenames);
  CHECK(succeeded.load() >= 1);  // the first, at least (how many more depends on timing)
  auto ends = setup.log->EndOffsets();
  REQUIRE(ends.has_value());
  int renames_logged = 0;
  REQUIRE(eventlog::ReadUntil(*setup.log, std::vector<int64_t>(2, 0), *ends, [&](const eventlog::StoredRecord& record) {
            renames_logged += ks::testing::OpenedEvent(record.value).has_party_name_changed() ? 1 : 0;
            return Status::Ok();
          }).ok());
  CHECK(renames_logged == succeeded.load());
}
