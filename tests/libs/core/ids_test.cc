// Ids: the stable ones never change (they are stored in the log, and a retried create must land on
// the aggregate the first attempt made), the new ones sort by their time.
#include <catch2/catch.hpp>

#include <set>
#include <thread>

#include "ks/core/ids.h"

namespace {

bool IsLowerHexUuid(const std::string& id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    const char c = id[i];
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("ids: stable ids and fingerprints are what they have always been") {
  // Values written by the first version of these functions: a change of the hash or of the text
  // form would give aggregates already in a log new ids.
  CHECK(ks::StableIdFor("gemeente-utrecht/category", "afval-naast-container") == "0f379f17-5f43-887d-bb20-69d593acfab0");
  CHECK(ks::StableIdFor("", "") == "25fc6dd3-6ce0-8b20-bbf2-5120aff30bc1");
  const std::string fingerprint = ks::Fingerprint128(std::string(1000, 'q') + "tail");
  const unsigned char expected[16] = {0xbb, 0x9a, 0x65, 0xa7, 0xac, 0x72, 0x56, 0x2d,
                                      0xb9, 0xdf, 0xc3, 0x99, 0xcb, 0xc6, 0xf8, 0xac};
  CHECK(fingerprint == std::string(reinterpret_cast<const char*>(expected), 16));
  // The scope and the key are not simply joined.
  CHECK(ks::StableIdFor("a", "bc") != ks::StableIdFor("ab", "c"));
}

TEST_CASE("ids: new ids are version-7 UUIDs in text form, distinct and ordered by their millisecond") {
  const std::string first = ks::NewTimeOrderedId();
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::set<std::string> later;
  for (int i = 0; i < 1000; ++i) later.insert(ks::NewTimeOrderedId());
  CHECK(later.size() == 1000);
  for (const std::string& id : later) {
    INFO(id);
    CHECK(IsLowerHexUuid(id));
    CHECK(id[14] == '7');                          // version
    CHECK(std::string("89ab").find(id[19]) != std::string::npos);  // RFC 4122 variant
    CHECK(id > first);                              // a later millisecond sorts after
  }
  CHECK(IsLowerHexUuid(ks::StableIdFor("scope", "key")));
  CHECK(ks::StableIdFor("scope", "key")[14] == '8');
}
