#include "ks/core/ids.h"

#include <array>
#include <chrono>
#include <random>

namespace ks {
namespace {

// 8-4-4-4-12 lowercase hex digits. By hand: the command service makes one or two per command, and
// fmt with sixteen arguments showed in its profile under load.
std::string FormatUuid(const std::array<uint8_t, 16>& b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(36, '-');
  size_t at = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    if (at == 8 || at == 13 || at == 18 || at == 23) ++at;  // the dashes
    out[at++] = kDigits[b[i] >> 4];
    out[at++] = kDigits[b[i] & 15];
  }
  return out;
}

// FNV-1a, 64 bits, with a final avalanche (from SplitMix64) so that short keys spread over all
// bits.
uint64_t Avalanche(uint64_t h) {
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

// Two FNV-1a passes with different offset bases give independent halves. They run in one loop:
// the two multiply chains overlap (the command service hashes every request it deduplicates).
// The result must never change: ids made from it (StableIdFor) are stored in the log.
std::array<uint8_t, 16> Hash128(std::string_view data) {
  uint64_t hi = 0xcbf29ce484222325ULL;
  uint64_t lo = 0x84222325cbf29ce4ULL;
  for (unsigned char c : data) {
    hi = (hi ^ c) * 0x100000001b3ULL;
    lo = (lo ^ c) * 0x100000001b3ULL;
  }
  hi = Avalanche(hi);
  lo = Avalanche(lo);
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
