// command-service: the gRPC command API in its own process, appending to Kafka (or an embedded log).
#include "ks/command/command_service_main.h"

int main(int argc, char** argv) { return ks::command::CommandServiceMain(argc, argv); }
