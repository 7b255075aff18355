#include "ks/eventlog/embedded_log.h"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include <rocksdb/db.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include "ks/core/log.h"
#include "ks/core/key_codec.h"

namespace ks::eventlog {
namespace {

// Keys: 'r' + partition (4 bytes, big-endian) + offset (8 bytes, big-endian), so records sort by
// partition, then offset. Value: timestamp (8 bytes) + key length (4 bytes) + key + payload.
// One meta key holds the partition count.
constexpr char kRecordTag = 'r';
constexpr std::string_view kPartitionsKey = "m:partitions";

std::string RecordKey(int32_t partition, int64_t offset) {
  std::string key(1, kRecordTag);
  codec::PutBigEndian32(key, static_cast<uint32_t>(partition));
  codec::PutBigEndian64(key, static_cast<uint64_t>(offset));
  return key;
}

std::string EncodeValue(const Record& record) {
  std::string out;
  out.reserve(12 + record.key.size() + record.value.size());
  codec::PutBigEndian64(out, static_cast<uint64_t>(record.timestamp_ms));
  codec::PutBigEndian32(out, static_cast<uint32_t>(record.key.size()));
  out.append(record.key);
  out.append(record.value);
  return out;
}

bool DecodeValue(std::string_view in, StoredRecord& out) {
  if (in.size() < 12) return false;
  out.timestamp_ms = static_cast<int64_t>(codec::GetBigEndian64(in.data()));
  const uint32_t key_size = codec::GetBigEndian32(in.data() + 8);
  if (in.size() < 12 + key_size) return false;
  out.key.assign(in.data() + 12, key_size);
  out.value.assign(in.data() + 12 + key_size, in.size() - 12 - key_size);
  return true;
}

class EmbeddedLog;

class EmbeddedReader final : public LogReader {
 public:
  EmbeddedReader(EmbeddedLog* log, std::vector<int64_t> next) : log_(log), next_(std::move(next)) {}
  Result<std::vector<StoredRecord>> Poll(size_t max_records, std::chrono::milliseconds wait) override;

 private:
  EmbeddedLog* log_;
  std::vector<int64_t> next_;
  size_t round_robin_start_ = 0;
};

class EmbeddedLog final : public EventLog {
 public:
  EmbeddedLog(std::unique_ptr<rocksdb::DB> db, EmbeddedLogOptions options, int32_t partitions,
              std::vector<int64_t> end_offsets)
      : db_(std::move(db)),
        options_(std::move(options)),
        partitions_(partitions),
        end_offsets_(std::move(end_offsets)),
        writer_([this] { WriterLoop(); }) {}

  ~EmbeddedLog() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_cv_.notify_all();
    writer_.join();
    Status s = IoStatus(db_->Close(), "close");
    s.PermitUnchecked();
  }

  int32_t partition_count() const override { return partitions_; }
  std::string description() const override { return "embedded:" + options_.path; }

  void AppendAsync(std::vector<Record> records, AppendCallback done) override {
    if (options_.read_only) {
      done(std::unexpected(FailedPrecondition("event log {} is open for reading only", description())));
      return;
    }
    {
      std::lock_guard lock(mutex_);
      if (!stopping_) {
        pending_.push_back({std::move(records), std::move(done)});
        work_cv_.notify_one();
        return;
      }
    }
    done(std::unexpected(Unavailable("event log {} is shutting down", description())));
  }

  Result<std::vector<int64_t>> EndOffsets() override {
    std::lock_guard lock(mutex_);
    return end_offsets_;
  }

  Result<std::vector<int64_t>> OffsetsForTime(int64_t timestamp_ms) override {
    std::vector<int64_t> ends;
    {
      std::lock_guard lock(mutex_);
      ends = end_offsets_;
    }
    std::vector<int64_t> result(ends.size());
    for (size_t p = 0; p < ends.size(); ++p) {
      // Binary search for the first offset whose timestamp is not before `timestamp_ms`.
      int64_t lo = 0;
      int64_t hi = ends[p];
      while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        std::string value;
        rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), RecordKey(static_cast<int32_t>(p), mid), &value);
        StoredRecord record;
        if (!s.ok() || !DecodeValue(value, record))
          return std::unexpected(IoError("embedded log: record {}/{} unreadable: {}", p, mid, s.ToString()));
        if (record.timestamp_ms < timestamp_ms)
          lo = mid + 1;
        else
          hi = mid;
      }
      result[p] = lo;
    }
    return result;
  }

  Result<std::unique_ptr<LogReader>> OpenReader(const std::vector<int64_t>& start_offsets) override {
    if (start_offsets.size() != static_cast<size_t>(partitions_))
      return std::unexpected(InvalidArgument("start_offsets: has {} entries, the log has {} partitions",
                                             start_offsets.size(), partitions_));
    return std::make_unique<EmbeddedReader>(this, start_offsets);
  }

  // Waits until some partition p has end_offsets_[p] > next[p], or `wait` passes. Returns a copy of
  // the end offsets.
  std::vector<int64_t> WaitForData(const std::vector<int64_t>& next, std::chrono::milliseconds wait) {
    std::unique_lock lock(mutex_);
    data_cv_.wait_for(lock, wait, [&] {
      if (stopping_) return true;
      for (size_t p = 0; p < next.size(); ++p)
        if (end_offsets_[p] > next[p]) return true;
      return false;
    });
    return end_offsets_;
  }

  rocksdb::DB* db() { return db_.get(); }

  static Status IoStatus(const rocksdb::Status& s, std::string_view what) {
    if (s.ok()) return Status::Ok();
    return IoError("embedded log {}: {}", what, s.ToString());
  }

 private:
  struct PendingAppend {
    std::vector<Record> records;
    AppendCallback done;
  };

  void WriterLoop() {
    std::vector<PendingAppend> batch;
    while (true) {
      std::vector<int64_t> offsets;
      {
        std::unique_lock lock(mutex_);
        work_cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
        if (pending_.empty()) return;  // stopping, nothing left to write
        size_t records = 0;
        while (!pending_.empty() && (batch.empty() || records < options_.max_batch_records)) {
          records += pending_.front().records.size();
          batch.push_back(std::move(pending_.front()));
          pending_.pop_front();
        }
        offsets = end_offsets_;
      }
      // Offsets are given here, by the only writer, and published only after the write, so a
      // reader never sees a gap.
      rocksdb::WriteBatch write_batch;
      std::vector<std::vector<Position>> positions(batch.size());
      for (size_t i = 0; i < batch.size(); ++i) {
        for (const Record& record : batch[i].records) {
          const int32_t p = PartitionFor(record.key);
          const int64_t offset = offsets[static_cast<size_t>(p)]++;
          write_batch.Put(RecordKey(p, offset), EncodeValue(record));
          positions[i].push_back({p, offset});
        }
      }
      rocksdb::WriteOptions write_options;
      write_options.sync = options_.sync;
      const Status status = IoStatus(db_->Write(write_options, &write_batch), "append");
      if (status.ok()) {
        {
          std::lock_guard lock(mutex_);
          end_offsets_ = offsets;
        }
        data_cv_.notify_all();
      } else {
        log::Error("eventlog", "{}", status.ToString());
      }
      for (size_t i = 0; i < batch.size(); ++i) {
        if (status.ok())
          batch[i].done(std::move(positions[i]));
        else
          batch[i].done(std::unexpected(status));
      }
      batch.clear();
    }
  }

  std::unique_ptr<rocksdb::DB> db_;
  const EmbeddedLogOptions options_;
  const int32_t partitions_;

  std::mutex mutex_;
  std::condition_variable work_cv_;
  std::condition_variable data_cv_;
  std::deque<PendingAppend> pending_;
  std::vector<int64_t> end_offsets_;
  bool stopping_ = false;
  std::thread writer_;
};

// A reader this far behind the end, taking at least kScanChunk records of a partition per poll,
// counts as scanning rather than following. (A small chunk ends inside a block the next poll
// starts in again: that block is worth its place in the cache.)
constexpr int64_t kFarBehind = 4096;
constexpr size_t kScanChunk = 256;

Result<std::vector<StoredRecord>> EmbeddedReader::Poll(size_t max_records, std::chrono::milliseconds wait) {
  const std::vector<int64_t> end = log_->WaitForData(next_, wait);
  std::vector<StoredRecord> out;
  const size_t partitions = next_.size();
  size_t with_data = 0;
  for (size_t p = 0; p < partitions; ++p) with_data += next_[p] < end[p] ? 1 : 0;
  if (with_data == 0) return out;
  // A fair share of the batch from each partition that has data, then whatever room is left from
  // any, round-robin: one busy partition cannot starve the others, and a batch spans partitions
  // (which the projector folds side by side).
  const size_t share = std::max<size_t>(1, max_records / with_data);
  for (size_t pass = 0; pass < 2 && out.size() < max_records; ++pass) {
    for (size_t i = 0; i < partitions && out.size() < max_records; ++i) {
      const size_t p = (round_robin_start_ + i) % partitions;
      if (next_[p] >= end[p]) continue;
      const size_t limit = pass == 0 ? std::min(max_records, out.size() + share) : max_records;
      rocksdb::ReadOptions read_options;
      // Far behind (a replay, a rebuild, a start): blocks read once need no place in the cache,
      // where they would only push out the blocks a reader at the log's end reads again.
      read_options.fill_cache = end[p] - next_[p] <= kFarBehind || limit - out.size() < kScanChunk;
      const std::string upper = RecordKey(static_cast<int32_t>(p), end[p]);
      rocksdb::Slice upper_slice(upper);
      read_options.iterate_upper_bound = &upper_slice;
      std::unique_ptr<rocksdb::Iterator> it(log_->db()->NewIterator(read_options));
      for (it->Seek(RecordKey(static_cast<int32_t>(p), next_[p])); it->Valid() && out.size() < limit; it->Next()) {
        StoredRecord record;
        record.partition = static_cast<int32_t>(p);
        record.offset = static_cast<int64_t>(codec::GetBigEndian64(it->key().data() + 5));
        if (!DecodeValue(std::string_view(it->value().data(), it->value().size()), record))
          return std::unexpected(Status(StatusCode::kDataLoss,
                                        fmt::format("embedded log: record {}/{} is corrupt", p, record.offset)));
        next_[p] = record.offset + 1;
        out.push_back(std::move(record));
      }
      if (!it->status().ok()) return std::unexpected(EmbeddedLog::IoStatus(it->status(), "read"));
    }
  }
  round_robin_start_ = (round_robin_start_ + 1) % partitions;
  return out;
}

}  // namespace

Result<std::unique_ptr<EventLog>> OpenEmbeddedLog(const EmbeddedLogOptions& options) {
  if (options.path.empty()) return std::unexpected(InvalidArgument("embedded log: path must not be empty"));
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.IncreaseParallelism(2);
  // Records are written once and read in key order: a bigger write buffer means fewer flushes.
  db_options.write_buffer_size = 64 << 20;
  // Blocks of 64 KiB instead of 4: a log is read from start to end far more than by offset (the
  // KPI replay, a rebuild, a service's start), and a scan then fetches, checks and decompresses a
  // sixteenth as many blocks (1M events replayed: 420,000-481,000 -> 520,000-574,000 events/s;
  // the log 10% smaller). Files written before keep their blocks until compacted: both read alike.
  rocksdb::BlockBasedTableOptions table;
  table.block_size = 64 << 10;
  db_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // LZ4 rather than Snappy: the same size here (much of an event is sealed, so incompressible),
  // and faster to decompress: the same replay 510,000-520,000 -> 540,000-550,000 events/s.
  db_options.compression = rocksdb::kLZ4Compression;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (options.read_only) {
    if (!std::filesystem::exists(options.path + "/CURRENT"))
      return std::unexpected(NotFound("embedded log {}: there is no log there", options.path));
    s = rocksdb::DB::OpenForReadOnly(db_options, options.path, &raw);
  } else {
    s = rocksdb::DB::Open(db_options, options.path, &raw);
  }
  if (!s.ok()) return std::unexpected(EmbeddedLog::IoStatus(s, "open " + options.path));
  std::unique_ptr<rocksdb::DB> db(raw);

  int32_t partitions = options.partitions;
  std::string stored;
  s = db->Get(rocksdb::ReadOptions(), std::string(kPartitionsKey), &stored);
  if (s.ok()) {
    int32_t existing = 0;
    std::from_chars(stored.data(), stored.data() + stored.size(), existing);
    if (existing <= 0) return std::unexpected(Status(StatusCode::kDataLoss, fmt::format("embedded log {}: bad partition count", options.path)));
    if (partitions != 0 && partitions != existing)
      return std::unexpected(FailedPrecondition(
          "embedded log {}: has {} partitions, asked for {}; a log's partition count never changes",
          options.path, existing, partitions));
    partitions = existing;
  } else if (s.IsNotFound() && !options.read_only) {
    if (partitions < 0) return std::unexpected(InvalidArgument("partitions: must be at least 1"));
    if (partitions == 0) partitions = 12;
    rocksdb::WriteOptions w;
    w.sync = true;
    s = db->Put(w, std::string(kPartitionsKey), std::to_string(partitions));
    if (!s.ok()) return std::unexpected(EmbeddedLog::IoStatus(s, "write partition count"));
  } else {
    return std::unexpected(EmbeddedLog::IoStatus(s, "read partition count"));
  }

  // The next offset of each partition is one past its last record.
  std::vector<int64_t> end_offsets(static_cast<size_t>(partitions), 0);
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (int32_t p = 0; p < partitions; ++p) {
    it->SeekForPrev(RecordKey(p, INT64_MAX));
    if (it->Valid() && it->key().size() == 13 && it->key()[0] == kRecordTag &&
        codec::GetBigEndian32(it->key().data() + 1) == static_cast<uint32_t>(p)) {
      end_offsets[static_cast<size_t>(p)] = static_cast<int64_t>(codec::GetBigEndian64(it->key().data() + 5)) + 1;
    }
  }
  it.reset();
  EmbeddedLogOptions effective = options;
  effective.partitions = partitions;
  return std::make_unique<EmbeddedLog>(std::move(db), std::move(effective), partitions, std::move(end_offsets));
}

}  // namespace ks::eventlog
