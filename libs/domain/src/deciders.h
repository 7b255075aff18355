// Per-aggregate-family deciders and evolvers behind Decide and Evolve (aggregate.h).
#pragma once

#include "ks/domain/aggregate.h"

namespace ks::domain {

Result<std::vector<pb::EventEnvelope>> DecideMelding(const AggregateState& state, const pb::ExecuteRequest& r,
                                                     References& refs);
Result<std::vector<pb::EventEnvelope>> DecideCategory(const AggregateState& state, const pb::ExecuteRequest& r);
Result<std::vector<pb::EventEnvelope>> DecideEmployee(const AggregateState& state, const pb::ExecuteRequest& r);
Result<std::vector<pb::EventEnvelope>> DecideNotification(const AggregateState& state, const pb::ExecuteRequest& r,
                                                          const References& refs);
Result<std::vector<pb::EventEnvelope>> DecideConversation(const AggregateState& state, const pb::ExecuteRequest& r,
                                                          const References& refs);
Result<std::vector<pb::EventEnvelope>> DecideAppointment(const AggregateState& state, const pb::ExecuteRequest& r,
                                                         const References& refs);
// Called by each case of Evolve that keeps a personal field of its event: stops the process if
// the event is still sealed (its fields empty), rather than leave the state without an address.
// Written case by case, apart from EvolveReadsPersonalData, so that a kind put on that list by
// mistake stops the first start that applies one, instead of passing silently.
inline void RequireOpened(const pb::EventEnvelope& event) {
  KS_CHECK(!event.has_personal_data() && "Evolve keeps a personal field of this event: open it first");
}

// Evolve for melding, category, employee and notification events.
void EvolveMeldingFamily(AggregateState& state, const pb::EventEnvelope& event);
// Evolve for conversation and appointment events.
void EvolveEngagement(AggregateState& state, const pb::EventEnvelope& event);

}  // namespace ks::domain
