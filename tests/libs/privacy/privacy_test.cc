// The key vault and sealing on their own, on disk: what erasure rests on.
#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "ks/domain/policy.h"
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
  // An erased owner adopts nothing (a contact linked to it would keep a key nobody destroys).
  CHECK(v.Adopt("gemeente-aa", "party/p1", "interaction/i2").code() == StatusCode::kFailedPrecondition);
  // A key never made is not taken for an erased one.
  CHECK(v.Get("gemeente-aa", "party/never").error().code() == StatusCode::kFailedPrecondition);
  // Another process opening the same directory sees the same.
  auto reader = privacy::KeyVault::Open(dir.Sub("vault"), /*create=*/false);
  REQUIRE(reader.has_value());
  CHECK(*(*reader)->Get("aa", "party/p1") == *v.Get("aa", "party/p1"));
  CHECK(privacy::KeyVault::Open(dir.Sub("elsewhere"), false).error().code() == StatusCode::kFailedPrecondition);

  // Caught in the middle of a destruction (tombstone written, key overwritten with zeros, not yet
  // unlinked), a key reads as destroyed, not as 32 zeros.
  REQUIRE(v.GetOrCreate("gemeente-bb", "party/q1").has_value());
  const auto keys_dir = std::filesystem::path(dir.Sub("vault")) / "gemeente-bb" / "k";
  const auto key_file = std::filesystem::directory_iterator(keys_dir)->path();
  std::filesystem::create_directories(keys_dir.parent_path() / "x");
  std::ofstream(keys_dir.parent_path() / "x" / key_file.filename()).flush();
  std::ofstream(key_file, std::ios::binary | std::ios::trunc) << std::string(32, '\0');
  auto midway = (*reader)->Get("gemeente-bb", "party/q1");
  REQUIRE(midway.has_value());
  CHECK_FALSE(midway->has_value());
}

TEST_CASE("key rings that share their keys read each key file once between them", "[privacy][integration]") {
  TempDir dir;
  auto maker = privacy::KeyVault::Open(dir.Sub("vault"), /*create=*/true);
  REQUIRE(maker.has_value());
  auto made = (*maker)->GetOrCreate("gemeente-ede", "party/p1");
  REQUIRE(made.has_value());
  // A reader (another process: the projector) with two workers' rings over one SharedKeys.
  auto reader = privacy::KeyVault::Open(dir.Sub("vault"), /*create=*/false);
  REQUIRE(reader.has_value());
  privacy::SharedKeys shared(/*capacity=*/100);
  privacy::KeyRing first(reader->get(), &shared);
  auto read = first.Get("gemeente-ede", "party/p1");
  REQUIRE(read.has_value());
  CHECK(*read == std::optional<privacy::Key>(*made));
  // The key file is gone now (destroyed by its maker): a ring on its own reads that, and the
  // ring that shares with the first finds the key the first read, without a file.
  REQUIRE((*maker)->Destroy("gemeente-ede", "party/p1").ok());
  privacy::KeyRing alone(reader->get());
  auto unshared = alone.Get("gemeente-ede", "party/p1");
  REQUIRE(unshared.has_value());
  CHECK_FALSE(unshared->has_value());
  privacy::KeyRing second(reader->get(), &shared);
  auto found = second.Get("gemeente-ede", "party/p1");
  REQUIRE(found.has_value());
  CHECK(*found == std::optional<privacy::Key>(*made));
  // Bounded: once it holds its capacity it starts empty, and reads the file again.
  privacy::SharedKeys small(/*capacity=*/1);
  privacy::KeyRing third(reader->get(), &small);
  privacy::KeyRing fourth(reader->get(), &small);
  REQUIRE((*maker)->GetOrCreate("gemeente-ede", "party/p2").has_value());
  REQUIRE((*maker)->GetOrCreate("gemeente-ede", "party/p3").has_value());
  REQUIRE(third.Get("gemeente-ede", "party/p2")->has_value());
  REQUIRE(third.Get("gemeente-ede", "party/p3")->has_value());  // p2 let go
  REQUIRE((*maker)->Destroy("gemeente-ede", "party/p2").ok());
  REQUIRE((*maker)->Destroy("gemeente-ede", "party/p3").ok());
  CHECK(fourth.Get("gemeente-ede", "party/p3")->has_value());
  CHECK_FALSE(fourth.Get("gemeente-ede", "party/p2")->has_value());
}

TEST_CASE("key vault: threads making keys at once agree on each key, and a destroyed key is not made again",
          "[privacy][integration]") {
  TempDir dir;
  auto vault = privacy::KeyVault::Open(dir.Sub("vault"), true);
  REQUIRE(vault.has_value());
  auto& v = **vault;
  // Eight threads make the same 40 keys, in different orders, while a ninth destroys p0..p9 and
  // then tries to have them made again.
  constexpr int kThreads = 8;
  constexpr int kKeys = 40;
  std::vector<std::vector<privacy::Key>> seen(kThreads, std::vector<privacy::Key>(kKeys));
  std::atomic<int> failures{0};
  std::array<std::atomic<bool>, 10> destroyed{};  // set once Destroy of p<k> has returned
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int n = 0; n < kKeys; ++n) {
        const int k = (n * 7 + t * 13) % kKeys;
        const bool gone_before = k < 10 && destroyed[k].load();
        auto key = v.GetOrCreate("gemeente-aa", "party/p" + std::to_string(k));
        if (key)
          seen[t][k] = *key;
        else if (k >= 10)  // only the destroyed ones may be refused
          ++failures;
        if (key && gone_before) ++failures;  // a key handed out after its destruction ended
      }
    });
  std::thread destroyer([&] {
    for (int k = 0; k < 10; ++k) {
      if (!v.Destroy("gemeente-aa", "party/p" + std::to_string(k)).ok()) ++failures;
      destroyed[k].store(true);
      if (v.GetOrCreate("gemeente-aa", "party/p" + std::to_string(k)).has_value()) ++failures;
    }
  });
  for (auto& t : threads) t.join();
  destroyer.join();
  CHECK(failures.load() == 0);
  auto reader = privacy::KeyVault::Open(dir.Sub("vault"), false);
  REQUIRE(reader.has_value());
  for (int k = 0; k < kKeys; ++k) {
    INFO("party/p" << k);
    auto stored = (*reader)->Get("gemeente-aa", "party/p" + std::to_string(k));
    REQUIRE(stored.has_value());
    if (k < 10) {
      CHECK_FALSE(stored->has_value());  // destroyed, whoever made it first
      continue;
    }
    REQUIRE(stored->has_value());
    for (int t = 0; t < kThreads; ++t) CHECK(seen[t][k] == **stored);  // one key, the same for all
  }
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
  // CheckEvent (the tag alone, nothing decrypted) agrees with OpenEvent: the sealed event as it
  // is authenticates; moved to another tenant, or with any one byte of its ciphertext (text or
  // tag), its nonce or its key id changed, it does not.
  CHECK(privacy::CheckEvent(event, ring) == privacy::Opened::kOpened);
  CHECK(privacy::CheckEvent(moved, ring).error().code() == StatusCode::kDataLoss);
  const std::string& cipher = event.personal_data().ciphertext();
  for (size_t at : {size_t{0}, cipher.size() / 2, cipher.size() - 17, cipher.size() - 16, cipher.size() - 1}) {
    pb::EventEnvelope tampered = event;
    (*tampered.mutable_personal_data()->mutable_ciphertext())[at] ^= 0x20;
    INFO("ciphertext byte " << at << " of " << cipher.size());
    CHECK(privacy::CheckEvent(tampered, ring).error().code() == StatusCode::kDataLoss);
    CHECK(privacy::OpenEvent(tampered, ring).error().code() == StatusCode::kDataLoss);
  }
  pb::EventEnvelope other_nonce = event;
  (*other_nonce.mutable_personal_data()->mutable_nonce())[3] ^= 0x01;
  CHECK(privacy::CheckEvent(other_nonce, ring).error().code() == StatusCode::kDataLoss);
  pb::EventEnvelope other_key = event;
  REQUIRE((*vault)->GetOrCreate("gemeente-aa", "party/p2").has_value());
  other_key.mutable_personal_data()->set_key_id("party/p2");
  CHECK(privacy::CheckEvent(other_key, ring).error().code() == StatusCode::kDataLoss);
  pb::EventEnvelope truncated = event;
  truncated.mutable_personal_data()->mutable_ciphertext()->resize(10);
  CHECK(privacy::CheckEvent(truncated, ring).error().code() == StatusCode::kDataLoss);
  // After the key is destroyed: erased, the rest of the event still there.
  REQUIRE((*vault)->Destroy("gemeente-aa", "party/p1").ok());
  privacy::KeyRing after(vault->get());
  pb::EventEnvelope erased = event;
  REQUIRE(privacy::OpenEvent(erased, after) == privacy::Opened::kErased);
  CHECK(erased.party_registered().display_name().empty());
  CHECK(erased.party_registered().kind() == pb::PARTY_KIND_PERSON);
}

// The PolicyRunner opens only the events domain::ReactsTo names; every other event reaches the
// rules sealed. This holds only while the rules read no personal field: fed the same events open
// and sealed, they must issue the same commands.
TEST_CASE("policies: the rules react to sealed events as to open ones, and ReactTo ignores what it does not react to",
          "[privacy][integration]") {
  TempDir dir;
  auto vault = privacy::KeyVault::Open(dir.Sub("vault"), true);
  REQUIRE(vault.has_value());
  const std::string tenant = "gemeente-aa";
  std::vector<pb::EventEnvelope> events;
  auto add = [&](const std::string& aggregate_id, int day) -> pb::EventEnvelope& {
    pb::EventEnvelope& e = events.emplace_back();
    e.set_tenant(tenant);
    e.set_aggregate_id(aggregate_id);
    e.set_event_id("ev-" + std::to_string(events.size()));
    e.set_aggregate_version(1);
    e.mutable_occurred_at()->set_seconds(1'790'000'000 + int64_t{day} * 86'400);
    return e;
  };
  // Five inbound contacts of p1 within the rule's days (frequent contact), each with a text.
  for (int i = 0; i < ks::domain::kFrequentContacts; ++i) {
    auto* contact = add(fmt::format("i{}", i), i).mutable_interaction_registered();
    contact->set_party_id("p1");
    contact->set_channel(pb::CHANNEL_WHATSAPP);
    contact->set_direction(pb::DIRECTION_INBOUND);
    contact->set_text("Mijn container is niet geleegd, Dorpsstraat 12");
    contact->mutable_counterpart()->set_value("+31612345678");
  }
  // Two chat turns before the citizen is known, then the conversation linked to p2.
  for (int i = 0; i < 2; ++i) {
    auto* turn = add("turn" + std::to_string(i), 1).mutable_interaction_registered();
    turn->set_conversation_id("c1");
    turn->set_channel(pb::CHANNEL_CHAT);
    turn->set_direction(pb::DIRECTION_INBOUND);
    turn->set_text("Hallo, ik wil een afspraak maken");
  }
  add("c1", 2).mutable_conversation_linked_to_party()->set_party_id("p2");
  // A turn of another conversation, then that conversation started for p4 (with a subject and a
  // counterpart: personal fields of the event the turns rule reads the party of).
  auto* late_turn = add("turn2", 2).mutable_interaction_registered();
  late_turn->set_conversation_id("c2");
  late_turn->set_channel(pb::CHANNEL_CHAT);
  late_turn->set_direction(pb::DIRECTION_INBOUND);
  late_turn->set_text("Is mijn aanvraag al binnen?");
  auto* started = add("c2", 2).mutable_conversation_started();
  started->set_party_id("p4");
  started->set_subject("Vraag over mijn aanvraag bijzondere bijstand");
  started->mutable_counterpart()->set_value("jan@example.nl");
  // p3 merged into p2, then p2 erased: p3 is erased with it.
  add("p3", 3).mutable_party_merged()->set_into_party_id("p2");
  add("p2", 4).mutable_party_erased();

  std::vector<pb::EventEnvelope> sealed = events;
  size_t sealed_count = 0;
  for (pb::EventEnvelope& e : sealed) {
    const std::string key_id = "party/" + e.aggregate_id();
    REQUIRE(privacy::SealEvent(e, key_id, [&] { return (*vault)->GetOrCreate(tenant, key_id); }).ok());
    sealed_count += e.has_personal_data() ? 1 : 0;
  }
  REQUIRE(sealed_count == 9);  // the texts, numbers and the subject really were taken out

  struct NoState : ks::domain::StateLookup {
    ks::domain::AggregateState StateOf(const std::string&) const override { return {}; }
  } no_state;
  struct Rules {
    const ks::domain::StateLookup& lookup;
    ks::domain::FrequentContactRule frequent;
    ks::domain::ConversationTurnsRule turns;
    ks::domain::MergedErasureRule erasures;
    std::vector<std::string> issued;  // the commands, serialized
    void Feed(const pb::EventEnvelope& e) {
      if (auto label = frequent.Observe(e, lookup)) issued.push_back(label->SerializeAsString());
      for (const auto& c : turns.Observe(e)) issued.push_back(c.SerializeAsString());
      for (const auto& c : erasures.Observe(e)) issued.push_back(c.SerializeAsString());
    }
  } open_rules{no_state}, sealed_rules{no_state};
  for (size_t i = 0; i < events.size(); ++i) {
    CHECK_FALSE(ks::domain::ReactsTo(events[i]));
    CHECK(ks::domain::ReactTo(sealed[i], no_state).empty());
    open_rules.Feed(events[i]);
    sealed_rules.Feed(sealed[i]);
  }
  CHECK(open_rules.issued.size() == 5);  // the label, three turns linked, one duplicate erased
  CHECK(sealed_rules.issued == open_rules.issued);

  // Why the events ReactTo looks at are opened: a melding's acknowledgement goes to an address
  // that is sealed in the log.
  pb::EventEnvelope melding = events.front();
  melding.mutable_melding_registered()->set_number("M-2026-00001");
  melding.mutable_melding_registered()->mutable_acknowledge_to()->mutable_address()->set_value("burger@example.nl");
  REQUIRE(ks::domain::ReactsTo(melding));
  const auto acknowledgement = ks::domain::ReactTo(melding, no_state);
  REQUIRE(acknowledgement.size() == 1);
  CHECK(acknowledgement[0].DebugString().find("burger@example.nl") != std::string::npos);
  REQUIRE(privacy::SealEvent(melding, "party/p1", [&] { return (*vault)->GetOrCreate(tenant, "party/p1"); }).ok());
  CHECK(ks::domain::ReactTo(melding, no_state).empty());
}
