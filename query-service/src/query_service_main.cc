#include "ks/query/query_service_main.h"

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <string_view>
#include <thread>
#include <unistd.h>

#include "ks/core/flags.h"
#include "ks/core/log.h"
#include "ks/query/query_grpc_service.h"
#include "ks/rpc/server.h"

namespace ks::query {
namespace {

constexpr std::string_view kSecondaryPrefix = "klantstroom-query-";

// The secondary instance's own files, in a directory private to this process. A query service
// killed outright (SIGKILL, a crash) cannot remove its directory, so each start removes those of
// processes that no longer exist; the directory of this one goes with the object.
class SecondaryDirectory {
 public:
  SecondaryDirectory() {
    const auto temp = std::filesystem::temp_directory_path();
    RemoveThoseOfDeadProcesses(temp);
    path_ = (temp / (std::string(kSecondaryPrefix) + std::to_string(::getpid()))).string();
  }
  ~SecondaryDirectory() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  SecondaryDirectory(const SecondaryDirectory&) = delete;
  SecondaryDirectory& operator=(const SecondaryDirectory&) = delete;
  const std::string& path() const { return path_; }

 private:
  static void RemoveThoseOfDeadProcesses(const std::filesystem::path& temp) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(temp, ec)) {
      const std::string name = entry.path().filename().string();
      if (!name.starts_with(kSecondaryPrefix)) continue;
      const std::string digits = name.substr(kSecondaryPrefix.size());
      if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
      const pid_t pid = static_cast<pid_t>(std::stol(digits));
      if (::kill(pid, 0) == -1 && errno == ESRCH) {
        std::error_code ignored;
        std::filesystem::remove_all(entry.path(), ignored);
      }
    }
  }

  std::string path_;
};

}  // namespace

int QueryServiceMain(int argc, char** argv) {
  rpc::BlockShutdownSignals();
  Flags flags("query-service", "serves the read models (customer view, party lookup, callback queues) to KCC dashboards");
  flags.Define("read-models", "data/read-models", "directory of the projector's read-model store")
      .Define("listen", "127.0.0.1:50052", "gRPC listen address (host:port; port 0 picks a free one)")
      .Define("attachments", "data/attachments", "directory of the attachment store (the command service writes it)")
      .Define("vault", "data/vault", "the key vault of personal data, made by the command service (libs/privacy)")
      .Define("audit", "data/audit", "directory of this query service's audit log of reads (who read whose data)")
      .Define("search-index", "", "directory of the projector's search index (default: search/ beside the read models)")
      .Define("auth-tokens", "", "file of the callers' token hashes, tenants and roles (libs/auth); empty: no authentication (development)")
      .Define("catch-up-ms", "10", "how often to catch up with the projector's writes")
      .Define("block-cache-mb", "64", "the read models' block cache (data, index and filter blocks): bounds the store's memory")
      .Define("max-consistency-wait-ms", "5000", "longest a query waits for its min_positions");
  rpc::DefineTlsFlags(flags);
  int exit_code = 0;
  if (!flags.Parse(argc, argv, &exit_code)) return exit_code;
  auto block_cache_mb = flags.GetInt("block-cache-mb");
  if (!block_cache_mb || *block_cache_mb < 8 || *block_cache_mb > 1 << 20) {
    log::Error("query-service", "--block-cache-mb: must be a whole number of megabytes, at least 8");
    return 2;
  }
  auto catch_up_ms = flags.GetInt("catch-up-ms");
  auto max_wait_ms = flags.GetInt("max-consistency-wait-ms");
  if (!catch_up_ms || !max_wait_ms || *catch_up_ms <= 0 || *max_wait_ms < 0) {
    log::Error("query-service", "--catch-up-ms and --max-consistency-wait-ms take whole numbers of milliseconds");
    return 2;
  }
  const std::string path = flags.Get("read-models");
  const SecondaryDirectory secondary_directory;
  const std::string& secondary = secondary_directory.path();
  std::unique_ptr<readmodel::ReadModelStore> store;
  for (int attempt = 0;; ++attempt) {
    auto opened = readmodel::ReadModelStore::OpenSecondary(
        path, secondary, {.block_cache_mb = static_cast<size_t>(*block_cache_mb)});
    if (opened) {
      store = std::move(*opened);
      break;
    }
    if (opened.error().code() == StatusCode::kFailedPrecondition) {  // waiting would not help
      log::Error("query-service", "{}", opened.error().message());
      return 1;
    }
    if (attempt == 0) log::Info("query-service", "waiting for the projector to create {} ({})", path, opened.error().message());
    if (rpc::ShutdownSignalArrived(std::chrono::milliseconds(200))) {
      log::Info("query-service", "stopped while waiting for {}", path);
      return 0;
    }
  }
  CatchUpLoop catch_up(*store, std::chrono::milliseconds(*catch_up_ms));
  attachments::AttachmentStore attachment_store(flags.Get("attachments"));
  auto vault = privacy::KeyVault::OpenWhenMade(flags.Get("vault"), std::chrono::seconds(60));
  if (!vault) {
    log::Error("query-service", "{}", vault.error().ToString());
    return 1;
  }
  QueryEngine engine(*store, **vault, &attachment_store, search::SearchIndexDir(flags.Get("search-index"), path));
  auto authenticator = auth::AuthenticatorFor(flags.Get("auth-tokens"), "query-service");
  if (!authenticator) {
    log::Error("query-service", "{}", authenticator.error().ToString());
    return 2;
  }
  auto credentials = rpc::ServerCredentialsFor(rpc::TlsFilesFrom(flags));
  if (!credentials) {
    log::Error("query-service", "{}", credentials.error().ToString());
    return 2;
  }
  auto audit = AuditLog::Open(flags.Get("audit"));
  if (!audit) {
    log::Error("query-service", "{}", audit.error().ToString());
    return 1;
  }
  QueryGrpcService service(engine, **authenticator,
                           {.max_consistency_wait = std::chrono::milliseconds(*max_wait_ms), .audit = audit->get()});
  int port = 0;
  auto server = rpc::StartServer(flags.Get("listen"), {&service}, &port, *credentials);
  if (!server) {
    log::Error("query-service", "{}", server.error().ToString());
    return 1;
  }
  log::Info("query-service", "serving QueryService on port {} from {}", port, path);
  std::printf("LISTENING port=%d\n", port);
  std::fflush(stdout);
  const std::string signal = rpc::WaitForShutdownSignal();
  log::Info("query-service", "{}: finishing calls in flight, then stopping", signal);
  (*server)->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return 0;
}

}  // namespace ks::query
