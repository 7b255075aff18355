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

#include <deque>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
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
// Whether ReactTo looks at `event` at all (its payload is of a kind the policies above react to);
// ReactTo returns nothing for any other. Only these events need their personal data opened (the
// address a notification goes to): the rules below read ids, directions and times, never a
// personal field, so the PolicyRunner looks at every other event as sealed as the log holds it.
bool ReactsTo(const pb::EventEnvelope& event);

// The automatic label "frequent-contact" (seed 003: labels on profiles for the KPIs): a party that
// starts kFrequentContacts contacts within kFrequentContactDays gets it. Unlike the policies above
// it has a memory (the recent contacts of each party), filled from the events in log order; the
// PolicyRunner feeds it every event from the start of the log, so after a restart it knows what
// it knew. The label is added once per party (its command's idempotency key is the party), at the
// time of the contact that completed the count (of the first such window that the log, read in
// its order, completed). A party that carries the label already is left alone: the pass after a
// restart reads the partitions interleaved otherwise and may find another window first, and its
// command, at another time under the same idempotency key, would be refused as a different one.
inline constexpr int kFrequentContacts = 5;
inline constexpr int kFrequentContactDays = 30;
inline constexpr const char* kFrequentContactLabel = "frequent-contact";

// Erasing a party erases the duplicates merged into it (their keys went with its; this clears what
// the read models still index of them). Remembers the merges seen, in log order, like the rule
// below; the erasure of a duplicate merged after its target was erased follows at once.
class MergedErasureRule {
 public:
  // The ErasePartyData commands `event` calls for.
  std::vector<pb::ExecuteRequest> Observe(const pb::EventEnvelope& event);

 private:
  std::unordered_map<std::string, std::vector<std::string>> merged_into_;  // tenant/target -> duplicates
  std::set<std::string> erased_;                                           // tenant/party
};

// The turns of a conversation follow it to its party (seed 002: the chatbot identifies Thijs by
// camera after the first turns): when a conversation is linked to a party, its turns registered
// without one are linked too, and a turn registered without one after the link (read in another
// partition's order) as well. Remembers, in log order, the unlinked turns of each conversation and
// the party of each linked one (at most kMaxRemembered conversations of each; the oldest go first).
class ConversationTurnsRule {
 public:
  static constexpr size_t kMaxRemembered = 100'000;
  // The LinkInteractionToParty commands `event` calls for.
  std::vector<pb::ExecuteRequest> Observe(const pb::EventEnvelope& event);

 private:
  void Remember(const std::string& conversation, const std::string& party);
  struct Unlinked {
    std::vector<std::string> turns;
    uint64_t generation = 0;  // which entry of unlinked_order_ is this one's (older ones are stale)
  };
  std::unordered_map<std::string, Unlinked> unlinked_turns_;  // tenant/conversation -> turns
  std::deque<std::pair<std::string, uint64_t>> unlinked_order_;
  uint64_t next_generation_ = 0;
  std::unordered_map<std::string, std::string> party_of_;  // tenant/conversation -> party
  std::deque<std::string> party_order_;
};

class FrequentContactRule {
 public:
  // The AddPartyLabel command to issue when `event` (an inbound contact of a known party) makes
  // its party frequent and `lookup` says the party does not carry the label yet; std::nullopt
  // otherwise.
  std::optional<pb::ExecuteRequest> Observe(const pb::EventEnvelope& event, const StateLookup& lookup);

 private:
  // Per tenant/party not labelled yet: the times (ms) of its latest contacts (at most
  // 8 x kFrequentContacts), oldest first.
  std::unordered_map<std::string, std::deque<int64_t>> recent_;
  std::set<std::string> labelled_;
};

// The channel that reaches an address of `kind` (PHONE -> SMS); CHANNEL_UNSPECIFIED for none.
pb::Channel ChannelFor(pb::DigitalAddressKind kind);

// Where a message to a known party goes on `wanted`: its safe alternative address of that kind
// (seed 003: the ex must not read along), else its preferred one of the kind, else any of the
// kind. With `wanted` unspecified: a safe address (on the preferred channel if it can be), else
// the preferred channel's address. std::nullopt when the party has none.
std::optional<pb::NotificationTarget> PartyRecipient(const std::string& party_id, const PartyState& party,
                                                     pb::Channel wanted);

// One reminder of an appointment as the policy requests it. The appointment remembers the ids of
// the reminders its latest time called for, so that a later change cancels those not yet sent.
struct PlannedReminder {
  std::string idempotency_key;
  std::string notification_id;
  int64_t send_at_ms = 0;
  int32_t minutes_before = 0;
};
// The reminders `event` (AppointmentScheduled, AppointmentRescheduled or AppointmentRemindersSet)
// calls for: one per offset whose time is still ahead of the event; none without a target.
std::vector<PlannedReminder> PlannedReminders(const pb::EventEnvelope& event);

// Whom to notify about a melding, and how: a safe alternative address of the reporter when there
// is one (on the preferred channel if it can be); else the reporter's preferred channel when the
// reporter is a known party with an address for it; otherwise the address and channel it came in
// with.
std::optional<pb::NotificationTarget> RecipientFor(const MeldingState& melding, const AggregateState& reporter);

// "di 17 nov 15:00-17:00" in Dutch local time (Europe/Amsterdam, with summer time).
std::string FormatWindowNl(const pb::TimeWindow& window);

}  // namespace ks::domain
