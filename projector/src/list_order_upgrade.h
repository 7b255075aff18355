// The in-place upgrade of read models in key layout 3, where a party's meldingen (PM) and open
// callback requests (OC) were keyed by id alone, to layout 4, where their keys hold the order a
// customer view lists them in (so a view reads the first page of each, not every one).
#pragma once

#include "ks/core/status.h"
#include "ks/readmodel/store.h"

namespace ks::projector {

inline constexpr int kListOrderMissingLayout = 3;

// Re-keys every PM and OC entry of `store` (a primary in layout 3) from its record, in batches,
// and then writes layout 4, synced. Entries already re-keyed are left as they are, so an upgrade
// cut short by a crash goes on where it stopped at the next start.
Status UpgradeListOrder(readmodel::ReadModelStore& store);

}  // namespace ks::projector
