// What every Klantstroom gRPC server shares: Status <-> grpc::Status translation, a server with
// the standard health service and server reflection, and shutdown on SIGINT/SIGTERM.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "ks/core/status.h"

namespace ks::rpc {

grpc::Status ToGrpc(const Status& status);
Status FromGrpc(const grpc::Status& status);

// The PEM files of a server's TLS (flags --tls-cert, --tls-key, --tls-client-ca). All empty:
// plaintext. cert and key: TLS. With client_ca too: mutual TLS, every client must present a
// certificate signed by that CA, and its common name may stand for a caller in the tokens file
// (libs/auth: "cert:<common name>").
struct TlsFiles {
  std::string cert;
  std::string key;
  std::string client_ca;
};

// The credentials `tls` asks for. INVALID_ARGUMENT naming the flag when a file cannot be read or
// the combination makes no sense (a key without a certificate, a client CA without TLS).
Result<std::shared_ptr<grpc::ServerCredentials>> ServerCredentialsFor(const TlsFiles& tls);

// Adds the --tls-cert, --tls-key and --tls-client-ca flags to a program's flags (ks/core/flags.h).
template <typename Flags>
Flags& DefineTlsFlags(Flags& flags) {
  return flags.Define("tls-cert", "", "PEM certificate (chain) of this server; with --tls-key: serve TLS, not plaintext")
      .Define("tls-key", "", "PEM private key of --tls-cert")
      .Define("tls-client-ca", "", "PEM CA bundle: require clients to present a certificate it signed (mutual TLS)");
}
template <typename Flags>
TlsFiles TlsFilesFrom(const Flags& flags) {
  return {flags.Get("tls-cert"), flags.Get("tls-key"), flags.Get("tls-client-ca")};
}

// Builds and starts a server on `listen_address` ("127.0.0.1:0" picks a free port) with the given
// services plus grpc.health.v1.Health (reporting SERVING) and server reflection, plaintext or
// with `credentials` (ServerCredentialsFor). The services must outlive the server. On success
// *bound_port holds the port. UNAVAILABLE when it cannot listen.
Result<std::unique_ptr<grpc::Server>> StartServer(const std::string& listen_address,
                                                  const std::vector<grpc::Service*>& services, int* bound_port,
                                                  std::shared_ptr<grpc::ServerCredentials> credentials = nullptr);

// Call first thing in main(), before any thread starts: blocks SIGINT and SIGTERM in every thread
// so that WaitForShutdownSignal() alone receives them.
void BlockShutdownSignals();
// Waits for SIGINT or SIGTERM and returns its name.
std::string WaitForShutdownSignal();
// Waits up to `wait` for SIGINT or SIGTERM; true when one arrived.
bool ShutdownSignalArrived(std::chrono::milliseconds wait);

}  // namespace ks::rpc
