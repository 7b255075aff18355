#include "support/process.h"

#include <catch2/catch.hpp>

#include "support/store_compare.h"

namespace ks::testing {

std::string ProgramPath(const std::string& name) {
  return std::string(KS_PROGRAM_DIR) + "/" + name;
}

int RebuildReadModels(const std::string& log_flag, const std::string& vault_flag,
                      const std::string& into, const std::string& log_path) {
  ChildProcess rebuild(ProgramPath("projector/projector"),
                       {log_flag, vault_flag, "--rebuild-into=" + into}, log_path);
  return rebuild.WaitForExit(std::chrono::seconds(60)).value_or(-1);
}

void CheckEqualsCleanRebuild(const std::string& log_flag, const std::string& vault_flag,
                             const std::string& live, const std::string& clean,
                             const std::string& log_path) {
  REQUIRE(RebuildReadModels(log_flag, vault_flag, clean, log_path) == 0);
  const auto differences = StoreDifferences(live, clean);
  for (const auto& d : differences) UNSCOPED_INFO(d);
  CHECK(differences.empty());
}

}  // namespace ks::testing
