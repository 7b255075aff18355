// Journey 000 (seed 000_157f21fffa93d061.txt): John is angry on Twitter about a wind farm planned
// behind his house. Karin (KCC) answers in public, moves to DMs, sends what she found out, asks
// his contact details and files a callback request with context and urgency for expert Windy,
// who calls John and records the conversation.
//
// The journey is driven through the real CommandService over gRPC, with fixed times and
// idempotency keys, so running it twice changes nothing. Used by the demo and the e2e tests.
#pragma once

#include <string>
#include <vector>

#include "klantstroom/v1/command_service.grpc.pb.h"
#include "ks/core/status.h"

namespace ks::journeys {

namespace pb = ::klantstroom::v1;

inline constexpr const char* kTenant = "gemeente-windkracht";
inline constexpr const char* kJohnHandle = "@John_de_Vries";
inline constexpr const char* kJohnEmail = "John.deVries@example.nl";
inline constexpr const char* kJohnPhone = "06-12345678";
inline constexpr const char* kExpertDepartment = "ruimtelijke-ordening";
inline constexpr const char* kWindyId = "windy";

struct Journey000 {
  std::string john_party_id;
  std::string callback_id;
  std::vector<std::string> interaction_ids;  // in the order they happened
  // Per partition, the highest position the journey's commands wrote, for read-your-writes queries.
  std::vector<pb::LogPosition> last_positions;
  int commands_deduplicated = 0;
};

// Steps 1-10: the tweets and DMs, John's details, and the callback request to Windy.
Result<Journey000> RunJourney000UntilCallback(pb::CommandService::StubInterface& commands);
// Steps 11-12: Windy calls John, records the call and its report, and completes the callback.
Status FinishJourney000(pb::CommandService::StubInterface& commands, Journey000& journey);

}  // namespace ks::journeys
