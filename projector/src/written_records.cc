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
  // A second, independent-enough hash for the bits within the block: the first one's bits mixed
  // again (a multiplication by an odd constant and a rotation), so that the block number and the
  // bit positions do not come from the same bits.
  uint64_t second = hash * 0x9e3779b97f4a7c15ULL;
  second = (second << 29) | (second >> 35);
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
