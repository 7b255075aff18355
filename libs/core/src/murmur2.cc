#include "ks/core/murmur2.h"

namespace ks {

uint32_t Murmur2(std::string_view data) {
  constexpr uint32_t kSeed = 0x9747b28c;
  constexpr uint32_t kMix = 0x5bd1e995;
  constexpr int kShift = 24;
  const auto length = static_cast<uint32_t>(data.size());
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  uint32_t h = kSeed ^ length;

  // Body: four bytes at a time, little-endian, as Kafka reads them.
  const uint32_t blocks = length / 4;
  for (uint32_t i = 0; i < blocks; ++i) {
    const unsigned char* p = bytes + 4 * i;
    uint32_t k = uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) |
                 (uint32_t{p[3]} << 24);
    k *= kMix;
    k ^= k >> kShift;
    k *= kMix;
    h *= kMix;
    h ^= k;
  }

  // Tail: the last one to three bytes.
  const unsigned char* tail = bytes + 4 * blocks;
  switch (length % 4) {
    case 3: h ^= uint32_t{tail[2]} << 16; [[fallthrough]];
    case 2: h ^= uint32_t{tail[1]} << 8; [[fallthrough]];
    case 1:
      h ^= uint32_t{tail[0]};
      h *= kMix;
  }

  h ^= h >> 13;
  h *= kMix;
  h ^= h >> 15;
  return h;
}

int32_t PartitionForKey(std::string_view key, int32_t partition_count) {
  return static_cast<int32_t>((Murmur2(key) & 0x7fffffffU) % static_cast<uint32_t>(partition_count));
}

}  // namespace ks
