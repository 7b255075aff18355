#include "ks/rpc/server.h"

#include <csignal>
#include <fstream>
#include <iterator>

#include <absl/synchronization/mutex.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>

namespace ks::rpc {

namespace {
// Debian's Abseil is built without NDEBUG, so every absl::Mutex (gRPC's locks) keeps a lock-order
// graph for deadlock detection, behind one process-wide lock, and aborts the process on a
// possible cycle. Upstream release builds have neither; a service must not abort over a lock
// order in gRPC's internals. Off in every program that links this (each runs a gRPC server),
// before main. (It was about 0.8% of the customer-view benchmark's CPU.)
const bool kMutexGraphOff = [] {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  return true;
}();
}  // namespace

grpc::Status ToGrpc(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return {static_cast<grpc::StatusCode>(status.code()), status.message()};
}

Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return Status::Ok();
  return {static_cast<StatusCode>(status.error_code()), status.error_message()};
}

namespace {

Result<std::string> ReadPem(const std::string& path, std::string_view flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::unexpected(InvalidArgument("--{}: cannot read {}", flag, path));
  std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (pem.find("-----BEGIN ") == std::string::npos)
    return std::unexpected(InvalidArgument("--{}: {} is not a PEM file", flag, path));
  return pem;
}

}  // namespace

Result<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(const TlsFiles& tls) {
  if (tls.cert.empty() && tls.key.empty() && tls.client_ca.empty()) return grpc::InsecureServerCredentials();
  if (tls.cert.empty() || tls.key.empty())
    return std::unexpected(InvalidArgument("--tls-cert and --tls-key: give both, or neither (plaintext)"));
  auto cert = ReadPem(tls.cert, "tls-cert");
  if (!cert) return std::unexpected(cert.error());
  auto key = ReadPem(tls.key, "tls-key");
  if (!key) return std::unexpected(key.error());
  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back({*key, *cert});
  if (!tls.client_ca.empty()) {
    auto ca = ReadPem(tls.client_ca, "tls-client-ca");
    if (!ca) return std::unexpected(ca.error());
    options.pem_root_certs = *ca;
    // No certificate signed by the CA, no connection: the handshake fails before any call.
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

Result<std::unique_ptr<grpc::Server>> StartServer(const std::string& listen_address,
                                                  const std::vector<grpc::Service*>& services, int* bound_port,
                                                  std::shared_ptr<grpc::ServerCredentials> credentials) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen_address, credentials ? credentials : grpc::InsecureServerCredentials(), bound_port);
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
