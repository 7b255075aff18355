// ks-dev-broker: starts librdkafka's mock Kafka cluster on loopback (the real Kafka protocol over
// TCP) with the events topic, prints its bootstrap address, and serves until SIGINT/SIGTERM.
// For tests, demos and running the services as separate processes without a real Kafka.
#include <cstdio>

#include "ks/core/flags.h"
#include "ks/core/log.h"
#include "ks/eventlog/dev_cluster.h"
#include "ks/rpc/server.h"

int main(int argc, char** argv) {
  ks::rpc::BlockShutdownSignals();
  ks::Flags flags("ks-dev-broker", "a development Kafka cluster (librdkafka's mock cluster) on loopback");
  flags.Define("brokers", "3", "number of brokers")
      .Define("topic", "klantstroom.events", "topic to create")
      .Define("partitions", "12", "partitions of the topic");
  int exit_code = 0;
  if (!flags.Parse(argc, argv, &exit_code)) return exit_code;
  auto brokers = flags.GetInt("brokers");
  auto partitions = flags.GetInt("partitions");
  if (!brokers || !partitions || *brokers < 1 || *partitions < 1) {
    std::fprintf(stderr, "ks-dev-broker: --brokers and --partitions take whole numbers of at least 1\n");
    return 2;
  }
  auto cluster = ks::eventlog::DevCluster::Start(static_cast<int>(*brokers), flags.Get("topic"), static_cast<int>(*partitions));
  if (!cluster) {
    std::fprintf(stderr, "ks-dev-broker: %s\n", cluster.error().ToString().c_str());
    return 1;
  }
  // The first line is for scripts: eval it, or pass the address to --log=kafka:ADDRESS/TOPIC.
  std::printf("BOOTSTRAP_SERVERS=%s\n", (*cluster)->bootstrap_servers().c_str());
  std::fflush(stdout);
  ks::log::Info("dev-broker", "{} brokers at {}, topic {} with {} partitions; note: keeps only ~5 MB per partition",
                *brokers, (*cluster)->bootstrap_servers(), flags.Get("topic"), *partitions);
  const std::string signal = ks::rpc::WaitForShutdownSignal();
  ks::log::Info("dev-broker", "{}: stopping", signal);
  return 0;
}
