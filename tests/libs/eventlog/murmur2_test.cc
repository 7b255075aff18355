// Our partitioner must agree with Kafka's murmur2 partitioner as librdkafka implements it, or a
// log moved between the embedded store and Kafka would scatter an aggregate's events.
#include <catch2/catch.hpp>

#include <random>

#include <librdkafka/rdkafka.h>

#include "ks/core/murmur2.h"

TEST_CASE("PartitionForKey matches librdkafka's murmur2 partitioner", "[eventlog][unit]") {
  char err[256];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), err, sizeof err);
  REQUIRE(rk != nullptr);
  rd_kafka_topic_t* topic = rd_kafka_topic_new(rk, "t", nullptr);
  std::mt19937 rng(42);
  for (int i = 0; i < 5000; ++i) {
    std::string key;
    const int len = static_cast<int>(rng() % 40) + 1;
    for (int j = 0; j < len; ++j) key.push_back(static_cast<char>(rng() % 256));
    for (int32_t partitions : {1, 3, 12, 64}) {
      const int32_t theirs =
          rd_kafka_msg_partitioner_murmur2(topic, key.data(), key.size(), partitions, nullptr, nullptr);
      REQUIRE(ks::PartitionForKey(key, partitions) == theirs);
    }
  }
  rd_kafka_topic_destroy(topic);
  rd_kafka_destroy(rk);
}
