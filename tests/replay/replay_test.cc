// The analysts' replay, as an analyst uses it: a realistic synthetic history of three
// municipalities (months of contacts on every channel, callback requests, meldingen with KTO,
// notifications) goes in through the command API over gRPC; ks-replay, run as its own program
// beside the running service, reads the embedded log and writes its reports; every KPI is checked
// against figures this test computes itself from what it generated.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include "ks/eventlog/dev_cluster.h"
#include "ks/eventlog/kafka_log.h"
#include "support/process.h"
#include "support/stack.h"
#include "support/temp_dir.h"

namespace {

using namespace ks::testing;
using google::protobuf::util::TimeUtil;

constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

// ---- Dutch local time, by 2026's switch dates (written out here, apart from libs/kpi) ----
constexpr int64_t kSummer2026Start = 1'774'746'000'000;  // 2026-03-29T01:00Z
constexpr int64_t kSummer2026End = 1'792'890'000'000;    // 2026-10-25T01:00Z
int64_t OffsetAt(int64_t utc) { return utc >= kSummer2026Start && utc < kSummer2026End ? 2 * kHour : kHour; }
// `local` is never in the night of a switch here, so one correction suffices.
int64_t LocalToUtc(int64_t local) { return local - OffsetAt(local - kHour); }
int64_t DaysFromCivil(int y, unsigned m, unsigned d) {
  return std::chrono::sys_days(std::chrono::year{y} / m / d).time_since_epoch().count();
}
std::string LocalDay(int64_t utc) {
  const int64_t local = utc + OffsetAt(utc);
  const std::chrono::year_month_day ymd{std::chrono::sys_days(std::chrono::days(local / kDay))};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}
std::string LocalHour(int64_t utc) {
  const int64_t local = utc + OffsetAt(utc);
  return fmt::format("{}T{:02}", LocalDay(utc), (local % kDay) / kHour);
}
// ISO weeks of 2026: week 1 starts on Monday 2025-12-29.
std::string IsoWeek2026(int64_t utc) {
  const int64_t local_day = (utc + OffsetAt(utc)) / kDay;
  return fmt::format("2026-W{:02}", (local_day - DaysFromCivil(2025, 12, 29)) / 7 + 1);
}

// ---- The generated history, as this test keeps it ----
struct Contact {
  std::string tenant, id, party, channel;
  int64_t at = 0;
  bool inbound = false;
  bool handed_off = false;
  std::vector<std::string> topics;
};
struct Callback {
  std::string tenant;
  int64_t requested = 0, first_attempt = 0, closed = 0, due = 0;
  bool completed = false, open = true;
};
struct Melding {
  std::string tenant, category;
  int64_t registered = 0, resolved = 0, due = 0;
  bool is_resolved = false, cancelled = false, reopened = false;
  int kto = 0;
};
struct Notification {
  std::string tenant, channel;
  int64_t requested = 0;
  bool delivered = false, failed = false;
};

struct Label {
  std::string tenant, label;
  int64_t added = 0;
  bool removed = false;
};

struct History {
  std::vector<Label> labels;
  std::vector<Contact> contacts;
  std::vector<Callback> callbacks;
  std::vector<Melding> meldingen;
  std::vector<Notification> notifications;
  // The latest time of any event, overall and per municipality: what open items are judged at.
  int64_t last_event = 0;
  std::map<std::string, int64_t> last_event_of;
};

const std::vector<std::string> kTenants = {"gemeente-aa", "gemeente-bb", "gemeente-cc"};
const std::vector<std::pair<std::string, int>> kCategories = {{"LANTAARNPAAL", 3}, {"AFVAL", 7}, {"GROEN", 14}};
const std::vector<std::pair<pb::Channel, std::string>> kContactChannels = {
    {pb::CHANNEL_PHONE, "phone"},         {pb::CHANNEL_WHATSAPP, "whatsapp"}, {pb::CHANNEL_TWITTER, "twitter"},
    {pb::CHANNEL_EMAIL, "email"},         {pb::CHANNEL_CHAT, "chat"},         {pb::CHANNEL_WEB_FORM, "web_form"},
    {pb::CHANNEL_SMS, "sms"},             {pb::CHANNEL_IN_PERSON, "in_person"}, {pb::CHANNEL_LETTER, "letter"},
    {pb::CHANNEL_APP, "app"},             {pb::CHANNEL_FACEBOOK, "facebook"}};
const std::vector<std::string> kTopics = {"afval", "parkeren", "verhuizing", "paspoort", "lantaarnpaal", "wmo"};

// Generates and sends the history. Times are local wall-clock between 08:00 and 20:00.
class Generator {
 public:
  explicit Generator(Stack& stack) : stack_(stack) {}

  History Run() {
    for (const std::string& tenant : kTenants) GenerateTenant(tenant);
    return history_;
  }

 private:
  int64_t Uniform(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }
  double Chance() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  // A random local moment in [from_day, to_day) between 08:00 and 20:00, as UTC, to the second.
  int64_t RandomTime(int64_t from_day, int64_t to_day) {
    const int64_t day = Uniform(from_day, to_day - 1);
    return LocalToUtc(day * kDay + 8 * kHour + Uniform(0, 12 * 3600 - 1) * 1000);
  }

  pb::ExecuteRequest Request(const std::string& tenant, int64_t at, const std::string& aggregate = "") {
    pb::ExecuteRequest r = NewRequest(tenant);
    *r.mutable_meta()->mutable_occurred_at() = TimeUtil::MillisecondsToTimestamp(at);
    history_.last_event = std::max(history_.last_event, at);
    history_.last_event_of[tenant] = std::max(history_.last_event_of[tenant], at);
    r.set_aggregate_id(aggregate);
    return r;
  }
  std::string Send(const pb::ExecuteRequest& r) { return stack_.MustExecute(r).aggregate_id(); }

  void GenerateTenant(const std::string& tenant) {
    const int64_t first_day = DaysFromCivil(2026, 1, 10);
    const int64_t last_day = DaysFromCivil(2026, 5, 20);
    for (const auto& [code, days] : kCategories) {
      pb::ExecuteRequest r = Request(tenant, LocalToUtc((first_day - 1) * kDay));
      auto* c = r.mutable_define_melding_category();
      c->set_code(code);
      c->set_name(code);
      c->set_due_days(days);
      c->set_default_department("buitenruimte");
      Send(r);
    }
    std::vector<std::string> parties;
    for (int i = 0; i < 12; ++i) {
      pb::ExecuteRequest r = Request(tenant, LocalToUtc((first_day - 1) * kDay));
      r.mutable_register_party()->set_kind(pb::PARTY_KIND_PERSON);
      r.mutable_register_party()->set_display_name(fmt::format("Burger {} {}", tenant, i));
      parties.push_back(Send(r));
    }

    // Labels on profiles, for measuring afterwards; a few taken off again.
    for (size_t i = 0; i < parties.size(); ++i) {
      for (const std::string label : {"veelbeller", "schuldhulp"}) {
        if (Chance() < 0.5) continue;
        Label l{tenant, label, RandomTime(first_day, last_day)};
        pb::ExecuteRequest add = Request(tenant, l.added, parties[i]);
        add.mutable_add_party_label()->set_label(label);
        add.mutable_add_party_label()->set_automatic(label == std::string("veelbeller"));
        Send(add);
        if (Chance() < 0.2) {
          pb::ExecuteRequest remove = Request(tenant, l.added + kDay, parties[i]);
          remove.mutable_remove_party_label()->set_label(label);
          Send(remove);
          l.removed = true;
        }
        history_.labels.push_back(l);
      }
    }

    // Contacts, some with a conversation report.
    std::vector<size_t> inbound;
    for (int i = 0; i < 120; ++i) {
      Contact c;
      c.tenant = tenant;
      c.at = RandomTime(first_day, last_day);
      const auto& channel = kContactChannels[static_cast<size_t>(Uniform(0, static_cast<int64_t>(kContactChannels.size()) - 1))];
      c.channel = channel.second;
      c.inbound = Chance() < 0.8;
      c.party = parties[static_cast<size_t>(Uniform(0, 11))];
      for (const std::string& topic : kTopics)
        if (Chance() < 0.25) c.topics.push_back(topic);
      pb::ExecuteRequest r = Request(tenant, c.at);
      auto* cmd = r.mutable_register_interaction();
      cmd->set_party_id(c.party);
      cmd->set_channel(channel.first);
      cmd->set_direction(c.inbound ? pb::DIRECTION_INBOUND : pb::DIRECTION_OUTBOUND);
      cmd->set_text(fmt::format("bericht {} over {}", i, c.topics.empty() ? "iets" : c.topics.front()));
      for (const std::string& topic : c.topics) cmd->add_topics(topic);
      c.id = Send(r);
      if (Chance() < 0.4) {
        pb::ExecuteRequest report = Request(tenant, c.at + 10 * kMinute, c.id);
        report.mutable_record_interaction_report()->set_report("verslag");
        report.mutable_record_interaction_report()->set_outcome("informatie gegeven");
        Send(report);
      }
      if (c.inbound) inbound.push_back(history_.contacts.size());
      history_.contacts.push_back(std::move(c));
    }

    // Callback requests from 30 inbound contacts.
    std::shuffle(inbound.begin(), inbound.end(), rng_);
    for (size_t i = 0; i < 30 && i < inbound.size(); ++i) {
      Contact& origin = history_.contacts[inbound[i]];
      origin.handed_off = true;
      Callback cb;
      cb.tenant = tenant;
      cb.requested = origin.at + 5 * kMinute;
      cb.due = cb.requested + 2 * kDay;
      pb::ExecuteRequest r = Request(tenant, cb.requested);
      auto* cmd = r.mutable_request_callback();
      cmd->set_party_id(origin.party);
      cmd->set_origin_interaction_id(origin.id);
      cmd->set_subject("terugbellen");
      cmd->set_urgency(pb::URGENCY_NORMAL);
      cmd->mutable_target()->set_department("vergunningen");
      *cmd->mutable_due_at() = TimeUtil::MillisecondsToTimestamp(cb.due);
      const std::string id = Send(r);
      const double fate = Chance();
      if (fate < 0.75) {  // called back; most of them completed
        cb.first_attempt = cb.requested + Uniform(10, 3 * 24 * 60) * kMinute;
        pb::ExecuteRequest attempt = Request(tenant, cb.first_attempt, id);
        attempt.mutable_record_callback_attempt()->set_outcome(pb::ATTEMPT_OUTCOME_REACHED);
        Send(attempt);
        if (fate < 0.6) {
          cb.closed = cb.first_attempt + Uniform(1, 24 * 60) * kMinute;
          pb::ExecuteRequest done = Request(tenant, cb.closed, id);
          done.mutable_complete_callback()->set_report("gebeld en geholpen");
          Send(done);
          cb.completed = true;
          cb.open = false;
        }
      } else if (fate < 0.85) {
        cb.closed = cb.requested + kDay + Uniform(0, 2 * 24 * 60) * kMinute;
        pb::ExecuteRequest cancel = Request(tenant, cb.closed, id);
        cancel.mutable_cancel_callback()->set_reason("burger belde zelf");
        Send(cancel);
        cb.open = false;
      }
      history_.callbacks.push_back(cb);
    }

    // Meldingen: most resolved, some reopened, some cancelled; KTO on half the resolved ones.
    for (int i = 0; i < 30; ++i) {
      Melding m;
      m.tenant = tenant;
      const auto& category = kCategories[static_cast<size_t>(Uniform(0, 2))];
      m.category = category.first;
      m.registered = RandomTime(first_day, last_day);
      m.due = m.registered + category.second * kDay;
      pb::ExecuteRequest r = Request(tenant, m.registered);
      auto* cmd = r.mutable_register_melding();
      cmd->set_category(m.category);
      cmd->set_description(fmt::format("melding {} over {}", i, m.category));
      cmd->mutable_location()->set_street("Dorpsstraat");
      cmd->set_channel(pb::CHANNEL_WEB_FORM);
      const std::string id = Send(r);
      auto change = [&](pb::MeldingStatus to, int64_t at) {
        pb::ExecuteRequest c = Request(tenant, at, id);
        c.mutable_change_melding_status()->set_to(to);
        Send(c);
      };
      const double fate = Chance();
      if (fate < 0.75) {
        m.resolved = m.registered + Uniform(1, 20 * 24) * kHour;
        change(pb::MELDING_STATUS_RESOLVED, m.resolved);
        m.is_resolved = true;
        if (Chance() < 0.25) {
          m.reopened = true;
          change(pb::MELDING_STATUS_REOPENED, m.resolved + kDay);
          m.is_resolved = false;
          if (Chance() < 0.5) {
            m.resolved = m.resolved + 3 * kDay;
            change(pb::MELDING_STATUS_RESOLVED, m.resolved);
            m.is_resolved = true;
          }
        }
        if (m.is_resolved && Chance() < 0.5) {
          m.kto = static_cast<int>(Uniform(1, 5));
          pb::ExecuteRequest kto = Request(tenant, m.resolved + kHour, id);
          kto.mutable_record_satisfaction()->set_score(m.kto);
          Send(kto);
        }
      } else if (fate < 0.85) {
        m.cancelled = true;
        change(pb::MELDING_STATUS_CANCELLED, m.registered + 2 * kHour);
      }
      history_.meldingen.push_back(m);
    }

    // Notifications: delivered, given up after five failed attempts, or still waiting.
    const std::vector<std::tuple<pb::Channel, pb::DigitalAddressKind, std::string>> channels = {
        {pb::CHANNEL_SMS, pb::DIGITAL_ADDRESS_KIND_PHONE, "sms"},
        {pb::CHANNEL_EMAIL, pb::DIGITAL_ADDRESS_KIND_EMAIL, "email"},
        {pb::CHANNEL_WHATSAPP, pb::DIGITAL_ADDRESS_KIND_WHATSAPP, "whatsapp"}};
    for (int i = 0; i < 20; ++i) {
      const auto& [channel, kind, label] = channels[static_cast<size_t>(Uniform(0, 2))];
      Notification n;
      n.tenant = tenant;
      n.channel = label;
      n.requested = RandomTime(first_day, last_day);
      pb::ExecuteRequest r = Request(tenant, n.requested);
      auto* cmd = r.mutable_request_notification();
      cmd->set_channel(channel);
      cmd->mutable_address()->set_kind(kind);
      cmd->mutable_address()->set_value(kind == pb::DIGITAL_ADDRESS_KIND_EMAIL ? fmt::format("burger{}@example.nl", i)
                                                                              : fmt::format("+3161234{:04}", i));
      cmd->set_text("Uw melding is in behandeling");
      const std::string id = Send(r);
      const double fate = Chance();
      const int attempts = fate < 0.6 ? 1 : fate < 0.8 ? 5 : 0;
      for (int a = 1; a <= attempts; ++a) {
        const int64_t at = n.requested + a * 2 * kHour;
        pb::ExecuteRequest dispatch = Request(tenant, at, id);
        dispatch.mutable_dispatch_notification()->set_adapter_id("sms-gateway");
        Send(dispatch);
        pb::ExecuteRequest report = Request(tenant, at + kMinute, id);
        auto* rep = report.mutable_report_notification_delivery();
        rep->set_delivered(fate < 0.6);
        rep->set_error(fate < 0.6 ? "" : "unreachable");
        rep->set_attempt(a);
        rep->set_adapter_id("sms-gateway");
        Send(report);
      }
      n.delivered = attempts == 1;
      n.failed = attempts == 5;
      history_.notifications.push_back(n);
    }
  }

  Stack& stack_;
  std::mt19937_64 rng_{20261122};
  History history_;
};

// ---- What the report should say, computed from the history ----
using Figures = std::map<std::string, double>;  // "tenant|kpi|dimension|bucket" -> value
std::string Key(const std::string& tenant, const std::string& kpi, const std::string& dim = "",
                const std::string& bucket = "") {
  return tenant + "|" + kpi + "|" + dim + "|" + bucket;
}
double NearestRank(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::max<size_t>(rank, 1) - 1];
}

Figures Expected(const History& h, int64_t from, int64_t to, const std::string& only_tenant, int64_t as_of) {
  Figures f;
  auto in = [&](const std::string& tenant, int64_t at) {
    return (only_tenant.empty() || tenant == only_tenant) && at >= from && at < to;
  };
  // Contacts.
  std::map<std::string, std::vector<std::string>> topics;
  for (const Contact& c : h.contacts) {
    if (!in(c.tenant, c.at)) continue;
    for (const std::string& dim : {std::string(), c.channel}) {
      for (const std::string& bucket : {std::string(), LocalHour(c.at), LocalDay(c.at), IsoWeek2026(c.at)})
        f[Key(c.tenant, "contacts", dim, bucket)] += 1;
    }
    for (const std::string& t : c.topics) f[Key(c.tenant, "topic_contacts", t)] += 1;
    if (!c.inbound) continue;
    bool earlier = false, later = false;
    for (const Contact& o : h.contacts) {
      if (&o == &c || !o.inbound || o.tenant != c.tenant || o.party != c.party) continue;
      if (o.at < c.at && o.at >= c.at - 7 * kDay) earlier = true;
      if (o.at > c.at && o.at <= c.at + 7 * kDay) later = true;
    }
    for (const std::string& dim : {std::string(), c.channel}) {
      f[Key(c.tenant, "contacts_inbound", dim)] += 1;
      f[Key(c.tenant, "repeat_contacts", dim)] += earlier ? 1 : 0;
      f[Key(c.tenant, "first_contact_resolution_share", dim)] += (!c.handed_off && !later) ? 1 : 0;
    }
  }
  for (auto& [key, value] : f) {
    const auto bar = key.find('|');
    const std::string tenant = key.substr(0, bar);
    const std::string rest = key.substr(bar + 1);
    if (rest.starts_with("first_contact_resolution_share|")) {
      const std::string dim = rest.substr(rest.find('|') + 1, rest.rfind('|') - rest.find('|') - 1);
      value /= f[Key(tenant, "contacts_inbound", dim)];
    }
  }
  for (const std::string& tenant : kTenants)
    if (f.contains(Key(tenant, "contacts_inbound")))
      f[Key(tenant, "repeat_contact_share")] = f[Key(tenant, "repeat_contacts")] / f[Key(tenant, "contacts_inbound")];

  // Callback requests.
  std::map<std::string, std::vector<double>> first_attempt, completion;
  for (const Callback& cb : h.callbacks) {
    if (!in(cb.tenant, cb.requested)) continue;
    for (const std::string& bucket : {std::string(), LocalDay(cb.requested), IsoWeek2026(cb.requested)})
      f[Key(cb.tenant, "callbacks_requested", "", bucket)] += 1;
    f[Key(cb.tenant, "callbacks_completed")] += cb.completed ? 1 : 0;
    f[Key(cb.tenant, "callbacks_overdue")] += (cb.open ? cb.due < as_of : cb.closed > cb.due) ? 1 : 0;
    if (cb.first_attempt) first_attempt[cb.tenant].push_back(static_cast<double>(cb.first_attempt - cb.requested) / kMinute);
    if (cb.completed) completion[cb.tenant].push_back(static_cast<double>(cb.closed - cb.requested) / kMinute);
  }
  for (const auto& [tenant, v] : first_attempt) {
    f[Key(tenant, "callback_first_attempt_p50_minutes")] = NearestRank(v, 0.5);
    f[Key(tenant, "callback_first_attempt_p90_minutes")] = NearestRank(v, 0.9);
  }
  for (const auto& [tenant, v] : completion) {
    f[Key(tenant, "callback_completion_p50_minutes")] = NearestRank(v, 0.5);
    f[Key(tenant, "callback_completion_p90_minutes")] = NearestRank(v, 0.9);
  }

  // Meldingen and KTO.
  std::map<std::pair<std::string, std::string>, std::vector<double>> hours;
  std::map<std::pair<std::string, std::string>, std::pair<double, double>> on_time, reopened;
  std::map<std::string, std::pair<double, double>> kto;
  for (const Melding& m : h.meldingen) {
    if (!in(m.tenant, m.registered)) continue;
    f[Key(m.tenant, "meldingen_registered", "", LocalDay(m.registered))] += 1;
    f[Key(m.tenant, "meldingen_registered", "", IsoWeek2026(m.registered))] += 1;
    for (const std::string& dim : {std::string(), m.category}) {
      f[Key(m.tenant, "meldingen_registered", dim)] += 1;
      f[Key(m.tenant, "meldingen_resolved", dim)] += m.is_resolved ? 1 : 0;
      f[Key(m.tenant, "meldingen_overdue_open", dim)] += (!m.is_resolved && !m.cancelled && m.due < as_of) ? 1 : 0;
      reopened[{m.tenant, dim}].first += m.reopened ? 1 : 0;
      reopened[{m.tenant, dim}].second += 1;
      if (m.is_resolved) {
        hours[{m.tenant, dim}].push_back(static_cast<double>(m.resolved - m.registered) / kHour);
        on_time[{m.tenant, dim}].first += m.resolved <= m.due ? 1 : 0;
        on_time[{m.tenant, dim}].second += 1;
      }
    }
    if (m.kto > 0) {
      f[Key(m.tenant, "kto_responses")] += 1;
      f[Key(m.tenant, "kto_score_count", std::to_string(m.kto))] += 1;
      kto[m.tenant].first += m.kto;
      kto[m.tenant].second += 1;
    }
  }
  for (const auto& [key, v] : hours) {
    f[Key(key.first, "melding_resolution_p50_hours", key.second)] = NearestRank(v, 0.5);
    f[Key(key.first, "melding_resolution_p90_hours", key.second)] = NearestRank(v, 0.9);
  }
  for (const auto& [key, n] : on_time) f[Key(key.first, "meldingen_resolved_on_time_share", key.second)] = n.first / n.second;
  for (const auto& [key, n] : reopened) f[Key(key.first, "meldingen_reopened_share", key.second)] = n.first / n.second;
  for (const auto& [tenant, n] : kto) f[Key(tenant, "kto_score_mean")] = n.first / n.second;

  // Labels still on the profiles.
  for (const Label& l : h.labels)
    if (in(l.tenant, l.added) && !l.removed) f[Key(l.tenant, "labels_added", l.label)] += 1;

  // Notifications.
  for (const Notification& n : h.notifications) {
    if (!in(n.tenant, n.requested)) continue;
    for (const std::string& dim : {std::string(), n.channel}) {
      f[Key(n.tenant, "notifications_requested", dim)] += 1;
      f[Key(n.tenant, "notifications_delivered", dim)] += n.delivered ? 1 : 0;
      f[Key(n.tenant, "notifications_failed", dim)] += n.failed ? 1 : 0;
    }
  }
  return f;
}

// Parses the replay's CSV (no field of ours needs quoting).
Figures ReadCsv(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::string line;
  std::getline(in, line);
  CHECK(line == "tenant,kpi,dimension,bucket,value");
  Figures figures;
  while (std::getline(in, line)) {
    std::vector<std::string> parts;
    std::stringstream fields(line);
    std::string part;
    while (std::getline(fields, part, ',')) parts.push_back(part);
    REQUIRE(parts.size() == 5);
    figures[Key(parts[0], parts[1], parts[2], parts[3])] = std::stod(parts[4]);
  }
  return figures;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs ks-replay to its end; returns its stdout, and its exit code in *exit_code.
std::string RunReplayProgram(const std::vector<std::string>& args, const std::string& stderr_path, int* exit_code) {
  ChildProcess replay(ProgramPath("replay/ks-replay"), args, stderr_path);
  std::string out = replay.ReadAll(std::chrono::seconds(120));
  *exit_code = replay.Terminate();
  return out;
}

// Every figure expected is in the report with its value, and the report holds no figure of these
// KPIs that the history does not explain (zeros aside).
void CompareFigures(const Figures& expected, const Figures& actual) {
  for (const auto& [key, value] : expected) {
    INFO(key);
    REQUIRE(actual.contains(key));
    CHECK(actual.at(key) == Approx(value).margin(1e-4));
  }
  for (const auto& [key, value] : actual) {
    INFO(key);
    if (!expected.contains(key)) CHECK(value == 0);
  }
}

// The automatic "frequent contact" label (libs/domain/policy.h), worked out here from the contacts
// sent: a party with 5 inbound contacts within 30 days gets it. Waits until the service has added
// each (a policy acts shortly after the contact), checks that no other party has it, and adds them
// to the history at the time the service gave, which must end such a window of the party's.
void AwaitFrequentContactLabels(Stack& stack, History& history) {
  std::map<std::pair<std::string, std::string>, std::vector<int64_t>> inbound;
  for (const Contact& c : history.contacts)
    if (c.inbound) inbound[{c.tenant, c.party}].push_back(c.at);
  for (auto& [who, times] : inbound) {
    std::sort(times.begin(), times.end());
    std::set<int64_t> window_ends;
    for (size_t i = 4; i < times.size(); ++i)
      if (times[i] - times[i - 4] <= 30 * kDay) window_ends.insert(times[i]);
    pb::PartyLabel found;
    for (int attempt = 0; attempt < 100; ++attempt) {
      pb::GetCustomerViewRequest request;
      request.set_tenant(who.first);
      request.set_party_id(who.second);
      grpc::ClientContext context;
      WithToken(context, "");
      pb::CustomerView view;
      const grpc::Status status = stack.queries().GetCustomerView(&context, request, &view);
      // NOT_FOUND: the projector has not seen the party yet on a busy machine.
      if (status.error_code() != grpc::StatusCode::NOT_FOUND) REQUIRE(status.ok());
      for (const auto& label : view.party().labels())
        if (label.label() == "frequent-contact") found = label;
      if (!found.label().empty() || window_ends.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    INFO(who.first << " " << who.second << ": " << times.size() << " inbound contacts");
    CHECK(found.label().empty() == window_ends.empty());
    if (found.label().empty()) continue;
    const int64_t added = TimeUtil::TimestampToMilliseconds(found.added_at());
    CHECK(window_ends.contains(added));
    history.labels.push_back(Label{who.first, "frequent-contact", added});
  }
}

}  // namespace

TEST_CASE("replay: KPIs of months of synthetic history equal the figures computed from it", "[replay][e2e]") {
  Stack stack;
  History history = Generator(stack).Run();
  AwaitFrequentContactLabels(stack, history);
  REQUIRE(history.contacts.size() == 360);
  TempDir out;
  const int64_t from = LocalToUtc(DaysFromCivil(2026, 2, 2) * kDay);
  const int64_t to = LocalToUtc(DaysFromCivil(2026, 5, 4) * kDay);
  const std::string log_flag = "--log=embedded:" + stack.data_dir() + "/log";

  // The service keeps running (and holds the log open) while the analyst replays.
  int exit_code = -1;
  const std::string stdout_text = RunReplayProgram(
      {log_flag, "--from=2026-02-02", "--to=2026-05-04", "--out=" + out.Sub("all")}, out.Sub("replay.log"), &exit_code);
  INFO(Slurp(out.Sub("replay.log")));
  REQUIRE(exit_code == 0);
  CHECK(stdout_text.find("replay done:") != std::string::npos);
  CHECK(Slurp(out.Sub("replay.log")).find("replay: ") != std::string::npos);  // progress was shown
  for (const char* file : {"kpi.csv", "kpi.json", "kpi.html"}) CHECK(std::filesystem::exists(out.Sub("all") + "/" + file));

  const Figures actual = ReadCsv(out.Sub("all") + "/kpi.csv");
  CompareFigures(Expected(history, from, to, "", history.last_event), actual);
  // The history is rich enough that every kind of figure is there.
  for (const char* kpi : {"labels_added", "callbacks_overdue", "callback_completion_p90_minutes", "meldingen_overdue_open",
                          "meldingen_reopened_share", "kto_score_mean", "notifications_failed", "repeat_contacts"})
    CHECK(std::any_of(actual.begin(), actual.end(), [&](const auto& kv) {
      return kv.first.find(std::string("|") + kpi + "|") != std::string::npos && kv.second > 0;
    }));

  SECTION("the same period replayed again gives byte-identical CSV and JSON") {
    int again_code = -1;
    RunReplayProgram({log_flag, "--from=2026-02-02", "--to=2026-05-04", "--out=" + out.Sub("again"), "--threads=1"},
                     out.Sub("again.log"), &again_code);
    REQUIRE(again_code == 0);
    CHECK(Slurp(out.Sub("all") + "/kpi.csv") == Slurp(out.Sub("again") + "/kpi.csv"));
    CHECK(Slurp(out.Sub("all") + "/kpi.json") == Slurp(out.Sub("again") + "/kpi.json"));
  }

  SECTION("one municipality: only its figures, judged at its own last event") {
    int code = -1;
    RunReplayProgram({log_flag, "--from=2026-02-02", "--to=2026-05-04", "--tenant=gemeente-bb", "--out=" + out.Sub("bb"),
                      "--formats=csv"},
                     out.Sub("bb.log"), &code);
    REQUIRE(code == 0);
    const Figures bb = ReadCsv(out.Sub("bb") + "/kpi.csv");
    for (const auto& [key, value] : bb) CHECK(key.starts_with("gemeente-bb|"));
    CompareFigures(Expected(history, from, to, "gemeente-bb", history.last_event_of.at("gemeente-bb")), bb);
  }

  SECTION("bad flags are refused with a message that names them") {
    int code = -1;
    RunReplayProgram({log_flag, "--from=2026-13-01", "--to=2026-05-04", "--out=" + out.Sub("bad")}, out.Sub("bad.log"),
                     &code);
    CHECK(code == 2);
    CHECK(Slurp(out.Sub("bad.log")).find("--from") != std::string::npos);
    RunReplayProgram({log_flag, "--from=2026-05-04", "--to=2026-02-02", "--out=" + out.Sub("bad")}, out.Sub("bad2.log"),
                     &code);
    CHECK(code == 2);
    CHECK(Slurp(out.Sub("bad2.log")).find("--to") != std::string::npos);
    RunReplayProgram({"--log=embedded:" + out.Sub("nothing-here"), "--from=2026-02-02", "--to=2026-05-04",
                      "--out=" + out.Sub("bad")},
                     out.Sub("bad3.log"), &code);
    CHECK(code == 1);
    CHECK(Slurp(out.Sub("bad3.log")).find("no log there") != std::string::npos);
    CHECK(!std::filesystem::exists(out.Sub("nothing-here")));
  }
}

namespace {

// The part of `dom` that is the chart `id`: from its <svg ...data-chart="id"...> to its </svg>.
std::string ChartMarkup(const std::string& dom, const std::string& tenant, const std::string& id) {
  const size_t section = dom.find("data-tenant=\"" + tenant + "\"");
  if (section == std::string::npos) return "";
  const size_t start = dom.find("data-chart=\"" + id + "\"", section);
  if (start == std::string::npos) return "";
  return dom.substr(start, dom.find("</svg>", start) - start);
}

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("replay: the HTML report draws its charts in a browser, with no server", "[replay][e2e]") {
  Stack stack;
  History history = Generator(stack).Run();
  AwaitFrequentContactLabels(stack, history);
  TempDir out;
  int exit_code = -1;
  RunReplayProgram({"--log=embedded:" + stack.data_dir() + "/log", "--from=2026-02-02", "--to=2026-05-04",
                    "--out=" + out.Sub("report"), "--formats=html"},
                   out.Sub("replay.log"), &exit_code);
  REQUIRE(exit_code == 0);
  const std::string page = out.Sub("report") + "/kpi.html";
  // The page needs nothing beside it: no src= or href= to anything.
  const std::string html = Slurp(page);
  CHECK(html.find("src=") == std::string::npos);
  CHECK(html.find("href=") == std::string::npos);

  // Headless Chromium (Debian's package) opens the file and runs its script; the DOM it ends with
  // shows what was drawn.
  const std::vector<std::string> browser = {"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                                            "--no-first-run", "--disable-background-networking",
                                            "--disable-component-update", "--disable-sync",
                                            "--user-data-dir=" + out.Sub("chromium")};
  std::vector<std::string> dump_args = browser;
  dump_args.push_back("--dump-dom");
  dump_args.push_back("file://" + page);
  ChildProcess chromium("/usr/bin/chromium", dump_args, out.Sub("chromium.log"));
  const std::string dom = chromium.ReadAll(std::chrono::seconds(90));
  chromium.Terminate();
  INFO(Slurp(out.Sub("chromium.log")));
  REQUIRE(dom.find("data-drawn=\"3\"") != std::string::npos);  // the script ran to its end, for 3 municipalities
  CHECK(dom.find("NaN") == std::string::npos);
  CHECK(dom.find("undefined") == std::string::npos);

  for (const std::string& tenant : kTenants) {
    INFO(tenant);
    std::set<std::string> channels, topics, categories;
    const int64_t from = LocalToUtc(DaysFromCivil(2026, 2, 2) * kDay);
    const int64_t to = LocalToUtc(DaysFromCivil(2026, 5, 4) * kDay);
    for (const Contact& c : history.contacts)
      if (c.tenant == tenant && c.at >= from && c.at < to) {
        channels.insert(c.channel);
        topics.insert(c.topics.begin(), c.topics.end());
      }
    for (const Melding& m : history.meldingen)
      if (m.tenant == tenant && m.registered >= from && m.registered < to && m.is_resolved) categories.insert(m.category);
    // A line per channel, a bar per callback time, per category with resolved meldingen, per topic.
    const std::string contacts = ChartMarkup(dom, tenant, "contacts-per-channel");
    CHECK(Count(contacts, "<polyline class=\"mark\"") == channels.size());
    for (const std::string& channel : channels) CHECK(contacts.find("data-label=\"" + channel + "\"") != std::string::npos);
    CHECK(Count(ChartMarkup(dom, tenant, "callback-times"), "<rect class=\"mark\"") == 4);
    CHECK(Count(ChartMarkup(dom, tenant, "melding-resolution"), "<rect class=\"mark\"") == categories.size());
    const std::string top = ChartMarkup(dom, tenant, "top-topics");
    CHECK(Count(top, "<rect class=\"mark\"") == topics.size());
    for (const std::string& topic : topics) CHECK(top.find("data-label=\"" + topic + "\"") != std::string::npos);
  }

  // A screenshot, kept beside the report for whoever wants to look at it.
  std::vector<std::string> shot_args = browser;
  shot_args.push_back("--screenshot=" + out.Sub("report") + "/kpi.png");
  shot_args.push_back("--window-size=1000,2400");
  shot_args.push_back("file://" + page);
  ChildProcess shot("/usr/bin/chromium", shot_args, out.Sub("chromium-shot.log"));
  shot.ReadAll(std::chrono::seconds(90));
  shot.Terminate();
  CHECK(std::filesystem::file_size(out.Sub("report") + "/kpi.png") > 10'000);
  if (const char* keep = std::getenv("KS_KEEP_REPORT")) std::filesystem::copy_file(out.Sub("report") + "/kpi.png", keep,
                                                                                    std::filesystem::copy_options::overwrite_existing);
}

TEST_CASE("replay: the same history read from a Kafka topic gives the same report", "[replay][e2e]") {
  Stack stack;
  History history = Generator(stack).Run();
  AwaitFrequentContactLabels(stack, history);  // the log is complete before it is copied
  // The stack's log, record for record (key, value, time), into a topic on the mock cluster.
  auto cluster = ks::eventlog::DevCluster::Start(3, "replay", 4);
  REQUIRE(cluster.has_value());
  auto kafka = ks::eventlog::OpenKafkaLog(
      {.bootstrap_servers = (*cluster)->bootstrap_servers(), .topic = "replay", .partitions = 4, .linger_ms = 5});
  REQUIRE(kafka.has_value());
  auto ends = stack.app().log().EndOffsets();
  REQUIRE(ends.has_value());
  std::vector<ks::eventlog::Record> records;
  REQUIRE(ks::eventlog::ReadUntil(stack.app().log(), std::vector<int64_t>(ends->size(), 0), *ends,
                                  [&](const ks::eventlog::StoredRecord& r) {
                                    records.push_back({r.key, r.value, r.timestamp_ms});
                                    return ks::Status::Ok();
                                  })
              .ok());
  REQUIRE((*kafka)->Append(std::move(records)).has_value());

  TempDir out;
  int embedded_code = -1;
  int kafka_code = -1;
  const std::vector<std::string> period = {"--from=2026-02-02", "--to=2026-05-04", "--formats=csv,json"};
  auto args = [&](const std::string& log, const std::string& dir) {
    std::vector<std::string> a = {"--log=" + log, "--out=" + out.Sub(dir)};
    a.insert(a.end(), period.begin(), period.end());
    return a;
  };
  RunReplayProgram(args("embedded:" + stack.data_dir() + "/log", "embedded"), out.Sub("embedded.log"), &embedded_code);
  RunReplayProgram(args("kafka:" + (*cluster)->bootstrap_servers() + "/replay", "kafka"), out.Sub("kafka.log"),
                   &kafka_code);
  INFO(Slurp(out.Sub("kafka.log")));
  REQUIRE(embedded_code == 0);
  REQUIRE(kafka_code == 0);
  CHECK(Slurp(out.Sub("kafka") + "/kpi.csv").size() > 1000);
  CHECK(Slurp(out.Sub("kafka") + "/kpi.csv") == Slurp(out.Sub("embedded") + "/kpi.csv"));
  CHECK(Slurp(out.Sub("kafka") + "/kpi.json") == Slurp(out.Sub("embedded") + "/kpi.json"));

  // A topic that is not there is reported, not created.
  int missing_code = -1;
  RunReplayProgram(args("kafka:" + (*cluster)->bootstrap_servers() + "/no-such-topic", "missing"),
                   out.Sub("missing.log"), &missing_code);
  CHECK(missing_code == 1);
  CHECK(Slurp(out.Sub("missing.log")).find("no topic no-such-topic") != std::string::npos);
}
