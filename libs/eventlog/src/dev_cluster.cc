#include "ks/eventlog/dev_cluster.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace ks::eventlog {

Result<std::unique_ptr<DevCluster>> DevCluster::Start(int brokers, const std::string& topic, int partitions) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The mock cluster lives inside a client instance; this one only hosts it and never connects.
  rd_kafka_conf_set(conf, "log_level", "3", nullptr, 0);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return std::unexpected(Unavailable("dev cluster: {}", err));
  }
  std::unique_ptr<DevCluster> cluster(new DevCluster());
  cluster->handle_ = rk;
  cluster->mock_ = rd_kafka_mock_cluster_new(rk, brokers);
  if (cluster->mock_ == nullptr) return std::unexpected(Unavailable("dev cluster: could not start {} brokers", brokers));
  rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(cluster->mock_, topic.c_str(), partitions, 1);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) return std::unexpected(Unavailable("dev cluster topic: {}", rd_kafka_err2str(e)));
  cluster->bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster->mock_);
  return cluster;
}

DevCluster::~DevCluster() {
  if (mock_ != nullptr) rd_kafka_mock_cluster_destroy(mock_);
  if (handle_ != nullptr) rd_kafka_destroy(handle_);
}

}  // namespace ks::eventlog
