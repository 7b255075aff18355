// The command side's pure domain logic: for every aggregate (party, interaction, callback
// request), `Decide(state, command) -> events | error` and `Evolve(state, event) -> state`.
// Values in, values out: no clock, no I/O, no threads; the command service supplies everything.
//
// Thread-safety: pure functions over values.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "klantstroom/v1/command_service.pb.h"
#include "klantstroom/v1/events.pb.h"
#include "ks/core/status.h"

namespace ks::domain {

namespace pb = ::klantstroom::v1;

struct PartyState {
  pb::PartyKind kind = pb::PARTY_KIND_UNSPECIFIED;
  std::string display_name;
  std::vector<pb::PartyIdentifier> identifiers;
  std::vector<pb::DigitalAddress> digital_addresses;
};

struct InteractionState {
  std::string party_id;
  pb::Channel channel = pb::CHANNEL_UNSPECIFIED;
};

struct CallbackState {
  std::string party_id;
  pb::CallbackStatus status = pb::CALLBACK_STATUS_UNSPECIFIED;
  pb::CallbackTarget target;
  int attempts = 0;
};

// The state of one aggregate, folded from its events. version 0 means it does not exist.
struct AggregateState {
  pb::AggregateType type = pb::AGGREGATE_TYPE_UNSPECIFIED;
  std::string tenant;
  int64_t version = 0;
  std::variant<std::monostate, PartyState, InteractionState, CallbackState> data;

  bool exists() const { return version > 0; }
};

// What Decide may ask about other aggregates. The command service answers from its state.
class References {
 public:
  virtual ~References() = default;
  virtual bool PartyExists(std::string_view tenant, std::string_view party_id) const = 0;
};

// The aggregate type a command acts on, and whether it creates the aggregate.
pb::AggregateType TargetAggregateType(const pb::ExecuteRequest& request);
bool CreatesAggregate(const pb::ExecuteRequest& request);
std::string_view AggregateTypeName(pb::AggregateType type);

// Decides what the (already validated, see ValidateRequest) command means for the aggregate.
// On success: the new events' payloads (only the payload oneof of each envelope is set), possibly
// none when the command changes nothing (an address the party already has). On failure:
// NOT_FOUND (the aggregate or a referenced party does not exist in the tenant), ALREADY_EXISTS,
// FAILED_PRECONDITION (the state forbids it; the message names the state).
Result<std::vector<pb::EventEnvelope>> Decide(const AggregateState& state, const pb::ExecuteRequest& request,
                                              std::string_view aggregate_id, const References& references);

// Applies one event of this aggregate. REQUIRES: event.aggregate_version() == state.version + 1
// (the caller skips events it has already applied).
AggregateState Evolve(AggregateState state, const pb::EventEnvelope& event);

// The aggregate type an event belongs to, from its payload.
pb::AggregateType AggregateTypeOfEvent(const pb::EventEnvelope& event);

}  // namespace ks::domain
