// What a caller may read of the read models: sensitive contacts (restricted to a specialist team)
// are shown to everyone else as THAT there was contact (channel, date, team), never WHAT.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "klantstroom/v1/read_models.pb.h"
#include "ks/auth/auth.h"

namespace ks::query {

namespace pb = ::klantstroom::v1;

// Clears text, report, outcome, topics (also the question behind the question), zaak links and the
// counterpart's address of each contact restricted to a team `caller` is not in, and marks it
// content_withheld.
void WithholdRestricted(const auth::Principal& caller, google::protobuf::RepeatedPtrField<pb::InteractionRecord>* contacts);

// Clears subject, place, what to bring, outcome note, cancel reason, the person's name and where
// messages go of each appointment with a team `caller` is not in, and marks it content_withheld:
// others see THAT there is an appointment, when and with which team.
void WithholdRestricted(const auth::Principal& caller, google::protobuf::RepeatedPtrField<pb::AppointmentRecord>* appointments);

// The teams whose restricted contacts `caller` may find in search; nullopt for every team.
std::optional<std::vector<std::string>> VisibleTeams(const auth::Principal& caller);

}  // namespace ks::query
