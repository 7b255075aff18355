// Logging for operators: one line per event worth knowing, to stderr, with a UTC timestamp, the
// level and the component ("2026-11-22T15:04:05.123Z INFO projector: applied 500 events").
//
// Thread-safety: lines from different threads never interleave.
#pragma once

#include <string_view>

#include <fmt/format.h>

namespace ks::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Lines below this level are dropped. Default: kInfo, or the KS_LOG_LEVEL environment variable
// (debug, info, warn, error) when set.
void SetMinLevel(Level level);
bool Enabled(Level level);
void Write(Level level, std::string_view component, std::string_view message);

template <typename... Args>
void Info(std::string_view component, fmt::format_string<Args...> f, Args&&... args) {
  if (Enabled(Level::kInfo)) Write(Level::kInfo, component, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void Warn(std::string_view component, fmt::format_string<Args...> f, Args&&... args) {
  if (Enabled(Level::kWarn)) Write(Level::kWarn, component, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void Error(std::string_view component, fmt::format_string<Args...> f, Args&&... args) {
  if (Enabled(Level::kError)) Write(Level::kError, component, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void Debug(std::string_view component, fmt::format_string<Args...> f, Args&&... args) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, component, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace ks::log
