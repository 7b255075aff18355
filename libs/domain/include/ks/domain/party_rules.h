// Rules about a party's digital addresses that both the command side (Evolve) and the read models
// (the projector's fold) apply, so they cannot drift apart.
#pragma once

#include <algorithm>

#include "klantstroom/v1/common.pb.h"

namespace ks::domain {

inline bool SameAddress(const ::klantstroom::v1::DigitalAddress& a, const ::klantstroom::v1::DigitalAddress& b) {
  return a.kind() == b.kind() && a.value() == b.value();
}

// Adds (or replaces) `added` in `addresses` (a std::vector or a protobuf RepeatedPtrField):
// an address already there is replaced, and a new preferred address takes the preference of its
// kind from the one that had it, so there is at most one preferred address per kind.
template <typename Addresses>
void AddDigitalAddress(Addresses& addresses, const ::klantstroom::v1::DigitalAddress& added) {
  auto end = std::remove_if(addresses.begin(), addresses.end(), [&](const auto& a) { return SameAddress(a, added); });
  addresses.erase(end, addresses.end());
  if (added.preferred())
    for (auto& a : addresses)
      if (a.kind() == added.kind()) a.set_preferred(false);
  if constexpr (requires { addresses.push_back(added); })
    addresses.push_back(added);
  else
    *addresses.Add() = added;
}

}  // namespace ks::domain
