// Decoding events read from the log, and bringing older shapes up to date (upcasting), in one
// place for every reader: the command service, the projector and the policies.
//
// Shapes so far:
//   0  written before the envelope carried event_type and schema_version: both are derived from
//      the payload.
//   1  the current shape.
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

#include "klantstroom/v1/events.pb.h"
#include "ks/core/status.h"

namespace ks::domain {

inline constexpr uint32_t kCurrentSchemaVersion = 1;

// Parses `bytes` and upcasts the event to the current shape. DATA_LOSS when the bytes are not an
// event; INVALID_ARGUMENT for a schema version newer than this code, or a payload it does not know
// (a future event type). Callers park such records rather than skip them.
Result<::klantstroom::v1::EventEnvelope> DecodeEvent(std::string_view bytes);
// The same into `event`, whose allocations are reused: for readers that decode millions in a row.
Status DecodeEventInto(std::string_view bytes, ::klantstroom::v1::EventEnvelope& event);

// The fully qualified name of the event's payload message ("klantstroom.v1.PartyRegistered").
std::string EventTypeName(const ::klantstroom::v1::EventEnvelope& event);

}  // namespace ks::domain
