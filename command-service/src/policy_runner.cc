#include "ks/command/policy_runner.h"

#include <algorithm>

#include "ks/core/log.h"
#include "ks/domain/event_codec.h"
#include "ks/privacy/sealing.h"

namespace ks::command {

PolicyRunner::PolicyRunner(CommandHandler& handler, eventlog::EventLog& log)
    : handler_(handler), log_(log), thread_([this] { Loop(); }) {}

PolicyRunner::~PolicyRunner() {
  stopping_.store(true);
  thread_.join();
}

void PolicyRunner::Loop() {
  std::unique_ptr<eventlog::LogReader> reader;
  // A pass from the start reacts to new events only once it has read what the log held when it
  // began (after a restart, a new melding's acknowledgement waits for that), so the time it
  // takes is told: it grows with the history.
  auto pass_started = std::chrono::steady_clock::now();
  std::vector<int64_t> ends_at_start;  // empty once reached
  int64_t pass_events = 0;
  while (!stopping_.load()) {
    if (!reader) {
      auto opened = log_.OpenReader(std::vector<int64_t>(static_cast<size_t>(log_.partition_count()), 0));
      if (!opened) {
        log::Warn("policy", "cannot read the log ({}); retrying", opened.error().ToString());
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      reader = std::move(*opened);
      frequent_contacts_ = domain::FrequentContactRule();  // a pass from the start fills them anew
      merged_erasures_ = domain::MergedErasureRule();
      conversation_turns_ = domain::ConversationTurnsRule();
      pass_started = std::chrono::steady_clock::now();
      pass_events = 0;
      auto ends = log_.EndOffsets();
      ends_at_start = ends ? *ends : std::vector<int64_t>();
    }
    auto records = reader->Poll(500, std::chrono::milliseconds(100));
    if (!records) {
      // Start over from the beginning: every reaction is idempotent.
      log::Warn("policy", "reading the log failed ({}); starting over", records.error().ToString());
      reader.reset();
      continue;
    }
    privacy::KeyRing keys(&handler_.vault());
    for (const eventlog::StoredRecord& record : *records) {
      auto decoded = domain::DecodeEvent(record.value);
      if (!decoded) continue;  // the projector parks and reports these
      // Reactions may need the personal data (the address a notification goes to); only the
      // events ReactTo looks at are opened. Every other one is looked at sealed: no key read
      // from the vault and no decryption for the many events no policy reacts to (opening them
      // was 8% of the command service's CPU in the batched ingest benchmark), and less personal
      // data in the clear.
      if (decoded->has_personal_data() && domain::ReactsTo(*decoded))
        if (auto opened = privacy::OpenEvent(*decoded, keys); !opened) {
          log::Error("policy", "event at {}/{}: {}", record.partition, record.offset, opened.error().ToString());
          continue;
        }
      if (decoded->has_party_erased()) keys = privacy::KeyRing(&handler_.vault());
      const pb::EventEnvelope& event = *decoded;
      // The event may be read back before the handler has applied it (its append callback runs on
      // another thread): wait briefly so that ReactTo sees the state the event produced. Only the
      // events it reacts to need that (the rules below read the event alone, and the commands
      // they send queue behind the aggregate's append): asking for every event took the handler's
      // lock once per event, 2% of the command service's CPU in the batched ingest benchmark.
      if (domain::ReactsTo(event))
        for (int i = 0; i < 200 && handler_.VersionOf(event.aggregate_id()) < event.aggregate_version(); ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
      std::vector<pb::ExecuteRequest> reactions = domain::ReactTo(event, *this);
      if (auto label = frequent_contacts_.Observe(event, *this)) reactions.push_back(std::move(*label));
      for (pb::ExecuteRequest& erase : merged_erasures_.Observe(event)) reactions.push_back(std::move(erase));
      for (pb::ExecuteRequest& link : conversation_turns_.Observe(event)) reactions.push_back(std::move(link));
      for (const pb::ExecuteRequest& command : reactions) {
        // A reaction that fails for a passing reason (the log unavailable, a busy aggregate) is
        // retried until it goes through: skipping it would lose a notification for good.
        for (int attempt = 0; !stopping_.load(); ++attempt) {
          auto result = handler_.ExecuteSync(command);
          if (result) break;
          const StatusCode code = result.error().code();
          if (code != StatusCode::kUnavailable && code != StatusCode::kResourceExhausted) {
            // The state rules say no (a child melding already closed by hand): nothing to retry.
            log::Info("policy", "{} (reacting to {} at {}/{}) not carried out: {}", command.meta().idempotency_key(),
                      event.event_type(), record.partition, record.offset, result.error().ToString());
            break;
          }
          if (attempt % 10 == 0)
            log::Warn("policy", "{}: {}; retrying", command.meta().idempotency_key(), result.error().ToString());
          std::this_thread::sleep_for(std::chrono::milliseconds(std::min(100 * (attempt + 1), 2000)));
        }
      }
      ++events_seen_;  // looked at and reacted to
    }
    if (!ends_at_start.empty()) {
      for (const eventlog::StoredRecord& record : *records) {
        if (static_cast<size_t>(record.partition) >= ends_at_start.size()) continue;
        int64_t& end = ends_at_start[static_cast<size_t>(record.partition)];
        if (record.offset >= end) continue;  // appended since the start (or its partition reached)
        ++pass_events;
        if (record.offset + 1 >= end) end = 0;
      }
      if (std::all_of(ends_at_start.begin(), ends_at_start.end(), [](int64_t end) { return end == 0; })) {
        ends_at_start.clear();
        log::Info("policy", "looked at the log's {} events, up to where it stood at the start, in {} ms", pass_events,
                  std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                        pass_started)
                      .count());
      }
    }
  }
}

}  // namespace ks::command
