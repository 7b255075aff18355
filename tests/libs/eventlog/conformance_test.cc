// One conformance suite, run unchanged against both EventLog implementations: the embedded
// RocksDB log on disk and Kafka through librdkafka against the mock cluster on loopback.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "ks/eventlog/dev_cluster.h"
#include "ks/eventlog/embedded_log.h"
#include "ks/eventlog/kafka_log.h"
#include "support/temp_dir.h"

using namespace ks::eventlog;
using namespace std::chrono_literals;

namespace {

// Each backend knows how to open (and reopen) a log with a given partition count.
struct EmbeddedBackend {
  static constexpr const char* kName = "embedded";
  ks::testing::TempDir dir;
  int32_t partitions;
  explicit EmbeddedBackend(int32_t p) : partitions(p) {}
  std::unique_ptr<EventLog> Open() {
    auto log = OpenEmbeddedLog({.path = dir.Sub("log"), .partitions = partitions, .sync = false});
    if (!log) FAIL(log.error().ToString());
    return std::move(*log);
  }
};

struct KafkaBackend {
  static constexpr const char* kName = "kafka";
  std::unique_ptr<DevCluster> cluster;
  int32_t partitions;
  explicit KafkaBackend(int32_t p) : partitions(p) {
    auto c = DevCluster::Start(3, "conformance", p);
    REQUIRE(c.has_value());
    cluster = std::move(*c);
  }
  std::unique_ptr<EventLog> Open() {
    auto log = OpenKafkaLog({.bootstrap_servers = cluster->bootstrap_servers(), .topic = "conformance",
                             .partitions = partitions, .linger_ms = 2});
    if (!log) FAIL(log.error().ToString());
    return std::move(*log);
  }
};

Record MakeRecord(const std::string& key, const std::string& value, int64_t ts = 1'700'000'000'000) {
  return Record{key, value, ts};
}

// Reads until `count` records arrived (or 20 s passed).
std::vector<StoredRecord> ReadN(EventLog& log, const std::vector<int64_t>& start, size_t count) {
  auto reader = log.OpenReader(start);
  REQUIRE(reader.has_value());
  std::vector<StoredRecord> out;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (out.size() < count && std::chrono::steady_clock::now() < deadline) {
    auto batch = (*reader)->Poll(1000, 100ms);
    REQUIRE(batch.has_value());
    for (auto& r : *batch) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

TEMPLATE_TEST_CASE("an appended record is read back at the position the append reported",
                   "[eventlog][integration]", EmbeddedBackend, KafkaBackend) {
  TestType backend(4);
  auto log = backend.Open();
  auto positions = log->Append({MakeRecord("party-1", "hello"), MakeRecord("party-1", "world")});
  REQUIRE(positions.has_value());
  REQUIRE(positions->size() == 2);
  const int32_t p = log->PartitionFor("party-1");
  CHECK((*positions)[0] == Position{p, 0});
  CHECK((*positions)[1] == Position{p, 1});

  auto records = ReadN(*log, std::vector<int64_t>(4, 0), 2);
  REQUIRE(records.size() == 2);
  CHECK(records[0].key == "party-1");
  CHECK(records[0].value == "hello");
  CHECK(records[0].partition == p);
  CHECK(records[0].offset == 0);
  CHECK(records[0].timestamp_ms == 1'700'000'000'000);
  CHECK(records[1].value == "world");
  CHECK(records[1].offset == 1);
}

TEMPLATE_TEST_CASE("records of a partition keep their order and offsets have no gaps",
                   "[eventlog][integration]", EmbeddedBackend, KafkaBackend) {
  TestType backend(3);
  auto log = backend.Open();
  constexpr int kRecords = 300;
  for (int i = 0; i < kRecords; ++i) {
    auto pos = log->Append({MakeRecord(fmt::format("key-{}", i % 7), std::to_string(i))});
    REQUIRE(pos.has_value());
  }
  auto ends = log->EndOffsets();
  REQUIRE(ends.has_value());
  int64_t total = 0;
  for (int64_t e : *ends) total += e;
  CHECK(total == kRecords);

  auto records = ReadN(*log, {0, 0, 0}, kRecords);
  REQUIRE(records.size() == kRecords);
  std::map<int32_t, int64_t> next_offset;
  std::map<std::string, int> last_value_per_key;
  for (const auto& r : records) {
    CHECK(r.partition == log->PartitionFor(r.key));
    CHECK(r.offset == next_offset[r.partition]++);
    const int value = std::stoi(r.value);
    if (last_value_per_key.count(r.key)) CHECK(value > last_value_per_key[r.key]);
    last_value_per_key[r.key] = value;
  }
}

TEMPLATE_TEST_CASE("a reader restarts from the positions it is given", "[eventlog][integration]",
                   EmbeddedBackend, KafkaBackend) {
  TestType backend(2);
  auto log = backend.Open();
  std::vector<Position> written;
  for (int i = 0; i < 40; ++i) {
    auto pos = log->Append({MakeRecord(fmt::format("k{}", i % 5), std::to_string(i))});
    REQUIRE(pos.has_value());
    written.push_back(pos->front());
  }
  auto ends = log->EndOffsets();
  REQUIRE(ends.has_value());
  // Start halfway through each partition: exactly the second halves come back.
  std::vector<int64_t> start = {(*ends)[0] / 2, (*ends)[1] / 2};
  const size_t expected = static_cast<size_t>(((*ends)[0] - start[0]) + ((*ends)[1] - start[1]));
  auto records = ReadN(*log, start, expected);
  REQUIRE(records.size() == expected);
  for (const auto& r : records) CHECK(r.offset >= start[static_cast<size_t>(r.partition)]);
  // Nothing more arrives.
  auto reader = log->OpenReader(*ends);
  REQUIRE(reader.has_value());
  auto more = (*reader)->Poll(10, 300ms);
  REQUIRE(more.has_value());
  CHECK(more->empty());
}

TEMPLATE_TEST_CASE("a reader can start from a date: the first record at or after it, per partition",
                   "[eventlog][integration]", EmbeddedBackend, KafkaBackend) {
  TestType backend(2);
  auto log = backend.Open();
  // One record a minute for 30 minutes, over both partitions.
  const int64_t t0 = 1'767'225'600'000;  // 2026-01-01T00:00Z
  std::map<std::pair<int32_t, int64_t>, int64_t> time_at;
  for (int i = 0; i < 30; ++i) {
    auto pos = log->Append({MakeRecord(fmt::format("k{}", i % 7), std::to_string(i), t0 + i * 60'000)});
    REQUIRE(pos.has_value());
    time_at[{pos->front().partition, pos->front().offset}] = t0 + i * 60'000;
  }
  auto ends = log->EndOffsets();
  REQUIRE(ends.has_value());
  for (int64_t minute : {0, 1, 10, 29}) {
    const int64_t t = t0 + minute * 60'000 - 1;
    auto offsets = log->OffsetsForTime(t);
    REQUIRE(offsets.has_value());
    for (int32_t p = 0; p < 2; ++p) {
      // Expected: the first offset of the partition whose time is >= t.
      int64_t expected = (*ends)[static_cast<size_t>(p)];
      for (const auto& [where, time] : time_at)
        if (where.first == p && time >= t) {
          expected = std::min(expected, where.second);
        }
      CHECK((*offsets)[static_cast<size_t>(p)] == expected);
    }
  }
  // After the last record: the end.
  auto after = log->OffsetsForTime(t0 + 3'600'000);
  REQUIRE(after.has_value());
  CHECK(*after == *ends);
}

TEMPLATE_TEST_CASE("appended records survive closing and reopening the log", "[eventlog][integration]",
                   EmbeddedBackend, KafkaBackend) {
  TestType backend(4);
  {
    auto log = backend.Open();
    for (int i = 0; i < 50; ++i) REQUIRE(log->Append({MakeRecord(fmt::format("agg-{}", i), fmt::format("v{}", i))}));
  }
  auto log = backend.Open();
  CHECK(log->partition_count() == 4);
  auto ends = log->EndOffsets();
  REQUIRE(ends.has_value());
  int64_t total = 0;
  for (int64_t e : *ends) total += e;
  CHECK(total == 50);
  auto records = ReadN(*log, std::vector<int64_t>(4, 0), 50);
  REQUIRE(records.size() == 50);
  std::set<std::string> values;
  for (const auto& r : records) values.insert(r.value);
  CHECK(values.size() == 50);
  // Appending after reopening continues the offsets.
  auto pos = log->Append({MakeRecord("agg-0", "again")});
  REQUIRE(pos.has_value());
  const int32_t p = log->PartitionFor("agg-0");
  CHECK(pos->front().offset == (*ends)[static_cast<size_t>(p)]);
}

TEMPLATE_TEST_CASE("many partitions and concurrent appenders: every record exactly once",
                   "[eventlog][integration]", EmbeddedBackend, KafkaBackend) {
  TestType backend(32);
  auto log = backend.Open();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 250;
  std::atomic<int> acknowledged{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = fmt::format("{}-{}", t, i);
        log->AppendAsync({MakeRecord("aggregate-" + id, id)}, [&](auto result) {
          if (result.has_value()) acknowledged.fetch_add(1);
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (acknowledged.load() < kThreads * kPerThread && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  REQUIRE(acknowledged.load() == kThreads * kPerThread);

  auto records = ReadN(*log, std::vector<int64_t>(32, 0), kThreads * kPerThread);
  REQUIRE(records.size() == kThreads * kPerThread);
  std::set<std::string> seen;
  std::set<int32_t> partitions_used;
  for (const auto& r : records) {
    CHECK(seen.insert(r.value).second);
    CHECK(r.partition == log->PartitionFor(r.key));
    partitions_used.insert(r.partition);
  }
  CHECK(partitions_used.size() == 32);
}

TEMPLATE_TEST_CASE("a waiting reader receives records appended after it started", "[eventlog][integration]",
                   EmbeddedBackend, KafkaBackend) {
  TestType backend(2);
  auto log = backend.Open();
  auto reader = log->OpenReader({0, 0});
  REQUIRE(reader.has_value());
  std::thread writer([&] {
    std::this_thread::sleep_for(200ms);
    REQUIRE(log->Append({MakeRecord("late", "arrival")}));
  });
  std::vector<StoredRecord> got;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (got.empty() && std::chrono::steady_clock::now() < deadline) {
    auto batch = (*reader)->Poll(10, 500ms);
    REQUIRE(batch.has_value());
    got = std::move(*batch);
  }
  writer.join();
  REQUIRE(got.size() == 1);
  CHECK(got[0].value == "arrival");
}

TEST_CASE("the embedded log refuses to change its partition count", "[eventlog][integration]") {
  ks::testing::TempDir dir;
  { REQUIRE(OpenEmbeddedLog({.path = dir.Sub("log"), .partitions = 4})); }
  auto reopened = OpenEmbeddedLog({.path = dir.Sub("log"), .partitions = 8});
  REQUIRE_FALSE(reopened.has_value());
  CHECK(reopened.error().code() == ks::StatusCode::kFailedPrecondition);
  CHECK_THAT(reopened.error().message(), Catch::Contains("4 partitions"));
}

TEST_CASE("an embedded log that is open cannot be opened a second time", "[eventlog][integration]") {
  ks::testing::TempDir dir;
  auto first = OpenEmbeddedLog({.path = dir.Sub("log"), .partitions = 2});
  REQUIRE(first.has_value());
  auto second = OpenEmbeddedLog({.path = dir.Sub("log"), .partitions = 2});
  REQUIRE_FALSE(second.has_value());
  CHECK(second.error().code() == ks::StatusCode::kUnavailable);
}

TEST_CASE("an embedded log read from far behind gives every record once, in order, then follows its end",
          "[eventlog][integration]") {
  // Far behind, a reader scans (its blocks bypass the cache); near the end it follows. Reopening
  // moves the records from the write-ahead log into table files, where the scan reads them.
  ks::testing::TempDir dir;
  constexpr int kRecords = 20'000;
  const std::string filler(900, 'x');
  {
    auto log = OpenEmbeddedLog({.path = dir.Sub("log"), .partitions = 2, .sync = false});
    REQUIRE(log.has_value());
    for (int i = 0; i < kRecords; i += 500) {
      std::vector<Record> records;
      for (int j = i; j < i + 500; ++j) records.push_back(MakeRecord(fmt::format("agg-{}", j % 7), fmt::format("{}{}", j, filler)));
      REQUIRE((*log)->Append(std::move(records)).has_value());
    }
  }
  auto log = OpenEmbeddedLog({.path = dir.Sub("log"), .partitions = 2, .sync = false});
  REQUIRE(log.has_value());
  auto records = ReadN(**log, {0, 0}, kRecords);
  REQUIRE(records.size() == kRecords);
  std::map<int32_t, int64_t> next_offset;
  std::set<int> seen;
  int out_of_order = 0;
  int last_in_partition[2] = {-1, -1};
  for (const StoredRecord& r : records) {
    if (r.offset != next_offset[r.partition]++) ++out_of_order;
    const int n = std::stoi(r.value);
    // Within a partition, records come in the order they were appended.
    if (n <= last_in_partition[r.partition]) ++out_of_order;
    last_in_partition[r.partition] = n;
    CHECK(r.value.size() == std::to_string(n).size() + filler.size());
    seen.insert(n);
  }
  CHECK(out_of_order == 0);
  CHECK(seen.size() == kRecords);
  // A reader opened where that one stopped (near the end: it follows) gets what is appended next.
  auto reader = (*log)->OpenReader({next_offset[0], next_offset[1]});
  REQUIRE(reader.has_value());
  REQUIRE((*log)->Append({MakeRecord("agg-0", "after")}).has_value());
  auto batch = (*reader)->Poll(10, 2s);
  REQUIRE(batch.has_value());
  REQUIRE(batch->size() == 1);
  CHECK(batch->front().value == "after");
}
