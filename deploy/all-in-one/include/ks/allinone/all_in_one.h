// AllInOne: command service, projector and query service in one process, on the embedded event
// log, sharing one data directory and one gRPC port. The `klantstroom` program is this plus
// flags and signals; tests start it in-process the same way.
//
// Thread-safety: Start and Stop from one thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "ks/attachments/attachment_store.h"
#include "ks/auth/auth.h"
#include "ks/privacy/key_vault.h"
#include "ks/command/command_grpc_service.h"
#include "ks/command/outbound_grpc_services.h"
#include "ks/command/policy_runner.h"
#include "ks/eventlog/event_log.h"
#include "ks/projector/projector.h"
#include "ks/query/query_grpc_service.h"
#include "ks/rpc/server.h"

namespace ks::allinone {

struct AllInOneOptions {
  // Holds log/, read-models/ and attachments/. Required.
  std::string data_dir;
  // Default: "127.0.0.1:50051"; port 0 picks a free one.
  std::string listen = "127.0.0.1:50051";
  // Partitions of a new log; 0 means 12, and an existing log keeps its own. Default: 0.
  int32_t partitions = 0;
  // fsync the log before acknowledging. Default: true.
  bool sync = true;
  // The callers' tokens file (libs/auth); empty: no authentication (development). Default: "".
  std::string auth_tokens;
  // The server's TLS files (plaintext when empty; mutual TLS with a client CA).
  rpc::TlsFiles tls;
  // The notification queue's clock (tests run it ahead); empty: the system clock.
  command::NotificationGrpcService::Clock notification_clock;
};

class AllInOne {
 public:
  // Opens (or creates) the data directory, rebuilds command state, starts the projector thread
  // and the gRPC server. UNAVAILABLE when the directory is in use or the port is taken.
  static Result<std::unique_ptr<AllInOne>> Start(const AllInOneOptions& options);
  // Stops serving (finishing calls in flight), stops the projector and closes the stores.
  ~AllInOne();

  int port() const { return port_; }
  command::CommandHandler& commands() { return *handler_; }
  eventlog::EventLog& log() { return *log_; }
  readmodel::ReadModelStore& store() { return *store_; }
  command::PolicyRunner& policies() { return *policies_; }

 private:
  AllInOne() = default;
  void RunProjector();
  std::unique_ptr<auth::Authenticator> authenticator_;
  std::unique_ptr<attachments::AttachmentStore> attachments_;
  std::unique_ptr<privacy::KeyVault> vault_;
  std::unique_ptr<eventlog::EventLog> log_;
  std::unique_ptr<readmodel::ReadModelStore> store_;
  std::unique_ptr<command::CommandHandler> handler_;
  std::unique_ptr<command::PolicyRunner> policies_;
  std::unique_ptr<projector::Projector> projector_;
  std::thread projector_thread_;
  std::atomic<bool> search_stop_{false};
  std::thread search_thread_;
  std::mutex projector_mutex_;
  std::condition_variable projector_cv_;
  bool stopping_ = false;
  std::unique_ptr<query::QueryEngine> engine_;
  std::unique_ptr<query::AuditLog> audit_;
  std::unique_ptr<command::CommandGrpcService> command_service_;
  std::unique_ptr<query::QueryGrpcService> query_service_;
  std::unique_ptr<command::NotificationGrpcService> notification_service_;
  std::unique_ptr<command::AttachmentGrpcService> attachment_service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace ks::allinone
