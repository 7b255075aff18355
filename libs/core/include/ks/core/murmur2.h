// Kafka's default key hash: MurmurHash2 (32-bit, seed 0x9747b28c) as the Java client computes it,
// and the partition choice built on it. The embedded log uses the same function, so a log can move
// between the embedded store and Kafka with every key staying in its partition.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace ks {

// The 32-bit MurmurHash2 of `data`, identical to Kafka's Utils.murmur2().
uint32_t Murmur2(std::string_view data);

// Kafka's partition for a non-empty key: (murmur2(key) & 0x7fffffff) % partition_count.
// REQUIRES: partition_count > 0.
int32_t PartitionForKey(std::string_view key, int32_t partition_count);

}  // namespace ks
