// The rebuild's filter of the records it wrote: it may say "maybe" of a key never added, but never
// "no" of one that was.
#include "ks/projector/written_records.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <string>
#include <thread>
#include <vector>

using ks::projector::WrittenRecords;

namespace {

// A record key as the read models make them: kind, tenant and id, separated by '\0'.
std::string RecordKey(const char* kind, int i) {
  std::string key = kind;
  key.push_back('\0');
  key += "gemeente-ede";
  key.push_back('\0');
  return key + fmt::format("aggregate-{}", i);
}

}  // namespace

TEST_CASE("the filter of written records never denies a key it was given, and denies most others",
          "[projector][unit]") {
  // 10 bits per key, as a rebuild of about 25M events has in 32 MB.
  WrittenRecords written(25'000);
  // Two threads adding at once, as the rebuild's two workers do.
  auto add = [&](int from, int to) {
    for (int i = from; i < to; ++i) written.Add(RecordKey("I", i));
  };
  std::thread other(add, 0, 10'000);
  add(10'000, 20'000);
  other.join();
  for (int i = 0; i < 20'000; ++i)
    REQUIRE(written.MayContain(RecordKey("I", i)));
  int maybes = 0;
  for (int i = 20'000; i < 40'000; ++i) maybes += written.MayContain(RecordKey("I", i));
  // About 1-2% expected; each "maybe" costs a read of the store, nothing else.
  UNSCOPED_INFO("maybes: " << maybes);
  CHECK(maybes < 1'000);
}

TEST_CASE("a filter too small for its keys says maybe, never a wrong no", "[projector][unit]") {
  WrittenRecords written(64);  // one block for everything
  for (int i = 0; i < 5'000; ++i) written.Add(RecordKey("P", i));
  for (int i = 0; i < 5'000; ++i) REQUIRE(written.MayContain(RecordKey("P", i)));
  int maybes = 0;
  for (int i = 5'000; i < 6'000; ++i) maybes += written.MayContain(RecordKey("P", i));
  CHECK(maybes == 1'000);  // saturated: every other key is read from the store, as without a filter
}
