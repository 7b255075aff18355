// CommandHandler: the command side. Validates a command, loads the aggregate's state, decides,
// appends the events to the log and answers with their positions once they are durable.
//
// - One writer: this handler must be the only one appending to its log (a second instance would
//   decide on stale state). Its state is rebuilt from the whole log when it starts.
// - Per aggregate, commands run one at a time in arrival order (a slot with a waiting queue);
//   commands for different aggregates run concurrently and their appends are batched by the log.
// - Personal data: each event's personal fields are sealed with the key of the person they belong
//   to (libs/privacy) before the append, so the log never holds them in the clear; events read
//   back are opened with the same keys. ErasePartyData destroys the party's keys first, then
//   appends PartyErased; commands that would add personal data for an erased party are refused.
// - Idempotency: a command repeated with the same (tenant, idempotency key) gets the first answer
//   with `deduplicated` set and appends nothing, also after a restart (keys are in the events).
//
// Thread-safety: Execute may be called from any number of threads.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <set>
#include <unordered_map>
#include <vector>

#include <absl/container/node_hash_map.h>

#include "klantstroom/v1/command_service.pb.h"
#include "ks/attachments/attachment_store.h"
#include "ks/domain/aggregate.h"
#include "ks/eventlog/event_log.h"
#include "ks/privacy/key_vault.h"

namespace ks::command {

namespace pb = ::klantstroom::v1;

struct CommandHandlerOptions {
  // Commands that may wait behind a busy aggregate before new ones are refused with
  // RESOURCE_EXHAUSTED. Default: 1000.
  size_t max_waiting_per_aggregate = 1000;
  // Commands accepted but not yet answered, in all; beyond it new ones are refused with
  // RESOURCE_EXHAUSTED, so overload costs bounded memory instead of an unbounded queue.
  // Default: 20000.
  size_t max_in_flight = 20000;
};

class CommandHandler final : public domain::References {
 public:
  using Done = std::function<void(Result<pb::ExecuteReply>)>;

  // Rebuilds the state of every aggregate and the idempotency keys from `log` (read to its end).
  // `log` must outlive the handler. UNAVAILABLE when the log cannot be read.
  // `attachments` (may be null: then no attachment counts as uploaded) and `vault` (the keys of
  // personal data) must outlive the handler.
  static Result<std::unique_ptr<CommandHandler>> Start(eventlog::EventLog& log, privacy::KeyVault& vault,
                                                       const attachments::AttachmentStore* attachments = nullptr,
                                                       CommandHandlerOptions options = {});

  // Waits until no append is under way: an append's callback still uses the handler after it has
  // answered. Commands still waiting behind a busy aggregate are answered UNAVAILABLE (not run,
  // nothing written), so every command is answered before the handler goes. Destroy it before
  // the log, while the log can still confirm what is under way.
  ~CommandHandler();

  using Deadline = std::chrono::system_clock::time_point;

  // Runs `request` and calls `done` exactly once, possibly before returning, possibly later on a
  // log thread. Error codes: see CommandService.Execute in proto/klantstroom/v1/command_service.proto.
  // A command still waiting behind a busy aggregate when `deadline` passes is not run: it is
  // answered DEADLINE_EXCEEDED and writes nothing (its caller has given up on it).
  void Execute(pb::ExecuteRequest request, Done done, Deadline deadline = Deadline::max());

  // Blocking form of Execute.
  Result<pb::ExecuteReply> ExecuteSync(pb::ExecuteRequest request);

  // domain::References, answered from the current state.
  bool PartyExists(std::string_view tenant, std::string_view party_id) const override;
  bool InteractionExists(std::string_view tenant, std::string_view interaction_id) const override;
  bool MeldingExists(std::string_view tenant, std::string_view melding_id) const override;
  std::optional<pb::MeldingCategoryDefined> FindCategory(std::string_view tenant, std::string_view code) const override;
  bool AttachmentStored(std::string_view tenant, const pb::Attachment& attachment) const override;
  std::string AllocateMeldingNumber(std::string_view tenant, int year) override;

  // A copy of an aggregate's state (version 0 when unknown): for decisions about other aggregates,
  // policies and the notification queue, which read state without changing it.
  domain::AggregateState StateOf(const std::string& aggregate_id) const override;
  // Only the aggregate's version (0 when unknown): no copy of its state.
  int64_t VersionOf(const std::string& aggregate_id) const;
  // Notifications of `tenant` on `channel` that may be dispatched at `now_ms` (pending and due, or
  // with an expired lease), at most `max`, in no particular order.
  std::vector<std::string> DueNotifications(std::string_view tenant, pb::Channel channel, int64_t now_ms,
                                            size_t max) const;

  // The keys of personal data (the policy runner opens events with them).
  privacy::KeyVault& vault() const { return vault_; }

  // Events read back when starting (for logs and tests).
  int64_t events_replayed() const { return events_replayed_; }

 private:
  struct Pending {
    pb::ExecuteRequest request;
    Done done;
    Deadline deadline = Deadline::max();
  };
  // There is one for every aggregate ever: its members are ordered so that the two flags share
  // one word (192 bytes, and a map node of 224 where it was 256).
  struct Slot {
    domain::AggregateState state;
    // A list, not a deque: an empty std::deque allocates about 600 bytes, and there is a slot for
    // every aggregate ever (most with nothing waiting).
    std::list<Pending> waiting;
    // An append for this aggregate failed: the log may or may not hold it, so the state is
    // re-read from the log before the next command is decided, from `reload_from` of its
    // partition on (the failed records cannot lie below what had been applied when they were sent).
    int64_t reload_from = 0;
    bool needs_reload = false;
    bool busy = false;
  };
  // A command's fingerprint (CommandHash, 16 bytes) kept inline: as a string it was one more
  // allocation for every command ever (about 48 of the ~780 bytes each costs at start).
  using Fingerprint = std::array<char, 16>;
  static Fingerprint FingerprintOf(std::string_view hash) {
    Fingerprint out{};  // a hash of another length (none, in old logs) matches no 16-byte one
    std::copy_n(hash.data(), std::min(hash.size(), out.size()), out.begin());
    return out;
  }
  struct FirstReply {
    Fingerprint command_hash{};
    // The ExecuteReply's wire form, a part appended per event of the command: parsing
    // concatenated messages merges them (the last aggregate version wins, positions and event ids
    // add up). Kept as bytes, as there is one for every command ever (measured on a 1M-event
    // history with a key per command: 1,038 MiB at start with parsed replies, 836 MiB with bytes).
    std::string reply;
  };

  CommandHandler(eventlog::EventLog& log, privacy::KeyVault& vault, const attachments::AttachmentStore* attachments,
                 CommandHandlerOptions options)
      : log_(log), vault_(vault), attachments_(attachments), options_(options) {}

  // Reads [start, end) of the log into the state, opening sealed personal data; takes mutex_ per
  // record, so that other aggregates' commands go on while it reads. UNAVAILABLE when the log
  // stays silent for `patience`.
  Status ReadIntoState(const std::vector<int64_t>& start, const std::vector<int64_t>& end,
                       std::chrono::milliseconds patience = std::chrono::seconds(30));
  // The key an event's personal data is sealed with; FAILED_PRECONDITION for an erased party.
  Result<privacy::Key> KeyForSealing(std::string_view tenant, const std::string& key_id) const;
  // What must happen in the vault before the events of `request` are appended: destroying the
  // keys of a party being erased, or a party adopting the key of a contact linked to it.
  Status PrepareVault(const pb::ExecuteRequest& request, const std::string& aggregate_id);

  // Re-reads the partition of `aggregate_id` from `from` up to the log's end and applies what this
  // handler has not seen (after a failed append). Called without mutex_, by the command that holds
  // the aggregate's slot: a log that cannot be reached delays only that aggregate, and only briefly.
  Status ReloadPartition(const std::string& aggregate_id, int64_t from);

  // Applies one stored event to the in-memory state (start-up rebuild and after each append).
  // REQUIRES: mutex_ held.
  void ApplyLocked(const pb::EventEnvelope& event, const eventlog::Position& position);
  // The slot functions below are handed the slot of `aggregate_id` itself, found once per command:
  // the caller holds it (busy), so no other thread erases it, and a node of slots_ stays where it
  // is when the map grows. (Finding it again in each step was about a twentieth of the command
  // service's CPU with 400,000 aggregates.)
  //
  // Runs commands for the slot, which the caller has marked busy, until one goes asynchronous
  // (its append is under way) or the waiting queue is empty.
  void Run(const std::string& aggregate_id, Slot& slot, Pending pending);
  // Returns true when `pending` completed synchronously (the slot may take the next one).
  bool Process(const std::string& aggregate_id, Slot& slot, Pending& pending);
  // Releases the slot and runs the next waiting command, if any.
  void ReleaseSlot(const std::string& aggregate_id, Slot& slot);
  // Takes the next waiting command of the slot, or, when none waits, marks the slot free (and
  // drops it when its aggregate never came to exist: `slot` is then gone).
  std::optional<Pending> NextOrRelease(const std::string& aggregate_id, Slot& slot);

  // Calls `look` with the aggregate's state (nullptr when unknown) under the lock, without
  // copying it: the checks of other aggregates a decision makes (a party exists, is not erased)
  // copied a party's whole state, addresses and all, for a yes or no.
  template <typename Look>
  auto PeekState(std::string_view aggregate_id, Look&& look) const {
    std::lock_guard lock(mutex_);
    // (Debian's Abseil has a string_view of its own.)
    auto it = slots_.find(absl::string_view(aggregate_id.data(), aggregate_id.size()));
    return look(it == slots_.end() ? nullptr : &it->second.state);
  }

  eventlog::EventLog& log_;
  privacy::KeyVault& vault_;
  const attachments::AttachmentStore* attachments_;
  const CommandHandlerOptions options_;
  mutable std::mutex mutex_;
  // One entry for every aggregate and every command ever: Abseil's maps find an entry with a
  // probe of a few control bytes and mostly one visit to a node, where std::unordered_map walks a
  // bucket's chain of nodes (those lookups and rehashes were 40% of a start's CPU). Nodes do not
  // move (slots are handed around by reference), and an id given as a string_view is looked up
  // without making a string.
  absl::node_hash_map<std::string, Slot> slots_;
  absl::node_hash_map<std::string, FirstReply> first_replies_;  // by tenant '\0' idempotency key
  std::unordered_map<std::string, int> melding_sequence_;      // by tenant '/' year
  std::set<std::string> open_notifications_;                    // not delivered and not given up
  std::vector<int64_t> applied_end_;  // per partition: the offset after the last record applied
  int64_t events_replayed_ = 0;
  std::atomic<size_t> in_flight_{0};
  std::atomic<size_t> appends_under_way_{0};  // brought to 0 only under mutex_
  bool stopping_ = false;                      // guarded by mutex_: the destructor has begun
  std::condition_variable appends_finished_;
};

}  // namespace ks::command
