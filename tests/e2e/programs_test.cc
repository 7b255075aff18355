// The programs as a user runs them: the all-in-one main job with the demo client (and its state
// surviving a restart on the same data directory), and the development broker.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>

#include <rocksdb/db.h>

#include "ks/eventlog/kafka_log.h"
#include "ks/readmodel/keys.h"
#include "support/process.h"
#include "support/temp_dir.h"

using namespace ks::testing;

namespace {

// Runs ks-demo against the all-in-one at `port` and returns what it printed.
std::string RunDemo(int port, const std::string& log_path) {
  const std::string address = "127.0.0.1:" + std::to_string(port);
  ChildProcess demo(ProgramPath("deploy/ks-demo"), {"--commands=" + address, "--queries=" + address}, log_path);
  std::string out = demo.ReadAll();
  CHECK(demo.Terminate() == 0);
  return out;
}

// The customer-view part of the demo's output.
std::string CustomerViewPart(const std::string& out) {
  const size_t at = out.find("Klantbeeld:");
  return at == std::string::npos ? "" : out.substr(at);
}

}  // namespace

TEST_CASE("the main job: the all-in-one on the embedded log shows journey 000, and the same state after a restart",
          "[e2e]") {
  TempDir dir;
  const std::string data = "--data-dir=" + dir.Sub("data");
  const std::string logs = dir.Sub("klantstroom.log");
  std::string first;
  {
    ChildProcess server(ProgramPath("deploy/klantstroom"), {data, "--listen=127.0.0.1:0"}, logs);
    const int port = server.WaitForPort();
    REQUIRE(port > 0);
    first = RunDemo(port, logs);
    CHECK(server.Terminate() == 0);
  }
  CHECK_THAT(first, Catch::Contains("Klantbeeld: John de Vries"));
  CHECK_THAT(first, Catch::Contains("Contactmomenten (10 getoond, nieuwste eerst)"));
  CHECK_THAT(first, Catch::Contains("Terugbelwachtrij van Windy: 1 open"));
  CHECK_THAT(first, Catch::Contains("verslag (informatie gegeven)"));
  CHECK_THAT(first, !Catch::Contains("already recorded"));

  std::string second;
  {
    ChildProcess server(ProgramPath("deploy/klantstroom"), {data, "--listen=127.0.0.1:0"}, logs);
    const int port = server.WaitForPort();
    REQUIRE(port > 0);
    second = RunDemo(port, logs);
    CHECK(server.Terminate() == 0);
  }
  CHECK_THAT(second, Catch::Contains("15 commands were already recorded"));
  CHECK_FALSE(CustomerViewPart(first).empty());
  CHECK(CustomerViewPart(second) == CustomerViewPart(first));
}

TEST_CASE("ks-dev-broker prints a bootstrap address that a Kafka client can use", "[e2e]") {
  TempDir dir;
  ChildProcess broker(ProgramPath("deploy/ks-dev-broker"), {"--partitions=3"}, dir.Sub("broker.log"));
  const std::string bootstrap = broker.WaitForLine("BOOTSTRAP_SERVERS=", std::chrono::seconds(10));
  REQUIRE_FALSE(bootstrap.empty());
  CHECK(std::regex_match(bootstrap, std::regex(R"((127\.0\.0\.1:[0-9]+,?)+)")));
  {
    auto log = ks::eventlog::OpenKafkaLog({.bootstrap_servers = bootstrap});
    REQUIRE(log.has_value());
    CHECK((*log)->partition_count() == 3);
    auto written = (*log)->Append({{"party-1", "hello", 1'794'815'220'000}});
    REQUIRE(written.has_value());
    CHECK(written->front().offset == 0);
  }
  CHECK(broker.Terminate() == 0);
}

TEST_CASE("the projector and the query service refuse a bad cache size and read models in another layout",
          "[e2e]") {
  TempDir dir;
  // Read models built before layout versions were kept: progress, no layout key.
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(options, dir.Sub("old-read-models"), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    REQUIRE(db->Put(rocksdb::WriteOptions(), ks::readmodel::keys::PartitionProgress(0),
                    ks::readmodel::keys::EncodeInt64(7))
                .ok());
  }
  struct Case {
    std::string program;
    std::vector<std::string> args;
    int exit_code;
    std::string says;
  };
  const std::string log_flag = "--log=embedded:" + dir.Sub("log");
  const std::vector<Case> cases = {
      {"projector/projector", {log_flag, "--read-models=" + dir.Sub("rm"), "--block-cache-mb=0"}, 2,
       "--block-cache-mb: must be a whole number of megabytes"},
      {"query-service/query-service", {"--read-models=" + dir.Sub("rm"), "--block-cache-mb=lots"}, 2,
       "--block-cache-mb: must be a whole number of megabytes"},
      {"projector/projector", {log_flag, "--read-models=" + dir.Sub("old-read-models"), "--vault=" + dir.Sub("vault")}, 1,
       "layout version 1"},
      {"query-service/query-service",
       {"--read-models=" + dir.Sub("old-read-models"), "--vault=" + dir.Sub("vault"), "--listen=127.0.0.1:0"}, 1,
       "layout version 1"},
  };
  for (const Case& c : cases) {
    INFO(c.program << " " << c.args.back());
    const std::string log_path = dir.Sub("program.log");
    std::filesystem::remove(log_path);
    ChildProcess program(ProgramPath(c.program), c.args, log_path);
    CHECK(program.WaitForExit(std::chrono::seconds(30)) == c.exit_code);
    std::ifstream in(log_path);
    const std::string said((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK_THAT(said, Catch::Contains(c.says));
  }
}
