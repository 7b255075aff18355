// The KPI library's pure parts: Dutch local time for buckets and periods, and the calculator's
// definitions on small, hand-made records.
#include <catch2/catch.hpp>

#include <map>
#include <vector>

#include <google/protobuf/util/time_util.h>

#include "ks/kpi/calculator.h"
#include "ks/kpi/catalog.h"
#include "ks/kpi/local_time.h"
#include "ks/kpi/report_writers.h"

using namespace ks::kpi;
namespace pb = ::klantstroom::v1;
using google::protobuf::util::TimeUtil;

namespace {

constexpr int64_t kHour = 3'600'000;
// 2026-03-29T01:00Z: summer time starts (02:00 local becomes 03:00).
constexpr int64_t kSummer2026 = 1'774'746'000'000;

std::map<std::string, double> Figures(const pb::KpiReport& report) {
  std::map<std::string, double> out;
  for (const auto& f : report.figures()) out[f.tenant() + "|" + f.kpi() + "|" + f.dimension() + "|" + f.bucket()] = f.value();
  return out;
}

pb::InteractionRecord Contact(const std::string& id, const std::string& party, int64_t at, pb::Channel channel,
                              pb::Direction direction = pb::DIRECTION_INBOUND) {
  pb::InteractionRecord r;
  r.set_interaction_id(id);
  r.set_tenant("gemeente-x");
  r.set_party_id(party);
  r.set_channel(channel);
  r.set_direction(direction);
  *r.mutable_occurred_at() = TimeUtil::MillisecondsToTimestamp(at);
  return r;
}

}  // namespace

TEST_CASE("Dutch local time: the offset switches on the last Sundays of March and October", "[kpi][unit]") {
  CHECK(AmsterdamOffsetMs(kSummer2026 - 1) == kHour);
  CHECK(AmsterdamOffsetMs(kSummer2026) == 2 * kHour);
  const int64_t winter2026 = 1'792'890'000'000;  // 2026-10-25T01:00Z
  CHECK(AmsterdamOffsetMs(winter2026 - 1) == 2 * kHour);
  CHECK(AmsterdamOffsetMs(winter2026) == kHour);
  // 23:30Z on 2026-06-30 is already 1 July, 01:30, in Amsterdam.
  const int64_t june30_2330z = 1'782'862'200'000;
  CHECK(DayBucket(june30_2330z) == "2026-07-01");
  CHECK(HourBucket(june30_2330z) == "2026-07-01T01");
}

TEST_CASE("Dutch local time: ISO weeks and the parsing of periods", "[kpi][unit]") {
  CHECK(WeekBucket(*ParseLocalTime("2026-01-01")) == "2026-W01");   // a Thursday: week 1
  CHECK(WeekBucket(*ParseLocalTime("2025-12-29")) == "2026-W01");   // its Monday, in 2025
  CHECK(WeekBucket(*ParseLocalTime("2027-01-01")) == "2026-W53");   // a Friday: the last week of 2026
  CHECK(WeekBucket(*ParseLocalTime("2026-03-02T14:30")) == "2026-W10");
  CHECK(*ParseLocalTime("2026-07-01") == 1'782'856'800'000);          // local midnight is 22:00Z in summer
  CHECK(*ParseLocalTime("2026-01-01T08:15") == 1'767'251'700'000);    // 07:15Z in winter
  CHECK(FormatLocalTime(*ParseLocalTime("2026-07-01T09:05")) == "2026-07-01T09:05");
  CHECK_FALSE(ParseLocalTime("2026-02-30").has_value());
  CHECK_FALSE(ParseLocalTime("2026-13-01").has_value());
  CHECK_FALSE(ParseLocalTime("1 maart").has_value());
  CHECK_FALSE(ParseLocalTime("2026-03-01T25:00").has_value());
}

TEST_CASE("KPI calculator: period, tenant, internal notes and nearest-rank percentiles", "[kpi][unit]") {
  const int64_t day = 24 * kHour;
  const int64_t from = *ParseLocalTime("2026-05-04");
  KpiCalculator calculator(from, from + 7 * day, "gemeente-x");
  calculator.Add(Contact("a", "p1", from + kHour, pb::CHANNEL_PHONE));
  calculator.Add(Contact("b", "p1", from + 2 * day, pb::CHANNEL_WHATSAPP));  // a repeat within 7 days
  calculator.Add(Contact("c", "p2", from - day, pb::CHANNEL_PHONE));         // before the period: state only
  calculator.Add(Contact("d", "p2", from + 3 * day, pb::CHANNEL_PHONE));     // repeat of c
  calculator.Add(Contact("e", "p3", from + 4 * day, pb::CHANNEL_INTERNAL));  // an internal note: no contact
  pb::InteractionRecord elsewhere = Contact("f", "p9", from + kHour, pb::CHANNEL_PHONE);
  elsewhere.set_tenant("gemeente-y");
  calculator.Add(elsewhere);
  // Four callbacks, first attempts after 10, 20, 30 and 40 minutes: p50 is the 2nd, p90 the 4th.
  for (int i = 1; i <= 4; ++i) {
    pb::CallbackRecord cb;
    cb.set_callback_id("cb" + std::to_string(i));
    cb.set_tenant("gemeente-x");
    cb.set_status(pb::CALLBACK_STATUS_OPEN);
    *cb.mutable_requested_at() = TimeUtil::MillisecondsToTimestamp(from + day);
    *cb.mutable_first_attempt_at() = TimeUtil::MillisecondsToTimestamp(from + day + i * 10 * 60'000);
    *cb.mutable_due_at() = TimeUtil::MillisecondsToTimestamp(from + day + kHour);
    if (i == 1) cb.set_origin_interaction_id("a");
    calculator.Add(cb);
  }
  const auto f = Figures(calculator.Report(from + 2 * day));
  CHECK(f.at("gemeente-x|contacts||") == 3);
  CHECK(f.at("gemeente-x|contacts|phone|") == 2);
  CHECK(f.at("gemeente-x|contacts|whatsapp|") == 1);
  CHECK_FALSE(f.contains("gemeente-x|contacts|internal|"));
  CHECK_FALSE(f.contains("gemeente-y|contacts||"));
  CHECK(f.at("gemeente-x|repeat_contacts||") == 2);
  // a: handed off (and repeated by b); b and d: nothing after them -> 2 of 3.
  CHECK(f.at("gemeente-x|first_contact_resolution_share||") == Approx(0.6667).margin(1e-4));
  CHECK(f.at("gemeente-x|callback_first_attempt_p50_minutes||") == 20);
  CHECK(f.at("gemeente-x|callback_first_attempt_p90_minutes||") == 40);
  CHECK(f.at("gemeente-x|callbacks_overdue||") == 4);  // open, due an hour after the request
  CHECK(f.at("gemeente-x|contacts||2026-05-04") == 1);
  CHECK(f.at("gemeente-x|contacts||2026-W19") == 3);
}

namespace {

// Records of two municipalities with every field the KPIs read set, and others beside them
// (texts, sealed data, histories), for the tests of trimming and merging.
struct SampleRecords {
  std::vector<pb::InteractionRecord> contacts;
  std::vector<pb::CallbackRecord> callbacks;
  std::vector<pb::MeldingRecord> meldingen;
  std::vector<pb::NotificationRecord> notifications;
  std::vector<pb::PartyProfile> parties;
};

SampleRecords MakeSampleRecords(int64_t from) {
  SampleRecords out;
  const int64_t day = 24 * kHour;
  for (int i = 0; i < 12; ++i) {
    const std::string tenant = i % 3 == 0 ? "gemeente-y" : "gemeente-x";
    pb::InteractionRecord c = Contact("i" + std::to_string(i), i % 4 == 0 ? "" : "p" + std::to_string(i % 5),
                                      from + i * 9 * kHour, i % 2 ? pb::CHANNEL_PHONE : pb::CHANNEL_WHATSAPP,
                                      i % 5 == 4 ? pb::DIRECTION_OUTBOUND : pb::DIRECTION_INBOUND);
    c.set_tenant(tenant);
    if (c.party_id().empty()) c.set_counterpart_digest("digest-" + std::to_string(i % 2));
    c.add_topics(i % 2 ? "afval" : "parkeren");
    c.add_underlying_topics("afval");
    c.add_underlying_topics("zorg");
    if (i == 7) c.set_restricted_to_team("wijkteam-noord");
    c.set_text("Een lang verhaal over de vraag van de inwoner.");
    c.set_report("Teruggebeld, opgelost.");
    c.mutable_personal_data()->set_ciphertext(std::string(200, 'x'));
    c.set_version(2);
    out.contacts.push_back(c);
  }
  for (int i = 0; i < 5; ++i) {
    pb::CallbackRecord cb;
    cb.set_callback_id("cb" + std::to_string(i));
    cb.set_tenant(i % 2 ? "gemeente-y" : "gemeente-x");
    cb.set_origin_interaction_id("i" + std::to_string(i * 2));
    cb.set_status(i < 2 ? pb::CALLBACK_STATUS_COMPLETED : pb::CALLBACK_STATUS_OPEN);
    cb.set_subject("Terugbellen");
    cb.set_context("Wil teruggebeld worden over de container.");
    *cb.mutable_requested_at() = TimeUtil::MillisecondsToTimestamp(from + i * day);
    *cb.mutable_first_attempt_at() = TimeUtil::MillisecondsToTimestamp(from + i * day + (i + 1) * 600'000);
    if (i < 2) *cb.mutable_closed_at() = TimeUtil::MillisecondsToTimestamp(from + i * day + 3 * kHour);
    *cb.mutable_due_at() = TimeUtil::MillisecondsToTimestamp(from + i * day + 2 * kHour);
    cb.set_version(3);
    out.callbacks.push_back(cb);
  }
  for (int i = 0; i < 4; ++i) {
    pb::MeldingRecord m;
    m.set_melding_id("m" + std::to_string(i));
    m.set_tenant(i % 2 ? "gemeente-y" : "gemeente-x");
    m.set_category(i % 2 ? "afval" : "groen");
    m.set_description("Overvolle container bij de school.");
    m.set_status(i < 2 ? pb::MELDING_STATUS_RESOLVED : pb::MELDING_STATUS_REGISTERED);
    *m.mutable_registered_at() = TimeUtil::MillisecondsToTimestamp(from + i * day);
    if (i < 2) *m.mutable_resolved_at() = TimeUtil::MillisecondsToTimestamp(from + i * day + (i + 2) * kHour);
    *m.mutable_due_at() = TimeUtil::MillisecondsToTimestamp(from + i * day + 3 * kHour);
    m.set_reopen_count(i == 1 ? 1 : 0);
    m.set_satisfaction_score(i < 2 ? 4 + i : 0);
    m.add_history()->set_reason("ingepland");
    m.set_version(4);
    out.meldingen.push_back(m);
  }
  for (int i = 0; i < 3; ++i) {
    pb::NotificationRecord n;
    n.set_notification_id("n" + std::to_string(i));
    n.set_tenant("gemeente-x");
    n.set_channel(i ? pb::CHANNEL_EMAIL : pb::CHANNEL_SMS);
    n.set_text("Uw melding is opgelost.");
    n.set_status(i == 0 ? pb::NOTIFICATION_STATUS_DELIVERED : pb::NOTIFICATION_STATUS_GAVE_UP);
    *n.mutable_requested_at() = TimeUtil::MillisecondsToTimestamp(from + i * day);
    out.notifications.push_back(n);
  }
  pb::PartyProfile party;
  party.set_party_id("p1");
  party.set_tenant("gemeente-x");
  party.set_display_name("Inwoner");
  auto* label = party.add_labels();
  label->set_label("veelbeller");
  *label->mutable_added_at() = TimeUtil::MillisecondsToTimestamp(from + day);
  out.parties.push_back(party);
  return out;
}

// Adds a copy of every record, each through `transform`.
template <typename Transform>
void AddEverything(KpiCalculator& calculator, const SampleRecords& records, Transform transform) {
  auto add_all = [&](const auto& list) {
    for (const auto& record : list) calculator.Add(transform(std::decay_t<decltype(record)>(record)));
  };
  add_all(records.contacts);
  add_all(records.callbacks);
  add_all(records.meldingen);
  add_all(records.notifications);
  add_all(records.parties);
}

}  // namespace

TEST_CASE("KPI calculator: a record trimmed to what the KPIs read gives the same figures", "[kpi][unit]") {
  const int64_t from = *ParseLocalTime("2026-05-04");
  const SampleRecords records = MakeSampleRecords(from);
  KpiCalculator whole(from, from + 7 * 24 * kHour, "");
  KpiCalculator trimmed(from, from + 7 * 24 * kHour, "");
  const auto as_is = [](auto&& r) { return std::move(r); };
  const auto kept = [](auto&& r) { return KeptForKpis(std::move(r)); };
  AddEverything(whole, records, as_is);
  AddEverything(trimmed, records, kept);
  const auto expected = Figures(whole.Report(from + 3 * 24 * kHour));
  CHECK(expected.size() > 40);  // every kind of record counted something
  CHECK(Figures(trimmed.Report(from + 3 * 24 * kHour)) == expected);
  // What the trim leaves out: texts and sealed data.
  pb::InteractionRecord contact = KeptForKpis(pb::InteractionRecord(records.contacts[1]));
  CHECK(contact.text().empty());
  CHECK_FALSE(contact.has_personal_data());
  CHECK(contact.version() == 2);
}

TEST_CASE("KPI calculator: calculators merged give the figures of one fed everything", "[kpi][unit]") {
  const int64_t from = *ParseLocalTime("2026-05-04");
  const SampleRecords records = MakeSampleRecords(from);
  const auto as_is = [](auto&& r) { return std::move(r); };
  KpiCalculator one(from, from + 7 * 24 * kHour, "");
  AddEverything(one, records, as_is);
  // The records split over two calculators in opposite orders: each numbers the municipalities,
  // topics and categories its own way, and Merge renumbers.
  KpiCalculator first(from, from + 7 * 24 * kHour, "");
  KpiCalculator second(from, from + 7 * 24 * kHour, "");
  for (size_t i = 0; i < records.contacts.size(); ++i)
    (i % 2 ? first : second).Add(records.contacts[records.contacts.size() - 1 - i]);
  for (size_t i = 0; i < records.callbacks.size(); ++i) (i % 2 ? second : first).Add(records.callbacks[i]);
  for (size_t i = 0; i < records.meldingen.size(); ++i)
    (i % 2 ? first : second).Add(records.meldingen[records.meldingen.size() - 1 - i]);
  for (const auto& n : records.notifications) second.Add(n);
  for (const auto& p : records.parties) first.Add(p);
  first.Merge(std::move(second));
  CHECK(Figures(first.Report(from + 3 * 24 * kHour)) == Figures(one.Report(from + 3 * 24 * kHour)));
}

TEST_CASE("KPI reports: every KPI in the catalog is defined once, and CSV quotes what needs it", "[kpi][unit]") {
  std::map<std::string_view, int> seen;
  for (const auto& d : Catalog()) {
    ++seen[d.name];
    CHECK_FALSE(d.formula.empty());
  }
  for (const auto& [name, n] : seen) CHECK(n == 1);
  pb::KpiReport report;
  auto* figure = report.add_figures();
  figure->set_tenant("gemeente-x");
  figure->set_kpi("topic_contacts");
  figure->set_dimension("afval, \"grof\"");
  figure->set_value(3);
  CHECK(ToCsv(report) == "tenant,kpi,dimension,bucket,value\ngemeente-x,topic_contacts,\"afval, \"\"grof\"\"\",,3\n");
  // In the HTML, "</script>" in a figure cannot end the data early.
  figure->set_dimension("</script><script>alert(1)</script>");
  const std::string html = ToHtml(report);
  CHECK(html.find("</script><script>alert") == std::string::npos);
}
