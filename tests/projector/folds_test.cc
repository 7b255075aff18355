// The read models' pure folds and the index keys they derive.
#include <catch2/catch.hpp>

#include "ks/projector/folds.h"

using namespace ks::projector;

namespace {
pb::EventEnvelope Event(const std::string& id, int64_t version) {
  pb::EventEnvelope e;
  e.set_aggregate_id(id);
  e.set_aggregate_version(version);
  e.set_tenant("gemeente-test");
  e.mutable_occurred_at()->set_seconds(1'794'815'220 + version);
  return e;
}
}  // namespace

TEST_CASE("a callback record counts attempts and leaves the queues when closed", "[projector][unit]") {
  auto requested = Event("cb1", 1);
  auto* r = requested.mutable_callback_requested();
  r->set_party_id("john");
  r->set_urgency(pb::URGENCY_HIGH);
  r->mutable_target()->set_department("ruimtelijke-ordening");
  r->mutable_target()->set_employee_id("windy");
  pb::CallbackRecord record = FoldCallback({}, requested);
  CHECK(record.status() == pb::CALLBACK_STATUS_OPEN);
  // When it started; while open also the party's open callbacks, department queue, employee queue.
  CHECK(IndexKeys(record).size() == 4);

  auto attempt = Event("cb1", 2);
  attempt.mutable_callback_attempt_recorded()->set_outcome(pb::ATTEMPT_OUTCOME_NO_ANSWER);
  record = FoldCallback(record, attempt);
  auto attempt2 = Event("cb1", 3);
  attempt2.mutable_callback_attempt_recorded()->set_outcome(pb::ATTEMPT_OUTCOME_REACHED);
  record = FoldCallback(record, attempt2);
  CHECK(record.attempts() == 2);
  CHECK(record.first_attempt_at().seconds() == attempt.occurred_at().seconds());
  CHECK(record.last_attempt_outcome() == pb::ATTEMPT_OUTCOME_REACHED);

  auto done = Event("cb1", 4);
  done.mutable_callback_completed()->set_report("gebeld");
  record = FoldCallback(record, done);
  CHECK(record.status() == pb::CALLBACK_STATUS_COMPLETED);
  CHECK(record.version() == 4);
  CHECK(IndexKeys(record).size() == 1);  // out of the queues; only when it started
}

TEST_CASE("an interaction is indexed under its party and its counterpart address", "[projector][unit]") {
  auto registered = Event("i1", 1);
  auto* r = registered.mutable_interaction_registered();
  r->set_channel(pb::CHANNEL_TWITTER);
  r->mutable_counterpart()->set_kind(pb::DIGITAL_ADDRESS_KIND_TWITTER);
  r->mutable_counterpart()->set_value("@johndv");
  pb::InteractionRecord record = FoldInteraction({}, registered);
  const ks::privacy::Key index_key{7};
  record.set_counterpart_digest(CounterpartDigest(record, index_key));
  CHECK(IndexKeys(record).size() == 2);  // when it started, and the handle (the party is not known)
  // The index holds the handle's digest, not the handle.
  for (const std::string& key : IndexKeys(record)) CHECK(key.find("johndv") == std::string::npos);
  auto linked = Event("i1", 2);
  linked.mutable_interaction_linked_to_party()->set_party_id("john");
  record = FoldInteraction(record, linked);
  CHECK(record.party_id() == "john");
  CHECK(IndexKeys(record).size() == 3);
}

TEST_CASE("a party profile keeps one preferred address per kind", "[projector][unit]") {
  auto registered = Event("p1", 1);
  auto* a = registered.mutable_party_registered()->add_digital_addresses();
  a->set_kind(pb::DIGITAL_ADDRESS_KIND_EMAIL);
  a->set_value("oud@example.nl");
  a->set_preferred(true);
  pb::PartyProfile profile = FoldParty({}, registered);
  auto added = Event("p1", 2);
  auto* b = added.mutable_digital_address_added()->mutable_address();
  b->set_kind(pb::DIGITAL_ADDRESS_KIND_EMAIL);
  b->set_value("nieuw@example.nl");
  b->set_preferred(true);
  profile = FoldParty(profile, added);
  REQUIRE(profile.digital_addresses_size() == 2);
  CHECK_FALSE(profile.digital_addresses(0).preferred());
  CHECK(profile.digital_addresses(1).preferred());
  for (const std::string& digest : LookupDigests(profile, ks::privacy::Key{7})) profile.add_lookup_digests(digest);
  CHECK(IndexKeys(profile).size() == 2);
  for (const std::string& key : IndexKeys(profile)) CHECK(key.find("example") == std::string::npos);
}
