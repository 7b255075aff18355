// Compares two read-model stores key by key (both closed by their writers).
#pragma once

#include <string>
#include <vector>

#include "ks/readmodel/store.h"

namespace ks::testing {

// Human-readable differences (at most 20); empty when the stores hold the same keys and values.
// Keys starting with one of `ignore_prefixes` are left out (log positions, when the stores were
// built from differently partitioned logs).
std::vector<std::string> StoreDifferences(const std::string& path_a, const std::string& path_b,
                                          const std::vector<std::string>& ignore_prefixes = {});

// Where the projector's index counters (keys::IndexCounter) disagree with the entries under their
// prefixes, counted one by one; empty when every counter is right.
std::vector<std::string> IndexCounterMismatches(const readmodel::ReadView& view);

}  // namespace ks::testing
