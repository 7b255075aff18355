// Schema evolution: events written in an older shape (a stored sample, never regenerated) are
// still read: upcast to the current shape, folded into the read models, and rebuilt into the
// command side's state.
#include <catch2/catch.hpp>

#include <fstream>

#include "ks/command/command_handler.h"
#include "ks/domain/event_codec.h"
#include "ks/eventlog/embedded_log.h"
#include "ks/projector/projector.h"
#include "ks/query/query_engine.h"
#include "support/stack.h"
#include "support/temp_dir.h"
#include "support/vault.h"

using namespace ks;
using namespace ks::testing;
namespace pb = ::klantstroom::v1;

namespace {

std::vector<eventlog::Record> ReadSample(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  auto u32 = [&] {
    unsigned char b[4];
    in.read(reinterpret_cast<char*>(b), 4);
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | uint32_t{b[3]};
  };
  std::vector<eventlog::Record> records;
  while (in.peek() != EOF) {
    eventlog::Record r;
    r.key.resize(u32());
    in.read(r.key.data(), static_cast<std::streamsize>(r.key.size()));
    r.value.resize(u32());
    in.read(r.value.data(), static_cast<std::streamsize>(r.value.size()));
    r.timestamp_ms = 1'741'597'200'000;
    records.push_back(std::move(r));
  }
  return records;
}

}  // namespace

TEST_CASE("events in the old shape are upcast, projected and rebuilt", "[reliability][unit]") {
  const auto sample = ReadSample(std::string(KS_TEST_DATA_DIR) + "/events-v0.bin");
  REQUIRE(sample.size() == 6);
  for (const auto& record : sample) {
    auto event = domain::DecodeEvent(record.value);
    REQUIRE(event.has_value());
    CHECK(event->schema_version() == domain::kCurrentSchemaVersion);
    CHECK_THAT(event->event_type(), Catch::StartsWith("klantstroom.v1."));
  }
  CHECK(domain::DecodeEvent(sample[0].value)->event_type() == "klantstroom.v1.PartyRegistered");

  TempDir dir;
  auto log = eventlog::OpenEmbeddedLog({.path = dir.Sub("log"), .partitions = 3, .sync = false});
  REQUIRE(log.has_value());
  REQUIRE((*log)->Append(sample));

  auto store = readmodel::ReadModelStore::OpenPrimary(dir.Sub("rm"));
  REQUIRE(store.has_value());
  auto projector = projector::Projector::Open(**log, **store, ks::testing::TestVault());
  REQUIRE(projector.has_value());
  REQUIRE((*projector)->CatchUpTo(*(*log)->EndOffsets()).ok());
  CHECK((*projector)->events_parked() == 0);
  query::QueryEngine engine(**store, ks::testing::TestVault());
  pb::GetCustomerViewRequest request;
  request.set_tenant("gemeente-oud");
  request.set_party_id("oud-p1");
  auto view = engine.GetCustomerView((*store)->View(), request);
  REQUIRE(view.has_value());
  CHECK(view->party().display_name() == "Marieke Jansen");
  REQUIRE(view->timeline_size() == 2);
  CHECK(view->timeline(0).text() == "Bevestiging afvalpas");
  CHECK(view->open_callbacks_size() == 0);  // requested, attempted and completed in the old shape

  // The command side rebuilds from them and carries on where they left off.
  auto handler = command::CommandHandler::Start(**log, ks::testing::TestVault());
  REQUIRE(handler.has_value());
  auto rename = NewRequest("gemeente-oud");
  rename.set_aggregate_id("oud-p1");
  rename.mutable_change_party_name()->set_display_name("Marieke de Jong-Jansen");
  auto reply = (*handler)->ExecuteSync(rename);
  REQUIRE(reply.has_value());
  CHECK(reply->aggregate_version() == 2);
}

TEST_CASE("an event from a newer schema or with an unknown payload is refused for parking, not misread",
          "[reliability][unit]") {
  pb::EventEnvelope future;
  future.set_event_id("e1");
  future.set_schema_version(domain::kCurrentSchemaVersion + 1);
  future.mutable_party_name_changed()->set_display_name("x");
  auto decoded = domain::DecodeEvent(future.SerializeAsString());
  REQUIRE_FALSE(decoded.has_value());
  CHECK_THAT(decoded.error().message(), Catch::Contains("newer than this code"));

  pb::EventEnvelope unknown;
  unknown.set_event_id("e2");
  unknown.set_event_type("klantstroom.v1.SomethingFromTheFuture");
  decoded = domain::DecodeEvent(unknown.SerializeAsString());
  REQUIRE_FALSE(decoded.has_value());
  CHECK_THAT(decoded.error().message(), Catch::Contains("SomethingFromTheFuture"));
}
