// query-service: serves the read models over gRPC, in its own process.
#include "ks/query/query_service_main.h"

int main(int argc, char** argv) { return ks::query::QueryServiceMain(argc, argv); }
