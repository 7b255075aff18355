// An all-in-one Klantstroom (command service, projector, query service on the embedded log in a
// temp directory) served over gRPC on loopback, with client stubs: the real parts, in-process.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "klantstroom/v1/command_service.grpc.pb.h"
#include "klantstroom/v1/query_service.grpc.pb.h"
#include "ks/allinone/all_in_one.h"
#include "support/temp_dir.h"

namespace ks::testing {

namespace pb = ::klantstroom::v1;

// Sets a call's bearer token (none when empty) and a deadline of 20 s.
inline void WithToken(grpc::ClientContext& context, const std::string& token) {
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
}

class Stack {
 public:
  Stack() { Start(); }
  // With authentication: callers must present a token listed in `auth_tokens` (libs/auth).
  explicit Stack(std::string auth_tokens) : auth_tokens_(std::move(auth_tokens)) { Start(); }
  // Serving TLS (mutual with tls.client_ca). The stubs below speak plaintext and so are refused:
  // make a channel with the client's credentials instead.
  Stack(std::string auth_tokens, rpc::TlsFiles tls) : auth_tokens_(std::move(auth_tokens)), tls_(std::move(tls)) {
    Start();
  }

  // The notification queue's clock runs `ahead` of the system clock from now on (kept across
  // restarts): messages planned for next month are due "next month".
  void RunQueueClockAhead(std::chrono::seconds ahead) { clock_ahead_->store(ahead.count()); }

  // Stops everything and starts again on the same data directory (a restart).
  void Restart() {
    commands_.reset();
    queries_.reset();
    notifications_.reset();
    uploads_.reset();
    app_.reset();
    Start();
  }

  // Stops everything and leaves the data directory for other programs to open.
  void Stop() {
    commands_.reset();
    queries_.reset();
    notifications_.reset();
    uploads_.reset();
    app_.reset();
  }

  // Sends a command (as the caller of `token`, when given); returns the gRPC status, the reply in
  // *reply when given.
  grpc::Status Execute(const pb::ExecuteRequest& request, pb::ExecuteReply* reply = nullptr,
                       const std::string& token = "") {
    grpc::ClientContext context;
    WithToken(context, token);
    pb::ExecuteReply ignored;
    return commands_->Execute(&context, request, reply != nullptr ? reply : &ignored);
  }

  // Sends a command that must succeed.
  pb::ExecuteReply MustExecute(const pb::ExecuteRequest& request) {
    pb::ExecuteReply reply;
    grpc::Status status = Execute(request, &reply);
    INFO(status.error_message());
    REQUIRE(status.ok());
    return reply;
  }

  pb::CommandService::Stub& commands() { return *commands_; }
  pb::NotificationService::Stub& notifications() { return *notifications_; }
  pb::AttachmentService::Stub& uploads() { return *uploads_; }
  pb::QueryService::Stub& queries() { return *queries_; }
  allinone::AllInOne& app() { return *app_; }
  int port() const { return app_->port(); }
  // The all-in-one's data directory (the embedded log is in log/ below it).
  std::string data_dir() const { return dir_.Sub("data"); }

  // Waits (up to 20 s) until the read models reflect every record in the log.
  void WaitForReadModels() {
    auto ends = app_->log().EndOffsets();
    REQUIRE(ends.has_value());
    for (int i = 0; i < 2000; ++i) {
      auto progress = app_->store().View().ReadProgress();
      REQUIRE(progress.has_value());
      std::vector<int64_t> reached(ends->size(), 0);
      for (const auto& [partition, next] : *progress) reached[static_cast<size_t>(partition)] = next;
      if (std::equal(reached.begin(), reached.end(), ends->begin(),
                                         [](int64_t r, int64_t e) { return r >= e; }))
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL("the read models did not reach the log's end in 20 s");
  }

  // Total records in the log: what a refused command must not change.
  int64_t LogSize() {
    auto ends = app_->log().EndOffsets();
    REQUIRE(ends.has_value());
    int64_t total = 0;
    for (int64_t e : *ends) total += e;
    return total;
  }

 private:
  void Start() {
    auto app = allinone::AllInOne::Start({.data_dir = dir_.Sub("data"),
                                          .listen = "127.0.0.1:0",
                                          .partitions = 4,
                                          .sync = false,
                                          .auth_tokens = auth_tokens_,
                                          .tls = tls_,
                                          .notification_clock = [ahead = clock_ahead_] {
                                            return std::chrono::system_clock::now() + std::chrono::seconds(ahead->load());
                                          }});
    if (!app) FAIL(app.error().ToString());
    app_ = std::move(*app);
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(app_->port()), grpc::InsecureChannelCredentials());
    commands_ = pb::CommandService::NewStub(channel);
    queries_ = pb::QueryService::NewStub(channel);
    notifications_ = pb::NotificationService::NewStub(channel);
    uploads_ = pb::AttachmentService::NewStub(channel);
  }

  TempDir dir_;
  std::string auth_tokens_;
  rpc::TlsFiles tls_;
  std::shared_ptr<std::atomic<int64_t>> clock_ahead_ = std::make_shared<std::atomic<int64_t>>(0);
  std::unique_ptr<allinone::AllInOne> app_;
  std::unique_ptr<pb::CommandService::Stub> commands_;
  std::unique_ptr<pb::QueryService::Stub> queries_;
  std::unique_ptr<pb::NotificationService::Stub> notifications_;
  std::unique_ptr<pb::AttachmentService::Stub> uploads_;
};

// Asks the standard grpc.health.v1.Health/Check of the server at `address` (host:port) and
// returns "SERVING", "NOT_SERVING", or the error.
std::string HealthStatus(const std::string& address);

// Command builders shared by the tests.
pb::ExecuteRequest NewRequest(const std::string& tenant = "gemeente-test", const std::string& key = "");
pb::ExecuteRequest RegisterPerson(const std::string& name, const std::string& email = "", const std::string& phone = "",
                                  const std::string& handle = "");
pb::ExecuteRequest RegisterMessage(const std::string& party_id, pb::Channel channel, const std::string& text,
                                   int64_t occurred_seconds);
pb::ExecuteRequest RequestCallback(const std::string& party_id, const std::string& department,
                                   const std::string& employee, pb::Urgency urgency, int64_t due_seconds);

}  // namespace ks::testing
