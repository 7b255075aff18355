#include "ks/kpi/catalog.h"

namespace ks::kpi {

const std::vector<KpiDefinition>& Catalog() {
  using namespace names;
  // Common terms: a contact is an interaction (Open Klant: Klantcontact) other than an internal
  // note; it is in the period when it occurred in it. The citizen of a contact is its party, or,
  // while no party is linked, its counterpart address. Percentiles are nearest-rank: the value at
  // rank ceil(p * n) of the n values sorted.
  static const std::vector<KpiDefinition> catalog = {
      {kContacts, "count", "channel", "period, hour, day, week",
       "contacts in the bucket, per channel (empty dimension: all channels)"},
      {kContactsInbound, "count", "channel", "period",
       "contacts in the period that the citizen started (direction inbound)"},
      {kFirstContactResolution, "share", "channel", "period",
       "of the inbound contacts in the period: those that led to no callback request and were not followed by "
       "another inbound contact of the same citizen within the repeat window (7 days), divided by all of them"},
      {kRepeatContacts, "count", "channel", "period",
       "inbound contacts in the period that came within the repeat window (7 days) after an earlier inbound "
       "contact of the same citizen"},
      {kRepeatContactShare, "share", "", "period", "repeat_contacts / contacts_inbound"},
      {kTopicContacts, "count", "topic", "period",
       "contacts in the period about each topic (Klantcontact.onderwerp), the 20 most frequent, most first; a "
       "sensitive contact's topics (restricted to a specialist team) are not counted"},
      {kCallbacksRequested, "count", "", "period, day, week", "callback requests (terugbelverzoeken) made"},
      {kCallbacksCompleted, "count", "", "period", "of the callback requests made in the period: those completed"},
      {kCallbacksOverdue, "count", "", "period",
       "of the callback requests made in the period: those closed after their due time, or still open past it at "
       "as_of"},
      {kCallbackFirstAttemptP50, "minutes", "", "period",
       "median time from a request (made in the period) to the first attempt to call back, over requests with an "
       "attempt"},
      {kCallbackFirstAttemptP90, "minutes", "", "period", "90th percentile of the same"},
      {kCallbackCompletionP50, "minutes", "", "period",
       "median time from a request (made in the period) to its completion, over completed requests"},
      {kCallbackCompletionP90, "minutes", "", "period", "90th percentile of the same"},
      {kMeldingenRegistered, "count", "category", "period, day, week",
       "meldingen registered, per category (empty dimension: all)"},
      {kMeldingenResolved, "count", "category", "period",
       "of the meldingen registered in the period: those resolved (status resolved) at as_of"},
      {kMeldingResolutionP50, "hours", "category", "period",
       "median time from registration to the last resolution, over the resolved ones"},
      {kMeldingResolutionP90, "hours", "category", "period", "90th percentile of the same"},
      {kMeldingOnTimeShare, "share", "category", "period",
       "of the resolved ones: those resolved at or before their due time (the category's due days at "
       "registration)"},
      {kMeldingenOverdueOpen, "count", "category", "period",
       "of the meldingen registered in the period: those neither resolved nor cancelled whose due time is before "
       "as_of"},
      {kMeldingReopenedShare, "share", "category", "period",
       "of the meldingen registered in the period: those reopened at least once"},
      {kKtoResponses, "count", "", "period",
       "satisfaction (KTO) answers given on meldingen registered in the period"},
      {kKtoScoreMean, "score", "", "period", "mean of those scores (1 very poor .. 5 very good)"},
      {kKtoScoreCount, "count", "score", "period", "answers per score, 1 to 5"},
      {kNotificationsRequested, "count", "channel", "period",
       "notifications to citizens requested in the period, per channel"},
      {kNotificationsDelivered, "count", "channel", "period", "of those: delivered at as_of"},
      {kNotificationsFailed, "count", "channel", "period", "of those: given up after their last attempt failed"},
      {kLabelsAdded, "count", "label", "period",
       "labels put on party profiles in the period (by an employee or a rule) and still on them at as_of, per label"},
  };
  return catalog;
}

}  // namespace ks::kpi
