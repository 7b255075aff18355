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
#include <string>
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
  struct Contact {
    std::string tenant;
    int64_t at_ms;
    int channel;
    bool inbound;
    std::string citizen;  // party id or "kind:address"; empty when unknown
    std::string interaction_id;
    std::vector<std::string> topics;
  };
  struct Callback {
    std::string tenant;
    int64_t requested_ms, first_attempt_ms, closed_ms, due_ms;  // 0 when not (yet) so
    bool completed;
    bool open;
  };
  struct Melding {
    std::string tenant;
    std::string category;
    int64_t registered_ms, resolved_ms, due_ms;
    bool resolved, cancelled, reopened;
    int satisfaction;  // 0 when none
  };
  struct Notification {
    std::string tenant;
    int64_t requested_ms;
    int channel;
    bool delivered, failed;
  };

  bool Selected(const std::string& tenant, int64_t at_ms) const;

  const int64_t from_ms_;
  const int64_t to_ms_;
  const std::string tenant_;
  const KpiOptions options_;
  std::vector<Contact> contacts_;
  std::vector<Callback> callbacks_;
  // "tenant\0interaction id" of every interaction a callback request came from.
  std::vector<std::string> callback_origins_;
  std::vector<Melding> meldingen_;
  std::vector<Notification> notifications_;
  struct Label {
    std::string tenant, label;
    int64_t added_ms;
  };
  std::vector<Label> labels_;
};

// The dimension label of a channel: "whatsapp", "phone" (the enum name, lower case, no prefix).
std::string ChannelLabel(int channel);

}  // namespace ks::kpi
