// The in-place upgrade of read models in key layout 3, where a party's meldingen (PM) and open
// callback requests (OC) were keyed by id alone, to layout 4, where their keys hold the order a
// customer view lists them in (so a view reads the first page of each, not every one).
#pragma once

#include "ks/core/status.h"
#include "ks/readmodel/store.h"

namespace ks::projector {

// Whether `store` (a primary) needs UpgradeListOrder before anything is folded into it.
bool NeedsListOrderUpgrade(const readmodel::ReadModelStore& store);

// Records that the upgrade is under way (keys::kLayoutListOrderUpgrading: programs of layout 3
// refuse the store from then on), re-keys every PM and OC entry from its record in batches, then
// writes layout 4, synced, and compacts the two ranges (the old entries' deletions would slow the
// first views). Entries already re-keyed are left as they are, so an upgrade cut short by a crash
// goes on where it stopped at the next start. DATA_LOSS when a record does not parse.
Status UpgradeListOrder(readmodel::ReadModelStore& store);

}  // namespace ks::projector
