// The command service over gRPC on loopback, on the embedded log on disk: validation, the
// positions it answers with, idempotency (also across a restart), optimistic concurrency.
#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>

#include <google/protobuf/util/time_util.h>

#include "klantstroom/v1/events.pb.h"
#include "ks/privacy/sealing.h"
#include "support/stack.h"

using namespace ks::testing;
namespace pb = ::klantstroom::v1;

namespace {

// Reads the event stored at `position` straight from the log.
// The event as the log holds it: its personal fields sealed.
pb::EventEnvelope EventAt(Stack& stack, const pb::LogPosition& position, std::string* raw = nullptr) {
  std::vector<int64_t> start(static_cast<size_t>(stack.app().log().partition_count()), INT64_MAX / 2);
  auto ends = stack.app().log().EndOffsets();
  REQUIRE(ends.has_value());
  start = *ends;
  start[static_cast<size_t>(position.partition())] = position.offset();
  auto reader = stack.app().log().OpenReader(start);
  REQUIRE(reader.has_value());
  auto records = (*reader)->Poll(1, std::chrono::seconds(2));
  REQUIRE(records.has_value());
  REQUIRE(records->size() == 1);
  pb::EventEnvelope event;
  REQUIRE(event.ParseFromString(records->front().value));
  if (raw != nullptr) *raw = records->front().value;
  return event;
}

}  // namespace

TEST_CASE("a command is answered with the log position of the event it wrote", "[command][integration]") {
  Stack stack;
  auto request = RegisterPerson("John de Vries", "John.deVries@Example.nl");
  request.mutable_meta()->set_idempotency_key("tweet-123");
  request.mutable_meta()->set_channel(pb::CHANNEL_TWITTER);
  const pb::ExecuteReply reply = stack.MustExecute(request);
  CHECK_FALSE(reply.aggregate_id().empty());
  CHECK(reply.aggregate_version() == 1);
  REQUIRE(reply.positions_size() == 1);
  CHECK(reply.positions(0).partition() == stack.app().log().PartitionFor(reply.aggregate_id()));

  std::string raw;
  pb::EventEnvelope event = EventAt(stack, reply.positions(0), &raw);
  CHECK(event.event_type() == "klantstroom.v1.PartyRegistered");
  CHECK(event.event_id() == reply.event_ids(0));
  CHECK(event.aggregate_type() == pb::AGGREGATE_TYPE_PARTY);
  CHECK(event.aggregate_id() == reply.aggregate_id());
  CHECK(event.aggregate_version() == 1);
  CHECK(event.tenant() == "gemeente-test");
  CHECK(event.actor().id() == "kcc-karin");
  CHECK(event.channel() == pb::CHANNEL_TWITTER);
  CHECK(event.idempotency_key() == "tweet-123");
  CHECK(event.has_recorded_at());
  // The log holds the name and address sealed with John's key, not in the clear.
  CHECK(event.personal_data().key_id() == "party/" + reply.aggregate_id());
  CHECK(event.party_registered().display_name().empty());
  CHECK(raw.find("John de Vries") == std::string::npos);
  CHECK(raw.find("john.devries") == std::string::npos);
  // Opened with the vault's key they are there, the address stored normalised so that lookups
  // find it however it is typed.
  auto vault = ks::privacy::KeyVault::Open(stack.data_dir() + "/vault", false);
  REQUIRE(vault.has_value());
  ks::privacy::KeyRing keys(vault->get());
  auto opened = ks::privacy::OpenEvent(event, keys);
  REQUIRE(opened.has_value());
  CHECK(*opened == ks::privacy::Opened::kOpened);
  CHECK(event.party_registered().display_name() == "John de Vries");
  REQUIRE(event.party_registered().digital_addresses_size() == 1);
  CHECK(event.party_registered().digital_addresses(0).value() == "john.devries@example.nl");
}

TEST_CASE("bad input gets INVALID_ARGUMENT naming the field, and writes nothing", "[command][integration]") {
  Stack stack;
  const int64_t before = stack.LogSize();
  struct Case {
    std::string name;
    pb::ExecuteRequest request;
    std::string message_start;
  };
  std::vector<Case> cases;
  {
    auto r = RegisterPerson("John");
    r.mutable_meta()->set_tenant("");
    cases.push_back({"no tenant", r, "meta.tenant:"});
  }
  {
    auto r = RegisterPerson("John", "not-an-email");
    cases.push_back({"bad e-mail", r, "register_party.digital_addresses[0].value:"});
  }
  {
    auto r = RegisterMessage("", pb::CHANNEL_WHATSAPP, "hallo", 1'790'000'000);
    cases.push_back({"no party and no counterpart", r, "register_interaction:"});
  }
  {
    auto r = RegisterMessage("p", pb::CHANNEL_UNSPECIFIED, "hallo", 1'790'000'000);
    cases.push_back({"no channel", r, "register_interaction.channel: is required"});
  }
  {
    auto r = RequestCallback("p", "", "", pb::URGENCY_HIGH, 0);
    cases.push_back({"callback without target", r, "request_callback.target:"});
  }
  {
    auto r = NewRequest();
    cases.push_back({"no command", r, "command:"});
  }
  for (const auto& c : cases) {
    SECTION(c.name) {
      pb::ExecuteReply reply;
      grpc::Status status = stack.Execute(c.request, &reply);
      CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
      CHECK_THAT(status.error_message(), Catch::StartsWith(c.message_start));
      CHECK(stack.LogSize() == before);
    }
  }
}

TEST_CASE("state rules: NOT_FOUND, ALREADY_EXISTS and FAILED_PRECONDITION write nothing", "[command][integration]") {
  Stack stack;
  const auto john = stack.MustExecute(RegisterPerson("John"));
  const int64_t before = stack.LogSize();

  auto for_nobody = RequestCallback("no-such-party", "burgerzaken", "", pb::URGENCY_NORMAL, 0);
  grpc::Status status = stack.Execute(for_nobody);
  CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK_THAT(status.error_message(), Catch::StartsWith("request_callback.party_id:"));

  auto other_tenant = RequestCallback(john.aggregate_id(), "burgerzaken", "", pb::URGENCY_NORMAL, 0);
  other_tenant.mutable_meta()->set_tenant("gemeente-anders");
  CHECK(stack.Execute(other_tenant).error_code() == grpc::StatusCode::NOT_FOUND);

  auto again = RegisterPerson("John again");
  again.set_aggregate_id(john.aggregate_id());
  CHECK(stack.Execute(again).error_code() == grpc::StatusCode::ALREADY_EXISTS);

  CHECK(stack.LogSize() == before);

  const auto callback = stack.MustExecute(RequestCallback(john.aggregate_id(), "burgerzaken", "", pb::URGENCY_NORMAL, 0));
  auto cancel = NewRequest();
  cancel.set_aggregate_id(callback.aggregate_id());
  cancel.mutable_cancel_callback()->set_reason("dubbel ingevoerd");
  stack.MustExecute(cancel);
  const int64_t after_cancel = stack.LogSize();
  auto complete = NewRequest();
  complete.set_aggregate_id(callback.aggregate_id());
  complete.mutable_complete_callback()->set_report("gebeld");
  status = stack.Execute(complete);
  CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(status.error_message(), Catch::Contains("is cancelled"));
  CHECK(stack.LogSize() == after_cancel);
}

TEST_CASE("a retried command returns the first answer and appends nothing, also after a restart",
          "[command][integration]") {
  Stack stack;
  auto request = RegisterPerson("Johan", "", "0612345678");
  request.mutable_meta()->set_idempotency_key("wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQzQTk");
  const auto first = stack.MustExecute(request);
  CHECK_FALSE(first.deduplicated());
  const int64_t size = stack.LogSize();

  const auto second = stack.MustExecute(request);
  CHECK(second.deduplicated());
  CHECK(second.aggregate_id() == first.aggregate_id());
  CHECK(second.positions(0).offset() == first.positions(0).offset());
  CHECK(second.event_ids(0) == first.event_ids(0));
  CHECK(stack.LogSize() == size);

  stack.Restart();
  const auto third = stack.MustExecute(request);
  CHECK(third.deduplicated());
  CHECK(third.aggregate_id() == first.aggregate_id());
  CHECK(third.positions(0).partition() == first.positions(0).partition());
  CHECK(third.positions(0).offset() == first.positions(0).offset());
  CHECK(stack.LogSize() == size);

  // The same key for a different command is refused rather than answered with the wrong result.
  auto different = RegisterPerson("Someone else");
  different.mutable_meta()->set_idempotency_key("wamid.HBgLMzE2MTIzNDU2NzgVAgASGBQzQTk");
  grpc::Status status = stack.Execute(different);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(status.error_message(), Catch::StartsWith("meta.idempotency_key:"));
  CHECK(stack.LogSize() == size);
}

TEST_CASE("after a restart, state folded from sealed contacts, callbacks and conversations decides as before",
          "[command][integration]") {
  // A start opens only the events whose personal data the state keeps (domain::EvolveReadsPersonalData):
  // the party's address is opened again, contacts, callbacks and conversations are applied sealed.
  Stack stack;
  const std::string party = stack.MustExecute(RegisterPerson("Fatima", "", "0612345678")).aggregate_id();
  const std::string contact =
      stack.MustExecute(RegisterMessage(party, pb::CHANNEL_WHATSAPP, "Mijn paspoort is verlopen", 1'794'815'220))
          .aggregate_id();
  const std::string callback =
      stack.MustExecute(RequestCallback(party, "burgerzaken", "mdw-1", pb::URGENCY_HIGH, 1'800'000'000)).aggregate_id();
  auto start = NewRequest();
  start.mutable_start_conversation()->set_party_id(party);
  start.mutable_start_conversation()->set_channel(pb::CHANNEL_CHAT);
  start.mutable_start_conversation()->set_subject("Verhuizing doorgeven");
  const std::string conversation = stack.MustExecute(start).aggregate_id();
  auto link = NewRequest();
  link.set_aggregate_id(contact);
  link.mutable_link_interaction_to_zaak()->mutable_zaak()->set_identification("ZAAK-2026-0007");
  stack.MustExecute(link);
  auto complete = NewRequest();
  complete.set_aggregate_id(callback);
  complete.mutable_complete_callback()->set_report("Teruggebeld, afspraak gemaakt");
  stack.MustExecute(complete);
  auto close = NewRequest();
  close.set_aggregate_id(conversation);
  close.mutable_close_conversation()->set_outcome("beantwoord");
  stack.MustExecute(close);
  // Kinds whose personal fields the state keeps: applied sealed by mistake, they stop the start
  // (domain's RequireOpened) instead of leaving a message without its address.
  auto notify = NewRequest();
  notify.mutable_request_notification()->set_party_id(party);
  notify.mutable_request_notification()->set_channel(pb::CHANNEL_SMS);
  notify.mutable_request_notification()->set_text("Uw paspoort ligt klaar");
  stack.MustExecute(notify);
  auto appointment = NewRequest();
  auto* a = appointment.mutable_schedule_appointment();
  a->set_party_id(party);
  const int64_t start_at = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch() + std::chrono::hours(48))
                               .count();
  *a->mutable_window()->mutable_start() = google::protobuf::util::TimeUtil::SecondsToTimestamp(start_at);
  *a->mutable_window()->mutable_end() = google::protobuf::util::TimeUtil::SecondsToTimestamp(start_at + 1800);
  a->set_place("Stadskantoor, balie 4");
  a->mutable_with()->set_department("burgerzaken");
  a->set_subject("paspoort ophalen");
  a->add_reminder_minutes_before(60);
  stack.MustExecute(appointment);

  stack.Restart();
  const int64_t size = stack.LogSize();
  // The party's address was opened: the same address again changes nothing.
  auto same_address = NewRequest();
  same_address.set_aggregate_id(party);
  auto* phone = same_address.mutable_add_digital_address()->mutable_address();
  phone->set_kind(pb::DIGITAL_ADDRESS_KIND_PHONE);
  phone->set_value("0612345678");
  phone->set_verified(true);
  CHECK(stack.MustExecute(same_address).event_ids_size() == 0);
  // The contact remembers its zaak, the callback that it was completed, the conversation that it
  // was closed.
  CHECK(stack.MustExecute(link).event_ids_size() == 0);
  auto attempt = NewRequest();
  attempt.set_aggregate_id(callback);
  attempt.mutable_record_callback_attempt()->set_outcome(pb::ATTEMPT_OUTCOME_NO_ANSWER);
  CHECK(stack.Execute(attempt).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  auto turn = RegisterMessage(party, pb::CHANNEL_CHAT, "Nog een vraag", 1'794'815'300);
  turn.mutable_register_interaction()->set_conversation_id(conversation);
  CHECK(stack.Execute(turn).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(stack.LogSize() == size);
  // And they still take what they allow: a second zaak.
  auto second_zaak = NewRequest();
  second_zaak.set_aggregate_id(contact);
  second_zaak.mutable_link_interaction_to_zaak()->mutable_zaak()->set_identification("ZAAK-2026-0008");
  CHECK(stack.MustExecute(second_zaak).event_ids_size() == 1);
}

TEST_CASE("expected_version: a stale writer gets ABORTED and writes nothing", "[command][integration]") {
  Stack stack;
  const auto john = stack.MustExecute(RegisterPerson("John"));
  auto rename = NewRequest();
  rename.set_aggregate_id(john.aggregate_id());
  rename.mutable_change_party_name()->set_display_name("John de Vries");
  rename.mutable_meta()->set_expected_version(1);
  const auto renamed = stack.MustExecute(rename);
  CHECK(renamed.aggregate_version() == 2);

  const int64_t size = stack.LogSize();
  auto stale = NewRequest();
  stale.set_aggregate_id(john.aggregate_id());
  stale.mutable_change_party_name()->set_display_name("J. de Vries");
  stale.mutable_meta()->set_expected_version(1);
  grpc::Status status = stack.Execute(stale);
  CHECK(status.error_code() == grpc::StatusCode::ABORTED);
  CHECK_THAT(status.error_message(), Catch::Contains("at version 2, not 1"));
  CHECK(stack.LogSize() == size);

  auto create_existing = RegisterPerson("Nobody");
  create_existing.mutable_meta()->set_expected_version(0);
  CHECK(stack.Execute(create_existing).ok());  // expected 0: must not exist yet, and it did not
}

TEST_CASE("concurrent commands on one aggregate get consecutive versions", "[command][integration]") {
  Stack stack;
  const auto john = stack.MustExecute(RegisterPerson("John"));
  const auto callback = stack.MustExecute(RequestCallback(john.aggregate_id(), "burgerzaken", "", pb::URGENCY_NORMAL, 0));
  constexpr int kAttempts = 40;
  std::vector<std::thread> threads;
  std::mutex mutex;
  std::set<int64_t> versions;
  std::atomic<int> failures{0};
  for (int i = 0; i < kAttempts; ++i) {
    threads.emplace_back([&, i] {
      auto attempt = NewRequest("gemeente-test", "attempt-" + std::to_string(i));
      attempt.set_aggregate_id(callback.aggregate_id());
      attempt.mutable_record_callback_attempt()->set_outcome(pb::ATTEMPT_OUTCOME_NO_ANSWER);
      pb::ExecuteReply reply;
      if (!stack.Execute(attempt, &reply).ok()) {
        failures.fetch_add(1);
        return;
      }
      std::lock_guard lock(mutex);
      versions.insert(reply.aggregate_version());
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures.load() == 0);
  REQUIRE(versions.size() == kAttempts);
  CHECK(*versions.begin() == 2);
  CHECK(*versions.rbegin() == kAttempts + 1);
}

TEST_CASE("a batch runs each command as Execute would and answers each in order: a refused one stops nothing",
          "[command][integration]") {
  Stack stack;
  const int64_t before = stack.LogSize();
  pb::ExecuteBatchRequest batch;
  pb::ExecuteRequest anna = RegisterPerson("Anna");
  anna.set_aggregate_id("party-anna");
  anna.mutable_meta()->set_idempotency_key("batch-anna");
  *batch.add_commands() = anna;
  // For the same aggregate: runs after the registration before it.
  pb::ExecuteRequest label = NewRequest();
  label.set_aggregate_id("party-anna");
  label.mutable_add_party_label()->set_label("schuldhulp-traject");
  *batch.add_commands() = label;
  *batch.add_commands() = RegisterPerson("Bram", "not-an-email");
  *batch.add_commands() = RegisterPerson("Cor");

  auto send = [&](const pb::ExecuteBatchRequest& request, pb::ExecuteBatchReply* reply) {
    grpc::ClientContext context;
    return stack.commands().ExecuteBatch(&context, request, reply);
  };
  pb::ExecuteBatchReply reply;
  grpc::Status status = send(batch, &reply);
  INFO(status.error_message());
  REQUIRE(status.ok());
  REQUIRE(reply.results_size() == 4);
  REQUIRE(reply.results(0).has_reply());
  CHECK(reply.results(0).reply().aggregate_id() == "party-anna");
  CHECK(reply.results(0).reply().aggregate_version() == 1);
  REQUIRE(reply.results(1).has_reply());
  CHECK(reply.results(1).reply().aggregate_version() == 2);
  REQUIRE(reply.results(2).has_error());
  CHECK(reply.results(2).error().code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(reply.results(2).error().message(), Catch::StartsWith("register_party.digital_addresses[0].value:"));
  REQUIRE(reply.results(3).has_reply());
  CHECK(stack.LogSize() == before + 3);  // the refused one wrote nothing
  // Each answer names where its event is, as Execute's does.
  const pb::EventEnvelope labelled = EventAt(stack, reply.results(1).reply().positions(0));
  CHECK(labelled.aggregate_id() == "party-anna");
  CHECK(labelled.has_party_label_added());

  // A retried batch gets the first answers for commands with an idempotency key.
  pb::ExecuteBatchRequest retry;
  *retry.add_commands() = anna;
  pb::ExecuteBatchReply again;
  REQUIRE(send(retry, &again).ok());
  REQUIRE(again.results_size() == 1);
  CHECK(again.results(0).reply().deduplicated());
  CHECK(again.results(0).reply().positions(0).offset() == reply.results(0).reply().positions(0).offset());

  // Too many at once is the call's error, and nothing of it is written.
  pb::ExecuteBatchRequest too_many;
  for (int i = 0; i < 501; ++i) *too_many.add_commands() = RegisterPerson("Burger " + std::to_string(i));
  pb::ExecuteBatchReply refused;
  status = send(too_many, &refused);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(status.error_message(), Catch::StartsWith("commands: at most 500"));
  CHECK(stack.LogSize() == before + 3);
}
