// The KPIs: every figure the replay tool and the live dashboard report is named and defined here,
// once, with its unit and formula; libs/kpi/README.md lists the same table for analysts.
#pragma once

#include <string_view>
#include <vector>

namespace ks::kpi {

struct KpiDefinition {
  std::string_view name;
  // "count", "share" (0..1), "minutes", "hours", "score".
  std::string_view unit;
  // What the dimension holds, or empty when the KPI has none.
  std::string_view dimension;
  // Which buckets it is given for: "period", or "period, hour, day, week".
  std::string_view buckets;
  std::string_view formula;
};

// Every KPI, in report order.
const std::vector<KpiDefinition>& Catalog();

// The names, for code that computes or reads them.
namespace names {
inline constexpr std::string_view kContacts = "contacts";
inline constexpr std::string_view kContactsInbound = "contacts_inbound";
inline constexpr std::string_view kFirstContactResolution = "first_contact_resolution_share";
inline constexpr std::string_view kRepeatContacts = "repeat_contacts";
inline constexpr std::string_view kRepeatContactShare = "repeat_contact_share";
inline constexpr std::string_view kTopicContacts = "topic_contacts";
inline constexpr std::string_view kCallbacksRequested = "callbacks_requested";
inline constexpr std::string_view kCallbacksCompleted = "callbacks_completed";
inline constexpr std::string_view kCallbacksOverdue = "callbacks_overdue";
inline constexpr std::string_view kCallbackFirstAttemptP50 = "callback_first_attempt_p50_minutes";
inline constexpr std::string_view kCallbackFirstAttemptP90 = "callback_first_attempt_p90_minutes";
inline constexpr std::string_view kCallbackCompletionP50 = "callback_completion_p50_minutes";
inline constexpr std::string_view kCallbackCompletionP90 = "callback_completion_p90_minutes";
inline constexpr std::string_view kMeldingenRegistered = "meldingen_registered";
inline constexpr std::string_view kMeldingenResolved = "meldingen_resolved";
inline constexpr std::string_view kMeldingResolutionP50 = "melding_resolution_p50_hours";
inline constexpr std::string_view kMeldingResolutionP90 = "melding_resolution_p90_hours";
inline constexpr std::string_view kMeldingOnTimeShare = "meldingen_resolved_on_time_share";
inline constexpr std::string_view kMeldingenOverdueOpen = "meldingen_overdue_open";
inline constexpr std::string_view kMeldingReopenedShare = "meldingen_reopened_share";
inline constexpr std::string_view kKtoResponses = "kto_responses";
inline constexpr std::string_view kKtoScoreMean = "kto_score_mean";
inline constexpr std::string_view kKtoScoreCount = "kto_score_count";
inline constexpr std::string_view kNotificationsRequested = "notifications_requested";
inline constexpr std::string_view kNotificationsDelivered = "notifications_delivered";
inline constexpr std::string_view kNotificationsFailed = "notifications_failed";
inline constexpr std::string_view kLabelsAdded = "labels_added";
}  // namespace names

}  // namespace ks::kpi
