// ChildProcess: runs one of our programs as a separate process, with its stdout readable line by
// line (for "LISTENING port=N") and stderr sent to a file. The end-to-end and crash tests use it
// to run the services as an operator would; the benchmarks use it to measure each process's time
// and peak memory on its own.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace ks {

class ChildProcess {
 public:
  // Starts `program` with `args`; stderr goes to `stderr_path` (appended).
  ChildProcess(const std::string& program, const std::vector<std::string>& args,
               const std::string& stderr_path);
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
  // Waits (at most `timeout`) for the process to end by itself: its exit code (or -signal), or
  // nothing when it still runs.
  std::optional<int> WaitForExit(std::chrono::milliseconds timeout);
  bool running();
  pid_t pid() const { return pid_; }

  // The largest resident set the process has had, in bytes: the kernel's high-water mark while
  // it runs (VmHWM), and its final one (ru_maxrss) once it has ended and been reaped here.
  size_t PeakRssBytes();

 private:
  // Records how a reaped child ended.
  void Reaped(int status, long max_rss_kib);

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;
  int exit_status_ = 0;
  size_t peak_rss_bytes_ = 0;
};

}  // namespace ks
