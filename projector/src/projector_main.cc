#include "ks/projector/projector_main.h"

#include <filesystem>
#include <thread>

#include "ks/core/flags.h"
#include "ks/core/log.h"
#include "ks/eventlog/open.h"
#include "ks/projector/projector.h"
#include "ks/rpc/server.h"
#include "ks/search/search_index.h"

namespace ks::projector {

int ProjectorMain(int argc, char** argv) {
  rpc::BlockShutdownSignals();
  Flags flags("projector",
              "folds the event log into the RocksDB read models that the query service serves");
  flags
      .Define("log", "kafka:127.0.0.1:9092/klantstroom.events",
              "the event log: kafka:BOOTSTRAP[/TOPIC] or embedded:DIR")
      .Define("read-models", "data/read-models", "directory of the read-model store")
      .Define("rebuild-into", "",
              "build a fresh store in this directory from offset 0 up to the log's current end, "
              "then exit (with 32 MB more memory: a filter of the records written, whose reads of "
              "records never written are skipped)")
      .Define("batch", "",
              "most events folded per batch; default 2000, and 10000 for --rebuild-into (a record "
              "changed several times within a batch is read and written once)")
      .Define("block-cache-mb", "64", "the read models' block cache (data, index and filter blocks): bounds the store's memory")
      .Define("workers", "",
              "threads that fold a batch's partitions side by side (more than 1: partitions become "
              "visible independently); default 1, and 2 for --rebuild-into (nobody reads that store "
              "before it is whole)")
      .Define("vault", "data/vault",
              "the key vault of personal data, made by the command service (libs/privacy)")
      .Define("search-index", "",
              "directory of the search index (default: search/ beside the read models; 'none': no "
              "index)");
  int exit_code = 0;
  if (!flags.Parse(argc, argv, &exit_code)) return exit_code;
  const std::string rebuild_into = flags.Get("rebuild-into");
  auto batch = flags.Get("batch").empty() ? Result<int64_t>(rebuild_into.empty() ? 2000 : 10000)
                                          : flags.GetInt("batch");
  if (!batch || *batch <= 0) {
    log::Error("projector", "--batch: must be a whole number of at least 1");
    return 2;
  }
  auto block_cache_mb = flags.GetInt("block-cache-mb");
  if (!block_cache_mb || *block_cache_mb < 8 || *block_cache_mb > 1 << 20) {
    log::Error("projector", "--block-cache-mb: must be a whole number of megabytes, at least 8");
    return 2;
  }
  auto workers = flags.Get("workers").empty() ? Result<int64_t>(rebuild_into.empty() ? 1 : 2)
                                              : flags.GetInt("workers");
  if (!workers || *workers <= 0 || *workers > 64) {
    log::Error("projector", "--workers: must be a whole number from 1 to 64");
    return 2;
  }
  auto event_log = eventlog::OpenLog(flags.Get("log"), 0);
  if (!event_log) {
    log::Error("projector", "cannot open the event log: {}", event_log.error().ToString());
    return 1;
  }
  if (!rebuild_into.empty() && std::filesystem::exists(rebuild_into) &&
      !std::filesystem::is_empty(rebuild_into)) {
    log::Error("projector",
               "--rebuild-into={}: the directory is not empty; a rebuild starts from nothing",
               rebuild_into);
    return 2;
  }
  const std::string store_path = rebuild_into.empty() ? flags.Get("read-models") : rebuild_into;
  auto store = readmodel::ReadModelStore::OpenPrimary(
      store_path, nullptr, {.block_cache_mb = static_cast<size_t>(*block_cache_mb)});
  if (!store) {
    log::Error("projector", "cannot open the read models: {}", store.error().ToString());
    return 1;
  }
  if (!rebuild_into.empty())
    if (Status s = (*store)->BeginRebuild(); !s.ok()) {
      log::Error("projector", "{}", s.ToString());
      return 1;
    }
  auto vault = privacy::KeyVault::OpenWhenMade(flags.Get("vault"), std::chrono::seconds(60));
  if (!vault) {
    log::Error("projector", "{}", vault.error().ToString());
    return 1;
  }
  auto projector = Projector::Open(
      **event_log, **store, **vault,
      {.max_batch_events = static_cast<size_t>(*batch),
       .workers = static_cast<size_t>(*workers),
       .write_ahead_log = rebuild_into.empty(),
       // 32 MB: about 28 bits per record at 10M events (9.5M records), where a "maybe" for an
       // absent record is rare (one in a hundred at 10 bits: written_records_test); at 100M events
       // (under 3 bits a record) still about a third of those reads skipped.
       .written_records_filter_bytes = rebuild_into.empty() ? size_t{0} : size_t{32} << 20});
  if (!projector) {
    log::Error("projector", "{}", projector.error().ToString());
    return 1;
  }

  if (!rebuild_into.empty()) {
    auto ends = (*event_log)->EndOffsets();
    if (!ends) {
      log::Error("projector", "{}", ends.error().ToString());
      return 1;
    }
    const auto started = std::chrono::steady_clock::now();
    if (Status s = (*projector)->CatchUpTo(*ends); !s.ok()) {
      log::Error("projector", "rebuild failed: {}", s.ToString());
      return 1;
    }
    const auto folded = std::chrono::steady_clock::now();
    if (Status s = (*store)->Settle(); !s.ok()) {
      log::Error("projector", "rebuild failed while compacting the new store: {}", s.ToString());
      return 1;
    }
    const auto seconds = [](auto from, auto to) { return std::chrono::duration<double>(to - from).count(); };
    log::Info("projector", "rebuilt {} from offset 0: {} events in {:.1f} s, compacted in {:.1f} s", rebuild_into,
              (*projector)->events_applied(), seconds(started, folded),
              seconds(folded, std::chrono::steady_clock::now()));
    return 0;
  }

  // The search index follows the log on its own thread, with its own positions.
  std::atomic<bool> search_stop{false};
  std::thread search_worker;
  if (const std::string search_dir = search::SearchIndexDir(flags.Get("search-index"), store_path);
      !search_dir.empty())
    search_worker = std::thread([&, search_dir] {
      search::RunIndexerUntil(**event_log, **vault, search_dir, search_stop,
                              static_cast<size_t>(*batch));
    });

  Status result;
  std::thread worker([&] { result = (*projector)->Run(); });
  std::thread waiter([&] {
    const std::string signal = rpc::WaitForShutdownSignal();
    log::Info("projector", "{}: finishing the current batch, then stopping", signal);
    (*projector)->stop();
    search_stop.store(true);
  });
  worker.join();
  if (!result.ok()) {
    // The store holds every batch committed before the error; a restart resumes from there.
    log::Error("projector", "stopped: {}", result.ToString());
    std::_Exit(1);
  }
  waiter.join();
  if (search_worker.joinable()) search_worker.join();
  log::Info("projector", "stopped after applying {} events", (*projector)->events_applied());
  return 0;
}

}  // namespace ks::projector
