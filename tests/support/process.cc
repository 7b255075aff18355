#include "support/process.h"

#include <catch2/catch.hpp>

#include "support/store_compare.h"

#include <csignal>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ks::testing {

std::string ProgramPath(const std::string& name) { return std::string(KS_PROGRAM_DIR) + "/" + name; }

int RebuildReadModels(const std::string& log_flag, const std::string& vault_flag, const std::string& into,
                      const std::string& log_path) {
  ChildProcess rebuild(ProgramPath("projector/projector"), {log_flag, vault_flag, "--rebuild-into=" + into}, log_path);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (rebuild.running() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (rebuild.running()) return -1;
  return rebuild.Terminate();
}

ChildProcess::ChildProcess(const std::string& program, const std::vector<std::string>& args,
                           const std::string& stderr_path) {
  int out[2];
  if (pipe(out) != 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out[1], STDOUT_FILENO);
    const int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (err >= 0) dup2(err, STDERR_FILENO);
    close(out[0]);
    close(out[1]);
    // The test process blocks SIGINT/SIGTERM nowhere, but be explicit: the child starts clean.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(program.c_str(), argv.data());
    _exit(127);
  }
  close(out[1]);
  stdout_fd_ = out[0];
}

ChildProcess::~ChildProcess() {
  if (running()) Kill();
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

std::string ChildProcess::WaitForLine(const std::string& prefix, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    size_t start = 0;
    for (size_t nl = buffer_.find('\n'); nl != std::string::npos; nl = buffer_.find('\n', start)) {
      std::string line = buffer_.substr(start, nl - start);
      start = nl + 1;
      if (line.starts_with(prefix)) {
        buffer_.erase(0, start);
        return line.substr(prefix.size());
      }
    }
    buffer_.erase(0, start);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return "";
    pollfd p{stdout_fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return "";
    char chunk[4096];
    const ssize_t n = read(stdout_fd_, chunk, sizeof chunk);
    if (n <= 0) return "";
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

int ChildProcess::WaitForPort(std::chrono::milliseconds timeout) {
  const std::string rest = WaitForLine("LISTENING port=", timeout);
  return rest.empty() ? 0 : std::stoi(rest);
}

std::string ChildProcess::ReadAll(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out = std::move(buffer_);
  buffer_.clear();
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return out;
    pollfd p{stdout_fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return out;
    char chunk[4096];
    const ssize_t n = read(stdout_fd_, chunk, sizeof chunk);
    if (n <= 0) return out;
    out.append(chunk, static_cast<size_t>(n));
  }
}

bool ChildProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  if (r == pid_) exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  pid_ = -1;
  return false;
}

void ChildProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  exit_status_ = -SIGKILL;
  pid_ = -1;
}

int ChildProcess::Terminate(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return exit_status_;
  kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) return exit_status_;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill();
  return exit_status_;
}

void CheckEqualsCleanRebuild(const std::string& log_flag, const std::string& vault_flag, const std::string& live,
                             const std::string& clean, const std::string& log_path) {
  REQUIRE(RebuildReadModels(log_flag, vault_flag, clean, log_path) == 0);
  const auto differences = StoreDifferences(live, clean);
  for (const auto& d : differences) UNSCOPED_INFO(d);
  CHECK(differences.empty());
}

}  // namespace ks::testing
