// Journey 000 end to end: John, the wind farm and expert Windy, through gRPC against
// command-service, projector and query-service running as three separate processes on the Kafka
// mock cluster (the real Kafka protocol over TCP on loopback). Asserts what the KCC sees.
#include <catch2/catch.hpp>

#include <grpcpp/grpcpp.h>

#include "klantstroom/v1/query_service.grpc.pb.h"
#include "ks/eventlog/dev_cluster.h"
#include "ks/journeys/journey_000.h"
#include "support/process.h"
#include "support/stack.h"
#include "support/temp_dir.h"

using namespace ks::testing;
namespace pb = ::klantstroom::v1;
namespace journeys = ks::journeys;

namespace {

template <typename Request>
void After(Request& request, const journeys::Journey000& journey) {
  for (const auto& p : journey.last_positions) *request.mutable_consistency()->add_min_positions() = p;
}

struct Screens {
  pb::CustomerView john;
  pb::CallbackQueue windy;
  pb::CallbackQueue department;
};

Screens Look(pb::QueryService::Stub& queries, const journeys::Journey000& journey) {
  Screens s;
  pb::GetCustomerViewRequest view;
  view.set_tenant(journeys::kTenant);
  view.set_party_id(journey.john_party_id);
  After(view, journey);
  grpc::ClientContext c1;
  c1.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
  grpc::Status status = queries.GetCustomerView(&c1, view, &s.john);
  INFO(status.error_message());
  REQUIRE(status.ok());

  pb::GetCallbackQueueRequest queue;
  queue.set_tenant(journeys::kTenant);
  queue.set_employee_id(journeys::kWindyId);
  After(queue, journey);
  grpc::ClientContext c2;
  REQUIRE(queries.GetCallbackQueue(&c2, queue, &s.windy).ok());
  queue.clear_employee_id();
  queue.set_department(journeys::kExpertDepartment);
  grpc::ClientContext c3;
  REQUIRE(queries.GetCallbackQueue(&c3, queue, &s.department).ok());
  return s;
}

}  // namespace

TEST_CASE("journey 000 through three processes on Kafka: what Karin and Windy see", "[e2e]") {
  auto cluster = ks::eventlog::DevCluster::Start(3, "klantstroom.events", 6);
  REQUIRE(cluster.has_value());
  TempDir dir;
  const std::string log_flag = "--log=kafka:" + (*cluster)->bootstrap_servers() + "/klantstroom.events";
  const std::string read_models = "--read-models=" + dir.Sub("read-models");
  const std::string logs = dir.Sub("services.log");
  const std::string vault = "--vault=" + dir.Sub("vault");
  // The test's own directories, not the defaults in the working directory: tests running beside
  // this one use those, and two query services cannot hold one audit log.
  const std::string attachments = "--attachments=" + dir.Sub("attachments");
  const std::string audit = "--audit=" + dir.Sub("audit");

  ChildProcess command_service(ProgramPath("command-service/command-service"),
                               {log_flag, "--listen=127.0.0.1:0", vault, attachments}, logs);
  ChildProcess projector(ProgramPath("projector/projector"), {log_flag, read_models, vault}, logs);
  ChildProcess query_service(ProgramPath("query-service/query-service"),
                             {read_models, "--listen=127.0.0.1:0", vault, attachments, audit}, logs);
  const int command_port = command_service.WaitForPort();
  const int query_port = query_service.WaitForPort();
  REQUIRE(command_port > 0);
  REQUIRE(query_port > 0);
  // Each service answers the standard health check.
  CHECK(HealthStatus("127.0.0.1:" + std::to_string(command_port)) == "SERVING");
  CHECK(HealthStatus("127.0.0.1:" + std::to_string(query_port)) == "SERVING");
  auto commands = pb::CommandService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(command_port), grpc::InsecureChannelCredentials()));
  auto queries = pb::QueryService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(query_port), grpc::InsecureChannelCredentials()));

  // Steps 1-10: tweets, DMs, John's details, the callback request for Windy.
  auto journey = journeys::RunJourney000UntilCallback(*commands);
  if (!journey) FAIL(journey.error().ToString());
  CHECK(journey->interaction_ids.size() == 9);
  CHECK(journey->commands_deduplicated == 0);

  Screens before_call = Look(*queries, *journey);
  // Karin's screen: John with his details, all nine tweets and DMs (found through his handle,
  // though they came in before he was known), newest first, and the open callback.
  const pb::CustomerView& john = before_call.john;
  CHECK(john.party().display_name() == "John de Vries");
  REQUIRE(john.party().digital_addresses_size() == 3);
  CHECK(john.party().digital_addresses(0).value() == "@john_de_vries");
  CHECK(john.party().digital_addresses(1).value() == "john.devries@example.nl");
  CHECK(john.party().digital_addresses(1).preferred());
  CHECK(john.party().digital_addresses(2).value() == "0612345678");
  REQUIRE(john.timeline_size() == 9);
  CHECK_THAT(john.timeline(0).text(), Catch::StartsWith("John de Vries, john.devries@example.nl"));
  CHECK(john.timeline(0).visibility() == pb::VISIBILITY_PRIVATE);
  CHECK_THAT(john.timeline(8).text(), Catch::StartsWith("Lees net in de krant"));
  CHECK(john.timeline(8).visibility() == pb::VISIBILITY_PUBLIC);
  CHECK(john.timeline(8).direction() == pb::DIRECTION_INBOUND);
  for (const auto& entry : john.timeline()) CHECK(entry.channel() == pb::CHANNEL_TWITTER);
  REQUIRE(john.open_callbacks_size() == 1);

  // Windy's queue: the request with its context, urgency, number and due time.
  REQUIRE(before_call.windy.callbacks_size() == 1);
  const pb::CallbackRecord& callback = before_call.windy.callbacks(0);
  CHECK(callback.callback_id() == journey->callback_id);
  CHECK(callback.party_id() == journey->john_party_id);
  CHECK(callback.urgency() == pb::URGENCY_HIGH);
  CHECK(callback.phone_number() == "0612345678");
  CHECK_THAT(callback.subject(), Catch::Contains("Windmolenpark Polderweg"));
  CHECK_THAT(callback.context(), Catch::Contains("Wil vandaag gebeld worden"));
  CHECK(callback.requested_by().id() == "kcc-karin");
  CHECK(callback.origin_interaction_id() == journey->interaction_ids.back());
  CHECK(before_call.department.total_open() == 1);

  // Steps 11-12: Windy calls, reports, completes.
  REQUIRE(journeys::FinishJourney000(*commands, *journey).ok());
  Screens after_call = Look(*queries, *journey);
  REQUIRE(after_call.john.timeline_size() == 10);
  const pb::InteractionRecord& call = after_call.john.timeline(0);
  CHECK(call.channel() == pb::CHANNEL_PHONE);
  CHECK(call.handled_by().id() == journeys::kWindyId);
  CHECK(call.outcome() == "informatie gegeven");
  CHECK_THAT(call.report(), Catch::Contains("informatieavond"));
  CHECK(after_call.john.open_callbacks_size() == 0);
  CHECK(after_call.windy.callbacks_size() == 0);
  CHECK(after_call.department.total_open() == 0);

  // The adapters retry everything: nothing is written twice and the screens stay the same.
  auto again = journeys::RunJourney000UntilCallback(*commands);
  REQUIRE(again.has_value());
  REQUIRE(journeys::FinishJourney000(*commands, *again).ok());
  CHECK(again->commands_deduplicated == 15);
  CHECK(again->john_party_id == journey->john_party_id);
  Screens after_retry = Look(*queries, *again);
  CHECK(after_retry.john.timeline_size() == 10);
  CHECK(after_retry.john.reflects_size() == after_call.john.reflects_size());

  // Every service stops cleanly on SIGTERM.
  CHECK(query_service.Terminate() == 0);
  CHECK(projector.Terminate() == 0);
  CHECK(command_service.Terminate() == 0);
}
