// Identifiers: time-ordered random ids for events and new aggregates, and stable ids derived from
// a caller's key, so that a retried create lands on the same aggregate.
//
// Thread-safety: all functions may be called from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ks {

// A UUIDv7 in its 36-character text form: the first 48 bits are the Unix time in milliseconds,
// so ids sort by creation time; the rest is random.
std::string NewTimeOrderedId();
// The wall clock in microseconds since the epoch (protobuf's TimeUtil::GetCurrentTime gives whole
// seconds on this platform, too coarse to order what happens within one).
int64_t NowMicros();

// A UUID-shaped id that depends only on `scope` and `key` (version nibble 8, "custom"): equal
// inputs give equal ids on every machine and every run.
std::string StableIdFor(std::string_view scope, std::string_view key);

// A 128-bit non-cryptographic fingerprint of `data` as 16 bytes, stable across runs.
std::string Fingerprint128(std::string_view data);

}  // namespace ks
