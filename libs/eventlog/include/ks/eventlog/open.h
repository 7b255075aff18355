// Opens an event log from a one-line spec, as the services take it from a flag:
//   "embedded:DIR"                  the embedded RocksDB log in DIR
//   "kafka:BOOTSTRAP[/TOPIC]"       Kafka (e.g. "kafka:127.0.0.1:9092/klantstroom.events")
#pragma once

#include <memory>
#include <string_view>

#include "ks/eventlog/event_log.h"

namespace ks::eventlog {

// INVALID_ARGUMENT naming the spec when it has neither form; otherwise what the backend returns.
// `partitions_if_new` applies only when the log or topic does not exist yet; 0 means 12.
Result<std::unique_ptr<EventLog>> OpenLog(std::string_view spec, int32_t partitions_if_new = 0);

// The same, for a reader that never appends (the analysts' replay): an embedded log is opened
// read-only, as it is now, so it may be read beside the service that writes it; a log that does
// not exist is NOT_FOUND rather than created.
Result<std::unique_ptr<EventLog>> OpenLogForReading(std::string_view spec);

}  // namespace ks::eventlog
