#include "ks/readmodel/sorted_runs.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <queue>

#include <rocksdb/sst_file_reader.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>

namespace ks::readmodel {
namespace {

Status FromRocks(const rocksdb::Status& s, std::string_view what, const std::string& path) {
  if (s.ok()) return Status::Ok();
  return IoError("{} {}: {}", what, path, s.ToString());
}

// `options` writing table files without bloom filters: the entries are only ever scanned (the
// audit trail is read by prefix), never looked up by key, and a run is read once, in order.
rocksdb::Options WithoutFilters(rocksdb::Options options) {
  rocksdb::BlockBasedTableOptions table;
  if (const auto* store_table = options.table_factory->GetOptions<rocksdb::BlockBasedTableOptions>())
    table = *store_table;
  table.filter_policy.reset();
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return options;
}

// For the runs: not compressed and not checksummed either. A run lives only while its rebuild
// runs and is read back by it once (a rebuild cut short is started again).
rocksdb::Options ForRuns(rocksdb::Options options) {
  options = WithoutFilters(std::move(options));
  rocksdb::BlockBasedTableOptions table = *options.table_factory->GetOptions<rocksdb::BlockBasedTableOptions>();
  table.checksum = rocksdb::kNoChecksum;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  options.compression = rocksdb::kNoCompression;
  return options;
}

}  // namespace

SortedRuns::SortedRuns(std::string dir, const rocksdb::Options& table_options, size_t buffer_bytes)
    : dir_(std::move(dir)),
      run_options_(ForRuns(table_options)),
      table_options_(WithoutFilters(table_options)),
      buffer_bytes_(buffer_bytes) {}

Status SortedRuns::Add(std::string key, std::string value) {
  buffered_bytes_ += key.size() + value.size() + 2 * sizeof(std::string);
  buffer_.emplace_back(std::move(key), std::move(value));
  ++entries_;
  return buffered_bytes_ >= buffer_bytes_ ? Spill() : Status::Ok();
}

Status SortedRuns::Spill() {
  if (buffer_.empty()) return Status::Ok();
  const auto started = std::chrono::steady_clock::now();
  // Equal keys keep their order, and the last added is written (a table file takes each key once).
  std::stable_sort(buffer_.begin(), buffer_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return IoError("create {}: {}", dir_, ec.message());
  const std::string path = fmt::format("{}/run-{:06}.sst", dir_, runs_.size());
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), run_options_);
  if (Status s = FromRocks(writer.Open(path), "create the run", path); !s.ok()) return s;
  for (size_t i = 0; i < buffer_.size(); ++i) {
    if (i + 1 < buffer_.size() && buffer_[i + 1].first == buffer_[i].first) continue;
    if (Status s = FromRocks(writer.Put(buffer_[i].first, buffer_[i].second), "write the run", path); !s.ok())
      return s;
  }
  if (Status s = FromRocks(writer.Finish(), "finish the run", path); !s.ok()) return s;
  runs_.push_back(path);
  ++runs_written_;
  buffer_.clear();
  buffer_.shrink_to_fit();  // a run's worth of memory, not kept while the folding goes on
  buffered_bytes_ = 0;
  spill_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return Status::Ok();
}

Result<std::vector<std::string>> SortedRuns::Merge(size_t file_bytes) {
  if (Status s = Spill(); !s.ok()) return std::unexpected(s);
  std::vector<std::string> files;
  if (runs_.empty()) return files;
  const auto started = std::chrono::steady_clock::now();

  // Every run's cursor; the heap holds the runs not yet exhausted, smallest key on top.
  std::vector<std::unique_ptr<rocksdb::SstFileReader>> readers;
  std::vector<std::unique_ptr<rocksdb::Iterator>> cursors;
  rocksdb::ReadOptions read;
  read.fill_cache = false;
  read.readahead_size = 2 << 20;  // the runs are read front to back, side by side
  for (const std::string& run : runs_) {
    auto reader = std::make_unique<rocksdb::SstFileReader>(run_options_);
    if (Status s = FromRocks(reader->Open(run), "open the run", run); !s.ok()) return std::unexpected(s);
    cursors.emplace_back(reader->NewIterator(read));
    cursors.back()->SeekToFirst();
    readers.push_back(std::move(reader));
  }
  auto after = [&](size_t a, size_t b) { return cursors[a]->key().compare(cursors[b]->key()) > 0; };
  std::priority_queue<size_t, std::vector<size_t>, decltype(after)> heap(after);
  for (size_t r = 0; r < cursors.size(); ++r) {
    if (Status s = FromRocks(cursors[r]->status(), "read the run", runs_[r]); !s.ok()) return std::unexpected(s);
    if (cursors[r]->Valid()) heap.push(r);
  }

  std::unique_ptr<rocksdb::SstFileWriter> writer;
  std::string last_key;
  auto finish_file = [&]() -> Status {
    if (!writer) return Status::Ok();
    Status s = FromRocks(writer->Finish(), "finish the table file", files.back());
    writer.reset();
    return s;
  };
  while (!heap.empty()) {
    const size_t r = heap.top();
    heap.pop();
    rocksdb::Iterator& cursor = *cursors[r];
    const bool repeated = !files.empty() && cursor.key() == rocksdb::Slice(last_key);
    if (!repeated) {
      // A file is cut only between two distinct keys, so no key spans two files.
      if (writer && writer->FileSize() >= file_bytes)
        if (Status s = finish_file(); !s.ok()) return std::unexpected(s);
      if (!writer) {
        files.push_back(fmt::format("{}/merged-{:06}.sst", dir_, files.size()));
        writer = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(), table_options_);
        if (Status s = FromRocks(writer->Open(files.back()), "create the table file", files.back()); !s.ok())
          return std::unexpected(s);
      }
      if (Status s = FromRocks(writer->Put(cursor.key(), cursor.value()), "write the table file", files.back());
          !s.ok())
        return std::unexpected(s);
      last_key.assign(cursor.key().data(), cursor.key().size());
    }
    cursor.Next();
    if (Status s = FromRocks(cursor.status(), "read the run", runs_[r]); !s.ok()) return std::unexpected(s);
    if (cursor.Valid()) heap.push(r);
  }
  if (Status s = finish_file(); !s.ok()) return std::unexpected(s);
  cursors.clear();
  readers.clear();
  for (const std::string& run : runs_) std::filesystem::remove(run);
  runs_.clear();
  merge_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return files;
}

}  // namespace ks::readmodel
