#include "ks/rpc/server.h"

#include <csignal>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

namespace ks::rpc {

grpc::Status ToGrpc(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return {static_cast<grpc::StatusCode>(status.code()), status.message()};
}

Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return Status::Ok();
  return {static_cast<StatusCode>(status.error_code()), status.error_message()};
}

Result<std::unique_ptr<grpc::Server>> StartServer(const std::string& listen_address,
                                                  const std::vector<grpc::Service*>& services, int* bound_port) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // Plaintext for now: authentication arrives with the security work (tokens or mTLS).
  builder.AddListeningPort(listen_address, grpc::InsecureServerCredentials(), bound_port);
  for (grpc::Service* service : services) builder.RegisterService(service);
  // Attachments (photos) are up to 10 MiB; leave room for the message around them.
  builder.SetMaxReceiveMessageSize(16 << 20);
  builder.SetMaxSendMessageSize(16 << 20);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || *bound_port == 0) return std::unexpected(Unavailable("cannot listen on {}", listen_address));
  return server;
}

void BlockShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::string WaitForShutdownSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  return sig == SIGINT ? "SIGINT" : "SIGTERM";
}

}  // namespace ks::rpc

namespace ks::rpc {

bool ShutdownSignalArrived(std::chrono::milliseconds wait) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  timespec timeout{static_cast<time_t>(wait.count() / 1000), static_cast<long>((wait.count() % 1000) * 1'000'000)};
  return sigtimedwait(&set, nullptr, &timeout) > 0;
}

}  // namespace ks::rpc
