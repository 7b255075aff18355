// Disk trouble: the projector's disk fills up (its writes fail with "no space left"), or its key
// vault lacks keys its events were sealed under; the projector stops with a clear error and
// commits nothing partial; once the trouble is gone a new projector resumes from its last
// committed batch and the read models equal a clean rebuild.
//
// The fault is injected through RocksDB's own FileSystem plugin interface around the real local
// file system, the way librdkafka's mock cluster injects broker faults: RocksDB itself is real.
#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <set>

#include <rocksdb/file_system.h>

#include "klantstroom/v1/events.pb.h"
#include "ks/command/command_handler.h"
#include "ks/domain/event_codec.h"
#include "ks/eventlog/embedded_log.h"
#include "ks/projector/projector.h"
#include "support/stack.h"
#include "support/store_compare.h"
#include "support/temp_dir.h"
#include "support/vault.h"

using namespace ks;
using namespace ks::testing;
namespace pb = ::klantstroom::v1;

namespace {

// The local file system, except that while `full` is set every write fails as on a full disk,
// and syncs fail with an I/O error.
class FillableFileSystem : public rocksdb::FileSystemWrapper {
 public:
  FillableFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "FillableFileSystem"; }
  std::atomic<bool> full{false};

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    if (full.load()) return rocksdb::IOStatus::NoSpace("injected: disk full");
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus s = target()->NewWritableFile(f, options, &file, dbg);
    if (s.ok()) *result = std::make_unique<File>(std::move(file), &full);
    return s;
  }

 private:
  class File : public rocksdb::FSWritableFileWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> file, std::atomic<bool>* full)
        : FSWritableFileWrapper(file.get()), owned_(std::move(file)), full_(full) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
      if (full_->load()) return rocksdb::IOStatus::NoSpace("injected: disk full");
      return FSWritableFileWrapper::Append(data, options, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info, rocksdb::IODebugContext* dbg) override {
      if (full_->load()) return rocksdb::IOStatus::NoSpace("injected: disk full");
      return FSWritableFileWrapper::Append(data, options, info, dbg);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
      if (full_->load()) return rocksdb::IOStatus::IOError("injected: write failed");
      return FSWritableFileWrapper::Sync(options, dbg);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
      if (full_->load()) return rocksdb::IOStatus::IOError("injected: write failed");
      return FSWritableFileWrapper::Fsync(options, dbg);
    }

   private:
    std::unique_ptr<rocksdb::FSWritableFile> owned_;
    std::atomic<bool>* full_;
  };
};

// Ten parties with thirty e-mails each, through the command service, in a log of four partitions.
// `after_party` is called with each party's id once its e-mails are in the log.
std::unique_ptr<eventlog::EventLog> WriteHistory(
    const TempDir& dir, privacy::KeyVault& vault = ks::testing::TestVault(),
    const std::function<void(const std::string&)>& after_party = [](const std::string&) {}) {
  auto log = eventlog::OpenEmbeddedLog({.path = dir.Sub("log"), .partitions = 4, .sync = false});
  REQUIRE(log.has_value());
  auto handler = command::CommandHandler::Start(**log, vault);
  REQUIRE(handler.has_value());
  for (int p = 0; p < 10; ++p) {
    const auto party = (*handler)->ExecuteSync(RegisterPerson("Burger " + std::to_string(p)));
    REQUIRE(party.has_value());
    for (int i = 0; i < 30; ++i)
      REQUIRE((*handler)->ExecuteSync(RegisterMessage(party->aggregate_id(), pb::CHANNEL_EMAIL,
                                                      "mail " + std::to_string(i), 1'794'815'220 + i)));
    after_party(party->aggregate_id());
  }
  return std::move(*log);
}

// A new projector on the store in live/ (reopened on `fs`) starts where the one before said it had
// committed, catches up, and ends with the same store as a rebuild from nothing in clean/.
void ExpectResumesToCleanRebuild(const TempDir& dir, std::shared_ptr<rocksdb::FileSystem> fs,
                                 eventlog::EventLog& log, const std::vector<int64_t>& ends,
                                 const std::vector<int64_t>& committed,
                                 privacy::KeyVault& vault = ks::testing::TestVault()) {
  {
    auto store = readmodel::ReadModelStore::OpenPrimary(dir.Sub("live"), std::move(fs));
    REQUIRE(store.has_value());
    auto projector = projector::Projector::Open(log, **store, vault);
    REQUIRE(projector.has_value());
    CHECK((*projector)->next_offsets() == committed);  // what it counted as done is what is stored
    REQUIRE((*projector)->CatchUpTo(ends).ok());
  }
  {
    auto clean = readmodel::ReadModelStore::OpenPrimary(dir.Sub("clean"));
    REQUIRE(clean.has_value());
    auto projector = projector::Projector::Open(log, **clean, vault);
    REQUIRE(projector.has_value());
    REQUIRE((*projector)->CatchUpTo(ends).ok());
  }
  const auto differences = StoreDifferences(dir.Sub("live"), dir.Sub("clean"));
  for (const auto& d : differences) UNSCOPED_INFO(d);
  CHECK(differences.empty());
}

}  // namespace

TEST_CASE("a full disk stops the projector cleanly, and it resumes once there is space", "[reliability][integration]") {
  TempDir dir;
  auto log = WriteHistory(dir);
  auto ends = log->EndOffsets();
  REQUIRE(ends.has_value());

  auto fs = std::make_shared<FillableFileSystem>();
  std::vector<int64_t> committed;
  {
    auto store = readmodel::ReadModelStore::OpenPrimary(dir.Sub("live"), fs);
    REQUIRE(store.has_value());
    auto projector = projector::Projector::Open(*log, **store, ks::testing::TestVault(), {.max_batch_events = 40});
    REQUIRE(projector.has_value());
    for (int i = 0; i < 3; ++i) REQUIRE((*projector)->Step().has_value());
    committed = (*projector)->next_offsets();

    fs->full.store(true);
    auto failed = (*projector)->Step();
    REQUIRE_FALSE(failed.has_value());
    CHECK(failed.error().code() == StatusCode::kUnavailable);
    CHECK_THAT(failed.error().message(), Catch::Contains("commit batch") && Catch::Contains("disk full"));
    CHECK((*projector)->next_offsets() == committed);  // nothing of the failed batch counts as done
  }
  // Space is back: a new projector on the reopened store resumes from the last committed batch.
  fs->full.store(false);
  ExpectResumesToCleanRebuild(dir, fs, *log, *ends, committed);
}

TEST_CASE("a disk that fills up while one batch is written and the next folded loses nothing",
          "[reliability][integration]") {
  // Catching up, the projector folds each batch while the one before it is being written. The
  // disk fills up as the fourth batch is folded: whichever batch's write fails, the projector
  // stops with the error, counts as done exactly what the store holds, and a new projector
  // resumes from there to the same store as a clean rebuild.
  TempDir dir;
  auto log = WriteHistory(dir);
  auto ends = log->EndOffsets();
  REQUIRE(ends.has_value());

  auto fs = std::make_shared<FillableFileSystem>();
  std::vector<int64_t> committed;
  {
    auto store = readmodel::ReadModelStore::OpenPrimary(dir.Sub("live"), fs);
    REQUIRE(store.has_value());
    int prepared = 0;
    auto projector = projector::Projector::Open(
        *log, **store, ks::testing::TestVault(),
        {.max_batch_events = 40, .before_commit = [&](const rocksdb::WriteBatch&) {
           if (++prepared == 4) fs->full.store(true);
         }});
    REQUIRE(projector.has_value());
    const Status failed = (*projector)->CatchUpTo(*ends);
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.code() == StatusCode::kUnavailable);
    CHECK_THAT(failed.message(), Catch::Contains("commit batch") && Catch::Contains("disk full"));
    committed = (*projector)->next_offsets();
    int64_t done = 0;
    for (int64_t n : committed) done += n;
    CHECK(done >= 2 * 40);  // the first two batches were written before the disk filled
    CHECK(done < 310);
  }
  fs->full.store(false);
  ExpectResumesToCleanRebuild(dir, fs, *log, *ends, committed);
}

TEST_CASE("a key missing from the vault stops the projector after the batch in flight is written",
          "[reliability][integration]") {
  // The projector is given a copy of the vault taken when half the parties were registered (a
  // vault restored from an old backup): the first batch with an event of a later party fails to
  // fold. The batch before it, being written meanwhile, is committed and counted as done; nothing
  // of the failed batch is. With the whole vault back, a new projector resumes to the same store
  // as a clean rebuild.
  TempDir dir;
  auto vault = privacy::KeyVault::Open(dir.Sub("vault"), /*create=*/true);
  REQUIRE(vault.has_value());
  std::set<std::string> early_key_ids;  // the parties whose keys the old copy holds
  int parties = 0;
  auto log = WriteHistory(dir, **vault, [&](const std::string& party) {
    if (++parties > 5) return;
    early_key_ids.insert("party/" + party);
    if (parties == 5) std::filesystem::copy(dir.Sub("vault"), dir.Sub("old-vault"), std::filesystem::copy_options::recursive);
  });
  auto ends = log->EndOffsets();
  REQUIRE(ends.has_value());

  // Where the projector must stop: at the start of the first batch (read as the projector reads
  // it, from the start in batches of 40) with an event sealed under a key the old copy lacks.
  std::vector<int64_t> expected(ends->size(), 0);
  {
    auto reader = log->OpenReader(std::vector<int64_t>(ends->size(), 0));
    REQUIRE(reader.has_value());
    int batches = 0;
    std::vector<int64_t> read = expected;
    for (bool missing = false; !missing;) {
      auto batch = (*reader)->Poll(40, std::chrono::milliseconds(0));
      REQUIRE(batch.has_value());
      REQUIRE_FALSE(batch->empty());  // a later party's events are somewhere
      ++batches;
      for (const eventlog::StoredRecord& record : *batch) {
        auto event = domain::DecodeEvent(record.value);
        REQUIRE(event.has_value());
        read[static_cast<size_t>(record.partition)] = record.offset + 1;
        missing = missing || (event->has_personal_data() && !early_key_ids.contains(event->personal_data().key_id()));
      }
      if (!missing) expected = read;
    }
    REQUIRE(batches >= 2);  // so that a batch is in flight when it fails
  }

  std::vector<int64_t> committed;
  {
    auto old_vault = privacy::KeyVault::Open(dir.Sub("old-vault"), /*create=*/false);
    REQUIRE(old_vault.has_value());
    auto store = readmodel::ReadModelStore::OpenPrimary(dir.Sub("live"));
    REQUIRE(store.has_value());
    auto projector = projector::Projector::Open(*log, **store, **old_vault, {.max_batch_events = 40});
    REQUIRE(projector.has_value());
    const Status failed = (*projector)->CatchUpTo(*ends);
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.code() == StatusCode::kFailedPrecondition);
    CHECK_THAT(failed.message(), Catch::Contains("not in the key vault"));
    committed = (*projector)->next_offsets();
    CHECK(committed == expected);
  }
  ExpectResumesToCleanRebuild(dir, rocksdb::FileSystem::Default(), *log, *ends, committed, **vault);
}
