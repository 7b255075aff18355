#include "ks/readmodel/store.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>
#include <utility>

#include <rocksdb/filter_policy.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/table.h>

#include "ks/core/log.h"
#include "ks/readmodel/keys.h"

namespace ks::readmodel {
namespace {

// Adds up the index counters (keys::IndexCounter): the projector merges +1 and -1 into them
// instead of reading and writing them, so two workers may count under one prefix in the same
// write group, and a batch's counts need no read.
class CounterAddition : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* new_value, rocksdb::Logger*) const override {
    const int64_t before = existing ? keys::DecodeInt64(std::string_view(existing->data(), existing->size())) : 0;
    *new_value = keys::EncodeInt64(before + keys::DecodeInt64(std::string_view(value.data(), value.size())));
    return true;
  }
  const char* Name() const override { return "klantstroom.CounterAddition"; }
};

rocksdb::Options StoreOptions(const StoreTuning& tuning) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.IncreaseParallelism(2);
  // Many point lookups: bloom filters, and a block cache that bounds memory.
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(tuning.block_cache_mb << 20);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // Index and filter blocks live in the block cache too (by default each open table file keeps
  // its own outside it, so memory grew with the history: 236 MiB at 1M events, 389 MiB at 4M);
  // level 0's stay pinned, since every read consults them. They are partitioned into 4 KB
  // pieces under a small pinned top level: whole, a large file's index and filter are megabytes,
  // which a 64 MB cache kept evicting and reading back (a query service on 1M events spent 80%
  // of its time decompressing and checksumming them, and answered 15 times slower).
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  table.pin_top_level_index_and_filter = true;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // A bloom filter over the memtable's keys: most of the projector's reads are of records not in
  // it (new ones, or older than the last flush), and without the filter each searched the skip
  // list first (a 1M-event rebuild's folding: 20.0 -> 18.1 s).
  options.memtable_whole_key_filtering = true;
  options.memtable_prefix_bloom_size_ratio = 0.05;
  options.merge_operator = std::make_shared<CounterAddition>();
  return options;
}

// Whether any event was applied to the store (a partition's progress is recorded).
Result<bool> AnythingApplied(rocksdb::DB& db) {
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions()));
  it->Seek(std::string(keys::kPartitionProgressPrefix));
  const bool applied = it->Valid() && it->key().starts_with(std::string(keys::kPartitionProgressPrefix));
  if (!it->status().ok()) return std::unexpected(ReadModelStore::FromRocks(it->status(), "read the progress"));
  return applied;
}

// The layout version `db` was written in: the stored one, 1 for a store written before versions
// were kept, or none for a store nothing was applied to yet.
Result<std::optional<int>> StoredLayout(rocksdb::DB& db) {
  std::string value;
  rocksdb::Status s = db.Get(rocksdb::ReadOptions(), std::string(keys::kLayoutKey), &value);
  if (s.ok()) return std::optional<int>(std::atoi(value.c_str()));
  if (!s.IsNotFound()) return std::unexpected(ReadModelStore::FromRocks(s, "read the layout version"));
  auto applied = AnythingApplied(db);
  if (!applied) return std::unexpected(applied.error());
  return *applied ? std::optional<int>(1) : std::optional<int>();
}

// Older layouts upgraded in place: version 2 lacks only the index counters (ReadModelStore counts
// them, making it version 3); version 3 keys a party's meldingen and open callbacks by id alone
// (the projector re-keys them, recording kLayoutListOrderUpgrading meanwhile: it knows their
// records).
bool UpgradedInPlace(int layout) {
  return layout == keys::kLayoutCountersMissing || layout == keys::kLayoutListOrderMissing ||
         layout == keys::kLayoutListOrderUpgrading;
}

Status CheckLayout(std::optional<int> stored, const std::string& path, bool primary) {
  if (!stored || *stored == keys::kLayoutVersion) return Status::Ok();
  if (UpgradedInPlace(*stored)) {
    if (primary) return Status::Ok();
    if (*stored == keys::kLayoutListOrderUpgrading)
      return FailedPrecondition(
          "read models at {} are being upgraded to layout version {} (or an upgrade was cut short): start "
          "the projector on them (it finishes the upgrade)",
          path, keys::kLayoutVersion);
    return FailedPrecondition(
        "read models at {} are in layout version {}, this program reads version {}: start the projector "
        "on them first (it upgrades version {} in place)",
        path, *stored, keys::kLayoutVersion, *stored);
  }
  return FailedPrecondition(
      "read models at {} are in layout version {}, this program reads and writes version {}: rebuild them "
      "from the log (projector --rebuild-into=NEW_DIR) and use NEW_DIR",
      path, *stored, keys::kLayoutVersion);
}

// Layout 2 -> 3: every counted index's entries counted once, the counters and the new version
// written in one synced batch (a crash before it leaves version 2, upgraded again at the next
// start). Reads the melding indexes and callback queues once: seconds for a large city.
Status AddIndexCounters(rocksdb::DB& db, const std::string& path) {
  std::map<std::string, int64_t> counts;
  std::unique_ptr<rocksdb::Iterator> it(db.NewIterator(rocksdb::ReadOptions()));
  int64_t entries = 0;
  for (const keys::CountedFamily& counted : keys::kCountedFamilies) {
    std::string prefix(counted.family);
    prefix.push_back('\0');
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next())
      if (auto counter = keys::IndexCounterOf(std::string_view(it->key().data(), it->key().size()))) {
        ++counts[*counter];
        ++entries;
      }
  }
  if (!it->status().ok()) return ReadModelStore::FromRocks(it->status(), "count the index entries");
  rocksdb::WriteBatch batch;
  for (const auto& [counter, n] : counts) KS_CHECK(batch.Put(counter, keys::EncodeInt64(n)).ok());
  KS_CHECK(batch.Put(std::string(keys::kLayoutKey), std::to_string(keys::kLayoutListOrderMissing)).ok());
  rocksdb::WriteOptions options;
  options.sync = true;
  if (Status s = ReadModelStore::FromRocks(db.Write(options, &batch), "upgrade the layout"); !s.ok()) return s;
  log::Info("readmodel", "upgraded {} from layout version {} to {}: {} index entries counted under {} prefixes",
            path, keys::kLayoutCountersMissing, keys::kLayoutListOrderMissing, entries, counts.size());
  return Status::Ok();
}

// FAILED_PRECONDITION when `path` holds a rebuild that never completed (BeginRebuild).
Status RefuseUnfinishedRebuild(const std::string& path) {
  if (!std::filesystem::exists(std::filesystem::path(path) / ReadModelStore::kUnfinishedRebuild)) return Status::Ok();
  return FailedPrecondition(
      "read models at {} are a rebuild that did not complete ({} is there: it was cut short before its "
      "indexes and audit trail were written): delete the directory and run projector --rebuild-into again",
      path, ReadModelStore::kUnfinishedRebuild);
}

}  // namespace

Status ReadModelStore::FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  return IoError("read models {}: {}", what, s.ToString());
}

Result<std::unique_ptr<ReadModelStore>> ReadModelStore::OpenPrimary(
    const std::string& path, std::shared_ptr<rocksdb::FileSystem> file_system, StoreTuning tuning) {
  if (Status s = RefuseUnfinishedRebuild(path); !s.ok()) return std::unexpected(s);
  rocksdb::Options options = StoreOptions(tuning);
  std::unique_ptr<rocksdb::Env> env;
  if (file_system) {
    env = rocksdb::NewCompositeEnv(file_system);
    options.env = env.get();
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, &raw);
  if (!s.ok()) return std::unexpected(FromRocks(s, "open " + path));
  auto store = std::unique_ptr<ReadModelStore>(
      new ReadModelStore(std::unique_ptr<rocksdb::DB>(raw), true, path, std::move(env)));
  auto layout = StoredLayout(*store->db_);
  if (!layout) return std::unexpected(layout.error());
  if (Status c = CheckLayout(*layout, path, /*primary=*/true); !c.ok()) return std::unexpected(c);
  if (*layout == keys::kLayoutCountersMissing) {
    if (Status u = AddIndexCounters(*store->db_, path); !u.ok()) return std::unexpected(u);
    *layout = keys::kLayoutListOrderMissing;
  }
  if (!*layout) {  // a new store: say which layout it is written in
    s = store->db_->Put(rocksdb::WriteOptions(), std::string(keys::kLayoutKey),
                        std::to_string(keys::kLayoutVersion));
    if (!s.ok()) return std::unexpected(FromRocks(s, "write the layout version"));
  }
  store->layout_ = layout->value_or(keys::kLayoutVersion);
  return store;
}

Result<std::unique_ptr<ReadModelStore>> ReadModelStore::OpenSecondary(
    const std::string& path, const std::string& secondary_path, StoreTuning tuning) {
  if (Status s = RefuseUnfinishedRebuild(path); !s.ok()) return std::unexpected(s);
  rocksdb::Options options = StoreOptions(tuning);
  options.create_if_missing = false;
  options.max_open_files = -1;  // required by secondary instances
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenAsSecondary(options, path, secondary_path, &raw);
  if (!s.ok()) return std::unexpected(FromRocks(s, "open as secondary " + path));
  auto store = std::unique_ptr<ReadModelStore>(
      new ReadModelStore(std::unique_ptr<rocksdb::DB>(raw), false, path, nullptr));
  auto layout = StoredLayout(*store->db_);
  if (!layout) return std::unexpected(layout.error());
  if (Status c = CheckLayout(*layout, path, /*primary=*/false); !c.ok()) return std::unexpected(c);
  store->layout_ = layout->value_or(keys::kLayoutVersion);
  return store;
}

Status ReadModelStore::CommitUpgrade(rocksdb::WriteBatch& batch, int layout) {
  KS_CHECK(primary_);
  if (Status s = FromRocks(batch.Put(std::string(keys::kLayoutKey), std::to_string(layout)), "upgrade the layout");
      !s.ok())
    return s;
  rocksdb::WriteOptions options;
  options.sync = true;
  if (Status s = FromRocks(db_->Write(options, &batch), "upgrade the layout"); !s.ok()) return s;
  layout_ = layout;
  return Status::Ok();
}

ReadModelStore::~ReadModelStore() {
  if (db_) {
    Status s = FromRocks(db_->Close(), "close");
    s.PermitUnchecked();
  }
}

Status ReadModelStore::CatchUp() {
  if (primary_) return Status::Ok();
  std::unique_lock lock(catch_up_mutex_);
  ++catch_ups_;  // even when it fails: part of the primary's writes may have been applied
  return FromRocks(db_->TryCatchUpWithPrimary(), "catch up with the projector");
}

ReadView ReadModelStore::View() const { return ReadView(this); }

ReadView::ReadView(const ReadModelStore* store) : store_(store), lock_(store->catch_up_mutex_) {
  if (store_->primary_) snapshot_ = store_->db_->GetSnapshot();
}

ReadView::~ReadView() {
  if (snapshot_ != nullptr && store_ != nullptr) store_->db_->ReleaseSnapshot(snapshot_);
}

Result<std::optional<std::string>> ReadView::Get(const std::string& key) const {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_;
  std::string value;
  rocksdb::Status s = store_->db_->Get(options, key, &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return std::unexpected(ReadModelStore::FromRocks(s, "read"));
  return std::optional<std::string>(std::move(value));
}

namespace {

// Where to cut the key space in two halves of about equal bytes, from the table files below level
// 0 (level 0's each span nearly every key): the largest key of the file where the first half
// ends, and the smallest of the next. None when there are too few files to cut.
std::optional<std::pair<std::string, std::string>> HalvesOf(rocksdb::DB& db) {
  std::vector<rocksdb::LiveFileMetaData> files;
  db.GetLiveFilesMetaData(&files);
  std::erase_if(files, [](const rocksdb::LiveFileMetaData& f) { return f.level == 0; });
  if (files.size() < 2) return std::nullopt;
  std::sort(files.begin(), files.end(),
            [](const auto& a, const auto& b) { return a.smallestkey < b.smallestkey; });
  uint64_t total = 0;
  for (const auto& f : files) total += f.size;
  uint64_t sum = 0;
  for (size_t i = 0; i + 1 < files.size(); ++i) {
    sum += files[i].size;
    if (sum >= total / 2 && files[i].largestkey < files[i + 1].smallestkey)
      return std::make_pair(files[i].largestkey, files[i + 1].smallestkey);
  }
  return std::nullopt;
}


// Writes (`contents` given) or deletes the file `name` in `dir`, then syncs the directory: the
// unfinished-rebuild marker must be on disk before anything it guards is, and its removal after.
Status DurablyWrite(rocksdb::Env& env, const std::string& dir, std::string_view name,
                    std::optional<std::string_view> contents) {
  const std::string path = dir + "/" + std::string(name);
  rocksdb::Status s = contents ? rocksdb::WriteStringToFile(&env, *contents, path, /*should_sync=*/true)
                               : env.DeleteFile(path);
  if (!s.ok()) return ReadModelStore::FromRocks(s, (contents ? "write " : "delete ") + path);
  std::unique_ptr<rocksdb::Directory> directory;
  s = env.NewDirectory(dir, &directory);
  if (s.ok()) s = directory->Fsync();
  return ReadModelStore::FromRocks(s, "sync the directory " + dir);
}

std::string AsideRunsDir(const std::string& store_path) { return store_path + "/rebuild-runs"; }

}  // namespace

Status ReadModelStore::BeginRebuild(size_t run_bytes) {
  KS_CHECK(primary_ && !aside_);
  auto applied = AnythingApplied(*db_);
  if (!applied) return applied.error();
  if (*applied)
    return FailedPrecondition("read models at {}: a rebuild needs a store that starts empty, and events were applied here",
                              path_);
  if (Status s = DurablyWrite(*db_->GetEnv(), path_, kUnfinishedRebuild,
                              "a rebuild is writing this store; it is complete once this file is gone\n");
      !s.ok())
    return s;
  aside_ = std::make_unique<SortedRuns>(AsideRunsDir(path_), db_->GetOptions(), run_bytes);
  return Status::Ok();
}

Status ReadModelStore::PutAside(std::string key, std::string value) {
  KS_CHECK(aside_);
  return aside_->Add(std::move(key), std::move(value));
}

Status ReadModelStore::DeleteAside(std::string key) {
  KS_CHECK(aside_);
  return aside_->Erase(std::move(key));
}

Status ReadModelStore::WriteAside(std::vector<SortedRuns::Entry> sorted) {
  KS_CHECK(aside_);
  return aside_->AddSorted(std::move(sorted));
}

Status ReadModelStore::Settle() {
  KS_CHECK(primary_);
  if (!aside_) return CompactAll();
  // The entries written aside are merged into files of non-overlapping ranges beside the
  // compaction (their runs are not in the store), and ingested after it, so that it does not
  // rewrite them: each at the lowest level it fits. Their files are cut between key families,
  // and no family is written both aside and through the memtable, so most go to the bottom.
  const rocksdb::Options options = db_->GetOptions();
  Result<std::vector<std::string>> files;
  std::thread merging([&] {
    files = aside_->Merge(options.target_file_size_base,
                          [](std::string_view before, std::string_view after) {
                            return keys::Family(before) != keys::Family(after);
                          });
  });
  const Status compacted = CompactAll();
  merging.join();
  if (!compacted.ok()) return compacted;
  if (!files) return files.error();
  if (!files->empty()) {
    rocksdb::IngestExternalFileOptions ingest;
    ingest.move_files = true;
    if (Status s = FromRocks(db_->IngestExternalFile(*files, ingest), "ingest the rebuild's entries written aside");
        !s.ok())
      return s;
  }
  log::Info("readmodel",
            "{}: {} entries written aside in {} sorted runs ({:.1f} s to sort and write) merged into {} table files "
            "({:.1f} s) and ingested",
            path_, aside_->entries(), aside_->runs_written(), aside_->spill_seconds(), files->size(),
            aside_->merge_seconds());
  aside_.reset();
  std::error_code ec;
  std::filesystem::remove_all(AsideRunsDir(path_), ec);
  return DurablyWrite(*db_->GetEnv(), path_, kUnfinishedRebuild, std::nullopt);
}

Status ReadModelStore::CompactAll() {
  if (Status s = FromRocks(db_->Flush(rocksdb::FlushOptions()), "flush"); !s.ok()) return s;
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  const auto halves = HalvesOf(*db_);
  if (!halves) return FromRocks(db_->CompactRange(options, nullptr, nullptr), "compact");
  // The two halves of the key space on two threads: a compaction of the whole runs on one (its
  // subcompactions only split level 0's part), and it was a fifth of a 10M-event rebuild, on two
  // cores with nothing else to do (40 -> 28 s). Each key still ends in one file of one level.
  options.exclusive_manual_compaction = false;
  const rocksdb::Slice first_end(halves->first);
  const rocksdb::Slice second_begin(halves->second);
  rocksdb::Status first;
  std::thread first_half([&] { first = db_->CompactRange(options, nullptr, &first_end); });
  const rocksdb::Status second = db_->CompactRange(options, &second_begin, nullptr);
  first_half.join();
  if (Status s = FromRocks(first, "compact"); !s.ok()) return s;
  return FromRocks(second, "compact");
}

Result<std::vector<std::optional<std::string>>> ReadView::MultiGet(const std::vector<std::string>& keys) const {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_;
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> values(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  store_->db_->MultiGet(options, store_->db_->DefaultColumnFamily(), keys.size(), slices.data(), values.data(),
                        statuses.data());
  std::vector<std::optional<std::string>> out(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].IsNotFound()) continue;
    if (!statuses[i].ok()) return std::unexpected(ReadModelStore::FromRocks(statuses[i], "read"));
    out[i].emplace(values[i].data(), values[i].size());
  }
  return out;
}

Result<int64_t> ReadView::Count(const std::string& index_prefix) const {
  auto value = Get(keys::IndexCounter(index_prefix));
  if (!value) return std::unexpected(value.error());
  return *value ? keys::DecodeInt64(**value) : 0;
}

Status ReadView::Scan(const std::string& prefix, const std::string& start,
                      const std::function<bool(std::string_view, std::string_view)>& visit) const {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot_;
  // The first key after every key with the prefix: RocksDB then stops at the prefix's end instead
  // of positioning on the next key beyond it, and leaves out table files that start after it.
  std::string end = prefix;
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xff) end.pop_back();
  if (!end.empty()) end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  rocksdb::Slice upper_bound(end);
  if (!end.empty()) options.iterate_upper_bound = &upper_bound;
  std::unique_ptr<rocksdb::Iterator> it(store_->db_->NewIterator(options));
  for (it->Seek(start.empty() ? prefix : start); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    if (!visit(std::string_view(it->key().data(), it->key().size()),
               std::string_view(it->value().data(), it->value().size())))
      break;
  }
  return ReadModelStore::FromRocks(it->status(), "scan");
}

uint64_t ReadView::State() const {
  // A secondary's views hold catch_up_mutex_ shared, so its count cannot change under them.
  return snapshot_ != nullptr ? snapshot_->GetSequenceNumber() : store_->catch_ups_;
}

Result<Progress> ReadView::ReadProgress() const {
  const uint64_t state = State();
  {
    std::lock_guard lock(store_->progress_mutex_);
    if (store_->last_progress_ && store_->last_progress_->first == state) return store_->last_progress_->second;
  }
  Progress progress;
  const std::string prefix(keys::kPartitionProgressPrefix);
  Status s = Scan(prefix, "", [&](std::string_view key, std::string_view value) {
    if (key.size() == prefix.size() + 4) {
      const auto* p = reinterpret_cast<const unsigned char*>(key.data() + prefix.size());
      const int32_t partition = static_cast<int32_t>(
          (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]});
      progress.emplace_back(partition, keys::DecodeInt64(value));
    }
    return true;
  });
  if (!s.ok()) return std::unexpected(s);
  std::lock_guard lock(store_->progress_mutex_);
  store_->last_progress_.emplace(state, progress);
  return progress;
}

}  // namespace ks::readmodel
