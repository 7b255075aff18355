#include "ks/core/ids.h"

#include <array>
#include <chrono>
#include <random>

#include <fmt/format.h>

namespace ks {
namespace {

std::string FormatUuid(const std::array<uint8_t, 16>& b) {
  return fmt::format(
      "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-"
      "{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
      b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
      b[14], b[15]);
}

// FNV-1a, 64 bits, with a chosen offset basis so two passes give independent halves.
uint64_t Fnv1a64(std::string_view data, uint64_t basis) {
  uint64_t h = basis;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  // A final avalanche (from SplitMix64) so that short keys spread over all bits.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

std::array<uint8_t, 16> Hash128(std::string_view data) {
  const uint64_t hi = Fnv1a64(data, 0xcbf29ce484222325ULL);
  const uint64_t lo = Fnv1a64(data, 0x84222325cbf29ce4ULL);
  std::array<uint8_t, 16> out{};
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
    out[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
  }
  return out;
}

}  // namespace

std::string NewTimeOrderedId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const auto ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
  std::array<uint8_t, 16> b{};
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(ms >> (40 - 8 * i));
  const uint64_t r1 = rng();
  const uint64_t r2 = rng();
  for (int i = 6; i < 8; ++i) b[i] = static_cast<uint8_t>(r1 >> (8 * i));
  for (int i = 8; i < 16; ++i) b[i] = static_cast<uint8_t>(r2 >> (8 * (i - 8)));
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x70);  // version 7
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return FormatUuid(b);
}

std::string StableIdFor(std::string_view scope, std::string_view key) {
  std::string input;
  input.reserve(scope.size() + key.size() + 1);
  input.append(scope).push_back('\0');
  input.append(key);
  auto b = Hash128(input);
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x80);  // version 8: custom
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
  return FormatUuid(b);
}

std::string Fingerprint128(std::string_view data) {
  const auto b = Hash128(data);
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace ks
