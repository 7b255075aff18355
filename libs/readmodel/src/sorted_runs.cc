#include "ks/readmodel/sorted_runs.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <queue>

#include <fcntl.h>
#include <unistd.h>

#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>

namespace ks::readmodel {
namespace {

Status FromRocks(const rocksdb::Status& s, std::string_view what, const std::string& path) {
  if (s.ok()) return Status::Ok();
  return IoError("{} {}: {}", what, path, s.ToString());
}

rocksdb::Slice ToSlice(std::string_view s) { return {s.data(), s.size()}; }

Status FromErrno(std::string_view what, const std::string& path) {
  return IoError("{} {}: {}", what, path, std::strerror(errno));
}

// Each entry of a run ends in one of these: it was added (with the value before it), or erased.
constexpr char kAddedTag = '+';
constexpr char kErasedTag = '-';

// A run file: its entries in key order, each as the key's and the value's length (4 bytes each,
// in the machine's order), the key, the value and its tag. A run lives only while its rebuild runs
// and is read back once, in order, by that same process (a rebuild cut short is started again):
// no checksums, no index, no blocks. As table files (SstFileWriter, uncompressed and
// unchecksummed), the runs of a 10M-event rebuild took 38.9 s to sort and write and 21.2 s to
// merge, against 31.1 and 12.2 s so.
class RunWriter {
 public:
  ~RunWriter() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Open(const std::string& path) {
    path_ = path;
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd_ < 0) return FromErrno("create the run", path);
    buffer_.reserve(kBufferBytes);
    return Status::Ok();
  }
  Status Write(std::string_view key, std::string_view value, char tag) {
    const uint32_t lengths[2] = {static_cast<uint32_t>(key.size()), static_cast<uint32_t>(value.size())};
    buffer_.append(reinterpret_cast<const char*>(lengths), sizeof(lengths));
    buffer_.append(key);
    buffer_.append(value);
    buffer_.push_back(tag);
    return buffer_.size() >= kBufferBytes ? Drain() : Status::Ok();
  }
  Status Close() {
    if (Status s = Drain(); !s.ok()) return s;
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) return FromErrno("write the run", path_);
    return Status::Ok();
  }

 private:
  static constexpr size_t kBufferBytes = size_t{1} << 20;
  Status Drain() {
    for (size_t done = 0; done < buffer_.size();) {
      const ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return FromErrno("write the run", path_);
      done += static_cast<size_t>(n);
    }
    buffer_.clear();
    return Status::Ok();
  }
  std::string path_;
  int fd_ = -1;
  std::string buffer_;
};

// Reads a run written by RunWriter front to back. key() and value() stay valid until Next.
class RunReader {
 public:
  ~RunReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  // Opens the run and reads its first entry.
  Status Open(const std::string& path) {
    path_ = path;
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) return FromErrno("open the run", path);
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
    buffer_.resize(kBufferBytes);
    return Next();
  }
  bool Valid() const { return valid_; }
  std::string_view key() const { return key_; }
  std::string_view value() const { return value_; }
  char tag() const { return tag_; }
  Status Next() {
    uint32_t lengths[2];
    if (Status s = Fill(sizeof(lengths)); !s.ok()) return s;
    if (end_ == begin_) {  // the run's end
      valid_ = false;
      return Status::Ok();
    }
    if (end_ - begin_ < sizeof(lengths)) return Truncated();
    std::memcpy(lengths, buffer_.data() + begin_, sizeof(lengths));
    const size_t entry = sizeof(lengths) + size_t{lengths[0]} + lengths[1] + 1;
    if (Status s = Fill(entry); !s.ok()) return s;
    if (end_ - begin_ < entry) return Truncated();
    const char* at = buffer_.data() + begin_ + sizeof(lengths);
    key_ = std::string_view(at, lengths[0]);
    value_ = std::string_view(at + lengths[0], lengths[1]);
    tag_ = at[lengths[0] + lengths[1]];
    begin_ += entry;
    valid_ = true;
    return Status::Ok();
  }

 private:
  static constexpr size_t kBufferBytes = size_t{512} << 10;
  // At least `bytes` unread in the buffer, unless the file ends first.
  Status Fill(size_t bytes) {
    if (end_ - begin_ >= bytes) return Status::Ok();
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
    if (buffer_.size() < bytes) buffer_.resize(bytes);
    while (end_ < bytes) {
      const ssize_t n = ::read(fd_, buffer_.data() + end_, buffer_.size() - end_);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return FromErrno("read the run", path_);
      if (n == 0) break;
      end_ += static_cast<size_t>(n);
    }
    return Status::Ok();
  }
  Status Truncated() const { return IoError("read the run {}: it ends in the middle of an entry", path_); }
  std::string path_;
  int fd_ = -1;
  std::vector<char> buffer_;
  size_t begin_ = 0;  // the unread bytes: [begin_, end_)
  size_t end_ = 0;
  bool valid_ = false;
  std::string_view key_;
  std::string_view value_;
  char tag_ = 0;
};

// `options` writing table files without bloom filters: the entries are only ever scanned by
// prefix (the audit trail, the indexes), never looked up by key.
rocksdb::Options WithoutFilters(rocksdb::Options options) {
  rocksdb::BlockBasedTableOptions table;
  if (const auto* store_table = options.table_factory->GetOptions<rocksdb::BlockBasedTableOptions>())
    table = *store_table;
  table.filter_policy.reset();
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return options;
}

}  // namespace

SortedRuns::SortedRuns(std::string dir, const rocksdb::Options& table_options, size_t buffer_bytes)
    : dir_(std::move(dir)),
      table_options_(WithoutFilters(table_options)),
      buffer_bytes_(buffer_bytes) {}

Status SortedRuns::Add(std::string key, std::string value) {
  buffer_.push_back({std::move(key), std::move(value), false});
  return Appended(1, buffer_.back().key.size() + buffer_.back().value.size());
}

Status SortedRuns::Erase(std::string key) {
  buffer_.push_back({std::move(key), {}, true});
  return Appended(1, buffer_.back().key.size());
}

Status SortedRuns::AddSorted(std::vector<Entry> entries) {
  size_t bytes = 0;
  for (Entry& entry : entries) {
    bytes += entry.key.size() + entry.value.size();
    buffer_.push_back(std::move(entry));
  }
  return Appended(entries.size(), bytes);
}

SortedRuns::~SortedRuns() { (void)FinishSpill(); }

Status SortedRuns::Appended(size_t count, size_t bytes) {
  if (count == 0) return Status::Ok();
  buffer_starts_.push_back(buffer_.size() - count);
  buffered_bytes_ += bytes + count * sizeof(Entry);
  entries_ += count;
  return buffered_bytes_ >= buffer_bytes_ ? StartSpill() : Status::Ok();
}

Status SortedRuns::StartSpill() {
  if (Status s = FinishSpill(); !s.ok()) return s;
  if (buffer_.empty()) return Status::Ok();
  const size_t entries = buffer_.size();
  spilling_ = std::move(buffer_);
  spilling_starts_ = std::move(buffer_starts_);
  buffer_ = {};
  buffer_starts_ = {};
  buffer_.reserve(entries);  // the next run is about as long: no regrowing and copying as it fills
  buffered_bytes_ = 0;
  std::string path = fmt::format("{}/run-{:06}", dir_, runs_.size());
  runs_.push_back(path);
  ++runs_written_;
  spiller_ = std::thread([this, path = std::move(path)] {
    const auto started = std::chrono::steady_clock::now();
    spilled_ = WriteRun(spilling_, spilling_starts_, dir_, path);
    spilling_ = {};  // its memory given back while the next run fills
    spilling_starts_ = {};
    spill_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  });
  return Status::Ok();
}

Status SortedRuns::FinishSpill() {
  if (spiller_.joinable()) spiller_.join();
  return std::exchange(spilled_, Status::Ok());
}

Status SortedRuns::WriteRun(std::vector<Entry>& entries, std::vector<size_t>& starts, const std::string& dir,
                            const std::string& path) {
  // Neighbouring sequences merged pairwise, round after round, until one is left. Equal keys keep
  // their order (a merge takes the earlier sequence's first), and the last added or erased is
  // written (a table file takes each key once). An erasure is written too: it cancels the key's
  // entries in earlier runs.
  const auto by_key = [](const Entry& a, const Entry& b) { return a.key < b.key; };
  starts.push_back(entries.size());
  while (starts.size() > 2) {
    size_t kept = 0;
    for (size_t i = 0; i + 1 < starts.size(); i += 2) {
      if (i + 2 < starts.size())
        std::inplace_merge(entries.begin() + static_cast<std::ptrdiff_t>(starts[i]),
                           entries.begin() + static_cast<std::ptrdiff_t>(starts[i + 1]),
                           entries.begin() + static_cast<std::ptrdiff_t>(starts[i + 2]), by_key);
      starts[kept++] = starts[i];
    }
    starts[kept++] = entries.size();
    starts.resize(kept);
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return IoError("create {}: {}", dir, ec.message());
  RunWriter writer;
  if (Status s = writer.Open(path); !s.ok()) return s;
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i + 1 < entries.size() && entries[i + 1].key == entries[i].key) continue;
    const Entry& entry = entries[i];
    if (Status s = writer.Write(entry.key, entry.value, entry.erased ? kErasedTag : kAddedTag); !s.ok()) return s;
  }
  return writer.Close();
}

Result<std::vector<std::string>> SortedRuns::Merge(size_t file_bytes, const FileBoundary& boundary) {
  if (Status s = StartSpill(); !s.ok()) return std::unexpected(s);
  if (Status s = FinishSpill(); !s.ok()) return std::unexpected(s);
  std::vector<std::string> files;
  if (runs_.empty()) return files;
  const auto started = std::chrono::steady_clock::now();

  // Every run's cursor; the heap holds the runs not yet exhausted, smallest key on top.
  std::vector<RunReader> cursors(runs_.size());
  for (size_t r = 0; r < runs_.size(); ++r)
    if (Status s = cursors[r].Open(runs_[r]); !s.ok()) return std::unexpected(s);
  // Of equal keys the latest run's comes first: it is the one that counts.
  auto after = [&](size_t a, size_t b) {
    const int order = cursors[a].key().compare(cursors[b].key());
    return order > 0 || (order == 0 && a < b);
  };
  std::priority_queue<size_t, std::vector<size_t>, decltype(after)> heap(after);
  for (size_t r = 0; r < cursors.size(); ++r)
    if (cursors[r].Valid()) heap.push(r);

  std::unique_ptr<rocksdb::SstFileWriter> writer;
  std::string last_key;  // of the last entry that counted, written or erased
  bool any_key = false;
  std::string last_written;  // the last key in the open file
  auto finish_file = [&]() -> Status {
    if (!writer) return Status::Ok();
    Status s = FromRocks(writer->Finish(), "finish the table file", files.back());
    writer.reset();
    return s;
  };
  while (!heap.empty()) {
    const size_t r = heap.top();
    heap.pop();
    RunReader& cursor = cursors[r];
    const std::string_view key = cursor.key();
    const bool superseded = any_key && key == last_key;  // by a later run's
    if (!superseded && cursor.tag() == kAddedTag) {
      // A file is cut only between two distinct keys, so no key spans two files.
      if (writer && (writer->FileSize() >= file_bytes ||
                     (boundary && boundary(last_written, key))))
        if (Status s = finish_file(); !s.ok()) return std::unexpected(s);
      if (!writer) {
        files.push_back(fmt::format("{}/merged-{:06}.sst", dir_, files.size()));
        writer = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(), table_options_);
        if (Status s = FromRocks(writer->Open(files.back()), "create the table file", files.back()); !s.ok())
          return std::unexpected(s);
      }
      if (Status s = FromRocks(writer->Put(ToSlice(key), ToSlice(cursor.value())), "write the table file",
                               files.back());
          !s.ok())
        return std::unexpected(s);
      last_written.assign(key);
    }
    if (!superseded) {
      last_key.assign(key);
      any_key = true;
    }
    if (Status s = cursor.Next(); !s.ok()) return std::unexpected(s);
    if (cursor.Valid()) heap.push(r);
  }
  if (Status s = finish_file(); !s.ok()) return std::unexpected(s);
  cursors.clear();
  for (const std::string& run : runs_) std::filesystem::remove(run);
  runs_.clear();
  merge_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return files;
}

}  // namespace ks::readmodel
