// The KPI library's pure parts: Dutch local time for buckets and periods, and the calculator's
// definitions on small, hand-made records.
#include <catch2/catch.hpp>

#include <map>

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
