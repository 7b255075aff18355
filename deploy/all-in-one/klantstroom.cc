// klantstroom: the all-in-one mode, the main job. Command service, projector and query service in
// one process on the embedded event log, with one data directory and one gRPC port that serves
// both CommandService and QueryService. No broker needed.
#include "ks/allinone/all_in_one.h"
#include "ks/core/flags.h"
#include "ks/core/log.h"
#include "ks/rpc/server.h"

namespace {

int Run(int argc, char** argv) {
  ks::rpc::BlockShutdownSignals();
  ks::Flags flags("klantstroom", "all-in-one: command service, projector and query service on the embedded log");
  flags.Define("data-dir", "data", "directory for the event log (log/) and the read models (read-models/)")
      .Define("listen", "127.0.0.1:50051", "gRPC listen address for CommandService and QueryService")
      .Define("partitions", "0", "partitions of a new event log (0: 12); an existing log keeps its own")
      .Define("sync", "true", "fsync the event log before acknowledging a command")
      .Define("auth-tokens", "", "file of the callers' token hashes, tenants and roles (libs/auth); empty: no authentication (development)");
  ks::rpc::DefineTlsFlags(flags);
  int exit_code = 0;
  if (!flags.Parse(argc, argv, &exit_code)) return exit_code;
  auto partitions = flags.GetInt("partitions");
  if (!partitions || *partitions < 0) {
    ks::log::Error("klantstroom", "--partitions: must be a whole number (0 for the default)");
    return 2;
  }
  auto app = ks::allinone::AllInOne::Start({.data_dir = flags.Get("data-dir"),
                                            .listen = flags.Get("listen"),
                                            .partitions = static_cast<int32_t>(*partitions),
                                            .sync = flags.GetBool("sync"),
                                            .auth_tokens = flags.Get("auth-tokens"),
                                            .tls = ks::rpc::TlsFilesFrom(flags)});
  if (!app) {
    ks::log::Error("klantstroom", "cannot start: {}", app.error().ToString());
    return 1;
  }
  ks::log::Info("klantstroom", "serving CommandService and QueryService on port {}; data in {}", (*app)->port(),
                flags.Get("data-dir"));
  std::printf("LISTENING port=%d\n", (*app)->port());
  std::fflush(stdout);
  const std::string signal = ks::rpc::WaitForShutdownSignal();
  ks::log::Info("klantstroom", "{}: finishing calls in flight, then stopping", signal);
  app->reset();
  ks::log::Info("klantstroom", "stopped cleanly");
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return Run(argc, argv); }
