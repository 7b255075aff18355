// Pure melding rules: lifecycle, due dates, notification retries, whom to notify, local times.
#include <catch2/catch.hpp>

#include <map>

#include <google/protobuf/util/time_util.h>

#include "ks/domain/melding_rules.h"
#include "ks/domain/policy.h"

using namespace ks::domain;
using google::protobuf::util::TimeUtil;

TEST_CASE("the melding lifecycle allows only its transitions", "[domain][unit]") {
  CHECK(MeldingTransitionAllowed(pb::MELDING_STATUS_REGISTERED, pb::MELDING_STATUS_SCHEDULED));
  CHECK(MeldingTransitionAllowed(pb::MELDING_STATUS_SCHEDULED, pb::MELDING_STATUS_SCHEDULED));  // reschedule
  CHECK(MeldingTransitionAllowed(pb::MELDING_STATUS_RESOLVED, pb::MELDING_STATUS_REOPEN_REQUESTED));
  CHECK(MeldingTransitionAllowed(pb::MELDING_STATUS_REOPEN_REQUESTED, pb::MELDING_STATUS_RESOLVED));
  CHECK(MeldingTransitionAllowed(pb::MELDING_STATUS_REOPENED, pb::MELDING_STATUS_IN_PROGRESS));
  CHECK_FALSE(MeldingTransitionAllowed(pb::MELDING_STATUS_RESOLVED, pb::MELDING_STATUS_SCHEDULED));
  CHECK_FALSE(MeldingTransitionAllowed(pb::MELDING_STATUS_CANCELLED, pb::MELDING_STATUS_REOPENED));
  CHECK(MeldingTransitionAllowed(pb::MELDING_STATUS_ON_HOLD, pb::MELDING_STATUS_RESOLVED));  // with its parent
  CHECK_FALSE(MeldingTransitionAllowed(pb::MELDING_STATUS_ON_HOLD, pb::MELDING_STATUS_REOPENED));
  // Staying put is no change: a second click must not notify the citizen twice.
  CHECK_FALSE(MeldingTransitionAllowed(pb::MELDING_STATUS_IN_PROGRESS, pb::MELDING_STATUS_IN_PROGRESS));
  CHECK_FALSE(MeldingTransitionAllowed(pb::MELDING_STATUS_REGISTERED, pb::MELDING_STATUS_REGISTERED));
  CHECK(MeldingIsOpen(pb::MELDING_STATUS_REOPEN_REQUESTED));
  CHECK_FALSE(MeldingIsOpen(pb::MELDING_STATUS_CANCELLED));
}

TEST_CASE("due dates count working days or calendar days", "[domain][unit]") {
  // Friday 20 November 2026, 10:00 UTC.
  const int64_t friday = TimeUtil::TimestampToMilliseconds(TimeUtil::SecondsToTimestamp(1'795'168'800));
  constexpr int64_t kDay = 24LL * 3600 * 1000;
  CHECK(AddDays(friday, 1, true) == friday + 3 * kDay);   // Monday
  CHECK(AddDays(friday, 5, true) == friday + 7 * kDay);   // next Friday
  CHECK(AddDays(friday, 5, false) == friday + 5 * kDay);  // Wednesday
}

TEST_CASE("failed notifications back off and give up after the last attempt", "[domain][unit]") {
  CHECK(NotificationBackoffMs(1) == 30'000);
  CHECK(NotificationBackoffMs(2) == 60'000);
  CHECK(NotificationBackoffMs(3) == 120'000);
  CHECK(NotificationBackoffMs(30) == 3'600'000);

  // Requested, then five dispatches that all fail: the fifth failure gives up.
  AggregateState state;
  auto apply = [&](pb::EventEnvelope e) {
    e.set_aggregate_version(state.version + 1);
    e.set_tenant("gemeente-test");
    state = Evolve(std::move(state), e);
  };
  pb::EventEnvelope requested;
  requested.mutable_notification_requested()->set_channel(pb::CHANNEL_SMS);
  apply(requested);
  class NoRefs : public References {
   public:
    bool PartyExists(std::string_view, std::string_view) const override { return true; }
    AggregateState StateOf(const std::string&) const override { return {}; }
    bool InteractionExists(std::string_view, std::string_view) const override { return true; }
    bool MeldingExists(std::string_view, std::string_view) const override { return true; }
    std::optional<pb::MeldingCategoryDefined> FindCategory(std::string_view, std::string_view) const override {
      return std::nullopt;
    }
    bool AttachmentStored(std::string_view, const pb::Attachment&) const override { return true; }
    std::string AllocateMeldingNumber(std::string_view, int) override { return ""; }
  } refs;
  int64_t now = 1'795'168'800'000;
  for (int attempt = 1; attempt <= kMaxNotificationAttempts; ++attempt) {
    pb::ExecuteRequest dispatch;
    dispatch.mutable_meta()->set_tenant("gemeente-test");
    *dispatch.mutable_meta()->mutable_occurred_at() = TimeUtil::MillisecondsToTimestamp(now);
    dispatch.set_aggregate_id("n1");
    dispatch.mutable_dispatch_notification()->set_adapter_id("sms");
    auto events = Decide(state, dispatch, "n1", refs);
    REQUIRE(events.has_value());
    apply(events->front());
    CHECK(state.as<NotificationState>().attempts == attempt);

    // Dispatching again before a report is refused (it is out for delivery).
    CHECK_FALSE(Decide(state, dispatch, "n1", refs).has_value());

    pb::ExecuteRequest failed = dispatch;
    failed.mutable_report_notification_delivery()->set_error("provider down");
    failed.mutable_report_notification_delivery()->set_adapter_id("sms");
    failed.mutable_report_notification_delivery()->set_attempt(attempt);
    // A report about an earlier attempt, or from another adapter, is refused.
    pb::ExecuteRequest stale = failed;
    stale.mutable_report_notification_delivery()->set_attempt(attempt + 1);
    CHECK_FALSE(Decide(state, stale, "n1", refs).has_value());
    stale.mutable_report_notification_delivery()->set_attempt(attempt);
    stale.mutable_report_notification_delivery()->set_adapter_id("other-adapter");
    CHECK_FALSE(Decide(state, stale, "n1", refs).has_value());
    events = Decide(state, failed, "n1", refs);
    REQUIRE(events.has_value());
    CHECK(events->front().notification_failed().gave_up() == (attempt == kMaxNotificationAttempts));
    apply(events->front());
    if (attempt < kMaxNotificationAttempts) {
      // Not before the backoff has passed.
      CHECK_FALSE(Decide(state, dispatch, "n1", refs).has_value());
      now += NotificationBackoffMs(attempt);
    }
  }
  CHECK(state.as<NotificationState>().status == pb::NOTIFICATION_STATUS_GAVE_UP);
}

TEST_CASE("a notification goes to the preferred channel, else back the way the melding came", "[domain][unit]") {
  MeldingState melding;
  melding.number = "M-2026-00001";
  melding.reporter_party_id = "johan";
  melding.channel = pb::CHANNEL_WEB_FORM;
  melding.reporter_address.set_kind(pb::DIGITAL_ADDRESS_KIND_EMAIL);
  melding.reporter_address.set_value("johan@example.nl");

  AggregateState johan;
  johan.type = pb::AGGREGATE_TYPE_PARTY;
  johan.version = 2;
  PartyState party;
  pb::DigitalAddress wa;
  wa.set_kind(pb::DIGITAL_ADDRESS_KIND_WHATSAPP);
  wa.set_value("+31611223344");
  party.digital_addresses.push_back(wa);
  party.preferred_channel = pb::CHANNEL_WHATSAPP;
  johan.data = party;

  auto to = RecipientFor(melding, johan);
  REQUIRE(to.has_value());
  CHECK(to->channel() == pb::CHANNEL_WHATSAPP);
  CHECK(to->address().value() == "+31611223344");

  // Without a preference: the address the melding came with, by e-mail.
  johan.as<PartyState>().preferred_channel = pb::CHANNEL_UNSPECIFIED;
  to = RecipientFor(melding, johan);
  REQUIRE(to.has_value());
  CHECK(to->channel() == pb::CHANNEL_EMAIL);

  // Anonymous and without any address: nobody to tell.
  MeldingState anonymous;
  CHECK_FALSE(RecipientFor(anonymous, AggregateState{}).has_value());
}

TEST_CASE("scheduled windows are shown in Dutch local time, summer and winter", "[domain][unit]") {
  pb::TimeWindow winter;
  winter.mutable_start()->set_seconds(1'794'924'000);  // Tue 17 Nov 2026 14:00 UTC = 15:00 CET
  winter.mutable_end()->set_seconds(1'794'931'200);
  CHECK(FormatWindowNl(winter) == "di 17 nov 15:00-17:00");
  pb::TimeWindow summer;
  summer.mutable_start()->set_seconds(1'782'997'200);  // Thu 2 Jul 2026 13:00 UTC = 15:00 CEST
  summer.mutable_end()->set_seconds(1'783'004'400);
  CHECK(FormatWindowNl(summer) == "do 2 jul 15:00-17:00");
}

namespace {
class Lookup : public StateLookup {
 public:
  std::map<std::string, AggregateState> states;
  AggregateState StateOf(const std::string& id) const override {
    auto it = states.find(id);
    return it == states.end() ? AggregateState{} : it->second;
  }
};
}  // namespace

TEST_CASE("policies read only the event, so a replay reacts exactly as the first time", "[domain][unit]") {
  Lookup lookup;
  AggregateState parent;
  parent.type = pb::AGGREGATE_TYPE_MELDING;
  parent.version = 3;
  MeldingState parent_state;
  parent_state.number = "M-2026-00007";
  parent.data = parent_state;
  lookup.states["parent"] = parent;

  pb::EventEnvelope resolved;
  resolved.set_event_id("evt-1");
  resolved.set_tenant("gemeente-test");
  resolved.set_aggregate_id("parent");
  resolved.mutable_occurred_at()->set_seconds(1'794'924'000);
  auto* ev = resolved.mutable_melding_status_changed();
  ev->set_to(pb::MELDING_STATUS_RESOLVED);
  ev->set_public_message("Het gat is gedicht.");
  ev->mutable_notify_to()->set_channel(pb::CHANNEL_WHATSAPP);
  ev->mutable_notify_to()->mutable_address()->set_kind(pb::DIGITAL_ADDRESS_KIND_WHATSAPP);
  ev->mutable_notify_to()->mutable_address()->set_value("+31611223344");
  ev->add_children_to_close("child-1");

  const auto first = ReactTo(resolved, lookup);
  REQUIRE(first.size() == 2);
  CHECK(first[0].request_notification().address().value() == "+31611223344");
  CHECK(first[0].request_notification().text() == "Het gat is gedicht. (melding M-2026-00007)");
  CHECK(first[0].meta().idempotency_key() == "policy/notify/evt-1");
  CHECK(first[1].aggregate_id() == "child-1");
  CHECK(first[1].change_melding_status().to() == pb::MELDING_STATUS_RESOLVED);

  // Later the parent gains another child link and the reporter changes channel: a replay of the
  // old event still gives the very same commands.
  lookup.states["parent"].as<MeldingState>().links.push_back({});
  const auto replayed = ReactTo(resolved, lookup);
  REQUIRE(replayed.size() == first.size());
  for (size_t i = 0; i < first.size(); ++i) CHECK(replayed[i].SerializeAsString() == first[i].SerializeAsString());

  // A change the citizen is not told about, without children: nothing happens.
  ev->clear_notify_to();
  ev->clear_children_to_close();
  CHECK(ReactTo(resolved, lookup).empty());
}
