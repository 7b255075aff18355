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
  const ks::Status added = runs.Add(std::string(100, 'k'), "value");
  REQUIRE_FALSE(added.ok());
  CHECK(added.code() == StatusCode::kUnavailable);
  CHECK_THAT(added.message(), Catch::Contains("not-a-directory"));
}
