// The query-service program: opens the projector's store as a RocksDB secondary, keeps it caught
// up and serves QueryService until SIGTERM.
#pragma once

namespace ks::query {
int QueryServiceMain(int argc, char** argv);
}
