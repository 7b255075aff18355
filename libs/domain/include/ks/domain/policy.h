// Policies: what the system does by itself when something happens. Pure: an event and a view of
// the current state in, the commands to issue out. The command service's PolicyRunner feeds it
// every event of the log and executes what it returns; each command carries an idempotency key
// derived from the event, so a restart or a replay never issues the same reaction twice.
//
// - A melding registered: an acknowledgement with its number to the reporter.
// - A melding status change marked for the citizen: a notification on the reporter's preferred
//   channel (or the one the melding came in on), with its public message and photos.
// - A parent melding resolved: its children that were open then are resolved too.
// - A link between meldingen: the reverse link on the other melding, so both show it.
//
// Every decision that depends on other state (whom to tell and how, which children to close) is
// made by Decide and written into the event; the policies read only the event (and a melding's
// number, which never changes), so a replay issues exactly the commands the first pass did.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <vector>

#include "ks/domain/aggregate.h"

namespace ks::domain {

class StateLookup {
 public:
  virtual ~StateLookup() = default;
  // The aggregate's current state (version 0 when unknown).
  virtual AggregateState StateOf(const std::string& aggregate_id) const = 0;
};

std::vector<pb::ExecuteRequest> ReactTo(const pb::EventEnvelope& event, const StateLookup& lookup);

// Whom to notify about a melding, and how: the reporter's preferred channel when the reporter is
// a known party with an address for it; otherwise the address and channel it came in with.
std::optional<pb::NotificationTarget> RecipientFor(const MeldingState& melding, const AggregateState& reporter);

// "di 17 nov 15:00-17:00" in Dutch local time (Europe/Amsterdam, with summer time).
std::string FormatWindowNl(const pb::TimeWindow& window);

}  // namespace ks::domain
