// Duplicate and reordered delivery: the same history delivered with duplicates, and in another
// order across partitions (a log with another partition count), folds into the very same read
// models as the history delivered once, in order.
#include <catch2/catch.hpp>

#include <map>
#include <random>

#include "klantstroom/v1/events.pb.h"
#include "ks/command/command_handler.h"
#include "ks/eventlog/embedded_log.h"
#include "ks/projector/projector.h"
#include "support/stack.h"
#include "support/store_compare.h"
#include "support/temp_dir.h"
#include "support/vault.h"

using namespace ks;
using namespace ks::testing;
namespace pb = ::klantstroom::v1;

namespace {

// Folds the records of `log` into a new store at `path`.
void Project(eventlog::EventLog& log, const std::string& path) {
  auto store = readmodel::ReadModelStore::OpenPrimary(path);
  REQUIRE(store.has_value());
  auto projector = projector::Projector::Open(log, **store, ks::testing::TestVault());
  REQUIRE(projector.has_value());
  auto ends = log.EndOffsets();
  REQUIRE(ends.has_value());
  REQUIRE((*projector)->CatchUpTo(*ends).ok());
}

}  // namespace

TEST_CASE("duplicates and another order across partitions leave the read models unchanged",
          "[reliability][integration]") {
  TempDir dir;
  // A realistic history, through the command handler.
  std::vector<eventlog::Record> history;
  {
    auto log = eventlog::OpenEmbeddedLog({.path = dir.Sub("original"), .partitions = 4, .sync = false});
    REQUIRE(log.has_value());
    auto handler = command::CommandHandler::Start(**log, ks::testing::TestVault());
    REQUIRE(handler.has_value());
    std::mt19937 rng(11);
    std::vector<std::string> parties;
    std::vector<std::string> callbacks;
    for (int i = 0; i < 10; ++i)
      parties.push_back((*handler)->ExecuteSync(RegisterPerson("Burger " + std::to_string(i), "",
                                                               "06" + std::to_string(10000000 + i)))->aggregate_id());
    for (int i = 0; i < 200; ++i) {
      const std::string& party = parties[rng() % parties.size()];
      switch (rng() % 4) {
        case 0:
          callbacks.push_back((*handler)
                                  ->ExecuteSync(RequestCallback(party, "burgerzaken", "mdw-" + std::to_string(rng() % 3),
                                                                pb::URGENCY_NORMAL, 1'800'000'000))
                                  ->aggregate_id());
          break;
        case 1:
          if (!callbacks.empty()) {
            auto attempt = NewRequest();
            attempt.set_aggregate_id(callbacks[rng() % callbacks.size()]);
            attempt.mutable_record_callback_attempt()->set_outcome(pb::ATTEMPT_OUTCOME_NO_ANSWER);
            (void)(*handler)->ExecuteSync(attempt);  // may be refused when already completed
          }
          break;
        case 2:
          if (!callbacks.empty()) {
            auto complete = NewRequest();
            complete.set_aggregate_id(callbacks[rng() % callbacks.size()]);
            complete.mutable_complete_callback()->set_report("gebeld");
            (void)(*handler)->ExecuteSync(complete);
          }
          break;
        default:
          REQUIRE((*handler)->ExecuteSync(RegisterMessage(party, pb::CHANNEL_PHONE, "gesprek " + std::to_string(i),
                                                          1'794'815'220 + i)));
      }
    }
    auto ends = (*log)->EndOffsets();
    REQUIRE(ends.has_value());
    REQUIRE(eventlog::ReadUntil(**log, std::vector<int64_t>(4, 0), *ends, [&](const eventlog::StoredRecord& r) {
              history.push_back({r.key, r.value, r.timestamp_ms});
              return Status::Ok();
            }).ok());
    Project(**log, dir.Sub("once"));
  }
  REQUIRE(history.size() > 150);

  // The same events again, into a log with 7 partitions (so another interleaving across
  // aggregates), shuffled across aggregates but in order per aggregate, with a tenth of them
  // delivered twice.
  std::mt19937 rng(5);
  std::map<std::string, std::vector<eventlog::Record>> per_aggregate;
  for (const auto& r : history) per_aggregate[r.key].push_back(r);
  std::vector<eventlog::Record> shuffled;
  std::vector<std::string> keys;
  for (const auto& [key, records] : per_aggregate) keys.push_back(key);
  std::map<std::string, size_t> next;
  while (!keys.empty()) {
    const size_t k = rng() % keys.size();
    const auto& records = per_aggregate[keys[k]];
    size_t& i = next[keys[k]];
    shuffled.push_back(records[i]);
    if (rng() % 10 == 0) shuffled.push_back(records[i]);  // a duplicate
    if (++i == records.size()) keys.erase(keys.begin() + static_cast<std::ptrdiff_t>(k));
  }
  REQUIRE(shuffled.size() > history.size());
  {
    auto log = eventlog::OpenEmbeddedLog({.path = dir.Sub("again"), .partitions = 7, .sync = false});
    REQUIRE(log.has_value());
    REQUIRE((*log)->Append(std::move(shuffled)));
    Project(**log, dir.Sub("twice"));
  }
  // Positions differ (other partitioning); everything a user sees is the same.
  const auto differences = StoreDifferences(dir.Sub("once"), dir.Sub("twice"), {"~p"});
  for (const auto& d : differences) UNSCOPED_INFO(d);
  CHECK(differences.empty());
}
