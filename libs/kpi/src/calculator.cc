#include "ks/kpi/calculator.h"

#include <algorithm>
#include <cmath>
#include <array>
#include <deque>
#include <map>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include <google/protobuf/util/time_util.h>

#include "klantstroom/v1/common.pb.h"
#include "ks/kpi/catalog.h"
#include "ks/kpi/local_time.h"

namespace ks::kpi {
namespace {

using google::protobuf::util::TimeUtil;
using namespace names;

int64_t Ms(const google::protobuf::Timestamp& t) {
  return t.seconds() == 0 && t.nanos() == 0 ? 0 : TimeUtil::TimestampToMilliseconds(t);
}

// Nearest-rank percentile of `values` (sorted here); 0 for none.
double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(values.size())));
  return values[std::max<size_t>(rank, 1) - 1];
}

// Rounds to 4 decimals, so that figures print the same however they were summed.
double Round(double v) { return std::round(v * 10000.0) / 10000.0; }

// The figures being collected: (tenant, kpi, dimension, bucket) -> value. The four parts are
// numbered (Id) while counting, and turned back into strings, sorted, only at the end: the loops
// over millions of contacts take the numbers once and count with them.
class Figures {
 public:
  using Key = std::array<uint32_t, 4>;

  uint32_t Id(std::string_view s) { return names_.Id(s); }
  void Add(const Key& key, double v) { values_[key] += v; }
  void Set(const Key& key, double v) { values_[key] = v; }
  void MoveInto(pb::KpiReport& report) {
    std::vector<std::pair<std::array<std::string_view, 4>, double>> sorted;
    sorted.reserve(values_.size());
    for (const auto& [key, value] : values_)
      sorted.push_back({{names_.Name(key[0]), names_.Name(key[1]), names_.Name(key[2]), names_.Name(key[3])}, value});
    std::sort(sorted.begin(), sorted.end());
    for (const auto& [key, value] : sorted) {
      pb::KpiFigure* f = report.add_figures();
      f->set_tenant(std::string(key[0]));
      f->set_kpi(std::string(key[1]));
      f->set_dimension(std::string(key[2]));
      f->set_bucket(std::string(key[3]));
      f->set_value(Round(value));
    }
  }

 private:
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return (static_cast<size_t>(k[0]) * 0x9E3779B97F4A7C15ULL) ^ (static_cast<size_t>(k[1]) << 48) ^
             (static_cast<size_t>(k[2]) << 24) ^ k[3];
    }
  };
  NameIds names_;
  std::unordered_map<Key, double, KeyHash> values_;
};

constexpr int64_t kHourMs = 3'600'000;

// The UTC hour `utc_ms` lies in (hours since 1970, rounded down). Amsterdam's offset is a whole
// number of hours and changes on the hour, so one UTC hour is one local hour, day and week.
int64_t HourOf(int64_t utc_ms) { return utc_ms >= 0 ? utc_ms / kHourMs : -((-utc_ms + kHourMs - 1) / kHourMs); }

// The figure numbers of the hour, day and ISO-week labels of a UTC hour, worked out once per hour.
class BucketIds {
 public:
  struct Ids {
    uint32_t hour, day, week;
  };
  explicit BucketIds(Figures& figures) : figures_(figures) {}
  const Ids& ForHour(int64_t hour) {
    auto [it, inserted] = cache_.try_emplace(hour);
    if (inserted) {
      const int64_t at = hour * kHourMs;
      it->second = {figures_.Id(HourBucket(at)), figures_.Id(DayBucket(at)), figures_.Id(WeekBucket(at))};
    }
    return it->second;
  }
  const Ids& For(int64_t utc_ms) { return ForHour(HourOf(utc_ms)); }

 private:
  Figures& figures_;
  std::unordered_map<int64_t, Ids> cache_;
};

// Samples per (tenant, dimension) figure numbers, for percentiles.
using Samples = std::map<std::pair<uint32_t, uint32_t>, std::vector<double>>;

void AddPercentiles(Figures& figures, const Samples& samples, std::string_view p50, std::string_view p90,
                    double unit_ms) {
  const uint32_t p50_id = figures.Id(p50), p90_id = figures.Id(p90), no_bucket = figures.Id("");
  for (const auto& [key, values] : samples) {
    std::vector<double> in_unit;
    in_unit.reserve(values.size());
    for (double v : values) in_unit.push_back(v / unit_ms);
    figures.Set({key.first, p50_id, key.second, no_bucket}, Percentile(in_unit, 0.5));
    figures.Set({key.first, p90_id, key.second, no_bucket}, Percentile(in_unit, 0.9));
  }
}

}  // namespace

std::string ChannelLabel(int channel) {
  // Worked out once per channel: the KPIs ask for it per contact.
  static const std::vector<std::string> labels = [] {
    std::vector<std::string> out;
    for (int c = 0; c <= pb::Channel_MAX; ++c) {
      std::string name = pb::Channel_IsValid(c) ? pb::Channel_Name(static_cast<pb::Channel>(c)) : "";
      if (name.starts_with("CHANNEL_")) name = name.substr(std::string_view("CHANNEL_").size());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::tolower(ch); });
      out.push_back(name.empty() ? "channel-" + std::to_string(c) : name);
    }
    return out;
  }();
  if (channel >= 0 && static_cast<size_t>(channel) < labels.size()) return labels[static_cast<size_t>(channel)];
  return "channel-" + std::to_string(channel);
}

// Each KeptForKpis moves the fields the matching KpiCalculator::Add reads (keep them in step),
// and the ones the folds read back.
pb::InteractionRecord KeptForKpis(pb::InteractionRecord&& r) {
  pb::InteractionRecord kept;
  kept.set_interaction_id(std::move(*r.mutable_interaction_id()));
  kept.set_tenant(std::move(*r.mutable_tenant()));
  kept.set_party_id(std::move(*r.mutable_party_id()));
  kept.set_channel(r.channel());
  kept.set_direction(r.direction());
  kept.mutable_topics()->Swap(r.mutable_topics());
  kept.mutable_underlying_topics()->Swap(r.mutable_underlying_topics());
  kept.set_counterpart_digest(std::move(*r.mutable_counterpart_digest()));
  // Only a log from before digests has the address in the clear; then it is the citizen.
  if (kept.counterpart_digest().empty() && r.has_counterpart()) kept.mutable_counterpart()->Swap(r.mutable_counterpart());
  kept.set_restricted_to_team(std::move(*r.mutable_restricted_to_team()));
  if (r.has_occurred_at()) kept.mutable_occurred_at()->Swap(r.mutable_occurred_at());
  kept.set_version(r.version());
  return kept;
}

pb::CallbackRecord KeptForKpis(pb::CallbackRecord&& r) {
  pb::CallbackRecord kept;
  kept.set_tenant(std::move(*r.mutable_tenant()));
  kept.set_origin_interaction_id(std::move(*r.mutable_origin_interaction_id()));
  kept.set_status(r.status());
  kept.set_attempts(r.attempts());
  if (r.has_requested_at()) kept.mutable_requested_at()->Swap(r.mutable_requested_at());
  if (r.has_first_attempt_at()) kept.mutable_first_attempt_at()->Swap(r.mutable_first_attempt_at());
  if (r.has_closed_at()) kept.mutable_closed_at()->Swap(r.mutable_closed_at());
  if (r.has_due_at()) kept.mutable_due_at()->Swap(r.mutable_due_at());
  kept.set_version(r.version());
  return kept;
}

pb::MeldingRecord KeptForKpis(pb::MeldingRecord&& r) {
  pb::MeldingRecord kept;
  kept.set_tenant(std::move(*r.mutable_tenant()));
  kept.set_category(std::move(*r.mutable_category()));
  kept.set_status(r.status());
  kept.set_reopen_count(r.reopen_count());
  kept.set_repeat_contacts(r.repeat_contacts());
  kept.set_satisfaction_score(r.satisfaction_score());
  if (r.has_registered_at()) kept.mutable_registered_at()->Swap(r.mutable_registered_at());
  if (r.has_resolved_at()) kept.mutable_resolved_at()->Swap(r.mutable_resolved_at());
  if (r.has_due_at()) kept.mutable_due_at()->Swap(r.mutable_due_at());
  kept.set_version(r.version());
  return kept;
}

pb::NotificationRecord KeptForKpis(pb::NotificationRecord&& r) {
  pb::NotificationRecord kept;
  kept.set_tenant(std::move(*r.mutable_tenant()));
  kept.set_channel(r.channel());
  kept.set_status(r.status());
  kept.set_attempts(r.attempts());
  if (r.has_requested_at()) kept.mutable_requested_at()->Swap(r.mutable_requested_at());
  kept.set_version(r.version());
  return kept;
}

pb::PartyProfile KeptForKpis(pb::PartyProfile&& r) {
  pb::PartyProfile kept;
  kept.set_tenant(std::move(*r.mutable_tenant()));
  kept.mutable_labels()->Swap(r.mutable_labels());
  kept.set_version(r.version());
  return kept;
}

KpiCalculator::KpiCalculator(int64_t from_ms, int64_t to_ms, std::string tenant, KpiOptions options)
    : from_ms_(from_ms), to_ms_(to_ms), tenant_(std::move(tenant)), options_(options) {}

uint32_t NameIds::Id(std::string_view name) {
  if (auto it = ids_.find(name); it != ids_.end()) return it->second;
  names_.emplace_back(name);
  const auto id = static_cast<uint32_t>(names_.size() - 1);
  ids_.emplace(names_.back(), id);
  return id;
}

uint64_t KpiCalculator::Digest(std::string_view tenant, std::string_view id) {
  scratch_.assign(tenant);
  scratch_.push_back('\0');
  scratch_.append(id);
  return std::hash<std::string_view>()(scratch_);
}

void KpiCalculator::Add(const pb::InteractionRecord& r) {
  if (r.channel() == pb::CHANNEL_INTERNAL) return;
  if (!Wanted(r.tenant())) return;
  const int64_t at_ms = Ms(r.occurred_at());
  const uint32_t tenant = names_.Id(r.tenant());
  // The citizen: the party, or while none is linked, the counterpart address, known by its digest
  // (the address itself is sealed; a log from before digests has it in the clear).
  Contact contact{at_ms, 0, Digest(r.tenant(), r.interaction_id()), tenant, r.channel(),
                  r.direction() == pb::DIRECTION_INBOUND, true};
  if (!r.party_id().empty())
    contact.citizen = Digest(r.tenant(), r.party_id());
  else if (!r.counterpart_digest().empty())
    contact.citizen = Digest(r.tenant(), r.counterpart_digest());
  else if (!r.counterpart().value().empty())
    contact.citizen = Digest(r.tenant(), std::to_string(r.counterpart().kind()) + ":" + r.counterpart().value());
  else
    contact.has_citizen = false;
  contacts_.push_back(contact);
  // What a sensitive contact was about is the team's to know: its topics are not counted.
  if (!InPeriod(at_ms) || !r.restricted_to_team().empty()) return;
  auto count = [&](const std::string& topic) {
    ++topic_counts_[(static_cast<uint64_t>(tenant) << 32) | names_.Id(topic)];
  };
  for (const std::string& t : r.topics()) count(t);
  // The question behind the question counts as what the contact was about too (once).
  const auto& underlying = r.underlying_topics();
  for (auto t = underlying.begin(); t != underlying.end(); ++t)
    if (std::find(r.topics().begin(), r.topics().end(), *t) == r.topics().end() &&
        std::find(underlying.begin(), t, *t) == t)
      count(*t);
}

void KpiCalculator::Add(const pb::CallbackRecord& r) {
  if (!Wanted(r.tenant())) return;
  if (!r.origin_interaction_id().empty()) callback_origins_.push_back(Digest(r.tenant(), r.origin_interaction_id()));
  callbacks_.push_back({names_.Id(r.tenant()), Ms(r.requested_at()), Ms(r.first_attempt_at()), Ms(r.closed_at()),
                        Ms(r.due_at()), r.status() == pb::CALLBACK_STATUS_COMPLETED,
                        r.status() == pb::CALLBACK_STATUS_OPEN});
}

void KpiCalculator::Add(const pb::MeldingRecord& r) {
  if (!Wanted(r.tenant())) return;
  meldingen_.push_back({names_.Id(r.tenant()), names_.Id(r.category()), Ms(r.registered_at()), Ms(r.resolved_at()),
                        Ms(r.due_at()), r.status() == pb::MELDING_STATUS_RESOLVED,
                        r.status() == pb::MELDING_STATUS_CANCELLED, r.reopen_count() > 0, r.satisfaction_score()});
}

void KpiCalculator::Add(const pb::NotificationRecord& r) {
  if (!Wanted(r.tenant())) return;
  notifications_.push_back({names_.Id(r.tenant()), Ms(r.requested_at()), r.channel(),
                            r.status() == pb::NOTIFICATION_STATUS_DELIVERED,
                            r.status() == pb::NOTIFICATION_STATUS_GAVE_UP});
}

void KpiCalculator::Add(const pb::PartyProfile& r) {
  if (!Wanted(r.tenant())) return;
  for (const pb::PartyLabel& label : r.labels())
    labels_.push_back({names_.Id(r.tenant()), names_.Id(label.label()), Ms(label.added_at())});
}

void KpiCalculator::Merge(KpiCalculator&& other) {
  // The other calculator numbered its strings its own way.
  std::vector<uint32_t> id(other.names_.size());
  for (uint32_t i = 0; i < id.size(); ++i) id[i] = names_.Id(other.names_.Name(i));
  auto append = [](auto& to, auto& from, auto&& renumber) {
    to.reserve(to.size() + from.size());
    for (auto& item : from) {
      renumber(item);
      to.push_back(std::move(item));
    }
    from = {};
  };
  append(contacts_, other.contacts_, [&](Contact& c) { c.tenant = id[c.tenant]; });
  append(callbacks_, other.callbacks_, [&](Callback& c) { c.tenant = id[c.tenant]; });
  append(meldingen_, other.meldingen_, [&](Melding& m) {
    m.tenant = id[m.tenant];
    m.category = id[m.category];
  });
  append(notifications_, other.notifications_, [&](Notification& n) { n.tenant = id[n.tenant]; });
  append(labels_, other.labels_, [&](Label& l) {
    l.tenant = id[l.tenant];
    l.label = id[l.label];
  });
  callback_origins_.insert(callback_origins_.end(), other.callback_origins_.begin(), other.callback_origins_.end());
  other.callback_origins_ = {};
  for (const auto& [key, n] : other.topic_counts_)
    topic_counts_[(static_cast<uint64_t>(id[key >> 32]) << 32) | id[key & 0xffffffffU]] += n;
  other.topic_counts_ = {};
}

pb::KpiReport KpiCalculator::Report(int64_t as_of_ms) const {
  Figures figures;
  BucketIds buckets(figures);
  const uint32_t none = figures.Id("");
  // The figure numbers of this calculator's names (municipalities, categories, ...), and of the
  // channels' labels, taken once.
  std::vector<uint32_t> name_id(names_.size());
  for (uint32_t i = 0; i < name_id.size(); ++i) name_id[i] = figures.Id(names_.Name(i));
  std::unordered_map<int, uint32_t> channel_ids;
  auto channel_id = [&](int channel) {
    auto [it, inserted] = channel_ids.try_emplace(channel);
    if (inserted) it->second = figures.Id(ChannelLabel(channel));
    return it->second;
  };
  auto key = [&](uint32_t tenant, std::string_view kpi, uint32_t dim, uint32_t bucket = UINT32_MAX) {
    return Figures::Key{name_id[tenant], figures.Id(kpi), dim, bucket == UINT32_MAX ? none : bucket};
  };

  // ---- Contacts ----
  // Inbound contacts of known citizens ordered by citizen, then time: a citizen's contacts are
  // neighbours, for repeat contacts and first-contact resolution.
  std::vector<std::pair<uint64_t, int64_t>> timeline;
  for (const Contact& c : contacts_)
    if (c.inbound && c.has_citizen) timeline.emplace_back(c.citizen, c.at_ms);
  std::sort(timeline.begin(), timeline.end());
  const std::unordered_set<uint64_t> origins(callback_origins_.begin(), callback_origins_.end());
  // Contacts in the period counted per (municipality, channel, UTC hour) first, then spread over
  // the buckets: one count per contact instead of eight figure updates.
  struct HourKey {
    uint32_t tenant;
    int32_t channel;
    int64_t hour;
    bool operator==(const HourKey&) const = default;
  };
  struct HourKeyHash {
    size_t operator()(const HourKey& k) const {
      return std::hash<int64_t>()(k.hour) * 31 + (static_cast<size_t>(k.tenant) << 8) + static_cast<size_t>(k.channel);
    }
  };
  std::unordered_map<HourKey, int64_t, HourKeyHash> per_hour;
  struct InboundCounts {
    int64_t all = 0, repeats = 0, resolved_first = 0;
  };
  std::map<std::pair<uint32_t, int>, InboundCounts> inbound;  // per (tenant, channel); channel -1 for all
  for (const Contact& c : contacts_) {
    if (!InPeriod(c.at_ms)) continue;
    ++per_hour[{c.tenant, c.channel, HourOf(c.at_ms)}];
    if (!c.inbound) continue;
    bool repeat = false;
    bool repeated_later = false;
    if (c.has_citizen) {
      // Another inbound contact in [at - window, at) or (at, at + window]; an exact tie of two
      // contacts counts the other as earlier for neither.
      auto lo = std::lower_bound(timeline.begin(), timeline.end(),
                                 std::pair{c.citizen, c.at_ms - options_.repeat_window_ms});
      repeat = lo != timeline.end() && lo->first == c.citizen && lo->second < c.at_ms;
      auto hi = std::upper_bound(timeline.begin(), timeline.end(), std::pair{c.citizen, c.at_ms});
      repeated_later =
          hi != timeline.end() && hi->first == c.citizen && hi->second <= c.at_ms + options_.repeat_window_ms;
    }
    const bool handed_off = origins.contains(c.interaction);
    for (const int dim : {-1, c.channel}) {
      InboundCounts& counts = inbound[{c.tenant, dim}];
      ++counts.all;
      counts.repeats += repeat ? 1 : 0;
      counts.resolved_first += (!handed_off && !repeated_later) ? 1 : 0;
    }
  }
  const uint32_t contacts_id = figures.Id(kContacts);
  for (const auto& [at, n] : per_hour) {
    const BucketIds::Ids& bucket = buckets.ForHour(at.hour);
    const auto count = static_cast<double>(n);
    for (const uint32_t dim : {none, channel_id(at.channel)}) {
      const uint32_t tenant = name_id[at.tenant];
      figures.Add({tenant, contacts_id, dim, none}, count);
      if (options_.hourly) figures.Add({tenant, contacts_id, dim, bucket.hour}, count);
      figures.Add({tenant, contacts_id, dim, bucket.day}, count);
      figures.Add({tenant, contacts_id, dim, bucket.week}, count);
    }
  }
  for (const auto& [at, counts] : inbound) {
    const auto& [tenant, channel] = at;
    const uint32_t dim = channel < 0 ? none : channel_id(channel);
    const auto all = static_cast<double>(counts.all);
    figures.Set(key(tenant, kContactsInbound, dim), all);
    figures.Set(key(tenant, kRepeatContacts, dim), static_cast<double>(counts.repeats));
    figures.Set(key(tenant, kFirstContactResolution, dim), static_cast<double>(counts.resolved_first) / all);
    if (channel < 0) figures.Set(key(tenant, kRepeatContactShare, none), static_cast<double>(counts.repeats) / all);
  }
  // The most frequent topics per municipality (ties by name).
  std::map<uint32_t, std::vector<std::pair<int64_t, std::string_view>>> topics_by_tenant;
  for (const auto& [at, n] : topic_counts_)
    topics_by_tenant[static_cast<uint32_t>(at >> 32)].push_back({-n, names_.Name(at & 0xffffffffU)});
  for (auto& [tenant, list] : topics_by_tenant) {
    std::sort(list.begin(), list.end());
    for (size_t i = 0; i < list.size() && i < options_.top_topics; ++i)
      figures.Set(key(tenant, kTopicContacts, figures.Id(list[i].second)), static_cast<double>(-list[i].first));
  }

  // ---- Callback requests ----
  Samples first_attempt, completion;
  for (const Callback& cb : callbacks_) {
    if (!InPeriod(cb.requested_ms)) continue;
    const BucketIds::Ids& bucket = buckets.For(cb.requested_ms);
    figures.Add(key(cb.tenant, kCallbacksRequested, none), 1);
    figures.Add(key(cb.tenant, kCallbacksRequested, none, bucket.day), 1);
    figures.Add(key(cb.tenant, kCallbacksRequested, none, bucket.week), 1);
    figures.Add(key(cb.tenant, kCallbacksCompleted, none), cb.completed ? 1 : 0);
    const bool overdue = cb.due_ms != 0 && (cb.open ? cb.due_ms < as_of_ms : cb.closed_ms > cb.due_ms);
    figures.Add(key(cb.tenant, kCallbacksOverdue, none), overdue ? 1 : 0);
    const std::pair<uint32_t, uint32_t> tenant_dim{name_id[cb.tenant], none};
    if (cb.first_attempt_ms != 0)
      first_attempt[tenant_dim].push_back(static_cast<double>(cb.first_attempt_ms - cb.requested_ms));
    if (cb.completed) completion[tenant_dim].push_back(static_cast<double>(cb.closed_ms - cb.requested_ms));
  }
  AddPercentiles(figures, first_attempt, kCallbackFirstAttemptP50, kCallbackFirstAttemptP90, 60'000.0);
  AddPercentiles(figures, completion, kCallbackCompletionP50, kCallbackCompletionP90, 60'000.0);

  // ---- Meldingen ----
  Samples resolution;
  std::map<std::pair<uint32_t, uint32_t>, std::pair<int64_t, int64_t>> on_time;   // (on time, resolved)
  std::map<std::pair<uint32_t, uint32_t>, std::pair<int64_t, int64_t>> reopened;  // (reopened, all)
  std::map<uint32_t, std::pair<int64_t, int64_t>> kto;                            // (sum, n) per tenant
  for (const Melding& m : meldingen_) {
    if (!InPeriod(m.registered_ms)) continue;
    for (const uint32_t dim : {none, name_id[m.category]}) {
      figures.Add(key(m.tenant, kMeldingenRegistered, dim), 1);
      if (dim == none) {
        const BucketIds::Ids& bucket = buckets.For(m.registered_ms);
        figures.Add(key(m.tenant, kMeldingenRegistered, dim, bucket.day), 1);
        figures.Add(key(m.tenant, kMeldingenRegistered, dim, bucket.week), 1);
      }
      figures.Add(key(m.tenant, kMeldingenResolved, dim), m.resolved ? 1 : 0);
      const bool overdue_open = !m.resolved && !m.cancelled && m.due_ms != 0 && m.due_ms < as_of_ms;
      figures.Add(key(m.tenant, kMeldingenOverdueOpen, dim), overdue_open ? 1 : 0);
      const std::pair<uint32_t, uint32_t> tenant_dim{name_id[m.tenant], dim};
      auto& [re, all] = reopened[tenant_dim];
      re += m.reopened ? 1 : 0;
      ++all;
      if (m.resolved) {
        resolution[tenant_dim].push_back(static_cast<double>(m.resolved_ms - m.registered_ms));
        auto& [in_time, resolved] = on_time[tenant_dim];
        in_time += (m.due_ms == 0 || m.resolved_ms <= m.due_ms) ? 1 : 0;
        ++resolved;
      }
    }
    if (m.satisfaction > 0) {
      figures.Add(key(m.tenant, kKtoResponses, none), 1);
      figures.Add(key(m.tenant, kKtoScoreCount, figures.Id(std::to_string(m.satisfaction))), 1);
      kto[m.tenant].first += m.satisfaction;
      ++kto[m.tenant].second;
    }
  }
  AddPercentiles(figures, resolution, kMeldingResolutionP50, kMeldingResolutionP90, 3'600'000.0);
  for (const auto& [at, counts] : on_time)
    figures.Set({at.first, figures.Id(kMeldingOnTimeShare), at.second, none},
                static_cast<double>(counts.first) / static_cast<double>(counts.second));
  for (const auto& [at, counts] : reopened)
    figures.Set({at.first, figures.Id(kMeldingReopenedShare), at.second, none},
                static_cast<double>(counts.first) / static_cast<double>(counts.second));
  for (const auto& [tenant, sum_n] : kto)
    figures.Set(key(tenant, kKtoScoreMean, none), static_cast<double>(sum_n.first) / static_cast<double>(sum_n.second));

  // ---- Notifications ----
  for (const Notification& n : notifications_) {
    if (!InPeriod(n.requested_ms)) continue;
    for (const uint32_t dim : {none, channel_id(n.channel)}) {
      figures.Add(key(n.tenant, kNotificationsRequested, dim), 1);
      figures.Add(key(n.tenant, kNotificationsDelivered, dim), n.delivered ? 1 : 0);
      figures.Add(key(n.tenant, kNotificationsFailed, dim), n.failed ? 1 : 0);
    }
  }

  // ---- Labels ----
  for (const Label& label : labels_)
    if (InPeriod(label.added_ms)) figures.Add(key(label.tenant, kLabelsAdded, name_id[label.label]), 1);

  pb::KpiReport report;
  *report.mutable_from() = TimeUtil::MillisecondsToTimestamp(from_ms_);
  *report.mutable_to() = TimeUtil::MillisecondsToTimestamp(to_ms_);
  report.set_tenant_filter(tenant_);
  *report.mutable_as_of() = TimeUtil::MillisecondsToTimestamp(as_of_ms);
  figures.MoveInto(report);
  return report;
}

}  // namespace ks::kpi
