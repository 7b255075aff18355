#include "ks/command/command_handler.h"

#include <chrono>
#include <future>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/time_util.h>

#include "ks/core/ids.h"
#include "ks/core/log.h"
#include "ks/domain/validation.h"

namespace ks::command {
namespace {

using google::protobuf::util::TimeUtil;

std::string DedupKey(std::string_view tenant, std::string_view idempotency_key) {
  std::string key(tenant);
  key.push_back('\0');
  key.append(idempotency_key);
  return key;
}

// What makes two commands "the same" for idempotency: the target and the command itself, not the
// meta data (a retry may carry a new correlation id or timestamp).
std::string CommandHash(const pb::ExecuteRequest& request) {
  pb::ExecuteRequest copy = request;
  copy.clear_meta();
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    copy.SerializeToCodedStream(&out);
  }
  return Fingerprint128(bytes);
}

std::string EventTypeName(const pb::EventEnvelope& event) {
  const auto* field = pb::EventEnvelope::descriptor()->FindFieldByNumber(static_cast<int>(event.payload_case()));
  return field != nullptr ? field->message_type()->full_name() : "";
}

}  // namespace

std::string ResolveAggregateId(const pb::ExecuteRequest& request) {
  if (!request.aggregate_id().empty()) return request.aggregate_id();
  if (!request.meta().idempotency_key().empty())
    return StableIdFor(request.meta().tenant() + "/" + std::string(domain::AggregateTypeName(domain::TargetAggregateType(request))),
                       request.meta().idempotency_key());
  return NewTimeOrderedId();
}

Result<std::unique_ptr<CommandHandler>> CommandHandler::Start(eventlog::EventLog& log, CommandHandlerOptions options) {
  std::unique_ptr<CommandHandler> handler(new CommandHandler(log, options));
  auto ends = log.EndOffsets();
  if (!ends) return std::unexpected(ends.error());
  const auto started = std::chrono::steady_clock::now();
  std::lock_guard lock(handler->mutex_);
  Status s = eventlog::ReadUntil(log, std::vector<int64_t>(ends->size(), 0), *ends,
                                 [&](const eventlog::StoredRecord& record) {
                                   pb::EventEnvelope event;
                                   if (!event.ParseFromString(record.value)) {
                                     log::Error("command-service", "event at {}/{} does not parse; skipped",
                                                record.partition, record.offset);
                                     return Status::Ok();
                                   }
                                   handler->ApplyLocked(event, {record.partition, record.offset});
                                   ++handler->events_replayed_;
                                   return Status::Ok();
                                 });
  if (!s.ok()) return std::unexpected(s);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  log::Info("command-service", "state rebuilt from {}: {} events, {} aggregates in {} ms", log.description(),
            handler->events_replayed_, handler->slots_.size(), ms);
  return handler;
}

void CommandHandler::ApplyLocked(const pb::EventEnvelope& event, const eventlog::Position& position) {
  Slot& slot = slots_[event.aggregate_id()];
  if (event.aggregate_version() <= slot.state.version) return;  // already applied (a duplicate)
  if (event.aggregate_version() != slot.state.version + 1) {
    log::Error("command-service", "aggregate {} jumps from version {} to {} at {}/{}; event ignored",
               event.aggregate_id(), slot.state.version, event.aggregate_version(), position.partition,
               position.offset);
    return;
  }
  slot.state = domain::Evolve(std::move(slot.state), event);
  if (!event.idempotency_key().empty()) {
    FirstReply& first = first_replies_[DedupKey(event.tenant(), event.idempotency_key())];
    first.command_hash = event.command_hash();
    first.reply.set_aggregate_id(event.aggregate_id());
    first.reply.set_aggregate_version(event.aggregate_version());
    auto* p = first.reply.add_positions();
    p->set_partition(position.partition);
    p->set_offset(position.offset);
    first.reply.add_event_ids(event.event_id());
  }
}

bool CommandHandler::PartyExists(std::string_view tenant, std::string_view party_id) const {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(std::string(party_id));
  return it != slots_.end() && it->second.state.exists() && it->second.state.tenant == tenant &&
         it->second.state.type == pb::AGGREGATE_TYPE_PARTY;
}

void CommandHandler::Execute(pb::ExecuteRequest request, Done done) {
  if (Status s = domain::ValidateRequest(request); !s.ok()) {
    done(std::unexpected(std::move(s)));
    return;
  }
  const std::string aggregate_id = ResolveAggregateId(request);
  {
    std::lock_guard lock(mutex_);
    Slot& slot = slots_[aggregate_id];
    if (slot.busy) {
      if (slot.waiting.size() >= options_.max_waiting_per_aggregate) {
        done(std::unexpected(Status(StatusCode::kResourceExhausted,
                                    fmt::format("aggregate {} has {} commands waiting; retry later", aggregate_id,
                                                slot.waiting.size()))));
        return;
      }
      slot.waiting.push_back({std::move(request), std::move(done)});
      return;
    }
    slot.busy = true;
  }
  Run(aggregate_id, {std::move(request), std::move(done)});
}

std::optional<CommandHandler::Pending> CommandHandler::NextOrRelease(const std::string& aggregate_id) {
  std::lock_guard lock(mutex_);
  Slot& slot = slots_[aggregate_id];
  if (slot.waiting.empty()) {
    slot.busy = false;
    // A slot for an aggregate that never came to exist (a refused create) is dropped again.
    if (!slot.state.exists()) slots_.erase(aggregate_id);
    return std::nullopt;
  }
  Pending next = std::move(slot.waiting.front());
  slot.waiting.pop_front();
  return next;
}

void CommandHandler::Run(const std::string& aggregate_id, Pending pending) {
  while (Process(aggregate_id, pending)) {
    std::optional<Pending> next = NextOrRelease(aggregate_id);
    if (!next) return;
    pending = std::move(*next);
  }
}

void CommandHandler::ReleaseSlot(const std::string& aggregate_id) {
  if (std::optional<Pending> next = NextOrRelease(aggregate_id)) Run(aggregate_id, std::move(*next));
}

bool CommandHandler::Process(const std::string& aggregate_id, Pending& pending) {
  const pb::ExecuteRequest& request = pending.request;
  const pb::CommandMeta& meta = request.meta();
  const std::string command_hash = CommandHash(request);
  domain::AggregateState state;
  {
    std::lock_guard lock(mutex_);
    if (!meta.idempotency_key().empty()) {
      auto it = first_replies_.find(DedupKey(meta.tenant(), meta.idempotency_key()));
      if (it != first_replies_.end()) {
        if (it->second.command_hash != command_hash) {
          pending.done(std::unexpected(InvalidArgument(
              "meta.idempotency_key: '{}' was already used for a different command in tenant {}",
              meta.idempotency_key(), meta.tenant())));
          return true;
        }
        pb::ExecuteReply reply = it->second.reply;
        reply.set_deduplicated(true);
        pending.done(std::move(reply));
        return true;
      }
    }
    state = slots_[aggregate_id].state;
  }

  const int64_t visible_version = state.exists() && state.tenant == meta.tenant() ? state.version : 0;
  if (meta.has_expected_version() && meta.expected_version() != visible_version) {
    pending.done(std::unexpected(Aborted("meta.expected_version: {} '{}' is at version {}, not {}; reload and retry",
                                         domain::AggregateTypeName(domain::TargetAggregateType(request)),
                                         aggregate_id, visible_version, meta.expected_version())));
    return true;
  }

  auto decided = domain::Decide(state, request, aggregate_id, *this);
  if (!decided) {
    pending.done(std::unexpected(decided.error()));
    return true;
  }
  if (decided->empty()) {
    pb::ExecuteReply reply;
    reply.set_aggregate_id(aggregate_id);
    reply.set_aggregate_version(state.version);
    pending.done(std::move(reply));
    return true;
  }

  // Wrap the payloads in envelopes.
  const auto now = TimeUtil::GetCurrentTime();
  const pb::AggregateType type = domain::TargetAggregateType(request);
  std::vector<pb::EventEnvelope> events = std::move(*decided);
  std::vector<eventlog::Record> records;
  records.reserve(events.size());
  int64_t version = state.version;
  for (pb::EventEnvelope& event : events) {
    event.set_event_id(NewTimeOrderedId());
    event.set_event_type(EventTypeName(event));
    event.set_aggregate_type(type);
    event.set_aggregate_id(aggregate_id);
    event.set_aggregate_version(++version);
    event.set_tenant(meta.tenant());
    *event.mutable_actor() = meta.actor();
    event.set_channel(meta.channel());
    *event.mutable_occurred_at() = meta.has_occurred_at() ? meta.occurred_at() : now;
    *event.mutable_recorded_at() = now;
    event.set_correlation_id(meta.correlation_id().empty() ? events.front().event_id() : meta.correlation_id());
    event.set_idempotency_key(meta.idempotency_key());
    event.set_schema_version(1);
    event.set_command_hash(command_hash);
    records.push_back({aggregate_id, event.SerializeAsString(), TimeUtil::TimestampToMilliseconds(now)});
  }

  log_.AppendAsync(std::move(records), [this, aggregate_id, events = std::move(events),
                                        done = std::move(pending.done)](Result<std::vector<eventlog::Position>> written) {
    if (!written) {
      log::Warn("command-service", "append for {} failed: {}", aggregate_id, written.error().ToString());
      done(std::unexpected(Unavailable("the event log did not confirm the append ({}); retry with the same "
                                       "idempotency key",
                                       written.error().message())));
      ReleaseSlot(aggregate_id);
      return;
    }
    pb::ExecuteReply reply;
    reply.set_aggregate_id(aggregate_id);
    {
      std::lock_guard lock(mutex_);
      for (size_t i = 0; i < events.size(); ++i) ApplyLocked(events[i], (*written)[i]);
      reply.set_aggregate_version(events.back().aggregate_version());
    }
    for (size_t i = 0; i < events.size(); ++i) {
      auto* p = reply.add_positions();
      p->set_partition((*written)[i].partition);
      p->set_offset((*written)[i].offset);
      reply.add_event_ids(events[i].event_id());
    }
    done(std::move(reply));
    ReleaseSlot(aggregate_id);
  });
  return false;
}

Result<pb::ExecuteReply> CommandHandler::ExecuteSync(pb::ExecuteRequest request) {
  std::promise<Result<pb::ExecuteReply>> promise;
  auto future = promise.get_future();
  Execute(std::move(request), [&promise](Result<pb::ExecuteReply> r) { promise.set_value(std::move(r)); });
  return future.get();
}

}  // namespace ks::command
