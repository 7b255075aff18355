#include "ks/journeys/journey_000.h"

#include <algorithm>

#include <google/protobuf/util/time_util.h>

#include "ks/rpc/server.h"

namespace ks::journeys {
namespace {

using google::protobuf::util::TimeUtil;

// Monday 16 November 2026, 08:47 local (07:47 UTC): John's first tweet.
constexpr int64_t kStartSeconds = 1794815220;

pb::Actor Actor(pb::ActorKind kind, const std::string& id, const std::string& name) {
  pb::Actor a;
  a.set_kind(kind);
  a.set_id(id);
  a.set_display_name(name);
  return a;
}

const pb::Actor& TwitterAdapter() {
  static const pb::Actor a = Actor(pb::ACTOR_KIND_ADAPTER, "twitter-adapter", "Twitter/X adapter");
  return a;
}
const pb::Actor& Karin() {
  static const pb::Actor a = Actor(pb::ACTOR_KIND_EMPLOYEE, "kcc-karin", "Karin (KCC)");
  return a;
}
const pb::Actor& Windy() {
  static const pb::Actor a = Actor(pb::ACTOR_KIND_EMPLOYEE, kWindyId, "Windy (deskundige windenergie)");
  return a;
}

pb::DigitalAddress Address(pb::DigitalAddressKind kind, const std::string& value, bool preferred = false,
                           bool verified = true) {
  pb::DigitalAddress a;
  a.set_kind(kind);
  a.set_value(value);
  a.set_preferred(preferred);
  a.set_verified(verified);
  return a;
}

class Driver {
 public:
  Driver(pb::CommandService::StubInterface& commands, Journey000& journey) : commands_(commands), journey_(journey) {}

  // Sends one command, `minutes` after the journey's start.
  Result<pb::ExecuteReply> Send(pb::ExecuteRequest request, const pb::Actor& actor, pb::Channel channel,
                                const std::string& idempotency_key, int minutes) {
    auto* meta = request.mutable_meta();
    meta->set_tenant(kTenant);
    *meta->mutable_actor() = actor;
    meta->set_channel(channel);
    meta->set_idempotency_key(idempotency_key);
    meta->set_correlation_id("journey-000-john-windmolenpark");
    *meta->mutable_occurred_at() = TimeUtil::SecondsToTimestamp(kStartSeconds + int64_t{minutes} * 60);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    pb::ExecuteReply reply;
    grpc::Status status = commands_.Execute(&context, request, &reply);
    if (!status.ok()) return std::unexpected(rpc::FromGrpc(status));
    if (reply.deduplicated()) ++journey_.commands_deduplicated;
    // Remember, per partition, the highest position written so far: a query that waits for these
    // sees every command of the journey, not only the last one.
    for (const auto& written : reply.positions()) {
      auto it = std::find_if(journey_.last_positions.begin(), journey_.last_positions.end(),
                             [&](const pb::LogPosition& p) { return p.partition() == written.partition(); });
      if (it == journey_.last_positions.end())
        journey_.last_positions.push_back(written);
      else if (it->offset() < written.offset())
        it->set_offset(written.offset());
    }
    return reply;
  }

  // A tweet or DM; returns the interaction id.
  Result<std::string> Message(const std::string& key, int minutes, pb::Direction direction, pb::Visibility visibility,
                              const std::string& text, const std::string& reply_to = "") {
    pb::ExecuteRequest request;
    auto* c = request.mutable_register_interaction();
    c->set_channel(pb::CHANNEL_TWITTER);
    c->set_direction(direction);
    c->set_visibility(visibility);
    c->set_conversation_id(visibility == pb::VISIBILITY_PUBLIC ? "tweet-thread-john" : "dm-john");
    c->set_reply_to_interaction_id(reply_to);
    c->add_topics("windmolenpark");
    c->set_text(text);
    *c->mutable_counterpart() = Address(pb::DIGITAL_ADDRESS_KIND_TWITTER, kJohnHandle);
    c->set_external_id(key);
    const bool inbound = direction == pb::DIRECTION_INBOUND;
    if (!inbound) *c->mutable_handled_by() = Karin();
    auto reply = Send(std::move(request), inbound ? TwitterAdapter() : Karin(), pb::CHANNEL_TWITTER, key, minutes);
    if (!reply) return std::unexpected(reply.error());
    journey_.interaction_ids.push_back(reply->aggregate_id());
    return reply->aggregate_id();
  }

 private:
  pb::CommandService::StubInterface& commands_;
  Journey000& journey_;
};

#define KS_TRY(var, expr)               \
  auto var = (expr);                    \
  if (!var) return std::unexpected(var.error())

}  // namespace

Result<Journey000> RunJourney000UntilCallback(pb::CommandService::StubInterface& commands) {
  Journey000 journey;
  Driver d(commands, journey);
  using pb::DIRECTION_INBOUND;
  using pb::DIRECTION_OUTBOUND;
  using pb::VISIBILITY_PRIVATE;
  using pb::VISIBILITY_PUBLIC;

  // 1. John vents on Twitter; the adapter registers the tweet (he is known only by his handle).
  KS_TRY(tweet, d.Message("tweet-1859370001", 0, DIRECTION_INBOUND, VISIBILITY_PUBLIC,
                          "Lees net in de krant dat er een windmolenpark achter mijn huis komt. Niemand heeft ons "
                          "geïnformeerd! @gemeente #windmolenpark"));
  // 2. Karin answers in public and asks what is going on.
  KS_TRY(answer, d.Message("tweet-1859370002", 6, DIRECTION_OUTBOUND, VISIBILITY_PUBLIC,
                           "Hoi John, vervelend om zo te horen. Kun je ons vertellen wat er precies aan de hand is?",
                           *tweet));
  // 3. John: he was not informed.
  KS_TRY(not_informed, d.Message("tweet-1859370003", 11, DIRECTION_INBOUND, VISIBILITY_PUBLIC,
                                 "Er is helemaal niks gecommuniceerd. Ik woon aan de Polderweg, die molens komen "
                                 "gewoon in mijn achtertuin.",
                                 *answer));
  // 4. Karin: we'll look into it (public) and a DM to talk in person.
  KS_TRY(public_promise, d.Message("tweet-1859370004", 15, DIRECTION_OUTBOUND, VISIBILITY_PUBLIC,
                                   "We zoeken het voor je uit, John. We sturen je een DM.", *not_informed));
  KS_TRY(first_dm, d.Message("dm-1859370005", 16, DIRECTION_OUTBOUND, VISIBILITY_PRIVATE,
                             "Hoi John, ik ben Karin van het KCC. Ik ga intern na hoe het zit met het windmolenpark "
                             "en kom er vandaag bij je op terug."));
  // 6. Karin sends what she found out internally.
  KS_TRY(info_dm, d.Message("dm-1859370006", 95, DIRECTION_OUTBOUND, VISIBILITY_PRIVATE,
                            "Het windmolenpark Polderweg zit in de voorbereiding; de informatieavond voor "
                            "omwonenden is op 3 december. Hier vind je het voorontwerp en de planning."));
  // 7. John reads it, is not satisfied, and vents in public again.
  KS_TRY(angry_again, d.Message("tweet-1859370007", 120, DIRECTION_INBOUND, VISIBILITY_PUBLIC,
                                "Een informatieavond NADAT alles al besloten is? Dit is toch geen inspraak. "
                                "#windmolenpark"));
  // 8. Karin asks for his contact details so an expert can call him.
  KS_TRY(ask_details, d.Message("dm-1859370008", 126, DIRECTION_OUTBOUND, VISIBILITY_PRIVATE,
                                "Ik begrijp je boosheid. Mag onze deskundige je bellen? Wil je je naam, e-mailadres "
                                "en telefoonnummer sturen?"));
  // 9. John sends them by DM.
  KS_TRY(details_dm, d.Message("dm-1859370009", 140, DIRECTION_INBOUND, VISIBILITY_PRIVATE,
                               "John de Vries, john.devries@example.nl, 06-12345678. Liefst vandaag nog."));
  (void)public_promise;
  (void)first_dm;
  (void)info_dm;
  (void)angry_again;
  (void)ask_details;

  // Karin stores John's details in the KCC: his handle links the earlier tweets and DMs to him.
  pb::ExecuteRequest register_john;
  auto* party = register_john.mutable_register_party();
  party->set_kind(pb::PARTY_KIND_PERSON);
  party->set_display_name("John de Vries");
  *party->add_digital_addresses() = Address(pb::DIGITAL_ADDRESS_KIND_TWITTER, kJohnHandle);
  *party->add_digital_addresses() = Address(pb::DIGITAL_ADDRESS_KIND_EMAIL, kJohnEmail, true);
  *party->add_digital_addresses() = Address(pb::DIGITAL_ADDRESS_KIND_PHONE, kJohnPhone, true);
  KS_TRY(john, d.Send(std::move(register_john), Karin(), pb::CHANNEL_TWITTER, "journey-000-register-john", 143));
  journey.john_party_id = john->aggregate_id();

  // 10. Karin files a callback request for expert Windy, with context and urgency.
  pb::ExecuteRequest callback;
  auto* cb = callback.mutable_request_callback();
  cb->set_party_id(journey.john_party_id);
  cb->set_origin_interaction_id(*details_dm);
  cb->set_subject("Windmolenpark Polderweg: omwonende niet geïnformeerd");
  cb->set_context(
      "John woont aan de Polderweg en hoorde via de krant van het windmolenpark. Boos op Twitter (2x), "
      "informatie over de informatieavond per DM gestuurd, niet tevreden. Wil vandaag gebeld worden. "
      "Kans op bezwaar: nagaan of meer omwonenden niet zijn geïnformeerd.");
  cb->set_urgency(pb::URGENCY_HIGH);
  cb->set_phone_number(kJohnPhone);
  cb->mutable_target()->set_department(kExpertDepartment);
  cb->mutable_target()->set_employee_id(kWindyId);
  cb->mutable_target()->set_employee_name("Windy");
  *cb->mutable_due_at() = TimeUtil::SecondsToTimestamp(kStartSeconds + 9 * 3600);  // the same day, 17:47
  KS_TRY(requested, d.Send(std::move(callback), Karin(), pb::CHANNEL_INTERNAL, "journey-000-callback-windy", 150));
  journey.callback_id = requested->aggregate_id();
  return journey;
}

Status FinishJourney000(pb::CommandService::StubInterface& commands, Journey000& journey) {
  Driver d(commands, journey);
  // 12. Windy calls John and they talk.
  pb::ExecuteRequest call;
  auto* c = call.mutable_register_interaction();
  c->set_party_id(journey.john_party_id);
  c->set_channel(pb::CHANNEL_PHONE);
  c->set_direction(pb::DIRECTION_OUTBOUND);
  c->set_visibility(pb::VISIBILITY_PRIVATE);
  c->add_topics("windmolenpark");
  c->add_topics("inspraak");
  c->set_text("Terugbelgesprek met John over het windmolenpark Polderweg.");
  *c->mutable_counterpart() = Address(pb::DIGITAL_ADDRESS_KIND_PHONE, kJohnPhone);
  *c->mutable_handled_by() = Windy();
  auto call_reply = d.Send(std::move(call), Windy(), pb::CHANNEL_PHONE, "journey-000-windy-call", 210);
  if (!call_reply) return call_reply.error();
  const std::string call_id = call_reply->aggregate_id();
  journey.interaction_ids.push_back(call_id);

  pb::ExecuteRequest attempt;
  attempt.set_aggregate_id(journey.callback_id);
  attempt.mutable_record_callback_attempt()->set_outcome(pb::ATTEMPT_OUTCOME_REACHED);
  attempt.mutable_record_callback_attempt()->set_note("John direct bereikt.");
  if (auto r = d.Send(std::move(attempt), Windy(), pb::CHANNEL_PHONE, "journey-000-attempt-1", 210); !r) return r.error();

  const std::string report =
      "Uitgelegd dat het windmolenpark nog in voorbereiding is en dat omwonenden een zienswijze kunnen indienen. "
      "Excuses aangeboden voor de late informatie; John komt naar de informatieavond. Geen bezwaar nodig.";
  pb::ExecuteRequest report_cmd;
  report_cmd.set_aggregate_id(call_id);
  report_cmd.mutable_record_interaction_report()->set_report(report);
  report_cmd.mutable_record_interaction_report()->set_outcome("informatie gegeven");
  if (auto r = d.Send(std::move(report_cmd), Windy(), pb::CHANNEL_INTERNAL, "journey-000-call-report", 232); !r)
    return r.error();

  pb::ExecuteRequest complete;
  complete.set_aggregate_id(journey.callback_id);
  complete.mutable_complete_callback()->set_report(report);
  complete.mutable_complete_callback()->set_interaction_id(call_id);
  if (auto r = d.Send(std::move(complete), Windy(), pb::CHANNEL_INTERNAL, "journey-000-callback-done", 233); !r)
    return r.error();
  return Status::Ok();
}

}  // namespace ks::journeys
