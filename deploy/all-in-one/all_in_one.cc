#include "ks/allinone/all_in_one.h"

#include <filesystem>

#include "ks/core/log.h"
#include "ks/eventlog/embedded_log.h"
#include "ks/rpc/server.h"
#include "ks/search/search_index.h"

namespace ks::allinone {

Result<std::unique_ptr<AllInOne>> AllInOne::Start(const AllInOneOptions& options) {
  if (options.data_dir.empty()) return std::unexpected(InvalidArgument("data_dir: is required"));
  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) return std::unexpected(IoError("cannot create {}: {}", options.data_dir, ec.message()));

  std::unique_ptr<AllInOne> app(new AllInOne());
  auto authenticator = auth::AuthenticatorFor(options.auth_tokens, "klantstroom");
  if (!authenticator) return std::unexpected(authenticator.error());
  app->authenticator_ = std::move(*authenticator);
  app->attachments_ = std::make_unique<attachments::AttachmentStore>(options.data_dir + "/attachments");
  auto log = eventlog::OpenEmbeddedLog(
      {.path = options.data_dir + "/log", .partitions = options.partitions, .sync = options.sync});
  if (!log) return std::unexpected(log.error());
  app->log_ = std::move(*log);
  auto store = readmodel::ReadModelStore::OpenPrimary(options.data_dir + "/read-models");
  if (!store) return std::unexpected(store.error());
  app->store_ = std::move(*store);
  auto vault = privacy::KeyVault::Open(options.data_dir + "/vault", /*create=*/true);
  if (!vault) return std::unexpected(vault.error());
  app->vault_ = std::move(*vault);
  auto handler = command::CommandHandler::Start(*app->log_, *app->vault_, app->attachments_.get());
  if (!handler) return std::unexpected(handler.error());
  app->handler_ = std::move(*handler);
  // The projector runs on its own thread; after an error (a full disk, say) it starts again from
  // its last committed batch, so one failure does not stop the read models for good.
  auto projector = projector::Projector::Open(*app->log_, *app->store_, *app->vault_);
  if (!projector) return std::unexpected(projector.error());
  app->projector_ = std::move(*projector);
  app->projector_thread_ = std::thread([a = app.get()] { a->RunProjector(); });

  // The search index follows the log on a thread of its own, with its own positions.
  app->search_thread_ = std::thread([a = app.get(), dir = options.data_dir + "/search"] {
    search::RunIndexerUntil(*a->log_, *a->vault_, dir, a->search_stop_);
  });

  app->policies_ = std::make_unique<command::PolicyRunner>(*app->handler_, *app->log_);
  app->engine_ = std::make_unique<query::QueryEngine>(*app->store_, *app->vault_, app->attachments_.get(),
                                                     options.data_dir + "/search");
  app->command_service_ = std::make_unique<command::CommandGrpcService>(*app->handler_, *app->authenticator_);
  auto audit = query::AuditLog::Open(options.data_dir + "/audit");
  if (!audit) return std::unexpected(audit.error());
  app->audit_ = std::move(*audit);
  app->query_service_ =
      std::make_unique<query::QueryGrpcService>(*app->engine_, *app->authenticator_, query::QueryServiceOptions{.audit = app->audit_.get()});
  app->notification_service_ = std::make_unique<command::NotificationGrpcService>(*app->handler_, *app->authenticator_,
                                                                               options.notification_clock);
  app->attachment_service_ = std::make_unique<command::AttachmentGrpcService>(*app->attachments_, *app->authenticator_);
  auto credentials = rpc::ServerCredentialsFor(options.tls);
  if (!credentials) return std::unexpected(credentials.error());
  auto server = rpc::StartServer(options.listen,
                                 {app->command_service_.get(), app->query_service_.get(),
                                  app->notification_service_.get(), app->attachment_service_.get()},
                                 &app->port_, *credentials);
  if (!server) return std::unexpected(server.error());
  app->server_ = std::move(*server);
  return app;
}

void AllInOne::RunProjector() {
  while (true) {
    // Only this thread replaces projector_, so reading it here needs no lock.
    const Status s = projector_->Run();
    std::unique_lock lock(projector_mutex_);
    if (stopping_) return;
    log::Error("klantstroom", "projector stopped: {}; starting again from its last batch", s.ToString());
    // A failed projector is never stepped again (its reader is past the batch that failed): a new
    // one resumes from the store's committed positions.
    while (true) {
      projector_cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
      if (stopping_) return;
      auto reopened = projector::Projector::Open(*log_, *store_, *vault_);
      if (reopened) {
        projector_ = std::move(*reopened);
        break;
      }
      log::Error("klantstroom", "projector: {}", reopened.error().ToString());
    }
  }
}

AllInOne::~AllInOne() {
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
  {
    std::lock_guard lock(projector_mutex_);
    stopping_ = true;
    if (projector_) projector_->stop();
  }
  projector_cv_.notify_all();
  if (projector_thread_.joinable()) projector_thread_.join();
  search_stop_.store(true);
  if (search_thread_.joinable()) search_thread_.join();
  policies_.reset();
  // The command handler before the log: it waits for the appends under way, which the open log
  // confirms or fails, and refuses what still waits.
  handler_.reset();
  log_.reset();
}

}  // namespace ks::allinone
