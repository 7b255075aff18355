#include "ks/core/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <thread>

namespace ks {

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
    // A parent may block SIGINT/SIGTERM (the services do, to wait for them on a thread): the
    // child starts with none blocked, so Terminate reaches it.
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

std::string ChildProcess::WaitForLine(const std::string& prefix,
                                      std::chrono::milliseconds timeout) {
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
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
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
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return out;
    pollfd p{stdout_fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return out;
    char chunk[4096];
    const ssize_t n = read(stdout_fd_, chunk, sizeof chunk);
    if (n <= 0) return out;
    out.append(chunk, static_cast<size_t>(n));
  }
}

void ChildProcess::Reaped(int status, long max_rss_kib) {
  exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  peak_rss_bytes_ = std::max(peak_rss_bytes_,
                             static_cast<size_t>(max_rss_kib) * 1024);  // ru_maxrss is in KiB
  pid_ = -1;
}

bool ChildProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  struct rusage usage {};
  const pid_t r = wait4(pid_, &status, WNOHANG, &usage);
  if (r == 0) return true;
  if (r == pid_)
    Reaped(status, usage.ru_maxrss);
  else
    pid_ = -1;
  return false;
}

void ChildProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  struct rusage usage {};
  if (wait4(pid_, &status, 0, &usage) == pid_) Reaped(status, usage.ru_maxrss);
  exit_status_ = -SIGKILL;
  pid_ = -1;
}

std::optional<int> ChildProcess::WaitForExit(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return exit_status_;
}

int ChildProcess::Terminate(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return exit_status_;
  kill(pid_, SIGTERM);
  if (auto code = WaitForExit(timeout)) return *code;
  Kill();
  return exit_status_;
}

size_t ChildProcess::PeakRssBytes() {
  if (pid_ > 0) {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(status, line))
      if (line.starts_with("VmHWM:"))  // "VmHWM:   123456 kB"
        peak_rss_bytes_ =
            std::max(peak_rss_bytes_, static_cast<size_t>(std::stoull(line.substr(6))) * 1024);
  }
  return peak_rss_bytes_;
}

}  // namespace ks
