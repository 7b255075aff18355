#include "ks/projector/written_records.h"

#include <absl/hash/hash.h>

#include <algorithm>

namespace ks::projector {

WrittenRecords::WrittenRecords(size_t bytes)
    : blocks_(std::max<size_t>(1, bytes / (kWordsPerBlock * sizeof(uint64_t)))),
      words_(new std::atomic<uint64_t>[blocks_ * kWordsPerBlock]) {
  for (size_t i = 0; i < blocks_ * kWordsPerBlock; ++i) words_[i].store(0, std::memory_order_relaxed);
}

WrittenRecords::Probe WrittenRecords::ProbeOf(std::string_view key) const {
  const uint64_t hash = absl::HashOf(key);
  // The bit positions within the block from the hash mixed again (MurmurHash3's 64-bit
  // finalizer: every output bit depends on every input bit), so that keys of one block, which
  // share the hash's low bits, do not share their bit positions too.
  uint64_t second = hash;
  second ^= second >> 33;
  second *= 0xff51afd7ed558ccdULL;
  second ^= second >> 33;
  second *= 0xc4ceb9fe1a85ec53ULL;
  second ^= second >> 33;
  return {static_cast<size_t>(hash % blocks_), second};
}

void WrittenRecords::Add(std::string_view key) {
  const Probe probe = ProbeOf(key);
  std::atomic<uint64_t>* block = &words_[probe.block * kWordsPerBlock];
  uint64_t bits = probe.second_hash;
  for (int i = 0; i < kBitsPerKey; ++i, bits >>= 9) {
    const unsigned position = static_cast<unsigned>(bits & 511);
    block[position / 64].fetch_or(uint64_t{1} << (position % 64), std::memory_order_relaxed);
  }
}

bool WrittenRecords::MayContain(std::string_view key) const {
  const Probe probe = ProbeOf(key);
  const std::atomic<uint64_t>* block = &words_[probe.block * kWordsPerBlock];
  uint64_t bits = probe.second_hash;
  for (int i = 0; i < kBitsPerKey; ++i, bits >>= 9) {
    const unsigned position = static_cast<unsigned>(bits & 511);
    if ((block[position / 64].load(std::memory_order_relaxed) & (uint64_t{1} << (position % 64))) == 0)
      return false;
  }
  return true;
}

}  // namespace ks::projector
