// Running our programs in tests: where they are, and the rebuild every crash test ends with
// (ChildProcess itself is in libs/core).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "ks/core/child_process.h"

namespace ks::testing {

using ks::ChildProcess;

// Where the test executables find the programs under test (set by CMake).
std::string ProgramPath(const std::string& name);

// Runs `projector --rebuild-into=into` against `log_flag` ("--log=...") to completion (at most
// 60 s); its log goes to `log_path`. Returns the projector's exit code (-1 when it did not end).
int RebuildReadModels(const std::string& log_flag, const std::string& vault_flag,
                      const std::string& into, const std::string& log_path);

// Rebuilds fresh read models from `log_flag` into `clean` and checks (Catch) that they equal the
// store at `live`, naming each difference: what every crash test ends with.
void CheckEqualsCleanRebuild(const std::string& log_flag, const std::string& vault_flag,
                             const std::string& live, const std::string& clean,
                             const std::string& log_path);

}  // namespace ks::testing
