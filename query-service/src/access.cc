#include "ks/query/access.h"

namespace ks::query {

void WithholdRestricted(const auth::Principal& caller, google::protobuf::RepeatedPtrField<pb::InteractionRecord>* contacts) {
  for (pb::InteractionRecord& contact : *contacts) {
    if (contact.restricted_to_team().empty() || caller.MaySeeTeam(contact.restricted_to_team())) continue;
    contact.clear_text();
    contact.clear_report();
    contact.clear_outcome();
    contact.clear_topics();
    contact.clear_underlying_topics();
    contact.clear_zaken();  // a zaaktype ("schuldhulpverlening") says WHAT as much as a text
    contact.clear_counterpart();
    contact.clear_external_id();
    contact.set_content_withheld(true);
  }
}

void WithholdRestricted(const auth::Principal& caller, google::protobuf::RepeatedPtrField<pb::AppointmentRecord>* appointments) {
  for (pb::AppointmentRecord& appointment : *appointments) {
    if (appointment.restricted_to_team().empty() || caller.MaySeeTeam(appointment.restricted_to_team())) continue;
    appointment.clear_subject();
    appointment.clear_place();
    appointment.clear_what_to_bring();
    appointment.clear_outcome_note();
    appointment.clear_cancel_reason();
    appointment.clear_notify_to();  // the safe address is the team's to know
    appointment.clear_person_name();
    appointment.set_content_withheld(true);
  }
}

std::optional<std::vector<std::string>> VisibleTeams(const auth::Principal& caller) {
  if (caller.trusted_development) return std::nullopt;
  return std::vector<std::string>(caller.teams.begin(), caller.teams.end());
}

}  // namespace ks::query
