// What the journey tests do over and over through the gRPC API: act as someone, read your own
// writes, query, and play an outbound channel adapter (pull what is due, report delivery).
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <string>
#include <utility>
#include <thread>
#include <vector>

#include <google/protobuf/util/time_util.h>

#include "ks/auth/auth.h"
#include "support/stack.h"
#include "support/temp_dir.h"

namespace ks::testing {

// `r` issued by `actor_id` of `kind` (display name optional), at `at_seconds` when given.
inline pb::ExecuteRequest As(pb::ExecuteRequest r, const std::string& actor_id, pb::ActorKind kind, int64_t at_seconds = 0,
                             const std::string& display_name = "") {
  r.mutable_meta()->mutable_actor()->set_id(actor_id);
  r.mutable_meta()->mutable_actor()->set_kind(kind);
  r.mutable_meta()->mutable_actor()->set_display_name(display_name);
  if (at_seconds > 0)
    *r.mutable_meta()->mutable_occurred_at() = google::protobuf::util::TimeUtil::SecondsToTimestamp(at_seconds);
  return r;
}

// Writes a tokens file (libs/auth) into `dir`: one caller per (token, "tenant roles subject [teams]");
// a "cert:<common name>" token is written as it is (a client certificate's caller).
inline std::string WriteTokens(const TempDir& dir, std::initializer_list<std::pair<std::string, std::string>> callers) {
  const std::string path = dir.Sub("tokens");
  std::ofstream out(path);
  for (const auto& [token, rest] : callers)
    out << (token.starts_with("cert:") ? token : ks::auth::TokenHash(token)) << " " << rest << "\n";
  return path;
}

// Sends a command as the caller of `token`; it must succeed.
inline pb::ExecuteReply MustExecuteAs(Stack& stack, const std::string& token, const pb::ExecuteRequest& request) {
  pb::ExecuteReply reply;
  grpc::Status status = stack.Execute(request, &reply, token);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return reply;
}

// Asks `request` to reflect what `reply` wrote (read your own writes).
template <typename Request>
void After(Request& request, const pb::ExecuteReply& reply) {
  for (const auto& p : reply.positions()) *request.mutable_consistency()->add_min_positions() = p;
}

// Calls a QueryService method as the caller of `token` and returns its status.
template <typename Request, typename Reply>
grpc::Status Query(Stack& stack, grpc::Status (pb::QueryService::Stub::*method)(grpc::ClientContext*, const Request&, Reply*),
                   const Request& request, Reply* reply, const std::string& token = "") {
  grpc::ClientContext context;
  WithToken(context, token);
  return (stack.queries().*method)(&context, request, reply);
}

// Calls a QueryService method that must succeed.
template <typename Request, typename Reply>
Reply MustQuery(Stack& stack, grpc::Status (pb::QueryService::Stub::*method)(grpc::ClientContext*, const Request&, Reply*),
                const Request& request, const std::string& token = "") {
  Reply reply;
  grpc::Status status = Query(stack, method, request, &reply, token);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return reply;
}

// One outbound channel adapter of a tenant (the SMS gateway, the e-mail sender).
struct Adapter {
  std::string tenant;
  pb::Channel channel;
  std::string id;
  std::string token;

  // What the adapter is given when it asks for work, once (no waiting).
  std::vector<pb::OutboundNotification> PullOnce(Stack& stack) const {
    pb::PullNotificationsRequest request;
    request.set_tenant(tenant);
    request.set_channel(channel);
    request.set_adapter_id(id);
    grpc::ClientContext context;
    WithToken(context, token);
    pb::PullNotificationsReply reply;
    grpc::Status status = stack.notifications().PullNotifications(&context, request, &reply);
    INFO(status.error_message());
    REQUIRE(status.ok());
    return {reply.notifications().begin(), reply.notifications().end()};
  }

  // Asks until at least `expect` notifications came (or `wait` passed): the policy runs beside.
  std::vector<pb::OutboundNotification> Pull(Stack& stack, size_t expect,
                                             std::chrono::milliseconds wait = std::chrono::seconds(10)) const {
    std::vector<pb::OutboundNotification> got;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    do {
      for (auto& n : PullOnce(stack)) got.push_back(std::move(n));
      if (expect > 0 && got.size() >= expect) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    } while (std::chrono::steady_clock::now() < deadline);
    return got;
  }

  // Reports how delivery went; returns what that wrote (for reading it back).
  pb::ExecuteReply Report(Stack& stack, const pb::OutboundNotification& n, bool delivered = true,
                          const std::string& error = "") const {
    pb::ReportDeliveryRequest request;
    request.set_tenant(tenant);
    request.set_notification_id(n.notification_id());
    request.set_attempt(n.attempt());
    request.set_delivered(delivered);
    request.set_error(error);
    request.set_provider_message_id(delivered ? id + "." + n.notification_id() : "");
    request.set_adapter_id(id);
    grpc::ClientContext context;
    WithToken(context, token);
    pb::ExecuteReply reply;
    grpc::Status status = stack.notifications().ReportDelivery(&context, request, &reply);
    INFO(status.error_message());
    REQUIRE(status.ok());
    return reply;
  }
};

// Waits (up to 20 s) until the policy runner has reacted to every event in the log, its own
// reactions included: after a restart it reads the log again from the start, and would re-issue
// a reaction only then; and nothing more is written by itself after this (until a new command).
inline void AwaitPolicies(Stack& stack) {
  for (int i = 0; i < 400 && stack.app().policies().events_seen() < stack.LogSize(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(stack.app().policies().events_seen() >= stack.LogSize());
}

}  // namespace ks::testing
