// ChildProcess: runs one of our programs as a separate process for end-to-end and crash tests,
// with its stdout readable line by line (for "LISTENING port=N") and stderr sent to a file.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <sys/types.h>

namespace ks::testing {

class ChildProcess {
 public:
  // Starts `program` with `args`; stderr goes to `stderr_path` (appended).
  ChildProcess(const std::string& program, const std::vector<std::string>& args, const std::string& stderr_path);
  ~ChildProcess();  // SIGKILLs the process if it still runs
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Reads stdout until a line starting with `prefix` arrives; returns the rest of that line, or ""
  // when the process exits or `timeout` passes first.
  std::string WaitForLine(const std::string& prefix, std::chrono::milliseconds timeout);
  // The port from a "LISTENING port=N" line (0 on failure).
  int WaitForPort(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Reads stdout until the process closes it (or `timeout` passes) and returns all of it.
  std::string ReadAll(std::chrono::milliseconds timeout = std::chrono::seconds(60));

  void Kill();  // SIGKILL and reap
  // SIGTERM; returns the exit code (or -signal), waiting up to `timeout` before SIGKILL.
  int Terminate(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  bool running();
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;
  int exit_status_ = 0;
};

// Where the test executables find the programs under test (set by CMake).
std::string ProgramPath(const std::string& name);

// Runs `projector --rebuild-into=into` against `log_flag` ("--log=...") to completion (at most
// 60 s); its log goes to `log_path`. Returns the projector's exit code (-1 when it did not end).
int RebuildReadModels(const std::string& log_flag, const std::string& vault_flag, const std::string& into,
                      const std::string& log_path);

// Rebuilds fresh read models from `log_flag` into `clean` and checks (Catch) that they equal the
// store at `live`, naming each difference: what every crash test ends with.
void CheckEqualsCleanRebuild(const std::string& log_flag, const std::string& vault_flag, const std::string& live,
                             const std::string& clean,
                             const std::string& log_path);

}  // namespace ks::testing
