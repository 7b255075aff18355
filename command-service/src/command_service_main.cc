#include "ks/command/command_service_main.h"

#include "ks/command/command_grpc_service.h"
#include "ks/command/outbound_grpc_services.h"
#include "ks/command/policy_runner.h"
#include "ks/core/flags.h"
#include "ks/core/log.h"
#include "ks/eventlog/open.h"
#include "ks/rpc/server.h"

namespace ks::command {

int CommandServiceMain(int argc, char** argv) {
  rpc::BlockShutdownSignals();
  Flags flags("command-service", "validates commands from channel adapters and appends their events to the log");
  flags.Define("log", "kafka:127.0.0.1:9092/klantstroom.events", "the event log: kafka:BOOTSTRAP[/TOPIC] or embedded:DIR")
      .Define("listen", "127.0.0.1:50051", "gRPC listen address (host:port; port 0 picks a free one)")
      .Define("attachments", "data/attachments", "directory of the attachment store (shared with the query service)")
      .Define("vault", "data/vault", "the key vault of personal data (libs/privacy), made when missing; shared with the projector and query service")
      .Define("auth-tokens", "", "file of the callers' token hashes, tenants and roles (libs/auth); empty: no authentication (development)")
      .Define("partitions", "0", "partitions when the log or topic has to be created (0: 12); an existing one keeps its own");
  rpc::DefineTlsFlags(flags);
  int exit_code = 0;
  if (!flags.Parse(argc, argv, &exit_code)) return exit_code;

  auto partitions = flags.GetInt("partitions");
  if (!partitions) {
    log::Error("command-service", "{}", partitions.error().ToString());
    return 2;
  }
  auto event_log = eventlog::OpenLog(flags.Get("log"), static_cast<int32_t>(*partitions));
  if (!event_log) {
    log::Error("command-service", "cannot open the event log: {}", event_log.error().ToString());
    return 1;
  }
  attachments::AttachmentStore attachment_store(flags.Get("attachments"));
  auto vault = privacy::KeyVault::Open(flags.Get("vault"), /*create=*/true);
  if (!vault) {
    log::Error("command-service", "{}", vault.error().ToString());
    return 1;
  }
  auto handler = CommandHandler::Start(**event_log, **vault, &attachment_store);
  if (!handler) {
    log::Error("command-service", "cannot rebuild state: {}", handler.error().ToString());
    return 1;
  }
  auto authenticator = auth::AuthenticatorFor(flags.Get("auth-tokens"), "command-service");
  if (!authenticator) {
    log::Error("command-service", "{}", authenticator.error().ToString());
    return 2;
  }
  auto credentials = rpc::ServerCredentialsFor(rpc::TlsFilesFrom(flags));
  if (!credentials) {
    log::Error("command-service", "{}", credentials.error().ToString());
    return 2;
  }
  CommandGrpcService service(**handler, **authenticator);
  NotificationGrpcService notifications(**handler, **authenticator);
  AttachmentGrpcService uploads(attachment_store, **authenticator);
  auto policies = std::make_unique<PolicyRunner>(**handler, **event_log);
  int port = 0;
  auto server = rpc::StartServer(flags.Get("listen"), {&service, &notifications, &uploads}, &port, *credentials);
  if (!server) {
    log::Error("command-service", "{}", server.error().ToString());
    return 1;
  }
  log::Info("command-service", "serving CommandService on port {} with log {}", port, (*event_log)->description());
  // Tests and scripts read this line to learn the port.
  std::printf("LISTENING port=%d\n", port);
  std::fflush(stdout);
  const std::string signal = rpc::WaitForShutdownSignal();
  log::Info("command-service", "{}: finishing calls in flight, then stopping", signal);
  (*server)->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
  policies.reset();
  // The handler first: it waits for the appends under way, which the log (still open) confirms
  // or fails within its delivery timeout, and refuses what still waits; then the log closes.
  handler->reset();
  event_log->reset();
  return 0;
}

}  // namespace ks::command
