// Status and Result: errors as values across every Klantstroom API (no exceptions cross a module
// boundary). The codes are gRPC's, so the gRPC adapters translate them one to one.
//
// Thread-safety: values; safe to copy between threads.
#pragma once

#include <expected>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace ks {

enum class StatusCode {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: meta.tenant: must not be empty".
  std::string ToString() const;

  // Marks a status as deliberately ignored, so that the places where that happens can be found.
  void PermitUnchecked() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename T>
using Result = std::expected<T, Status>;

// Shorthands that read like the rule they report, with fmt formatting.
template <typename... Args>
Status InvalidArgument(fmt::format_string<Args...> f, Args&&... args) {
  return {StatusCode::kInvalidArgument, fmt::format(f, std::forward<Args>(args)...)};
}
template <typename... Args>
Status NotFound(fmt::format_string<Args...> f, Args&&... args) {
  return {StatusCode::kNotFound, fmt::format(f, std::forward<Args>(args)...)};
}
template <typename... Args>
Status AlreadyExists(fmt::format_string<Args...> f, Args&&... args) {
  return {StatusCode::kAlreadyExists, fmt::format(f, std::forward<Args>(args)...)};
}
template <typename... Args>
Status FailedPrecondition(fmt::format_string<Args...> f, Args&&... args) {
  return {StatusCode::kFailedPrecondition, fmt::format(f, std::forward<Args>(args)...)};
}
template <typename... Args>
Status Aborted(fmt::format_string<Args...> f, Args&&... args) {
  return {StatusCode::kAborted, fmt::format(f, std::forward<Args>(args)...)};
}
template <typename... Args>
Status Unavailable(fmt::format_string<Args...> f, Args&&... args) {
  return {StatusCode::kUnavailable, fmt::format(f, std::forward<Args>(args)...)};
}
template <typename... Args>
Status Internal(fmt::format_string<Args...> f, Args&&... args) {
  return {StatusCode::kInternal, fmt::format(f, std::forward<Args>(args)...)};
}
template <typename... Args>
Status PermissionDenied(fmt::format_string<Args...> f, Args&&... args) {
  return {StatusCode::kPermissionDenied, fmt::format(f, std::forward<Args>(args)...)};
}
template <typename... Args>
Status Unauthenticated(fmt::format_string<Args...> f, Args&&... args) {
  return {StatusCode::kUnauthenticated, fmt::format(f, std::forward<Args>(args)...)};
}
template <typename... Args>
Status IoError(fmt::format_string<Args...> f, Args&&... args) {
  // Storage failures are UNAVAILABLE: the caller may retry once the disk or broker is back.
  return {StatusCode::kUnavailable, fmt::format(f, std::forward<Args>(args)...)};
}

// Aborts the process with a message: for broken invariants (bugs), never for bad input.
[[noreturn]] void Die(std::string_view what);

#define KS_CHECK(cond)                                                     \
  do {                                                                     \
    if (!(cond)) ::ks::Die(fmt::format("{}:{}: check failed: {}", __FILE__, \
                                       __LINE__, #cond));                  \
  } while (0)

}  // namespace ks
