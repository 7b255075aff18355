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
// Evolve for melding, category, employee and notification events.
void EvolveMeldingFamily(AggregateState& state, const pb::EventEnvelope& event);
// Evolve for conversation and appointment events.
void EvolveEngagement(AggregateState& state, const pb::EventEnvelope& event);

}  // namespace ks::domain
