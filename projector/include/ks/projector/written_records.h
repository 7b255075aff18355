// WrittenRecords: which record keys a projector has written, as a Bloom filter, for a store that
// it found empty (a rebuild). A record it never wrote is not in the store, so a read of it can be
// skipped. Most of a rebuild's reads are of records not there yet (a contact's first event), and
// each of those went through every level's filter in RocksDB, a quarter of the folding thread's
// time in a 10M-event rebuild.
//
// The filter has a fixed size: as keys outnumber its bits, more of its answers are "maybe" (then
// the store is read, as without it); never a wrong "no". Memory stays bounded by the size given,
// not by the history.
//
// Thread-safety: Add and MayContain may be called from any number of threads at once.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace ks::projector {

class WrittenRecords {
 public:
  // A filter of about `bytes` bytes (at least one 64-byte block).
  explicit WrittenRecords(size_t bytes);

  void Add(std::string_view key);
  // False only for a key never added.
  bool MayContain(std::string_view key) const;

 private:
  // A key's bits all lie in one 64-byte block (one cache line): a lookup costs one cache miss.
  static constexpr size_t kWordsPerBlock = 8;
  static constexpr int kBitsPerKey = 7;
  struct Probe {
    size_t block;
    uint64_t second_hash;  // 9 bits per bit to set: its position within the block's 512
  };
  Probe ProbeOf(std::string_view key) const;

  size_t blocks_;
  std::unique_ptr<std::atomic<uint64_t>[]> words_;
};

}  // namespace ks::projector
