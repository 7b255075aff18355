#include "ks/command/policy_runner.h"

#include "ks/core/log.h"

namespace ks::command {

PolicyRunner::PolicyRunner(CommandHandler& handler, eventlog::EventLog& log)
    : handler_(handler), log_(log), thread_([this] { Loop(); }) {}

PolicyRunner::~PolicyRunner() {
  stopping_.store(true);
  thread_.join();
}

void PolicyRunner::Loop() {
  std::unique_ptr<eventlog::LogReader> reader;
  while (!stopping_.load()) {
    if (!reader) {
      auto opened = log_.OpenReader(std::vector<int64_t>(static_cast<size_t>(log_.partition_count()), 0));
      if (!opened) {
        log::Warn("policy", "cannot read the log ({}); retrying", opened.error().ToString());
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      reader = std::move(*opened);
    }
    auto records = reader->Poll(500, std::chrono::milliseconds(100));
    if (!records) {
      // Start over from the beginning: every reaction is idempotent.
      log::Warn("policy", "reading the log failed ({}); starting over", records.error().ToString());
      reader.reset();
      continue;
    }
    for (const eventlog::StoredRecord& record : *records) {
      pb::EventEnvelope event;
      if (!event.ParseFromString(record.value)) continue;  // the projector parks and reports these
      ++events_seen_;
      // The event may be read back before the handler has applied it (its append callback runs on
      // another thread): wait briefly so that the policy sees the state the event produced.
      for (int i = 0; i < 200 && handler_.StateOf(event.aggregate_id()).version < event.aggregate_version(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      for (pb::ExecuteRequest& command : domain::ReactTo(event, *this)) {
        const std::string key = command.meta().idempotency_key();
        auto result = handler_.ExecuteSync(std::move(command));
        if (!result && result.error().code() != StatusCode::kFailedPrecondition)
          log::Warn("policy", "{} (reacting to {} at {}/{}): {}", key, event.event_type(), record.partition,
                    record.offset, result.error().ToString());
      }
    }
  }
}

}  // namespace ks::command
