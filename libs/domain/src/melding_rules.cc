#include "ks/domain/melding_rules.h"

#include <algorithm>

namespace ks::domain {

namespace pb = ::klantstroom::v1;

bool MeldingTransitionAllowed(pb::MeldingStatus from, pb::MeldingStatus to) {
  using enum pb::MeldingStatus;
  // Staying put is no change (a second click must not notify twice); only a new time window may
  // reschedule.
  if (from == to && to != MELDING_STATUS_SCHEDULED) return false;
  switch (from) {
    case MELDING_STATUS_REGISTERED:
    case MELDING_STATUS_AWAITING_HANDLING:
    case MELDING_STATUS_IN_PROGRESS:
    case MELDING_STATUS_REOPENED:
      return to == MELDING_STATUS_AWAITING_HANDLING || to == MELDING_STATUS_IN_PROGRESS ||
             to == MELDING_STATUS_SCHEDULED || to == MELDING_STATUS_ON_HOLD || to == MELDING_STATUS_RESOLVED ||
             to == MELDING_STATUS_CANCELLED;
    case MELDING_STATUS_SCHEDULED:
      return to == MELDING_STATUS_IN_PROGRESS || to == MELDING_STATUS_SCHEDULED || to == MELDING_STATUS_ON_HOLD ||
             to == MELDING_STATUS_RESOLVED || to == MELDING_STATUS_CANCELLED;
    case MELDING_STATUS_ON_HOLD:
      // Resolving from on-hold happens when a parent melding's fix solves this one too.
      return to == MELDING_STATUS_AWAITING_HANDLING || to == MELDING_STATUS_IN_PROGRESS ||
             to == MELDING_STATUS_SCHEDULED || to == MELDING_STATUS_RESOLVED || to == MELDING_STATUS_CANCELLED;
    case MELDING_STATUS_RESOLVED:
      return to == MELDING_STATUS_REOPEN_REQUESTED || to == MELDING_STATUS_REOPENED;
    case MELDING_STATUS_REOPEN_REQUESTED:
      return to == MELDING_STATUS_REOPENED || to == MELDING_STATUS_RESOLVED;
    default:
      return false;  // cancelled is final
  }
}

bool MeldingIsOpen(pb::MeldingStatus status) {
  return status != pb::MELDING_STATUS_RESOLVED && status != pb::MELDING_STATUS_CANCELLED &&
         status != pb::MELDING_STATUS_UNSPECIFIED;
}

std::string MeldingStatusName(pb::MeldingStatus status) {
  std::string name = pb::MeldingStatus_Name(status);
  return name.starts_with("MELDING_STATUS_") ? name.substr(15) : name;
}

int64_t AddDays(int64_t start_ms, int days, bool working_days) {
  constexpr int64_t kDayMs = 24LL * 3600 * 1000;
  if (!working_days) return start_ms + days * kDayMs;
  int64_t t = start_ms;
  int counted = 0;
  while (counted < days) {
    t += kDayMs;
    // 1970-01-01 was a Thursday: day index 0 = Thursday, so 2 = Saturday and 3 = Sunday.
    const int64_t weekday = ((t / kDayMs) % 7 + 7) % 7;
    if (weekday != 2 && weekday != 3) ++counted;
  }
  return t;
}

int64_t NotificationBackoffMs(int attempt) {
  if (attempt <= 1) return 30'000;
  const int64_t ms = 60'000LL << std::min(attempt - 2, 6);
  return std::min<int64_t>(ms, 3'600'000);
}

}  // namespace ks::domain
