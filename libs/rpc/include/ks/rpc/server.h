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

// Builds and starts a server on `listen_address` ("127.0.0.1:0" picks a free port) with the given
// services plus grpc.health.v1.Health (reporting SERVING) and server reflection. The services must
// outlive the server. On success *bound_port holds the port. UNAVAILABLE when it cannot listen.
Result<std::unique_ptr<grpc::Server>> StartServer(const std::string& listen_address,
                                                  const std::vector<grpc::Service*>& services, int* bound_port);

// Call first thing in main(), before any thread starts: blocks SIGINT and SIGTERM in every thread
// so that WaitForShutdownSignal() alone receives them.
void BlockShutdownSignals();
// Waits for SIGINT or SIGTERM and returns its name.
std::string WaitForShutdownSignal();
// Waits up to `wait` for SIGINT or SIGTERM; true when one arrived.
bool ShutdownSignalArrived(std::chrono::milliseconds wait);

}  // namespace ks::rpc
