// The key vault and sealing on their own, on disk: what erasure rests on.
#include <catch2/catch.hpp>

#include "ks/privacy/key_vault.h"
#include "ks/privacy/sealing.h"
#include "support/temp_dir.h"

using ks::StatusCode;
using ks::testing::TempDir;
namespace pb = ::klantstroom::v1;
namespace privacy = ks::privacy;

TEST_CASE("key vault: destroyed keys stay destroyed, adopted keys go with their owner, other tenants are untouched",
          "[privacy][integration]") {
  TempDir dir;
  auto vault = privacy::KeyVault::Open(dir.Sub("vault"), /*create=*/true);
  REQUIRE(vault.has_value());
  auto& v = **vault;
  // Cached keys of tenants whose names are shorter and longer than the one erased in.
  REQUIRE(v.GetOrCreate("aa", "party/p1").has_value());
  REQUIRE(v.GetOrCreate("gemeente-aa", "party/p1").has_value());
  REQUIRE(v.GetOrCreate("gemeente-aa", "interaction/i1").has_value());
  REQUIRE(v.GetOrCreate("gemeente-aa", "party/p2").has_value());
  REQUIRE(v.Adopt("gemeente-aa", "party/p1", "interaction/i1").ok());
  REQUIRE(v.Adopt("gemeente-aa", "party/p1", "party/p2").ok());  // p2 merged into p1

  REQUIRE(v.Destroy("gemeente-aa", "party/p1").ok());
  for (const char* id : {"party/p1", "interaction/i1", "party/p2"}) {
    INFO(id);
    auto key = v.Get("gemeente-aa", id);
    REQUIRE(key.has_value());
    CHECK_FALSE(key->has_value());  // destroyed, and said so
    CHECK(v.GetOrCreate("gemeente-aa", id).error().code() == StatusCode::kFailedPrecondition);  // never made again
  }
  CHECK(v.Get("aa", "party/p1")->has_value());
  CHECK(v.Destroy("gemeente-aa", "party/p1").ok());  // again: no change
  // A key never made is not taken for an erased one.
  CHECK(v.Get("gemeente-aa", "party/never").error().code() == StatusCode::kFailedPrecondition);
  // Another process opening the same directory sees the same.
  auto reader = privacy::KeyVault::Open(dir.Sub("vault"), /*create=*/false);
  REQUIRE(reader.has_value());
  CHECK(*(*reader)->Get("aa", "party/p1") == *v.Get("aa", "party/p1"));
  CHECK(privacy::KeyVault::Open(dir.Sub("elsewhere"), false).error().code() == StatusCode::kFailedPrecondition);
}

TEST_CASE("sealing: personal fields leave the message, come back with the key, and are bound to their place",
          "[privacy][integration]") {
  TempDir dir;
  auto vault = privacy::KeyVault::Open(dir.Sub("vault"), true);
  REQUIRE(vault.has_value());
  pb::EventEnvelope event;
  event.set_tenant("gemeente-aa");
  event.set_aggregate_id("p1");
  auto* registered = event.mutable_party_registered();
  registered->set_kind(pb::PARTY_KIND_PERSON);
  registered->set_display_name("Desiree Achterberg");
  registered->add_identifiers()->set_value("111222333");
  auto key = [&] { return (*vault)->GetOrCreate("gemeente-aa", "party/p1"); };
  REQUIRE(privacy::SealEvent(event, "party/p1", key).ok());
  CHECK(event.party_registered().display_name().empty());
  CHECK(event.party_registered().identifiers_size() == 0);
  CHECK(event.party_registered().kind() == pb::PARTY_KIND_PERSON);  // not personal: stays
  const std::string bytes = event.SerializeAsString();
  CHECK(bytes.find("Achterberg") == std::string::npos);
  // The same data under the same key seals to the same bytes (rebuilds are byte-identical).
  pb::EventEnvelope again = event;
  again.clear_personal_data();
  again.mutable_party_registered()->set_display_name("Desiree Achterberg");
  again.mutable_party_registered()->add_identifiers()->set_value("111222333");
  REQUIRE(privacy::SealEvent(again, "party/p1", key).ok());
  CHECK(again.SerializeAsString() == bytes);

  privacy::KeyRing ring(vault->get());
  pb::EventEnvelope opened = event;
  REQUIRE(privacy::OpenEvent(opened, ring) == privacy::Opened::kOpened);
  CHECK(opened.party_registered().display_name() == "Desiree Achterberg");
  CHECK(opened.party_registered().identifiers(0).value() == "111222333");
  // Moved to another tenant, the sealed bytes do not open.
  pb::EventEnvelope moved = event;
  moved.set_tenant("gemeente-bb");
  REQUIRE((*vault)->GetOrCreate("gemeente-bb", "party/p1").has_value());
  CHECK(privacy::OpenEvent(moved, ring).error().code() == StatusCode::kDataLoss);
  // After the key is destroyed: erased, the rest of the event still there.
  REQUIRE((*vault)->Destroy("gemeente-aa", "party/p1").ok());
  privacy::KeyRing after(vault->get());
  pb::EventEnvelope erased = event;
  REQUIRE(privacy::OpenEvent(erased, after) == privacy::Opened::kErased);
  CHECK(erased.party_registered().display_name().empty());
  CHECK(erased.party_registered().kind() == pb::PARTY_KIND_PERSON);
}
