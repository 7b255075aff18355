#include "ks/query/query_service_main.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <filesystem>
#include <random>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "ks/core/flags.h"
#include "ks/core/log.h"
#include "ks/query/query_grpc_service.h"
#include "ks/rpc/server.h"

namespace ks::query {
namespace {

constexpr std::string_view kSecondaryPrefix = "klantstroom-query-";
constexpr std::string_view kOwnerLock = "owner.lock";

// The secondary instance's own files, in a directory private to this process. A query service
// killed outright (SIGKILL, a crash) cannot remove its directory, so each start removes those
// nobody owns any more. Ownership is an flock on a file inside, held for the process's life: the
// kernel drops it when the process dies, whatever PID namespace either process is in (a PID check
// would take a live service in another container sharing /tmp for dead). The directory gets its
// name only once the lock is held, so a sweep never sees it unowned.
class SecondaryDirectory {
 public:
  SecondaryDirectory() {
    const auto temp = std::filesystem::temp_directory_path();
    RemoveUnowned(temp);
    // The pid for people reading /tmp, a random part against another PID namespace's same pid.
    std::random_device random;
    const std::string name = fmt::format("{}{}-{:08x}", kSecondaryPrefix, ::getpid(), random());
    const auto making = temp / (".making-" + name);
    path_ = (temp / name).string();
    std::error_code ec;
    std::filesystem::create_directories(making, ec);
    lock_fd_ = ::open((making / kOwnerLock).c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (lock_fd_ >= 0) (void)::flock(lock_fd_, LOCK_EX);
    std::filesystem::rename(making, path_, ec);
  }
  ~SecondaryDirectory() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }
  SecondaryDirectory(const SecondaryDirectory&) = delete;
  SecondaryDirectory& operator=(const SecondaryDirectory&) = delete;
  const std::string& path() const { return path_; }

 private:
  static void RemoveUnowned(const std::filesystem::path& temp) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(temp, ec)) {
      const std::string name = entry.path().filename().string();
      if (!name.starts_with(kSecondaryPrefix)) continue;
      const int fd = ::open((entry.path() / kOwnerLock).c_str(), O_RDWR | O_CLOEXEC);
      if (fd < 0) {
        // Named by the pid alone (made before owners took locks): removed when no process has
        // that number here.
        pid_t pid = 0;
        const std::string_view digits = std::string_view(name).substr(kSecondaryPrefix.size());
        const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
        if (error != std::errc() || end != digits.data() + digits.size() || pid <= 0) continue;
        if (::kill(pid, 0) == -1 && errno == ESRCH) {
          std::error_code ignored;
          std::filesystem::remove_all(entry.path(), ignored);
        }
        continue;
      }
      if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {  // nobody holds it: its owner is gone
        std::error_code ignored;
        std::filesystem::remove_all(entry.path(), ignored);
      }
      ::close(fd);
    }
  }

  std::string path_;
  int lock_fd_ = -1;
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
