// The read-model store's views: what they report they reflect.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>

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

TEST_CASE("settling a store built in many flushes keeps every key as it was and leaves no level-0 file",
          "[readmodel]") {
  // A rebuild's end: the store settled into one level, its halves compacted side by side. Three
  // families lie in files below level 0 (so the key space is cut in two), then more flushes over
  // all of them, with overwrites, deletions and counter merges that the settling must resolve
  // across the cut as a read does.
  TempDir dir;
  std::map<std::string, std::string> expected;
  {
    auto store = ReadModelStore::OpenPrimary(dir.Sub("read-models"));
    REQUIRE(store.has_value());
    rocksdb::DB& db = *(*store)->db();
    auto key = [](char family, int i) {
      std::string k(1, family);
      k.push_back('\0');
      k += "gemeente-ede";
      k.push_back('\0');
      return k + fmt::format("{:06}", i);
    };
    const std::string value(200, 'v');
    // Each family's table file moved to a level of its own (3, 2, 1): files below level 0 that
    // do not overlap, whatever RocksDB's file size.
    int level = 3;
    for (const char family : {'A', 'I', 'T'}) {
      rocksdb::WriteBatch batch;
      for (int i = 0; i < 20'000; ++i) {
        REQUIRE(batch.Put(key(family, i), value).ok());
        expected[key(family, i)] = value;
      }
      REQUIRE(db.Write(rocksdb::WriteOptions(), &batch).ok());
      REQUIRE(db.Flush(rocksdb::FlushOptions()).ok());
      const std::string begin = key(family, 0), end = key(family, 19'999);
      const rocksdb::Slice b(begin), e(end);
      rocksdb::CompactRangeOptions to_its_level;
      to_its_level.change_level = true;
      to_its_level.target_level = level--;
      REQUIRE(db.CompactRange(to_its_level, &b, &e).ok());
    }
    for (int round = 0; round < 3; ++round) {
      rocksdb::WriteBatch batch;
      for (int i = round; i < 20'000; i += 7) {
        for (const char family : {'A', 'I', 'T'}) {
          if (i % 2 == 0) {
            const std::string changed = fmt::format("round {}", round);
            REQUIRE(batch.Put(key(family, i), changed).ok());
            expected[key(family, i)] = changed;
          } else {
            REQUIRE(batch.Delete(key(family, i)).ok());
            expected.erase(key(family, i));
          }
        }
      }
      const std::string counter =
          keys::IndexCounter(keys::MeldingIndexPrefix("gemeente-ede", "open", std::to_string(round % 2)));
      REQUIRE(batch.Merge(counter, keys::EncodeInt64(round + 1)).ok());
      REQUIRE(db.Write(rocksdb::WriteOptions(), &batch).ok());
      REQUIRE(db.Flush(rocksdb::FlushOptions()).ok());
    }
    expected[keys::IndexCounter(keys::MeldingIndexPrefix("gemeente-ede", "open", "0"))] = keys::EncodeInt64(1 + 3);
    expected[keys::IndexCounter(keys::MeldingIndexPrefix("gemeente-ede", "open", "1"))] = keys::EncodeInt64(2);
    std::string before_files;
    REQUIRE(db.GetProperty("rocksdb.num-files-at-level0", &before_files));
    CHECK(before_files != "0");
    std::string levels;
    REQUIRE(db.GetProperty("rocksdb.levelstats", &levels));
    UNSCOPED_INFO(levels);

    REQUIRE((*store)->Settle().ok());
    std::string level0;
    REQUIRE(db.GetProperty("rocksdb.num-files-at-level0", &level0));
    CHECK(level0 == "0");
  }
  // As a reader sees it, reopened: every key with its last value, and nothing else.
  auto store = ReadModelStore::OpenPrimary(dir.Sub("read-models"));
  REQUIRE(store.has_value());
  std::map<std::string, std::string> seen;
  REQUIRE((*store)->View().Scan("", "", [&](std::string_view key, std::string_view value) {
    if (key != keys::kLayoutKey) seen.emplace(key, value);
    return true;
  }).ok());
  CHECK(seen.size() == expected.size());
  CHECK(seen == expected);
}

TEST_CASE("a rebuild's entries written aside are in the store once it settles, and a rebuild cut short is refused",
          "[readmodel]") {
  TempDir dir;
  const std::string unfinished(ReadModelStore::kUnfinishedRebuild);
  auto audit_key = [](int i) {
    std::string key = keys::AuditPrefix("gemeente-ede", fmt::format("p{:03}", i % 40));
    return key + fmt::format("{:06}", i);
  };
  {
    // Records through the memtable, the audit trail and an index through runs of 4 KB: all there
    // once settled, except the index entries deleted after they were put; the runs gone and the
    // store no longer marked.
    auto store = ReadModelStore::OpenPrimary(dir.Sub("rebuilt"));
    REQUIRE(store.has_value());
    REQUIRE((*store)->BeginRebuild(4 << 10).ok());
    CHECK(std::filesystem::exists(dir.Sub("rebuilt") + "/" + unfinished));
    for (int i = 999; i >= 0; --i) {
      Apply(**store, 0, 1000 - i);
      REQUIRE((*store)->db()->Put(rocksdb::WriteOptions(), fmt::format("I record {:04}", i), "record").ok());
      REQUIRE((*store)->PutAside(audit_key(i), fmt::format("audit {}", i)).ok());
      REQUIRE((*store)->PutAside(keys::Started("gemeente-ede", "I", i, fmt::format("i{:04}", i)), "").ok());
      if (i % 10 == 0 && i < 990)  // moved on: put in an earlier run, deleted in this one
        REQUIRE((*store)->DeleteAside(keys::Started("gemeente-ede", "I", i + 10, fmt::format("i{:04}", i + 10))).ok());
    }
    REQUIRE((*store)->Settle().ok());
    CHECK_FALSE((*store)->rebuilding());
  }
  CHECK_FALSE(std::filesystem::exists(dir.Sub("rebuilt") + "/" + unfinished));
  CHECK_FALSE(std::filesystem::exists(dir.Sub("rebuilt") + "/rebuild-runs"));
  {
    auto reader = ReadModelStore::OpenSecondary(dir.Sub("rebuilt"), dir.Sub("secondary"));
    REQUIRE(reader.has_value());
    const auto view = (*reader)->View();
    int audited = 0;
    REQUIRE(view.Scan("AU", "", [&](std::string_view key, std::string_view value) {
                  CHECK(value.starts_with("audit "));
                  CHECK(key.find("gemeente-ede") != std::string_view::npos);
                  ++audited;
                  return true;
                }).ok());
    CHECK(audited == 1000);
    std::vector<std::string> started;
    REQUIRE(view.Scan(keys::StartedPrefix("gemeente-ede", "I"), "", [&](std::string_view key, std::string_view) {
                  started.push_back(std::string(keys::LastPart(key)));
                  return true;
                }).ok());
    CHECK(started.size() == 1000 - 99);
    CHECK(std::find(started.begin(), started.end(), "i0010") == started.end());
    CHECK(std::find(started.begin(), started.end(), "i0000") != started.end());
    CHECK(std::find(started.begin(), started.end(), "i0011") != started.end());
    auto record = view.Get("I record 0500");
    REQUIRE(record.has_value());
    CHECK(record->value_or("") == "record");
    CHECK(Read(view) == Progress{{0, 1000}});
  }

  {
    // Cut short: the process ends before Settle.
    auto store = ReadModelStore::OpenPrimary(dir.Sub("cut-short"));
    REQUIRE(store.has_value());
    REQUIRE((*store)->BeginRebuild(4 << 10).ok());
    Apply(**store, 0, 1);
    REQUIRE((*store)->PutAside(audit_key(1), "audit 1").ok());
  }
  for (const bool primary : {true, false}) {
    auto reopened = primary ? ReadModelStore::OpenPrimary(dir.Sub("cut-short"))
                            : ReadModelStore::OpenSecondary(dir.Sub("cut-short"), dir.Sub("secondary-2"));
    REQUIRE_FALSE(reopened.has_value());
    CHECK(reopened.error().code() == ks::StatusCode::kFailedPrecondition);
    CHECK_THAT(reopened.error().message(), Catch::Contains("did not complete") &&
                                               Catch::Contains("delete the directory and run projector --rebuild-into again"));
  }

  // Only on a store that starts empty: refused on one that holds events, which stays as it was.
  auto store = ReadModelStore::OpenPrimary(dir.Sub("rebuilt"));
  REQUIRE(store.has_value());
  const ks::Status refused = (*store)->BeginRebuild();
  CHECK(refused.code() == ks::StatusCode::kFailedPrecondition);
  CHECK_THAT(refused.message(), Catch::Contains("starts empty"));
  CHECK_FALSE((*store)->rebuilding());
  CHECK_FALSE(std::filesystem::exists(dir.Sub("rebuilt") + "/" + unfinished));
}
