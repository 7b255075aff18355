// ks-demo: drives journey 000 (John and the wind farm) through the gRPC APIs of a running
// Klantstroom and prints what the KCC sees: Windy's callback queue, then John's customer view.
// Idempotency keys make a second run a no-op that shows the same state.
#include <cstdio>

#include <grpcpp/grpcpp.h>

#include "klantstroom/v1/query_service.grpc.pb.h"
#include "ks/core/flags.h"
#include "ks/journeys/journey_000.h"
#include "ks/journeys/render.h"
#include "ks/rpc/server.h"

namespace pb = ::klantstroom::v1;

namespace {

template <typename Request>
void RequireAtLeast(Request& request, const std::vector<pb::LogPosition>& positions) {
  for (const auto& p : positions) *request.mutable_consistency()->add_min_positions() = p;
}

int Fail(const std::string& what, const ks::Status& s) {
  std::fprintf(stderr, "ks-demo: %s: %s\n", what.c_str(), s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  ks::Flags flags("ks-demo", "runs journey 000 through the gRPC API and prints what the KCC sees");
  flags.Define("commands", "127.0.0.1:50051", "address of the CommandService")
      .Define("queries", "127.0.0.1:50051", "address of the QueryService");
  int exit_code = 0;
  if (!flags.Parse(argc, argv, &exit_code)) return exit_code;

  auto command_channel = grpc::CreateChannel(flags.Get("commands"), grpc::InsecureChannelCredentials());
  auto query_channel = grpc::CreateChannel(flags.Get("queries"), grpc::InsecureChannelCredentials());
  auto commands = pb::CommandService::NewStub(command_channel);
  auto queries = pb::QueryService::NewStub(query_channel);

  auto journey = ks::journeys::RunJourney000UntilCallback(*commands);
  if (!journey) return Fail("journey 000 (steps 1-10)", journey.error());

  pb::GetCallbackQueueRequest queue_request;
  queue_request.set_tenant(ks::journeys::kTenant);
  queue_request.set_employee_id(ks::journeys::kWindyId);
  RequireAtLeast(queue_request, journey->last_positions);
  pb::CallbackQueue queue;
  grpc::ClientContext queue_context;
  queue_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (auto s = queries->GetCallbackQueue(&queue_context, queue_request, &queue); !s.ok())
    return Fail("GetCallbackQueue", ks::rpc::FromGrpc(s));

  if (ks::Status s = ks::journeys::FinishJourney000(*commands, *journey); !s.ok())
    return Fail("journey 000 (steps 11-12)", s);

  pb::GetCustomerViewRequest view_request;
  view_request.set_tenant(ks::journeys::kTenant);
  view_request.set_party_id(journey->john_party_id);
  RequireAtLeast(view_request, journey->last_positions);
  pb::CustomerView view;
  grpc::ClientContext view_context;
  view_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (auto s = queries->GetCustomerView(&view_context, view_request, &view); !s.ok())
    return Fail("GetCustomerView", ks::rpc::FromGrpc(s));

  std::printf("Journey 000: John, the wind farm and expert Windy (tenant %s)\n", ks::journeys::kTenant);
  if (journey->commands_deduplicated > 0)
    std::printf("(%d commands were already recorded on an earlier run and were not written again)\n",
                journey->commands_deduplicated);
  std::printf("\n%s\n%s",
              journey->commands_deduplicated > 0 ? "Windy's callback queue now (her call with John is done):"
                                                 : "Windy's callback queue after step 10, before she calls John:",
              ks::journeys::RenderCallbackQueue(queue, "van Windy").c_str());
  std::printf("\nWhat the KCC sees of John after Windy's call:\n%s",
              ks::journeys::RenderCustomerView(view).c_str());
  return 0;
}
