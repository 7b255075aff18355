// The read-model store's views: what they report they reflect.
#include <catch2/catch.hpp>

#include <rocksdb/write_batch.h>

#include "ks/readmodel/keys.h"
#include "ks/readmodel/store.h"
#include "support/temp_dir.h"

namespace keys = ks::readmodel::keys;
using ks::readmodel::Progress;
using ks::readmodel::ReadModelStore;
using ks::testing::TempDir;

namespace {

// What the projector writes with every batch: the next offset of each partition it applied.
void Apply(ReadModelStore& store, int32_t partition, int64_t next_offset) {
  rocksdb::WriteBatch batch;
  REQUIRE(batch.Put(keys::PartitionProgress(partition), keys::EncodeInt64(next_offset)).ok());
  REQUIRE(store.db()->Write(rocksdb::WriteOptions(), &batch).ok());
}

Progress Read(const ks::readmodel::ReadView& view) {
  auto progress = view.ReadProgress();
  REQUIRE(progress.has_value());
  return *progress;
}

}  // namespace

TEST_CASE("a view reports the progress of the state it sees on the writer and on a reader between catch-ups",
          "[readmodel]") {
  TempDir dir;
  auto writer = ReadModelStore::OpenPrimary(dir.Sub("read-models"));
  REQUIRE(writer.has_value());
  Apply(**writer, 0, 5);
  auto reader = ReadModelStore::OpenSecondary(dir.Sub("read-models"), dir.Sub("secondary"));
  REQUIRE(reader.has_value());

  const auto before = (*writer)->View();
  CHECK(Read(before) == Progress{{0, 5}});
  CHECK(Read((*reader)->View()) == Progress{{0, 5}});

  Apply(**writer, 0, 9);
  Apply(**writer, 3, 2);
  // The writer's new views see the new state; a view opened before still sees its own.
  CHECK(Read((*writer)->View()) == Progress{{0, 9}, {3, 2}});
  CHECK(Read(before) == Progress{{0, 5}});
  // A reader sees the writer's progress once it has caught up, not before.
  CHECK(Read((*reader)->View()) == Progress{{0, 5}});
  REQUIRE((*reader)->CatchUp().ok());
  CHECK(Read((*reader)->View()) == Progress{{0, 9}, {3, 2}});
  Apply(**writer, 3, 7);
  REQUIRE((*reader)->CatchUp().ok());
  CHECK(Read((*reader)->View()) == Progress{{0, 9}, {3, 7}});
}

TEST_CASE("a scan visits every key with its prefix and no other, whatever the prefix's last bytes", "[readmodel]") {
  TempDir dir;
  auto store = ReadModelStore::OpenPrimary(dir.Sub("read-models"));
  REQUIRE(store.has_value());
  const std::vector<std::string> stored = {std::string("a\xff\xff", 3) + "1", std::string("a\xff\xff", 3) + "2",
                                           std::string("a\xff\xff\xff", 4), std::string("a\xfe", 2), "b", "b0"};
  for (const std::string& key : stored) REQUIRE((*store)->db()->Put(rocksdb::WriteOptions(), key, "").ok());
  auto scan = [&](const std::string& prefix, const std::string& start = "") {
    std::vector<std::string> seen;
    REQUIRE((*store)->View().Scan(prefix, start, [&](std::string_view key, std::string_view) {
      seen.emplace_back(key);
      return true;
    }).ok());
    return seen;
  };
  CHECK(scan(std::string("a\xff\xff", 3)) == std::vector<std::string>{stored[0], stored[1], stored[2]});
  CHECK(scan(std::string("a\xff", 2), stored[1]) == std::vector<std::string>{stored[1], stored[2]});
  CHECK(scan("a") == std::vector<std::string>{stored[3], stored[0], stored[1], stored[2]});
  CHECK(scan("b") == std::vector<std::string>{"b", "b0"});
  CHECK(scan("c").empty());
}
