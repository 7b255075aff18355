// A realistic workload: several municipalities, parties with long histories, contacts across
// channels with texts the size real ones have, callback requests. Deterministic per seed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "klantstroom/v1/command_service.pb.h"

namespace ks::bench {

namespace pb = ::klantstroom::v1;

struct Workload {
  // Parties to register first (their ids are chosen here, so later commands can refer to them).
  std::vector<pb::ExecuteRequest> parties;
  // Then the contacts and callback requests, spread over the parties (a few very busy ones).
  std::vector<pb::ExecuteRequest> commands;
};

Workload MakeWorkload(size_t parties, size_t commands, uint32_t seed);

// A party with `contacts` contacts in the timeline, for the customer-view benchmark.
std::vector<pb::ExecuteRequest> BusyParty(const std::string& party_id, size_t contacts);

}  // namespace ks::bench
