// Broker faults, injected through librdkafka's mock-cluster API while commands stream in:
// produce and fetch requests failing with retriable errors, partition leaders moving, added
// latency, and a broker that goes away and comes back. Every command either succeeds or gets a
// clear UNAVAILABLE (the client retries it with the same idempotency key), and once the brokers
// are back every accepted command is in the read models exactly once.
// (One broker down alone only delays the partitions it leads: librdkafka retries within the
// delivery timeout. The outage here takes all of them, longer than that timeout.)
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <future>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "ks/command/command_handler.h"
#include "ks/eventlog/dev_cluster.h"
#include "ks/eventlog/kafka_log.h"
#include "ks/projector/projector.h"
#include "ks/query/query_engine.h"
#include "support/stack.h"
#include "support/temp_dir.h"
#include "support/vault.h"

using namespace ks;
using namespace ks::testing;
namespace pb = ::klantstroom::v1;

namespace {

constexpr int16_t kProduceApi = 0;  // Kafka protocol ApiKey of Produce
constexpr int16_t kFetchApi = 1;    // and of Fetch
constexpr const char* kTopic = "klantstroom.events";

// Runs a projector until stopped; after an error it starts a new one from the committed batch.
class ProjectorLoop {
 public:
  ProjectorLoop(eventlog::EventLog& log, readmodel::ReadModelStore& store)
      : log_(log), store_(store) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~ProjectorLoop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      if (current_ != nullptr) current_->stop();
    }
    thread_.join();
  }

 private:
  void Loop() {
    while (true) {
      auto projector = projector::Projector::Open(log_, store_, ks::testing::TestVault());
      {
        std::lock_guard lock(mutex_);
        if (stopping_) return;
        current_ = projector ? projector->get() : nullptr;
      }
      if (!projector) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
      Status s = (*projector)->Run();
      s.PermitUnchecked();  // a failed projector is replaced by a new one from the committed batch
      std::lock_guard lock(mutex_);
      current_ = nullptr;
      if (stopping_) return;
    }
  }

  eventlog::EventLog& log_;
  readmodel::ReadModelStore& store_;
  std::mutex mutex_;
  projector::Projector* current_ = nullptr;
  bool stopping_ = false;
  std::thread thread_;
};

// A mock cluster, a Kafka log on it with a short delivery timeout (so that an outage surfaces as
// UNAVAILABLE within a test), and a command handler on that log.
struct HandlerOnCluster {
  std::unique_ptr<eventlog::DevCluster> cluster;
  std::unique_ptr<eventlog::EventLog> log;
  std::unique_ptr<command::CommandHandler> handler;
  rd_kafka_mock_cluster_t* mock() const { return cluster->mock(); }
};

HandlerOnCluster StartHandlerOnCluster(int brokers, int partitions, int linger_ms, int delivery_timeout_ms) {
  HandlerOnCluster out;
  auto cluster = eventlog::DevCluster::Start(brokers, kTopic, partitions);
  REQUIRE(cluster.has_value());
  out.cluster = std::move(*cluster);
  auto log = eventlog::OpenKafkaLog({.bootstrap_servers = out.cluster->bootstrap_servers(),
                                     .topic = kTopic,
                                     .linger_ms = linger_ms,
                                     .delivery_timeout_ms = delivery_timeout_ms});
  REQUIRE(log.has_value());
  out.log = std::move(*log);
  auto handler = command::CommandHandler::Start(*out.log, ks::testing::TestVault());
  REQUIRE(handler.has_value());
  out.handler = std::move(*handler);
  return out;
}

// A client's retries of a command answered UNAVAILABLE, with the same idempotency key: the first
// other answer, or the last UNAVAILABLE.
Result<pb::ExecuteReply> RetryWhileUnavailable(command::CommandHandler& handler, const pb::ExecuteRequest& request,
                                               int attempts) {
  Result<pb::ExecuteReply> reply = std::unexpected(Status());
  for (int attempt = 0; attempt < attempts; ++attempt) {
    reply = handler.ExecuteSync(request);
    if (reply || reply.error().code() != StatusCode::kUnavailable) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return reply;
}

// How many events in the whole log (2 partitions) satisfy `matches`.
int CountEvents(eventlog::EventLog& log, const std::function<bool(const pb::EventEnvelope&)>& matches) {
  auto ends = log.EndOffsets();
  REQUIRE(ends.has_value());
  int count = 0;
  REQUIRE(eventlog::ReadUntil(log, {0, 0}, *ends, [&](const eventlog::StoredRecord& r) {
            if (matches(ks::testing::OpenedEvent(r.value))) ++count;
            return Status::Ok();
          }).ok());
  return count;
}

}  // namespace

TEST_CASE("broker faults: every accepted command reaches the read models exactly once",
          "[reliability][integration]") {
  const HandlerOnCluster stack = StartHandlerOnCluster(3, 6, 2, 1500);
  rd_kafka_mock_cluster_t* mock = stack.mock();
  eventlog::EventLog* log = stack.log.get();
  command::CommandHandler* handler = stack.handler.get();
  TempDir dir;
  auto store = readmodel::ReadModelStore::OpenPrimary(dir.Sub("read-models"));
  REQUIRE(store.has_value());

  std::vector<std::string> parties;
  for (int i = 0; i < 8; ++i) {
    auto party = handler->ExecuteSync(RegisterPerson("Burger " + std::to_string(i)));
    REQUIRE(party.has_value());
    parties.push_back(party->aggregate_id());
  }

  std::atomic<bool> done{false};
  std::atomic<int> unavailable{0};
  std::atomic<int> other_errors{0};
  int unavailable_during_outage = 0;
  std::map<std::string, int> accepted_per_party;
  constexpr int kCommands = 600;
  // The client sends at least kCommands, and goes on until the outage is over, so that it is
  // sending while the brokers are away (it once finished just as they went).
  std::atomic<bool> outage_over{false};
  std::atomic<int> sent{0};
  std::thread client([&] {
    std::mt19937 rng(3);
    for (int i = 0; i < kCommands || !outage_over.load(); ++i) {
      sent.store(i + 1);
      const std::string& party = parties[rng() % parties.size()];
      auto request = RegisterMessage(party, pb::CHANNEL_CHAT, "bericht " + std::to_string(i),
                                     1'794'815'220 + i);
      request.mutable_meta()->set_idempotency_key("chat-" + std::to_string(i));
      // A client retries an UNAVAILABLE command with the same key until it is accepted.
      for (int attempt = 0; attempt < 200; ++attempt) {
        auto reply = handler->ExecuteSync(request);
        if (reply) {
          ++accepted_per_party[party];
          break;
        }
        if (reply.error().code() == StatusCode::kUnavailable) {
          ++unavailable;
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          continue;
        }
        UNSCOPED_INFO(reply.error().ToString());
        ++other_errors;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    done.store(true);
  });

  {
    ProjectorLoop projector(*log, **store);
    // The faults, one after another, while the client streams commands.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    rd_kafka_mock_push_request_errors(
        mock, kProduceApi, 4, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    // A permanent (non-retriable) produce error: that append fails, the command is answered
    // UNAVAILABLE, and its retry goes through.
    rd_kafka_mock_push_request_errors(mock, kProduceApi, 1,
                                      RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    rd_kafka_mock_push_request_errors(
        mock, kFetchApi, 3, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    rd_kafka_mock_broker_set_rtt(mock, 2, 150);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    rd_kafka_mock_broker_set_rtt(mock, 2, 0);
    for (int32_t p = 0; p < 6; ++p)
      rd_kafka_mock_partition_set_leader(mock, kTopic, p, 1 + (p + 1) % 3);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    // The brokers go away for longer than the delivery timeout, and come back.
    const int unavailable_before_outage = unavailable.load();
    REQUIRE_FALSE(done.load());  // the client is still sending when the brokers go
    for (int32_t broker = 1; broker <= 3; ++broker) rd_kafka_mock_broker_set_down(mock, broker);
    // Twice the delivery timeout: the command in flight when the brokers went is certain to time
    // out (librdkafka scans for timed-out messages about once a second) before they come back.
    std::this_thread::sleep_for(std::chrono::milliseconds(3000));
    // On a starved machine the client may not have had a command in flight yet: the outage lasts
    // until one was answered UNAVAILABLE (at most 20 s more; the check below fails otherwise).
    for (int i = 0; i < 200 && unavailable.load() == unavailable_before_outage; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (int32_t broker = 1; broker <= 3; ++broker) rd_kafka_mock_broker_set_up(mock, broker);
    outage_over.store(true);
    client.join();
    // No fault follows the outage: every UNAVAILABLE since it began is its doing (some arrive only
    // after the brokers are back, when a timed-out message is reported late).
    unavailable_during_outage = unavailable.load() - unavailable_before_outage;

    // Once the brokers are back, the read models catch up with everything in the log.
    auto ends = log->EndOffsets();
    REQUIRE(ends.has_value());
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    bool caught_up = false;
    while (!caught_up && std::chrono::steady_clock::now() < deadline) {
      auto progress = (*store)->View().ReadProgress();
      REQUIRE(progress.has_value());
      std::map<int32_t, int64_t> next(progress->begin(), progress->end());
      caught_up = true;
      for (size_t p = 0; p < ends->size(); ++p)
        if (next[static_cast<int32_t>(p)] < (*ends)[p]) caught_up = false;
      if (!caught_up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE(caught_up);
  }
  INFO("UNAVAILABLE answers (retried): " << unavailable.load());
  CHECK(other_errors.load() == 0);
  CHECK(unavailable_during_outage > 0);  // the outage was felt, and answered clearly

  query::QueryEngine engine(**store, ks::testing::TestVault());
  int total = 0;
  for (const auto& party : parties) {
    pb::GetCustomerViewRequest request;
    request.set_tenant("gemeente-test");
    request.set_party_id(party);
    request.set_page_size(500);
    auto view = engine.GetCustomerView((*store)->View(), request);
    REQUIRE(view.has_value());
    CHECK(view->timeline_size() == accepted_per_party[party]);
    std::set<std::string> texts;
    for (const auto& entry : view->timeline())
      CHECK(texts.insert(entry.text()).second);  // none twice
    total += view->timeline_size();
  }
  CHECK(total == sent.load());
  CHECK(total >= kCommands);
}

TEST_CASE("an append that landed but was never confirmed is found on retry, not written twice",
          "[reliability][integration]") {
  const HandlerOnCluster stack = StartHandlerOnCluster(1, 2, 1, 1000);
  rd_kafka_mock_cluster_t* mock = stack.mock();
  eventlog::EventLog* log = stack.log.get();
  command::CommandHandler* handler = stack.handler.get();
  REQUIRE(handler->ExecuteSync(RegisterPerson("Eerste")));  // connections are up

  // The broker writes the record, but its answer comes later than the delivery timeout.
  rd_kafka_mock_broker_set_rtt(mock, 1, 2500);
  auto request = RegisterPerson("Traag Bevestigd");
  request.mutable_meta()->set_idempotency_key("wamid.slow-ack");
  auto first = handler->ExecuteSync(request);
  REQUIRE_FALSE(first.has_value());
  CHECK(first.error().code() == StatusCode::kUnavailable);
  rd_kafka_mock_broker_set_rtt(mock, 1, 0);

  // The client retries with the same key: the handler re-reads the log, finds the event that did
  // land, and answers with it instead of writing it again.
  auto retried = RetryWhileUnavailable(*handler, request, 50);
  REQUIRE(retried.has_value());
  CHECK(CountEvents(*log, [](const pb::EventEnvelope& e) {
          return e.party_registered().display_name() == "Traag Bevestigd";
        }) == 1);
  INFO("the slow append " << (retried->deduplicated()
                                  ? "had landed"
                                  : "had not landed, and was written on retry"));
  CHECK(retried->aggregate_version() == 1);
}

TEST_CASE("recovering from a failed append while the brokers are away answers UNAVAILABLE and holds up no one else",
          "[reliability][integration]") {
  const HandlerOnCluster stack = StartHandlerOnCluster(1, 2, 1, 1000);
  rd_kafka_mock_cluster_t* mock = stack.mock();
  eventlog::EventLog* log = stack.log.get();
  command::CommandHandler* handler = stack.handler.get();
  auto party = handler->ExecuteSync(RegisterPerson("Wacht Opnieuw"));
  REQUIRE(party.has_value());

  // An append that fails: the handler cannot know whether the log holds it, so the party's next
  // command first re-reads its partition.
  rd_kafka_mock_push_request_errors(mock, kProduceApi, 1, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  auto message = RegisterMessage(party->aggregate_id(), pb::CHANNEL_WHATSAPP, "Is mijn paspoort klaar?",
                                 1'794'815'220);
  message.mutable_meta()->set_idempotency_key("wamid.outage-retry");
  auto first = handler->ExecuteSync(message);
  REQUIRE_FALSE(first.has_value());
  CHECK(first.error().code() == StatusCode::kUnavailable);

  // The broker goes away, and the client retries: the re-read cannot reach the log.
  rd_kafka_mock_broker_set_down(mock, 1);
  auto retry = std::async(std::launch::async, [&] { return handler->ExecuteSync(message); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the retry is re-reading

  // Meanwhile a command that needs no log is answered at once, not after the re-read: a message
  // for a party that does not exist.
  auto unrelated = handler->ExecuteSync(
      RegisterMessage("00000000-0000-0000-0000-0000000000ff", pb::CHANNEL_CHAT, "Hallo?", 1'794'815'230));
  REQUIRE_FALSE(unrelated.has_value());
  CHECK(unrelated.error().code() != StatusCode::kUnavailable);
  const bool retry_still_waiting = retry.wait_for(std::chrono::seconds(0)) != std::future_status::ready;
  CHECK(retry_still_waiting);

  // The retry hears of the outage while it lasts (the broker stays away until it has, or a minute).
  for (int i = 0; i < 600 && retry.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready; ++i) {
  }
  const bool answered_during_outage = retry.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  rd_kafka_mock_broker_set_up(mock, 1);
  REQUIRE(answered_during_outage);
  auto during = retry.get();
  REQUIRE_FALSE(during.has_value());
  CHECK(during.error().code() == StatusCode::kUnavailable);
  INFO(during.error().ToString());

  // With the broker back, the same retry is accepted, once.
  REQUIRE(RetryWhileUnavailable(*handler, message, 100).has_value());
  CHECK(CountEvents(*log, [](const pb::EventEnvelope& e) { return e.idempotency_key() == "wamid.outage-retry"; }) ==
        1);
}
