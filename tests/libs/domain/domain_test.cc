// The pure command-side logic: validation rules, decide and evolve, with no server or disk.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <vector>

#include "ks/domain/aggregate.h"
#include "ks/domain/policy.h"
#include "ks/domain/validation.h"

using namespace ks::domain;
using ks::StatusCode;

namespace {

// The world as Decide may see it, as plain sets (References is our own pure-domain interface).
class KnownParties : public References {
 public:
  std::set<std::pair<std::string, std::string>> parties;
  std::set<std::pair<std::string, std::string>> interactions;
  std::set<std::pair<std::string, std::string>> meldingen;
  std::map<std::string, pb::MeldingCategoryDefined> categories;  // by code
  std::set<std::string> stored_attachments;
  std::map<std::string, AggregateState> states;
  int numbers_given = 0;
  AggregateState StateOf(const std::string& id) const override {
    auto it = states.find(id);
    return it == states.end() ? AggregateState{} : it->second;
  }
  bool PartyExists(std::string_view tenant, std::string_view id) const override {
    return parties.count({std::string(tenant), std::string(id)}) > 0;
  }
  bool InteractionExists(std::string_view tenant, std::string_view id) const override {
    return interactions.count({std::string(tenant), std::string(id)}) > 0;
  }
  bool MeldingExists(std::string_view tenant, std::string_view id) const override {
    return meldingen.count({std::string(tenant), std::string(id)}) > 0;
  }
  std::optional<pb::MeldingCategoryDefined> FindCategory(std::string_view, std::string_view code) const override {
    auto it = categories.find(std::string(code));
    if (it == categories.end()) return std::nullopt;
    return it->second;
  }
  bool AttachmentStored(std::string_view, const pb::Attachment& a) const override {
    return stored_attachments.count(a.sha256()) > 0;
  }
  std::string AllocateMeldingNumber(std::string_view, int year) override {
    return "M-" + std::to_string(year) + "-" + std::to_string(++numbers_given);
  }
};

pb::ExecuteRequest Request(const std::string& tenant = "gemeente-a") {
  pb::ExecuteRequest r;
  r.mutable_meta()->set_tenant(tenant);
  r.mutable_meta()->mutable_actor()->set_kind(pb::ACTOR_KIND_EMPLOYEE);
  r.mutable_meta()->mutable_actor()->set_id("kcc-karin");
  r.mutable_meta()->mutable_occurred_at()->set_seconds(1'794'815'220);  // Monday 16 Nov 2026
  return r;
}

// Decides and evolves, as the command service does; returns the new state.
AggregateState Execute(AggregateState state, const pb::ExecuteRequest& r, const std::string& id, References& refs) {
  REQUIRE(ValidateRequest(r).ok());
  auto events = Decide(state, r, id, refs);
  if (!events) FAIL(events.error().ToString());
  for (auto& e : *events) {
    e.set_aggregate_id(id);
    e.set_tenant(r.meta().tenant());
    e.set_aggregate_version(state.version + 1);
    state = Evolve(std::move(state), e);
  }
  return state;
}

}  // namespace

TEST_CASE("the BSN 11-test and KvK format", "[domain][unit]") {
  CHECK(IsValidBsn("111222333"));
  CHECK(IsValidBsn("123456782"));
  CHECK_FALSE(IsValidBsn("123456789"));
  CHECK_FALSE(IsValidBsn("000000000"));
  CHECK_FALSE(IsValidBsn("12345678"));
  CHECK_FALSE(IsValidBsn("12345678a"));
  CHECK(IsValidKvk("69599084"));
  CHECK_FALSE(IsValidKvk("6959908"));
}

TEST_CASE("digital addresses are normalised so equal addresses compare equal", "[domain][unit]") {
  CHECK(*NormalizeDigitalAddress(pb::DIGITAL_ADDRESS_KIND_EMAIL, " John.deVries@Example.NL ", "f") ==
        "john.devries@example.nl");
  CHECK(*NormalizeDigitalAddress(pb::DIGITAL_ADDRESS_KIND_TWITTER, "John_de_Vries", "f") == "@john_de_vries");
  CHECK(*NormalizeDigitalAddress(pb::DIGITAL_ADDRESS_KIND_PHONE, "06-123 456 78", "f") == "0612345678");
  CHECK(*NormalizeDigitalAddress(pb::DIGITAL_ADDRESS_KIND_PHONE, "+31 6 12345678", "f") == "+31612345678");
  auto bad = NormalizeDigitalAddress(pb::DIGITAL_ADDRESS_KIND_EMAIL, "john at example", "x.value");
  REQUIRE_FALSE(bad.has_value());
  CHECK_THAT(bad.error().message(), Catch::StartsWith("x.value:"));
}

TEST_CASE("validation names the field and the rule", "[domain][unit]") {
  SECTION("tenant") {
    auto r = Request("Gemeente A");
    r.mutable_register_party()->set_kind(pb::PARTY_KIND_PERSON);
    r.mutable_register_party()->set_display_name("John");
    const auto s = ValidateRequest(r);
    CHECK(s.code() == StatusCode::kInvalidArgument);
    CHECK_THAT(s.message(), Catch::StartsWith("meta.tenant:"));
  }
  SECTION("actor") {
    auto r = Request();
    r.mutable_meta()->clear_actor();
    r.mutable_register_party()->set_kind(pb::PARTY_KIND_PERSON);
    CHECK_THAT(ValidateRequest(r).message(), Catch::StartsWith("meta.actor:"));
  }
  SECTION("no command") {
    CHECK_THAT(ValidateRequest(Request()).message(), Catch::StartsWith("command:"));
  }
  SECTION("a BSN that fails the 11-test") {
    auto r = Request();
    auto* c = r.mutable_register_party();
    c->set_kind(pb::PARTY_KIND_PERSON);
    c->set_display_name("John");
    auto* id = c->add_identifiers();
    id->set_kind(pb::IDENTIFIER_KIND_BSN);
    id->set_value("123456789");
    CHECK_THAT(ValidateRequest(r).message(), Catch::StartsWith("register_party.identifiers[0].value: a BSN"));
  }
  SECTION("an unknown enum value") {
    auto r = Request();
    auto* c = r.mutable_register_interaction();
    c->set_channel(static_cast<pb::Channel>(99));
    c->set_direction(pb::DIRECTION_INBOUND);
    c->set_party_id("p1");
    CHECK(ValidateRequest(r).message() == "register_interaction.channel: unknown value 99");
  }
  SECTION("an oversized text") {
    auto r = Request();
    auto* c = r.mutable_register_interaction();
    c->set_channel(pb::CHANNEL_WHATSAPP);
    c->set_direction(pb::DIRECTION_INBOUND);
    c->set_party_id("p1");
    c->set_text(std::string(kMaxTextBytes + 1, 'x'));
    CHECK_THAT(ValidateRequest(r).message(), Catch::StartsWith("register_interaction.text: must be at most 65536"));
  }
  SECTION("a command on an existing aggregate must name it") {
    auto r = Request();
    r.mutable_cancel_callback()->set_reason("dubbel");
    CHECK(ValidateRequest(r).message() == "aggregate_id: is required");
  }
  SECTION("times: from 1970 to 9999, whichever field") {
    constexpr int64_t kLatest = 253'402'300'799;  // 9999-12-31T23:59:59Z
    auto r = Request();
    auto* c = r.mutable_request_callback();
    c->set_party_id("p1");
    c->set_subject("windmolens");
    c->set_urgency(pb::URGENCY_HIGH);
    c->mutable_target()->set_department("kcc");
    c->mutable_due_at()->set_seconds(kLatest);
    r.mutable_meta()->mutable_occurred_at()->set_seconds(kLatest);
    CHECK(ValidateRequest(r).ok());
    r.mutable_meta()->mutable_occurred_at()->set_seconds(kLatest + 1);
    CHECK_THAT(ValidateRequest(r).message(), Catch::StartsWith("meta.occurred_at: must be a time from 1970 to 9999"));
    r.mutable_meta()->mutable_occurred_at()->set_seconds(-5);
    CHECK_THAT(ValidateRequest(r).message(), Catch::StartsWith("meta.occurred_at: must be a time from 1970 to 9999"));
    r.mutable_meta()->mutable_occurred_at()->set_seconds(1'794'815'220);
    c->mutable_due_at()->set_seconds(kLatest + 1);
    CHECK_THAT(ValidateRequest(r).message(), Catch::StartsWith("request_callback.due_at: must be a time from 1970 to 9999"));
    c->mutable_due_at()->set_seconds(1'794'815'220);
    c->mutable_due_at()->set_nanos(1'000'000'000);
    CHECK(ValidateRequest(r).code() == StatusCode::kInvalidArgument);
    CHECK_THAT(ValidateRequest(r).message(), Catch::StartsWith("request_callback.due_at:"));

    auto appointment = Request();
    auto* a = appointment.mutable_schedule_appointment();
    a->set_party_id("p1");
    a->mutable_window()->mutable_start()->set_seconds(kLatest - 3600);
    a->mutable_window()->mutable_end()->set_seconds(kLatest + 3600);
    CHECK_THAT(ValidateRequest(appointment).message(),
               Catch::StartsWith("schedule_appointment.window.end: must be a time from 1970 to 9999"));
  }
  SECTION("a callback request needs a target") {
    auto r = Request();
    auto* c = r.mutable_request_callback();
    c->set_party_id("p1");
    c->set_subject("windmolens");
    c->set_urgency(pb::URGENCY_HIGH);
    CHECK(ValidateRequest(r).message() == "request_callback.target: is required");
  }
}

TEST_CASE("a party's addresses: duplicates change nothing, one preferred per kind", "[domain][unit]") {
  KnownParties refs;
  auto reg = Request();
  auto* c = reg.mutable_register_party();
  c->set_kind(pb::PARTY_KIND_PERSON);
  c->set_display_name("John de Vries");
  auto* phone = c->add_digital_addresses();
  phone->set_kind(pb::DIGITAL_ADDRESS_KIND_PHONE);
  phone->set_value("06-12345678");
  phone->set_preferred(true);
  AggregateState state = Execute({}, reg, "john", refs);
  CHECK(state.version == 1);

  auto same = Request();
  same.set_aggregate_id("john");
  auto* a = same.mutable_add_digital_address()->mutable_address();
  a->set_kind(pb::DIGITAL_ADDRESS_KIND_PHONE);
  a->set_value("0612345678");
  a->set_preferred(true);
  auto none = Decide(state, same, "john", refs);
  REQUIRE(none.has_value());
  CHECK(none->empty());

  auto second = Request();
  second.set_aggregate_id("john");
  auto* b = second.mutable_add_digital_address()->mutable_address();
  b->set_kind(pb::DIGITAL_ADDRESS_KIND_PHONE);
  b->set_value("020-5551234");
  b->set_preferred(true);
  state = Execute(state, second, "john", refs);
  const auto& addresses = state.as<PartyState>().digital_addresses;
  REQUIRE(addresses.size() == 2);
  int preferred = 0;
  for (const auto& x : addresses)
    if (x.preferred()) {
      ++preferred;
      CHECK(x.value() == "0205551234");
    }
  CHECK(preferred == 1);
}

TEST_CASE("a callback request's lifecycle refuses changes once closed", "[domain][unit]") {
  KnownParties refs;
  refs.parties.insert({"gemeente-a", "john"});
  auto req = Request();
  auto* c = req.mutable_request_callback();
  c->set_party_id("john");
  c->set_subject("windmolenpark");
  c->set_urgency(pb::URGENCY_HIGH);
  c->mutable_target()->set_department("ruimtelijke-ordening");
  AggregateState state = Execute({}, req, "cb1", refs);
  CHECK(state.as<CallbackState>().status == pb::CALLBACK_STATUS_OPEN);

  auto done = Request();
  done.set_aggregate_id("cb1");
  done.mutable_complete_callback()->set_report("gebeld");
  state = Execute(state, done, "cb1", refs);
  CHECK(state.as<CallbackState>().status == pb::CALLBACK_STATUS_COMPLETED);

  auto attempt = Request();
  attempt.set_aggregate_id("cb1");
  attempt.mutable_record_callback_attempt()->set_outcome(pb::ATTEMPT_OUTCOME_NO_ANSWER);
  auto refused = Decide(state, attempt, "cb1", refs);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code() == StatusCode::kFailedPrecondition);
  CHECK_THAT(refused.error().message(), Catch::Contains("is completed"));
}

TEST_CASE("references and tenants are checked", "[domain][unit]") {
  KnownParties refs;
  refs.parties.insert({"gemeente-a", "john"});
  auto req = Request("gemeente-b");
  auto* c = req.mutable_request_callback();
  c->set_party_id("john");  // exists, but in another municipality
  c->set_subject("windmolenpark");
  c->set_urgency(pb::URGENCY_NORMAL);
  c->mutable_target()->set_employee_id("windy");
  auto refused = Decide({}, req, "cb1", refs);
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code() == StatusCode::kNotFound);
  CHECK_THAT(refused.error().message(), Catch::StartsWith("request_callback.party_id: no party 'john'"));

  // Another tenant's aggregate looks exactly like a missing one.
  AggregateState theirs;
  theirs.type = pb::AGGREGATE_TYPE_CALLBACK_REQUEST;
  theirs.tenant = "gemeente-a";
  theirs.version = 1;
  theirs.data = CallbackState{"john", pb::CALLBACK_STATUS_OPEN, {}, 0};
  auto cancel = Request("gemeente-b");
  cancel.set_aggregate_id("cb1");
  cancel.mutable_cancel_callback()->set_reason("x");
  auto hidden = Decide(theirs, cancel, "cb1", refs);
  REQUIRE_FALSE(hidden.has_value());
  CHECK(hidden.error().code() == StatusCode::kNotFound);
}

TEST_CASE("the frequent-contact label is asked for once a party's fifth contact within 30 days is read, not when it carries the label",
          "[domain][unit]") {
  // A party's six inbound phone contacts, four days apart.
  constexpr int64_t kDay = 86'400;
  const int64_t start = 1'794'815'220;  // Monday 16 Nov 2026
  std::vector<pb::EventEnvelope> contacts;
  for (int i = 0; i < 6; ++i) {
    pb::EventEnvelope e;
    e.set_tenant("gemeente-ede");
    e.set_aggregate_id("i" + std::to_string(i));
    e.set_event_id("e" + std::to_string(i));
    e.mutable_occurred_at()->set_seconds(start + i * 4 * kDay);
    auto* contact = e.mutable_interaction_registered();
    contact->set_party_id("p1");
    contact->set_channel(pb::CHANNEL_PHONE);
    contact->set_direction(pb::DIRECTION_INBOUND);
    contacts.push_back(e);
  }
  struct Parties : StateLookup {
    std::map<std::string, AggregateState> states;
    AggregateState StateOf(const std::string& id) const override {
      auto it = states.find(id);
      return it == states.end() ? AggregateState{} : it->second;
    }
  } parties;
  pb::EventEnvelope registered;
  registered.set_tenant("gemeente-ede");
  registered.set_aggregate_id("p1");
  registered.set_aggregate_version(1);
  registered.mutable_party_registered()->set_kind(pb::PARTY_KIND_PERSON);
  parties.states["p1"] = Evolve(AggregateState{}, registered);

  // Read in the log's order: asked for at the fifth contact's time, once.
  auto issued = [&](const std::vector<int>& order) {
    FrequentContactRule rule;
    std::vector<pb::ExecuteRequest> out;
    for (int i : order)
      if (auto command = rule.Observe(contacts[static_cast<size_t>(i)], parties)) out.push_back(*command);
    return out;
  };
  const auto first = issued({0, 1, 2, 3, 4, 5});
  REQUIRE(first.size() == 1);
  CHECK(first[0].aggregate_id() == "p1");
  CHECK(first[0].add_party_label().label() == kFrequentContactLabel);
  CHECK(first[0].meta().occurred_at().seconds() == start + 4 * 4 * kDay);
  // Read again after a restart, the partitions interleaved otherwise (the first contact last): the
  // window found first ends at the sixth contact, a different command under the same idempotency key.
  const auto again = issued({1, 2, 3, 4, 5, 0});
  REQUIRE(again.size() == 1);
  CHECK(again[0].meta().idempotency_key() == first[0].meta().idempotency_key());
  CHECK(again[0].meta().occurred_at().seconds() == start + 5 * 4 * kDay);
  // So a party that carries the label already is left alone, in either order.
  pb::EventEnvelope labelled = registered;
  labelled.set_aggregate_version(2);
  labelled.mutable_party_label_added()->set_label(kFrequentContactLabel);
  labelled.mutable_party_label_added()->set_automatic(true);
  parties.states["p1"] = Evolve(parties.states["p1"], labelled);
  CHECK(issued({1, 2, 3, 4, 5, 0}).empty());
  CHECK(issued({0, 1, 2, 3, 4, 5}).empty());
}
