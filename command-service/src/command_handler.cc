#include "ks/command/command_handler.h"

#include <chrono>
#include <future>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/time_util.h>

#include "ks/core/ids.h"
#include "ks/core/log.h"
#include "ks/domain/event_codec.h"
#include "ks/domain/validation.h"
#include "ks/privacy/sealing.h"

namespace ks::command {
namespace {

// How long a re-read after a failed append waits for a silent log before the command is answered
// UNAVAILABLE: long enough for a leader moving, short enough that a client hears of an outage.
constexpr std::chrono::milliseconds kReloadPatience{5000};

using google::protobuf::util::TimeUtil;

std::string DedupKey(std::string_view tenant, std::string_view idempotency_key) {
  std::string key(tenant);
  key.push_back('\0');
  key.append(idempotency_key);
  return key;
}

// What makes two commands "the same" for idempotency: the target and the command itself, not the
// meta data (a retry may carry a new correlation id or timestamp). The meta is lent out while the
// rest is serialised, and put back: the same bytes as a copy without it, without copying the
// command, texts and all, for every one.
std::string CommandHash(pb::ExecuteRequest& request) {
  std::unique_ptr<pb::CommandMeta> meta(request.has_meta() ? request.release_meta() : nullptr);
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    request.SerializeToCodedStream(&out);
  }
  if (meta) request.set_allocated_meta(meta.release());
  return Fingerprint128(bytes);
}

}  // namespace

Result<std::unique_ptr<CommandHandler>> CommandHandler::Start(eventlog::EventLog& log, privacy::KeyVault& vault,
                                                              const attachments::AttachmentStore* attachments,
                                                              CommandHandlerOptions options) {
  std::unique_ptr<CommandHandler> handler(new CommandHandler(log, vault, attachments, options));
  auto ends = log.EndOffsets();
  if (!ends) return std::unexpected(ends.error());
  const auto started = std::chrono::steady_clock::now();
  handler->applied_end_.assign(ends->size(), 0);
  // About an aggregate and a command per event: room made once, not by rehashing as they come.
  int64_t events = 0;
  for (int64_t end : *ends) events += end;
  handler->slots_.reserve(static_cast<size_t>(events));
  handler->first_replies_.reserve(static_cast<size_t>(events));
  if (Status s = handler->ReadIntoState(std::vector<int64_t>(ends->size(), 0), *ends); !s.ok())
    return std::unexpected(s);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  log::Info("command-service", "state rebuilt from {}: {} events, {} aggregates in {} ms", log.description(),
            handler->events_replayed_, handler->slots_.size(), ms);
  return handler;
}

Status CommandHandler::ReadIntoState(const std::vector<int64_t>& start, const std::vector<int64_t>& end,
                                     std::chrono::milliseconds patience) {
  privacy::KeyRing keys(&vault_);
  auto visit = [&](const eventlog::StoredRecord& record) {
    auto event = domain::DecodeEvent(record.value);
    // Only what the state keeps is opened (most of a log is contacts, applied sealed).
    if (event && domain::EvolveReadsPersonalData(*event)) {
      if (auto opened = privacy::OpenEvent(*event, keys); !opened) event = std::unexpected(opened.error());
    }
    if (!event) {
      // The projector parks it as a dead letter; here it has no state.
      log::Error("command-service", "event at {}/{} not applied: {}", record.partition, record.offset,
                 event.error().ToString());
      return Status::Ok();
    }
    if (event->has_party_erased()) keys = privacy::KeyRing(&vault_);  // forget what the erasure destroyed
    std::lock_guard lock(mutex_);
    ApplyLocked(*event, {record.partition, record.offset});
    ++events_replayed_;
    return Status::Ok();
  };
  return eventlog::ReadUntil(log_, start, end, visit, patience);
}

void CommandHandler::ApplyLocked(const pb::EventEnvelope& event, const eventlog::Position& position) {
  if (static_cast<size_t>(position.partition) < applied_end_.size()) {
    int64_t& end = applied_end_[static_cast<size_t>(position.partition)];
    end = std::max(end, position.offset + 1);
  }
  Slot& slot = slots_[event.aggregate_id()];
  if (event.aggregate_version() <= slot.state.version) return;  // already applied (a duplicate)
  if (event.aggregate_version() != slot.state.version + 1) {
    log::Error("command-service", "aggregate {} jumps from version {} to {} at {}/{}; event ignored",
               event.aggregate_id(), slot.state.version, event.aggregate_version(), position.partition,
               position.offset);
    return;
  }
  slot.state = domain::Evolve(std::move(slot.state), event);
  switch (event.payload_case()) {
    case pb::EventEnvelope::kMeldingRegistered: {
      // "M-2026-00042": the counter of tenant and year continues after the highest number seen.
      const std::string& number = event.melding_registered().number();
      const size_t dash = number.rfind('-');
      if (number.size() > 7 && dash != std::string::npos) {
        int& sequence = melding_sequence_[event.tenant() + "/" + number.substr(2, dash - 2)];
        sequence = std::max(sequence, std::atoi(number.c_str() + dash + 1));
      }
      break;
    }
    case pb::EventEnvelope::kNotificationRequested:
      open_notifications_.insert(event.aggregate_id());
      break;
    case pb::EventEnvelope::kNotificationDelivered:
    case pb::EventEnvelope::kNotificationCancelled:
      open_notifications_.erase(event.aggregate_id());
      break;
    case pb::EventEnvelope::kNotificationFailed:
      if (event.notification_failed().gave_up()) open_notifications_.erase(event.aggregate_id());
      break;
    default:
      break;
  }
  if (!event.idempotency_key().empty()) {
    FirstReply& first = first_replies_[DedupKey(event.tenant(), event.idempotency_key())];
    first.command_hash = FingerprintOf(event.command_hash());
    pb::ExecuteReply part;
    part.set_aggregate_id(event.aggregate_id());
    part.set_aggregate_version(event.aggregate_version());
    auto* p = part.add_positions();
    p->set_partition(position.partition);
    p->set_offset(position.offset);
    part.add_event_ids(event.event_id());
    part.AppendToString(&first.reply);
  }
}

bool CommandHandler::PartyExists(std::string_view tenant, std::string_view party_id) const {
  return PeekState(party_id, [&](const domain::AggregateState* state) {
    return state != nullptr && state->exists() && state->tenant == tenant && state->type == pb::AGGREGATE_TYPE_PARTY;
  });
}

bool CommandHandler::InteractionExists(std::string_view tenant, std::string_view interaction_id) const {
  return PeekState(interaction_id, [&](const domain::AggregateState* state) {
    return state != nullptr && state->exists() && state->tenant == tenant &&
           state->type == pb::AGGREGATE_TYPE_INTERACTION;
  });
}

bool CommandHandler::MeldingExists(std::string_view tenant, std::string_view melding_id) const {
  return PeekState(melding_id, [&](const domain::AggregateState* state) {
    return state != nullptr && state->exists() && state->tenant == tenant && state->type == pb::AGGREGATE_TYPE_MELDING;
  });
}

std::optional<pb::MeldingCategoryDefined> CommandHandler::FindCategory(std::string_view tenant,
                                                                       std::string_view code) const {
  const auto state = StateOf(StableIdFor(std::string(tenant) + "/category", code));
  if (!state.exists() || state.tenant != tenant || state.type != pb::AGGREGATE_TYPE_MELDING_CATEGORY)
    return std::nullopt;
  return state.as<domain::CategoryState>().definition;
}

bool CommandHandler::AttachmentStored(std::string_view tenant, const pb::Attachment& attachment) const {
  return attachments_ != nullptr && attachments_->Contains(std::string(tenant), attachment);
}

std::string CommandHandler::AllocateMeldingNumber(std::string_view tenant, int year) {
  std::lock_guard lock(mutex_);
  const int sequence = ++melding_sequence_[fmt::format("{}/{}", tenant, year)];
  return fmt::format("M-{}-{:05}", year, sequence);
}

domain::AggregateState CommandHandler::StateOf(const std::string& aggregate_id) const {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(aggregate_id);
  return it == slots_.end() ? domain::AggregateState{} : it->second.state;
}

int64_t CommandHandler::VersionOf(const std::string& aggregate_id) const {
  std::lock_guard lock(mutex_);
  auto it = slots_.find(aggregate_id);
  return it == slots_.end() ? 0 : it->second.state.version;
}

std::vector<std::string> CommandHandler::DueNotifications(std::string_view tenant, pb::Channel channel,
                                                          int64_t now_ms, size_t max) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> due;
  for (const std::string& id : open_notifications_) {
    if (due.size() >= max) break;
    auto it = slots_.find(id);
    if (it == slots_.end() || it->second.busy || it->second.state.tenant != tenant) continue;
    const auto& n = it->second.state.as<domain::NotificationState>();
    if (n.request.channel() != channel) continue;
    if (!n.request.party_id().empty()) {  // an erased party is not written to any more
      auto party = slots_.find(n.request.party_id());
      if (party != slots_.end() && party->second.state.type == pb::AGGREGATE_TYPE_PARTY &&
          party->second.state.as<domain::PartyState>().erased)
        continue;
    }
    const bool pending = n.status == pb::NOTIFICATION_STATUS_PENDING && n.next_attempt_ms <= now_ms;
    const bool lease_expired = n.status == pb::NOTIFICATION_STATUS_DISPATCHED && n.lease_until_ms <= now_ms;
    if (pending || lease_expired) due.push_back(id);
  }
  return due;
}

Status CommandHandler::ReloadPartition(const std::string& aggregate_id, int64_t from) {
  auto ends = log_.EndOffsets();
  if (!ends) return ends.error();
  std::vector<int64_t> start = *ends;
  const auto partition = static_cast<size_t>(log_.PartitionFor(aggregate_id));
  start[partition] = std::min(from, (*ends)[partition]);
  // A few seconds of silence mean the log is away: the command is answered UNAVAILABLE (its
  // client retries) rather than held for as long as the outage lasts.
  if (Status s = ReadIntoState(start, *ends, kReloadPatience); !s.ok()) return s;
  {
    std::lock_guard lock(mutex_);
    slots_[aggregate_id].needs_reload = false;
  }
  log::Info("command-service", "re-read partition {} from offset {} to {} after a failed append for {}", partition,
            start[partition], (*ends)[partition], aggregate_id);
  return Status::Ok();
}

Result<privacy::Key> CommandHandler::KeyForSealing(std::string_view tenant, const std::string& key_id) const {
  const std::string_view party = domain::PartyOfKeyId(key_id);
  if (!party.empty()) {
    const bool erased = PeekState(party, [](const domain::AggregateState* state) {
      return state != nullptr && state->exists() && state->type == pb::AGGREGATE_TYPE_PARTY &&
             state->as<domain::PartyState>().erased;
    });
    if (erased)
      return std::unexpected(FailedPrecondition(
          "party '{}': its personal data was erased; nothing personal is recorded for it any more", party));
  }
  return vault_.GetOrCreate(tenant, key_id);
}

Status CommandHandler::PrepareVault(const pb::ExecuteRequest& request, const std::string& aggregate_id) {
  const std::string& tenant = request.meta().tenant();
  switch (request.command_case()) {
    case pb::ExecuteRequest::kErasePartyData:
      // Keys first: should the append fail, the data is unreadable already and a retry appends.
      return vault_.Destroy(tenant, privacy::PartyKeyId(aggregate_id));
    case pb::ExecuteRequest::kMergeParty: {
      // Erasing the target then destroys the duplicate's keys too.
      const std::string& into = request.merge_party().into_party_id();
      return vault_.Adopt(tenant, privacy::PartyKeyId(into), privacy::PartyKeyId(aggregate_id));
    }
    case pb::ExecuteRequest::kLinkInteractionToParty: {
      const std::string& party = request.link_interaction_to_party().party_id();
      auto key = KeyForSealing(tenant, privacy::PartyKeyId(party));  // refuses an erased party
      if (!key) return key.error();
      return vault_.Adopt(tenant, privacy::PartyKeyId(party), "interaction/" + aggregate_id);
    }
    case pb::ExecuteRequest::kLinkConversationToParty: {
      const std::string& party = request.link_conversation_to_party().party_id();
      auto key = KeyForSealing(tenant, privacy::PartyKeyId(party));
      if (!key) return key.error();
      return vault_.Adopt(tenant, privacy::PartyKeyId(party), "conversation/" + aggregate_id);
    }
    case pb::ExecuteRequest::kLinkAppointmentToParty: {
      const std::string& party = request.link_appointment_to_party().party_id();
      auto key = KeyForSealing(tenant, privacy::PartyKeyId(party));
      if (!key) return key.error();
      return vault_.Adopt(tenant, privacy::PartyKeyId(party), "appointment/" + aggregate_id);
    }
    default:
      return Status::Ok();
  }
}

void CommandHandler::Execute(pb::ExecuteRequest request, Done done, Deadline deadline) {
  if (Status s = domain::ValidateRequest(request); !s.ok()) {
    done(std::unexpected(std::move(s)));
    return;
  }
  if (in_flight_.fetch_add(1) >= options_.max_in_flight) {
    in_flight_.fetch_sub(1);
    done(std::unexpected(Status(StatusCode::kResourceExhausted,
                                fmt::format("the command service has {} commands in flight; retry later",
                                            options_.max_in_flight))));
    return;
  }
  // Every path below answers exactly once; the counter goes down with the answer.
  done = [this, inner = std::move(done)](Result<pb::ExecuteReply> result) {
    in_flight_.fetch_sub(1);
    inner(std::move(result));
  };
  const std::string aggregate_id = domain::ResolveAggregateId(request, NewTimeOrderedId());
  size_t waiting = 0;
  bool refused = false;
  Slot* slot = nullptr;
  {
    std::lock_guard lock(mutex_);
    slot = &slots_[aggregate_id];
    if (slot->busy) {
      waiting = slot->waiting.size();
      if (waiting < options_.max_waiting_per_aggregate) {
        slot->waiting.push_back({std::move(request), std::move(done), deadline});
        return;
      }
      refused = true;
    } else {
      slot->busy = true;
    }
  }
  if (refused) {  // answered outside the lock
    done(std::unexpected(Status(StatusCode::kResourceExhausted,
                                fmt::format("aggregate {} has {} commands waiting; retry later", aggregate_id, waiting))));
    return;
  }
  Run(aggregate_id, *slot, {std::move(request), std::move(done), deadline});
}

std::optional<CommandHandler::Pending> CommandHandler::NextOrRelease(const std::string& aggregate_id, Slot& slot) {
  std::list<Pending> refused;
  std::optional<Pending> next;
  {
    std::lock_guard lock(mutex_);
    // A handler going away starts nothing new: what still waits is refused, so that its
    // destructor waits only for the appends already under way (each bounded by the log's
    // delivery timeout), not for a chain of them.
    if (stopping_) refused.swap(slot.waiting);
    if (slot.waiting.empty()) {
      slot.busy = false;
      // A slot for an aggregate that never came to exist (a refused create) is dropped again,
      // unless an append for it was not confirmed: it may have landed, and the retry must find it.
      if (!slot.state.exists() && !slot.needs_reload) slots_.erase(aggregate_id);
    } else {
      next = std::move(slot.waiting.front());
      slot.waiting.pop_front();
    }
  }
  for (Pending& pending : refused)
    pending.done(std::unexpected(
        Unavailable("the command service is stopping; the command was not run: retry with the same idempotency key")));
  return next;
}

void CommandHandler::Run(const std::string& aggregate_id, Slot& slot, Pending pending) {
  while (Process(aggregate_id, slot, pending)) {
    std::optional<Pending> next = NextOrRelease(aggregate_id, slot);
    if (!next) return;
    pending = std::move(*next);
  }
}

void CommandHandler::ReleaseSlot(const std::string& aggregate_id, Slot& slot) {
  if (std::optional<Pending> next = NextOrRelease(aggregate_id, slot)) Run(aggregate_id, slot, std::move(*next));
}

bool CommandHandler::Process(const std::string& aggregate_id, Slot& slot, Pending& pending) {
  if (std::chrono::system_clock::now() >= pending.deadline) {
    pending.done(std::unexpected(Status(StatusCode::kDeadlineExceeded,
                                        "the call's deadline passed while the command waited; it was not run")));
    return true;
  }
  pb::ExecuteRequest& request = pending.request;
  const auto now = TimeUtil::MicrosecondsToTimestamp(NowMicros());
  // Decisions that depend on time (due dates, backoffs) use the command's time, never a clock.
  if (!request.meta().has_occurred_at()) *request.mutable_meta()->mutable_occurred_at() = now;
  const std::string command_hash = CommandHash(request);  // lends the meta out: before it is referred to
  const pb::CommandMeta& meta = request.meta();
  domain::AggregateState state;
  std::optional<Result<pb::ExecuteReply>> early;  // answered without deciding
  std::optional<int64_t> reload_from;
  {
    std::lock_guard lock(mutex_);
    if (slot.needs_reload) reload_from = slot.reload_from;
  }
  // This command holds the aggregate's slot, so no other command of it runs meanwhile.
  if (reload_from) {
    if (Status s = ReloadPartition(aggregate_id, *reload_from); !s.ok())
      early = std::unexpected(Unavailable("the event log cannot be read to recover {} ({}); retry later",
                                          aggregate_id, s.message()));
  }
  const auto partition = static_cast<size_t>(log_.PartitionFor(aggregate_id));
  int64_t applied_end_when_sent = 0;
  {
    std::lock_guard lock(mutex_);
    applied_end_when_sent = applied_end_[partition];
    if (!early && !meta.idempotency_key().empty()) {
      auto it = first_replies_.find(DedupKey(meta.tenant(), meta.idempotency_key()));
      if (it != first_replies_.end()) {
        if (it->second.command_hash != FingerprintOf(command_hash)) {
          early = std::unexpected(InvalidArgument(
              "meta.idempotency_key: '{}' was already used for a different command in tenant {}",
              meta.idempotency_key(), meta.tenant()));
        } else {
          pb::ExecuteReply reply;
          KS_CHECK(reply.ParseFromString(it->second.reply));
          reply.set_deduplicated(true);
          early = std::move(reply);
        }
      }
    }
    state = slot.state;
  }
  if (early) {
    // Outside the lock: `done` may call back into the handler.
    pending.done(std::move(*early));
    return true;
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

  if (Status s = PrepareVault(request, aggregate_id); !s.ok()) {
    pending.done(std::unexpected(s.code() == StatusCode::kFailedPrecondition
                                     ? s
                                     : Unavailable("the key vault could not be updated ({}); retry", s.message())));
    return true;
  }

  // Wrap the payloads in envelopes.
  const pb::AggregateType type = domain::TargetAggregateType(request);
  std::vector<pb::EventEnvelope> events = std::move(*decided);
  std::vector<eventlog::Record> records;
  records.reserve(events.size());
  int64_t version = state.version;
  domain::AggregateState running = state;  // the state each event applies to, for its key
  for (pb::EventEnvelope& event : events) {
    event.set_event_id(NewTimeOrderedId());
    event.set_event_type(domain::EventTypeName(event));
    event.set_aggregate_type(type);
    event.set_aggregate_id(aggregate_id);
    event.set_aggregate_version(++version);
    event.set_tenant(meta.tenant());
    *event.mutable_actor() = meta.actor();
    event.set_channel(meta.channel());
    *event.mutable_occurred_at() = meta.occurred_at();
    *event.mutable_recorded_at() = now;
    event.set_correlation_id(meta.correlation_id().empty() ? events.front().event_id() : meta.correlation_id());
    event.set_idempotency_key(meta.idempotency_key());
    event.set_schema_version(domain::kCurrentSchemaVersion);
    event.set_command_hash(command_hash);
    if (event.has_interaction_registered()) {
      // The counterpart's digest, and the mark that it is the whole truth about the counterpart
      // (readers then need not open the event to know it).
      auto* registered = event.mutable_interaction_registered();
      registered->set_counterpart_digested(true);
      if (registered->has_counterpart()) {
        auto index_key = vault_.IndexKey(meta.tenant());
        if (!index_key) {
          pending.done(
              std::unexpected(Unavailable("the key vault could not be read ({}); retry", index_key.error().message())));
          return true;
        }
        registered->set_counterpart_digest(
            privacy::AddressDigest(*index_key, registered->counterpart().kind(), registered->counterpart().value()));
      }
    }
    // The log gets the event with its personal fields sealed; the state keeps them open where its
    // evolve reads them. Where it does not (contacts, callback requests, conversations: most
    // events), the event is sealed in place, as the state is rebuilt from it at a start, instead
    // of sealing a copy.
    const std::string key_id = domain::PersonalDataKeyId(running, event);
    running = domain::Evolve(std::move(running), event);
    std::optional<pb::EventEnvelope> copy;
    if (!key_id.empty() && domain::EvolveReadsPersonalData(event)) copy = event;
    pb::EventEnvelope& sealed = copy ? *copy : event;
    if (!key_id.empty()) {
      if (Status s = privacy::SealEvent(sealed, key_id, [&] { return KeyForSealing(meta.tenant(), key_id); }); !s.ok()) {
        pending.done(std::unexpected(s.code() == StatusCode::kFailedPrecondition
                                         ? s
                                         : Unavailable("personal data could not be sealed ({}); retry", s.message())));
        return true;
      }
    }
    records.push_back({aggregate_id, sealed.SerializeAsString(), TimeUtil::TimestampToMilliseconds(now)});
  }

  appends_under_way_.fetch_add(1);
  // The last thing the callback does is to count itself finished: the destructor waits for that.
  // Without the lock while another append is still under way (the destructor cannot end before
  // that one, and this callback touches nothing after its decrement); the last one takes the lock,
  // which the destructor holds while it looks. (Always locking cost single-call ingest about a
  // fifth: the callbacks run on the log's one writer thread.)
  auto finished = [this] {
    size_t count = appends_under_way_.load();
    while (count > 1)
      if (appends_under_way_.compare_exchange_weak(count, count - 1)) return;
    std::lock_guard lock(mutex_);
    if (appends_under_way_.fetch_sub(1) == 1) appends_finished_.notify_all();
  };
  log_.AppendAsync(std::move(records), [this, finished, aggregate_id, &slot, events = std::move(events),
                                        applied_end_when_sent, done = std::move(pending.done)](
                                           Result<std::vector<eventlog::Position>> written) {
    if (!written) {
      log::Warn("command-service", "append for {} failed: {}", aggregate_id, written.error().ToString());
      {
        std::lock_guard lock(mutex_);
        // Records sent after others were confirmed land after them: whatever of this append did
        // land is at or after the end applied when it was sent.
        slot.reload_from = slot.needs_reload ? std::min(slot.reload_from, applied_end_when_sent) : applied_end_when_sent;
        slot.needs_reload = true;
      }
      done(std::unexpected(Unavailable("the event log did not confirm the append ({}); retry with the same "
                                       "idempotency key",
                                       written.error().message())));
      ReleaseSlot(aggregate_id, slot);
      finished();
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
    ReleaseSlot(aggregate_id, slot);
    finished();
  });
  return false;
}

CommandHandler::~CommandHandler() {
  std::unique_lock lock(mutex_);
  stopping_ = true;
  appends_finished_.wait(lock, [this] { return appends_under_way_.load() == 0; });
}

Result<pb::ExecuteReply> CommandHandler::ExecuteSync(pb::ExecuteRequest request) {
  std::promise<Result<pb::ExecuteReply>> promise;
  auto future = promise.get_future();
  Execute(std::move(request), [&promise](Result<pb::ExecuteReply> r) { promise.set_value(std::move(r)); });
  return future.get();
}

}  // namespace ks::command
