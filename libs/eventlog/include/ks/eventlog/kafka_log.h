// The Kafka event log, through librdkafka: what production uses. An idempotent producer
// (acks=all, batched by linger) appends; readers assign() partitions at positions their owner
// keeps (no consumer-group join, so a reader starts at once). Records go to the partition that
// Kafka's murmur2 partitioner gives their key, computed here, so the embedded log agrees.
#pragma once

#include <memory>
#include <string>

#include "ks/eventlog/event_log.h"

namespace ks::eventlog {

struct KafkaLogOptions {
  // Comma-separated host:port list. Required.
  std::string bootstrap_servers;
  // Default: "klantstroom.events".
  std::string topic = "klantstroom.events";
  // Partitions used when the topic has to be created. Default: 12.
  int32_t partitions = 12;
  // Replication factor used when the topic has to be created. Default: 1.
  int32_t replication_factor = 1;
  // How long the producer waits to fill a batch. Default: 5.
  int linger_ms = 5;
  // How long an append may take, retries included, before it is reported UNAVAILABLE.
  // Default: 30000.
  int delivery_timeout_ms = 30000;
  // How long the broker may hold a fetch that has no data yet; lower means fresher reads.
  // Default: 20.
  int fetch_wait_max_ms = 20;
  // Create the topic when it does not exist. Off for readers that must change nothing (the
  // analysts' replay): a missing topic is then NOT_FOUND. Default: true.
  bool create_topic = true;
};

Result<std::unique_ptr<EventLog>> OpenKafkaLog(const KafkaLogOptions& options);

}  // namespace ks::eventlog
