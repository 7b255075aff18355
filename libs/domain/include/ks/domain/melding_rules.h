// The melding lifecycle and due-date rules, pure, shared by Decide and by the read models.
#pragma once

#include <cstdint>
#include <string>

#include "klantstroom/v1/common.pb.h"

namespace ks::domain {

// Whether a melding may go from `from` to `to`. Staying in the same status is not a change, except
// rescheduling (SCHEDULED -> SCHEDULED, with a new window).
bool MeldingTransitionAllowed(::klantstroom::v1::MeldingStatus from, ::klantstroom::v1::MeldingStatus to);
// Resolved and cancelled meldingen are closed; every other status is open.
bool MeldingIsOpen(::klantstroom::v1::MeldingStatus status);
// "SCHEDULED" for MELDING_STATUS_SCHEDULED.
std::string MeldingStatusName(::klantstroom::v1::MeldingStatus status);

// The moment `days` days after `start_ms` (Unix ms, UTC); with `working_days`, Saturdays and
// Sundays are not counted.
int64_t AddDays(int64_t start_ms, int days, bool working_days);

// Backoff before a failed notification is offered again: 30 s, 1, 2, 4 ... minutes, at most 1 h.
int64_t NotificationBackoffMs(int attempt);

}  // namespace ks::domain
