#include "ks/eventlog/open.h"

#include "ks/eventlog/embedded_log.h"
#include "ks/eventlog/kafka_log.h"

namespace ks::eventlog {

Result<std::unique_ptr<EventLog>> OpenLog(std::string_view spec, int32_t partitions_if_new) {
  if (spec.starts_with("embedded:")) {
    EmbeddedLogOptions options;
    options.path = std::string(spec.substr(9));
    options.partitions = partitions_if_new;
    return OpenEmbeddedLog(options);
  }
  if (spec.starts_with("kafka:")) {
    KafkaLogOptions options;
    std::string_view rest = spec.substr(6);
    if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
      options.topic = std::string(rest.substr(slash + 1));
      rest = rest.substr(0, slash);
    }
    options.bootstrap_servers = std::string(rest);
    options.partitions = partitions_if_new > 0 ? partitions_if_new : 12;
    return OpenKafkaLog(options);
  }
  return std::unexpected(InvalidArgument(
      "event log '{}': must be 'embedded:DIR' or 'kafka:HOST:PORT[,HOST:PORT...][/TOPIC]'", spec));
}

Result<std::unique_ptr<EventLog>> OpenLogForReading(std::string_view spec) {
  if (spec.starts_with("embedded:")) {
    EmbeddedLogOptions options;
    options.path = std::string(spec.substr(9));
    options.read_only = true;
    return OpenEmbeddedLog(options);
  }
  return OpenLog(spec, 0);
}

}  // namespace ks::eventlog
