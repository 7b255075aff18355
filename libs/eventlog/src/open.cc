#include "ks/eventlog/open.h"

#include "ks/eventlog/embedded_log.h"
#include "ks/eventlog/kafka_log.h"

namespace ks::eventlog {

namespace {

Result<std::unique_ptr<EventLog>> Open(std::string_view spec, int32_t partitions_if_new, bool read_only) {
  if (spec.starts_with("embedded:")) {
    EmbeddedLogOptions options;
    options.path = std::string(spec.substr(9));
    options.partitions = partitions_if_new;
    options.read_only = read_only;
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
    options.create_topic = !read_only;
    return OpenKafkaLog(options);
  }
  return std::unexpected(InvalidArgument(
      "event log '{}': must be 'embedded:DIR' or 'kafka:HOST:PORT[,HOST:PORT...][/TOPIC]'", spec));
}

}  // namespace

Result<std::unique_ptr<EventLog>> OpenLog(std::string_view spec, int32_t partitions_if_new) {
  return Open(spec, partitions_if_new, false);
}

Result<std::unique_ptr<EventLog>> OpenLogForReading(std::string_view spec) { return Open(spec, 0, true); }

}  // namespace ks::eventlog
