// KpiCalculator: computes the KPIs of the catalog (catalog.h) for a period from read-model
// records, the ones the projector's folds produce. The analysts' replay feeds it records folded in
// memory from the log; the query service's live KPIs feed it records read from RocksDB. Either
// way the figures come from one piece of code.
//
// Add every record that may matter (for repeat contacts, also the interactions in the repeat
// window before the period; for first-contact resolution, also callback requests after it), in
// any order; Report() then selects by tenant and period.
//
// Thread-safety: one thread at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "klantstroom/v1/kpi.pb.h"
#include "klantstroom/v1/read_models.pb.h"

namespace ks::kpi {

namespace pb = ::klantstroom::v1;

struct KpiOptions {
  // Two inbound contacts of one citizen this close together make the second a repeat contact.
  int64_t repeat_window_ms = 7LL * 24 * 3600 * 1000;
  // How many topics topic_contacts lists per municipality.
  size_t top_topics = 20;
  // Whether the per-hour contact buckets are given (hundreds of rows a week per channel).
  bool hourly = true;
};

// Strings numbered as they come (0, 1, ...), each kept once: what the calculator stores and counts
// by instead of the strings themselves.
class NameIds {
 public:
  uint32_t Id(std::string_view name);
  const std::string& Name(uint32_t id) const { return names_[id]; }
  size_t size() const { return names_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  std::deque<std::string> names_;  // a deque: the views that key ids_ never move
  std::unordered_map<std::string_view, uint32_t, Hash, std::equal_to<>> ids_;
};

class KpiCalculator {
 public:
  // The period is [from_ms, to_ms) in Unix milliseconds; an empty `tenant` means every one.
  KpiCalculator(int64_t from_ms, int64_t to_ms, std::string tenant, KpiOptions options = {});

  void Add(const pb::InteractionRecord& record);
  void Add(const pb::CallbackRecord& record);
  void Add(const pb::MeldingRecord& record);
  void Add(const pb::NotificationRecord& record);
  void Add(const pb::PartyProfile& record);

  // Takes over what `other` (same period, tenant and options) was given, so that threads can each
  // feed a calculator of their own and merge them before Report().
  void Merge(KpiCalculator&& other);

  // The figures, judged at `as_of_ms` (what is open and past due then is overdue).
  pb::KpiReport Report(int64_t as_of_ms) const;

 private:
  // A contact as the KPIs need it. The citizen and the interaction are kept as 64-bit digests of
  // (municipality, id): they are only compared, and a digest is 8 bytes where the ids are heap
  // strings of 30 and more. Two of a million citizens sharing a digest is a chance of about 1 in
  // 37 million (n^2 / 2^65), and it would merge their contacts for repeat contacts.
  struct Contact {
    int64_t at_ms;
    uint64_t citizen;      // when has_citizen: party id, or the counterpart's digest or address
    uint64_t interaction;  // what a callback request's origin is compared with
    uint32_t tenant;       // in names_
    int32_t channel;
    bool inbound;
    bool has_citizen;
  };
  struct Callback {
    uint32_t tenant;
    int64_t requested_ms, first_attempt_ms, closed_ms, due_ms;  // 0 when not (yet) so
    bool completed;
    bool open;
  };
  struct Melding {
    uint32_t tenant, category;
    int64_t registered_ms, resolved_ms, due_ms;
    bool resolved, cancelled, reopened;
    int satisfaction;  // 0 when none
  };
  struct Notification {
    uint32_t tenant;
    int64_t requested_ms;
    int channel;
    bool delivered, failed;
  };
  struct Label {
    uint32_t tenant, label;
    int64_t added_ms;
  };

  bool InPeriod(int64_t at_ms) const { return at_ms >= from_ms_ && at_ms < to_ms_; }
  // False for a record of another municipality than the one asked for.
  bool Wanted(const std::string& tenant) const { return tenant_.empty() || tenant == tenant_; }
  uint64_t Digest(std::string_view tenant, std::string_view id);

  const int64_t from_ms_;
  const int64_t to_ms_;
  const std::string tenant_;
  const KpiOptions options_;
  // Its strings (municipalities, categories, topics, labels), each kept once and known by its
  // number: millions of contacts share a few municipalities, and numbers are what Report()
  // compares and counts by.
  NameIds names_;
  std::string scratch_;  // Digest's buffer, reused
  std::vector<Contact> contacts_;
  // Contacts in the period per (municipality, topic): counted as they are added.
  std::unordered_map<uint64_t, int64_t> topic_counts_;
  std::vector<Callback> callbacks_;
  // Digests of (municipality, interaction id) of every interaction a callback request came from.
  std::vector<uint64_t> callback_origins_;
  std::vector<Melding> meldingen_;
  std::vector<Notification> notifications_;
  std::vector<Label> labels_;
};

// The part of a record the calculator reads, moved out of `record`, together with what the
// projector's folds read back when they fold the aggregate's next event (the version, the
// status, counts, a party's labels): folding on from the kept part gives the figures the whole
// record would. For callers that hold a record per aggregate for long, as the replay does: the
// texts, sealed personal data, attachments and histories are most of a record's size.
pb::InteractionRecord KeptForKpis(pb::InteractionRecord&& record);
pb::CallbackRecord KeptForKpis(pb::CallbackRecord&& record);
pb::MeldingRecord KeptForKpis(pb::MeldingRecord&& record);
pb::NotificationRecord KeptForKpis(pb::NotificationRecord&& record);
pb::PartyProfile KeptForKpis(pb::PartyProfile&& record);

// The dimension label of a channel: "whatsapp", "phone" (the enum name, lower case, no prefix).
std::string ChannelLabel(int channel);

}  // namespace ks::kpi
