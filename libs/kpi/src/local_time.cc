#include "ks/kpi/local_time.h"

#include <charconv>
#include <chrono>

#include <fmt/format.h>

namespace ks::kpi {
namespace {

using namespace std::chrono;

constexpr int64_t kHourMs = 3'600'000;

// 01:00 UTC on the last Sunday of `m` in `y`: when Europe switches.
int64_t SwitchInstantMs(int y, unsigned m) {
  const sys_days day{year_month_weekday_last{year{y}, month{m}, weekday_last{Sunday}}};
  return duration_cast<milliseconds>(day.time_since_epoch()).count() + kHourMs;
}

sys_days LocalDay(int64_t utc_ms) {
  const int64_t local_ms = utc_ms + AmsterdamOffsetMs(utc_ms);
  return floor<days>(sys_time<milliseconds>(milliseconds(local_ms)));
}

}  // namespace

int64_t AmsterdamOffsetMs(int64_t utc_ms) {
  const int y = static_cast<int>(year_month_day{floor<days>(sys_time<milliseconds>(milliseconds(utc_ms)))}.year());
  const bool summer = utc_ms >= SwitchInstantMs(y, 3) && utc_ms < SwitchInstantMs(y, 10);
  return summer ? 2 * kHourMs : kHourMs;
}

std::string DayBucket(int64_t utc_ms) {
  const year_month_day ymd{LocalDay(utc_ms)};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                     static_cast<unsigned>(ymd.day()));
}

std::string HourBucket(int64_t utc_ms) {
  const int64_t local_ms = utc_ms + AmsterdamOffsetMs(utc_ms);
  const int64_t hour = ((local_ms % (24 * kHourMs)) + 24 * kHourMs) % (24 * kHourMs) / kHourMs;
  return fmt::format("{}T{:02}", DayBucket(utc_ms), hour);
}

std::string WeekBucket(int64_t utc_ms) {
  // ISO 8601: a week belongs to the year of its Thursday; week 1 holds the year's first Thursday.
  const sys_days day = LocalDay(utc_ms);
  const weekday wd{day};
  const int iso_weekday = wd == Sunday ? 7 : static_cast<int>(wd.c_encoding());
  const sys_days thursday = day + days(4 - iso_weekday);
  const year y = year_month_day{thursday}.year();
  const sys_days jan1{y / January / 1};
  const int week = static_cast<int>((thursday - jan1).count() / 7 + 1);
  return fmt::format("{:04}-W{:02}", static_cast<int>(y), week);
}

std::optional<int64_t> ParseLocalTime(std::string_view text) {
  auto number = [&](size_t pos, size_t len, int& out) {
    if (pos + len > text.size()) return false;
    auto [ptr, ec] = std::from_chars(text.data() + pos, text.data() + pos + len, out);
    return ec == std::errc() && ptr == text.data() + pos + len;
  };
  int y = 0, m = 0, d = 0, hh = 0, mm = 0;
  if (!(text.size() == 10 || text.size() == 16)) return std::nullopt;
  if (!number(0, 4, y) || text[4] != '-' || !number(5, 2, m) || text[7] != '-' || !number(8, 2, d)) return std::nullopt;
  if (text.size() == 16 && (text[10] != 'T' || !number(11, 2, hh) || text[13] != ':' || !number(14, 2, mm)))
    return std::nullopt;
  const year_month_day ymd{year{y}, month{static_cast<unsigned>(m)}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || hh > 23 || mm > 59) return std::nullopt;
  const int64_t local_ms =
      duration_cast<milliseconds>(sys_days{ymd}.time_since_epoch()).count() + hh * kHourMs + mm * 60'000;
  // The offset in force two hours before is the one in force at a local time (switches happen at
  // night; an hour skipped or repeated in the night of a switch is taken as winter time).
  return local_ms - AmsterdamOffsetMs(local_ms - 2 * kHourMs);
}

std::string FormatLocalTime(int64_t utc_ms) {
  const int64_t local_ms = utc_ms + AmsterdamOffsetMs(utc_ms);
  const int64_t minute_of_day = ((local_ms % 86'400'000) + 86'400'000) % 86'400'000 / 60'000;
  return fmt::format("{}T{:02}:{:02}", DayBucket(utc_ms), minute_of_day / 60, minute_of_day % 60);
}

}  // namespace ks::kpi
