// Compares two read-model stores key by key (both closed by their writers).
#pragma once

#include <string>
#include <vector>

namespace ks::testing {

// Human-readable differences (at most 20); empty when the stores hold the same keys and values.
std::vector<std::string> StoreDifferences(const std::string& path_a, const std::string& path_b);

}  // namespace ks::testing
