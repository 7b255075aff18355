// PolicyRunner: feeds every event of the log, from the start, to the pure policies
// (ks/domain/policy.h) and executes the commands they return through the CommandHandler. Each such
// command carries an idempotency key derived from its cause, and everything it depends on was
// decided into the event, so reading the log again after a restart issues nothing new: one
// notification request per status change. (Delivery is at-least-once towards the adapter, which
// uses the notification id as its provider's idempotency key.)
//
// Thread-safety: runs on its own thread from construction until destruction.
#pragma once

#include <atomic>
#include <thread>

#include "ks/command/command_handler.h"
#include "ks/domain/policy.h"

namespace ks::command {

class PolicyRunner final : public domain::StateLookup {
 public:
  // `handler` and `log` must outlive the runner.
  PolicyRunner(CommandHandler& handler, eventlog::EventLog& log);
  ~PolicyRunner() override;

  domain::AggregateState StateOf(const std::string& aggregate_id) const override { return handler_.StateOf(aggregate_id); }

  // Events looked at, and reacted to, so far (for tests and logs): once it equals the log's size,
  // every reaction to what the log holds has been carried out.
  int64_t events_seen() const { return events_seen_.load(); }

 private:
  void Loop();

  CommandHandler& handler_;
  eventlog::EventLog& log_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> events_seen_{0};
  // Remembers recent contacts per party; starts empty with each pass over the log.
  domain::FrequentContactRule frequent_contacts_;
  domain::MergedErasureRule merged_erasures_;
  domain::ConversationTurnsRule conversation_turns_;
  std::thread thread_;
};

}  // namespace ks::command
