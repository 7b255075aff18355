// A rebuild's sorted runs: what goes in comes out once, in key order, in files that do not overlap.
#include <catch2/catch.hpp>

#include <fmt/format.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_reader.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "ks/readmodel/sorted_runs.h"
#include "support/temp_dir.h"

using ks::StatusCode;
using ks::readmodel::SortedRuns;
using ks::testing::TempDir;

TEST_CASE("sorted runs merge into files in key order that hold every entry once and do not overlap",
          "[readmodel]") {
  TempDir dir;
  // Audit-like keys (a party, then a time) added out of order, some twice, in runs of about 16 KB:
  // dozens of runs to merge, and merged files cut at 32 KB.
  std::vector<std::pair<std::string, std::string>> added;
  for (int party = 0; party < 50; ++party)
    for (int at = 0; at < 100; ++at)
      added.emplace_back(fmt::format("AU gemeente-ede p{:03} t{:05}", party, at), fmt::format("entry {}.{}", party, at));
  std::mt19937 random(7);
  std::shuffle(added.begin(), added.end(), random);
  for (size_t i = 0; i < added.size(); i += 10) added.push_back(added[i]);  // written again, as it was
  std::map<std::string, std::string> expected(added.begin(), added.end());

  const std::string runs_dir = dir.Sub("runs");
  SortedRuns runs(runs_dir, rocksdb::Options(), 16 << 10);
  for (auto& [key, value] : added) REQUIRE(runs.Add(key, value).ok());
  CHECK(runs.entries() == added.size());
  CHECK(runs.runs_written() > 20);

  auto files = runs.Merge(32 << 10);
  REQUIRE(files.has_value());
  REQUIRE(files->size() > 1);
  std::vector<std::pair<std::string, std::string>> merged;
  std::vector<std::pair<std::string, std::string>> ranges;  // each file's first and last key
  for (const std::string& file : *files) {
    rocksdb::SstFileReader reader{rocksdb::Options()};
    REQUIRE(reader.Open(file).ok());
    std::unique_ptr<rocksdb::Iterator> it(reader.NewIterator(rocksdb::ReadOptions()));
    std::string first;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (first.empty()) first = it->key().ToString();
      merged.emplace_back(it->key().ToString(), it->value().ToString());
    }
    REQUIRE(it->status().ok());
    ranges.emplace_back(first, merged.back().first);
  }
  // Every entry once, with its value, in key order; each file begins after the one before ends.
  CHECK(merged == std::vector<std::pair<std::string, std::string>>(expected.begin(), expected.end()));
  for (size_t f = 1; f < ranges.size(); ++f) CHECK(ranges[f - 1].second < ranges[f].first);
  // The runs are gone; only the merged files are left in the directory.
  size_t left = 0;
  for (const auto& entry : std::filesystem::directory_iterator(runs_dir)) {
    ++left;
    CHECK(std::find(files->begin(), files->end(), entry.path().string()) != files->end());
  }
  CHECK(left == files->size());
}

namespace {
// Every entry of `files`, in their order.
std::vector<std::pair<std::string, std::string>> ReadAll(const std::vector<std::string>& files) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& file : files) {
    rocksdb::SstFileReader reader{rocksdb::Options()};
    REQUIRE(reader.Open(file).ok());
    std::unique_ptr<rocksdb::Iterator> it(reader.NewIterator(rocksdb::ReadOptions()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) out.emplace_back(it->key().ToString(), it->value().ToString());
    REQUIRE(it->status().ok());
  }
  return out;
}
}  // namespace

TEST_CASE("of a key's adds and erasures in sorted runs the last counts, and an erased key reaches no file",
          "[readmodel]") {
  TempDir dir;
  // Index-like entries that move as their records change, in runs of about 2 KB: each key's adds
  // and erasures spread over many runs, several in one run too. A map tells what must be left.
  // Half of them come one by one, half in sorted batches of 37 (as a projector worker hands them
  // over).
  SortedRuns runs(dir.Sub("runs"), rocksdb::Options(), 2 << 10);
  std::map<std::string, std::string> expected;
  std::mt19937 random(11);
  std::vector<SortedRuns::Entry> batch;
  for (int step = 0; step < 3000; ++step) {
    const std::string key = fmt::format("QD gemeente-ede team-{} callback-{:03}", step % 3, random() % 120);
    const bool erased = random() % 3 == 0;
    const std::string value = erased ? "" : fmt::format("step {}", step);
    if (erased)
      expected.erase(key);
    else
      expected[key] = value;
    if (step < 1500) {
      REQUIRE((erased ? runs.Erase(key) : runs.Add(key, value)).ok());
      continue;
    }
    batch.push_back({key, value, erased});
    if (batch.size() == 37 || step == 2999) {
      std::stable_sort(batch.begin(), batch.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
      REQUIRE(runs.AddSorted(std::exchange(batch, {})).ok());
    }
  }
  // One key erased without ever being added, one added and erased in the same run.
  REQUIRE(runs.Erase("QD gemeente-ede never-added").ok());
  REQUIRE(runs.Add("QD gemeente-ede short-lived", "x").ok());
  REQUIRE(runs.Erase("QD gemeente-ede short-lived").ok());
  CHECK(runs.runs_written() > 20);

  auto files = runs.Merge(4 << 10);
  REQUIRE(files.has_value());
  CHECK(ReadAll(*files) == std::vector<std::pair<std::string, std::string>>(expected.begin(), expected.end()));
}

TEST_CASE("sorted runs cut their merged files wherever the boundary says, as well as by size", "[readmodel]") {
  TempDir dir;
  SortedRuns runs(dir.Sub("runs"), rocksdb::Options(), 1 << 20);
  // Three families of small entries: by size alone they would share one file.
  for (const std::string family : {"AU", "S", "TP"})
    for (int i = 0; i < 50; ++i) REQUIRE(runs.Add(fmt::format("{}/entry-{:02}", family, i), "").ok());
  auto family = [](std::string_view key) { return key.substr(0, key.find('/')); };
  auto files = runs.Merge(1 << 20, [&](std::string_view before, std::string_view after) {
    return family(before) != family(after);
  });
  REQUIRE(files.has_value());
  REQUIRE(files->size() == 3);
  for (size_t f = 0; f < files->size(); ++f) {
    const auto entries = ReadAll({(*files)[f]});
    REQUIRE(entries.size() == 50);
    CHECK(family(entries.front().first) == family(entries.back().first));
  }
}

TEST_CASE("sorted runs with nothing added merge into no files", "[readmodel]") {
  TempDir dir;
  SortedRuns runs(dir.Sub("runs"), rocksdb::Options(), 1 << 10);
  auto files = runs.Merge(1 << 20);
  REQUIRE(files.has_value());
  CHECK(files->empty());
}

TEST_CASE("a run that cannot be written is UNAVAILABLE, naming the directory", "[readmodel]") {
  TempDir dir;
  {
    std::ofstream(dir.Sub("not-a-directory")) << "a file where the runs' directory should be";
  }
  SortedRuns runs(dir.Sub("not-a-directory") + "/runs", rocksdb::Options(), 64);
  // The first run is written beside the adding; its failure is told by the next run's start.
  REQUIRE(runs.Add(std::string(100, 'k'), "value").ok());
  const ks::Status added = runs.Add(std::string(100, 'l'), "value");
  REQUIRE_FALSE(added.ok());
  CHECK(added.code() == StatusCode::kUnavailable);
  CHECK_THAT(added.message(), Catch::Contains("not-a-directory"));
  // And by the merge, when no run starts after it.
  SortedRuns once(dir.Sub("not-a-directory") + "/once", rocksdb::Options(), 1 << 20);
  REQUIRE(once.Add("key", "value").ok());
  auto merged = once.Merge(1 << 20);
  REQUIRE_FALSE(merged.has_value());
  CHECK(merged.error().code() == StatusCode::kUnavailable);
  CHECK_THAT(merged.error().message(), Catch::Contains("not-a-directory"));
}
