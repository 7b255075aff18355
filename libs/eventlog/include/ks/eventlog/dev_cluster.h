// A development Kafka cluster: librdkafka's mock cluster, which speaks the real Kafka protocol
// over TCP on loopback, for tests, demos and local multi-process runs. It keeps only about 5 MB per
// partition (older data is dropped), so it is no place for long histories.
//
// Thread-safety: construct and destroy on one thread; the brokers serve from their own threads.
#pragma once

#include <memory>
#include <string>

#include "ks/core/status.h"

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace ks::eventlog {

class DevCluster {
 public:
  // Starts `brokers` brokers on loopback and creates `topic` with `partitions` partitions.
  static Result<std::unique_ptr<DevCluster>> Start(int brokers, const std::string& topic,
                                                   int partitions);
  ~DevCluster();
  DevCluster(const DevCluster&) = delete;
  DevCluster& operator=(const DevCluster&) = delete;

  // "127.0.0.1:port,127.0.0.1:port,..."
  const std::string& bootstrap_servers() const { return bootstrap_; }
  // The librdkafka mock handle, for fault injection in tests (rdkafka_mock.h).
  rd_kafka_mock_cluster_s* mock() const { return mock_; }

 private:
  DevCluster() = default;
  rd_kafka_s* handle_ = nullptr;
  rd_kafka_mock_cluster_s* mock_ = nullptr;
  std::string bootstrap_;
};

}  // namespace ks::eventlog
