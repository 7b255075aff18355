// Dutch local time (Europe/Amsterdam) for KPI buckets and report periods: municipalities count
// their days and hours locally. The rule is the EU one (summer time from the last Sunday of March
// to the last Sunday of October, switching at 01:00 UTC), written out here because the standard
// library of our compiler has no time-zone database.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ks::kpi {

// Offset of Amsterdam's local time from UTC at `utc_ms` (Unix milliseconds): 1 or 2 hours, in ms.
int64_t AmsterdamOffsetMs(int64_t utc_ms);

// Bucket labels of the local time at `utc_ms`: "2026-03-02T14", "2026-03-02", "2026-W10" (ISO week).
std::string HourBucket(int64_t utc_ms);
std::string DayBucket(int64_t utc_ms);
std::string WeekBucket(int64_t utc_ms);

// "2026-03-01" (local midnight) or "2026-03-01T14:30" (local) to Unix milliseconds; nullopt when
// it is neither.
std::optional<int64_t> ParseLocalTime(std::string_view text);
// Local "2026-03-01T14:30" of `utc_ms`, for messages.
std::string FormatLocalTime(int64_t utc_ms);

}  // namespace ks::kpi
