// Journey 002 end to end through gRPC (the all-in-one on the embedded log, on loopback): Thijs
// reports his move to the chatbot, is identified by camera, confirms the recap, takes a parking
// permit; the bot puts the early declaration on hold with a reminder and plans a congratulation for
// moving day. A month later the move is postponed: the bot cannot change it and hands the chat over
// to the KCC; Karin takes it over with the whole history in view, calls Thijs, identifies him
// again, moves the reminder and the congratulation to the new date and confirms by SMS. The SMS
// gateway gets the confirmation at once, the reminder and the congratulation when due (by the
// queue's clock, run ahead), each exactly once, also after a restart.
#include <catch2/catch.hpp>

#include <google/protobuf/util/time_util.h>

#include "support/journey.h"

using namespace ks::testing;
namespace pb = ::klantstroom::v1;
using google::protobuf::util::TimeUtil;

namespace {

constexpr const char* kTenant = "gemeente-test";
constexpr const char* kThijsBsn = "271828183";
constexpr const char* kThijsPhone = "+31612345678";
constexpr int64_t kDay = 24 * 3600;

pb::ExecuteRequest Bot(pb::ExecuteRequest r) { return As(std::move(r), "chatbot", pb::ACTOR_KIND_BOT, 0, "Virtuele assistent"); }
pb::ExecuteRequest Karin(pb::ExecuteRequest r) { return As(std::move(r), "kcc-karin", pb::ACTOR_KIND_EMPLOYEE, 0, "Karin"); }

// One turn of a conversation; returns the contact's id.
std::string Turn(Stack& stack, const std::string& conversation, pb::Direction direction, const std::string& text,
                 pb::Channel channel = pb::CHANNEL_CHAT, bool by_karin = false) {
  auto request = NewRequest(kTenant);
  auto* c = request.mutable_register_interaction();
  c->set_conversation_id(conversation);
  c->set_channel(channel);
  c->set_direction(direction);
  c->set_text(text);
  c->add_topics("verhuizing");
  return stack.MustExecute(by_karin ? Karin(request) : Bot(request)).aggregate_id();
}

pb::ExecuteReply Identify(Stack& stack, const std::string& party, pb::IdentificationMethod method,
                          const std::string& process, pb::ExecuteRequest (*as)(pb::ExecuteRequest), pb::Channel channel) {
  auto request = NewRequest(kTenant);
  request.set_aggregate_id(party);
  request.mutable_meta()->set_channel(channel);
  request.mutable_record_identification()->set_method(method);
  request.mutable_record_identification()->set_process(process);
  return stack.MustExecute(as(request));
}

pb::ExecuteReply LinkToZaak(Stack& stack, const std::string& contact, const std::string& zaak, const std::string& type) {
  auto request = NewRequest(kTenant);
  request.set_aggregate_id(contact);
  request.mutable_link_interaction_to_zaak()->mutable_zaak()->set_identification(zaak);
  request.mutable_link_interaction_to_zaak()->mutable_zaak()->set_zaaktype(type);
  return stack.MustExecute(Bot(request));
}

// A message to Thijs by SMS at `send_at` (0: now), to the address the party has for SMS.
std::string PlanSms(Stack& stack, const std::string& party, const std::string& text, int64_t send_at, const std::string& key,
                    pb::ExecuteRequest (*as)(pb::ExecuteRequest)) {
  auto request = NewRequest(kTenant, key);
  auto* c = request.mutable_request_notification();
  c->set_party_id(party);
  c->set_channel(pb::CHANNEL_SMS);
  c->set_text(text);
  c->set_subject_id("ZAAK-2026-0001");
  if (send_at > 0) *c->mutable_send_at() = TimeUtil::SecondsToTimestamp(send_at);
  return stack.MustExecute(as(request)).aggregate_id();
}

pb::ConversationView Conversation(Stack& stack, const std::string& id, const pb::ExecuteReply& after) {
  pb::GetConversationRequest request;
  request.set_tenant(kTenant);
  request.set_conversation_id(id);
  After(request, after);
  return MustQuery(stack, &pb::QueryService::Stub::GetConversation, request);
}

// The customer view reflecting `after`, once the policy has linked the chat's early turns (at
// most 10 s).
pb::CustomerView ViewWithTimeline(Stack& stack, const std::string& party, int contacts,
                                  std::initializer_list<const pb::ExecuteReply*> after) {
  pb::CustomerView view;
  for (int i = 0; i < 200; ++i) {
    pb::GetCustomerViewRequest request;
    request.set_tenant(kTenant);
    request.set_party_id(party);
    for (const pb::ExecuteReply* reply : after) After(request, *reply);
    view = MustQuery(stack, &pb::QueryService::Stub::GetCustomerView, request);
    if (view.timeline_size() >= contacts) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return view;
}

}  // namespace

TEST_CASE("journey 002: Thijs moves, postpones a month, and is congratulated on the new day", "[e2e][conversation]") {
  Stack stack;
  const int64_t now = TimeUtil::GetCurrentTime().seconds();
  const int64_t moving_day = now + 30 * kDay;  // "17 maart"
  const int64_t new_moving_day = moving_day + 30 * kDay;

  // Thijs is in the BRP (the link registers the people the municipality serves).
  auto brp = As(NewRequest(kTenant, "brp-thijs"), "brp-koppeling", pb::ACTOR_KIND_SYSTEM);
  auto* p = brp.mutable_register_party();
  p->set_kind(pb::PARTY_KIND_PERSON);
  p->set_display_name("Thijs de Vries");
  p->set_birth_date("1994-05-12");
  auto* bsn = p->add_identifiers();
  bsn->set_kind(pb::IDENTIFIER_KIND_BSN);
  bsn->set_value(kThijsBsn);
  auto* phone = p->add_digital_addresses();
  phone->set_kind(pb::DIGITAL_ADDRESS_KIND_PHONE);
  phone->set_value("+31 6 12345678");
  phone->set_preferred(true);
  const pb::ExecuteReply registered = stack.MustExecute(brp);
  const std::string thijs = registered.aggregate_id();

  // ---- Part I: the chat with the bot ----
  auto start = Bot(NewRequest(kTenant, "chat-session-1"));
  start.mutable_meta()->set_channel(pb::CHANNEL_CHAT);
  start.mutable_start_conversation()->set_channel(pb::CHANNEL_CHAT);
  start.mutable_start_conversation()->set_subject("verhuizing doorgeven");
  start.mutable_start_conversation()->add_topics("verhuizing");
  const std::string chat1 = stack.MustExecute(start).aggregate_id();
  Turn(stack, chat1, pb::DIRECTION_INBOUND, "Ik wil mijn verhuizing doorgeven");
  Turn(stack, chat1, pb::DIRECTION_OUTBOUND, "We gaan deze verhuizing samen regelen. Wil je even in de camera kijken?");

  // The camera check reads his BSN from the document: that is Thijs, for certain.
  pb::LookupPartiesRequest by_bsn;
  by_bsn.set_tenant(kTenant);
  by_bsn.mutable_identifier()->set_kind(pb::IDENTIFIER_KIND_BSN);
  by_bsn.mutable_identifier()->set_value(kThijsBsn);
  After(by_bsn, registered);
  auto found = MustQuery(stack, &pb::QueryService::Stub::LookupParties, by_bsn);
  REQUIRE(found.parties_size() == 1);
  CHECK(found.parties(0).party_id() == thijs);
  CHECK(found.certainty() == pb::MATCH_CERTAINTY_IDENTIFIER);
  auto link = Bot(NewRequest(kTenant));
  link.set_aggregate_id(chat1);
  link.mutable_link_conversation_to_party()->set_party_id(thijs);
  stack.MustExecute(link);
  Identify(stack, thijs, pb::IDENTIFICATION_METHOD_CAMERA, "verhuizing", Bot, pb::CHANNEL_CHAT);

  Turn(stack, chat1, pb::DIRECTION_OUTBOUND, "Welkom Thijs! Wat is je nieuwe adres, en per wanneer?");
  Turn(stack, chat1, pb::DIRECTION_INBOUND, "Lange Nieuwstraat 5, 3512 PA Utrecht, per 17 maart. Er verhuist niemand mee.");
  const std::string confirmed = Turn(stack, chat1, pb::DIRECTION_INBOUND, "Bevestigen");
  LinkToZaak(stack, confirmed, "ZAAK-2026-0001", "verhuizing");
  Turn(stack, chat1, pb::DIRECTION_OUTBOUND, "Er is betaald parkeren op je nieuwe adres: wil je een parkeervergunning?");
  const std::string permit = Turn(stack, chat1, pb::DIRECTION_INBOUND, "Ja, 1 P-vergunning à 125 euro per jaar");
  LinkToZaak(stack, permit, "ZAAK-2026-0002", "parkeervergunning");
  // Declared early: on hold, with a reminder a week before, and a congratulation on the day.
  const std::string reminder = PlanSms(stack, thijs, "Je verhuizing staat klaar. Klopt de datum nog? Laat het ons weten.",
                                       moving_day - 7 * kDay, "chat-session-1/reminder", Bot);
  const std::string congratulation =
      PlanSms(stack, thijs, "Gefeliciteerd met je verhuizing!", moving_day + 9 * 3600, "chat-session-1/congratulation", Bot);
  auto close = Bot(NewRequest(kTenant));
  close.set_aggregate_id(chat1);
  close.mutable_close_conversation()->set_outcome("verhuizing geregistreerd, P-vergunning aangevraagd");
  close.mutable_close_conversation()->set_report("Verhuizing per 17 maart; P-vergunning betaald; tip huursubsidie niet van toepassing.");
  close.mutable_close_conversation()->add_underlying_topics("parkeervergunning");
  const pb::ExecuteReply closed1 = stack.MustExecute(close);

  // All seven turns are on his timeline, the two before the camera check too (linked by the policy).
  {
    pb::CustomerView view = ViewWithTimeline(stack, thijs, 7, {&closed1});
    CHECK(view.timeline_size() == 7);
    REQUIRE(view.conversations_size() == 1);
    CHECK(view.conversations(0).status() == pb::CONVERSATION_STATUS_CLOSED);
    CHECK(view.conversations(0).outcome() == "verhuizing geregistreerd, P-vergunning aangevraagd");
    CHECK(view.party().identifications_size() == 1);
    int scheduled = 0;
    for (const auto& n : view.notifications())
      if (n.status() == pb::NOTIFICATION_STATUS_PENDING && n.has_send_at()) ++scheduled;
    CHECK(scheduled == 2);
  }

  // ---- Part III: a month later the move shifts; the bot hands over ----
  // The chat app knows his number; a phone number is not proof of who is typing.
  pb::LookupPartiesRequest by_phone;
  by_phone.set_tenant(kTenant);
  by_phone.mutable_digital_address()->set_kind(pb::DIGITAL_ADDRESS_KIND_PHONE);
  by_phone.mutable_digital_address()->set_value(kThijsPhone);
  auto recognised = MustQuery(stack, &pb::QueryService::Stub::LookupParties, by_phone);
  REQUIRE(recognised.parties_size() == 1);
  CHECK(recognised.certainty() == pb::MATCH_CERTAINTY_UNVERIFIED);
  auto start2 = Bot(NewRequest(kTenant, "chat-session-2"));
  start2.mutable_start_conversation()->set_channel(pb::CHANNEL_CHAT);
  start2.mutable_start_conversation()->set_party_id(thijs);
  start2.mutable_start_conversation()->set_subject("verhuisdatum wijzigen");
  const std::string chat2 = stack.MustExecute(start2).aggregate_id();
  Turn(stack, chat2, pb::DIRECTION_INBOUND, "Mijn verhuizing schuift een maand op door omstandigheden.");
  Turn(stack, chat2, pb::DIRECTION_OUTBOUND, "Sorry, dat gaat mij te ver: mijn collega Karin gaat je bellen. Ben je op dit nummer bereikbaar?");
  Turn(stack, chat2, pb::DIRECTION_INBOUND, "Ja");
  auto handover = Bot(NewRequest(kTenant));
  handover.set_aggregate_id(chat2);
  auto* h = handover.mutable_hand_over_conversation();
  h->mutable_to()->set_department("kcc");
  h->set_reason("verhuisdatum wijzigen kan de chatbot niet");
  h->set_summary("Thijs wil zijn verhuisdatum een maand later; P-vergunning loopt mee.");
  h->set_phone_number(kThijsPhone);
  const pb::ExecuteReply handed = stack.MustExecute(handover);

  // The bot cannot hand over twice, and only an employee takes over.
  {
    pb::ExecuteReply ignored;
    CHECK(stack.Execute(handover, &ignored).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    auto by_bot = Bot(NewRequest(kTenant));
    by_bot.set_aggregate_id(chat2);
    by_bot.mutable_take_over_conversation();
    grpc::Status refused = stack.Execute(by_bot);
    CHECK(refused.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(refused.error_message().find("meta.actor.kind") != std::string::npos);
  }

  // Karin's alert: the KCC's handover list, with the number to call and the summary.
  pb::ListHandoversRequest alerts;
  alerts.set_tenant(kTenant);
  alerts.set_department("kcc");
  After(alerts, handed);
  auto waiting = MustQuery(stack, &pb::QueryService::Stub::ListHandovers, alerts);
  REQUIRE(waiting.conversations_size() == 1);
  CHECK(waiting.conversations(0).conversation_id() == chat2);
  CHECK(waiting.conversations(0).callback_phone_number() == kThijsPhone);
  CHECK(waiting.conversations(0).handover_summary() == "Thijs wil zijn verhuisdatum een maand later; P-vergunning loopt mee.");

  auto take = Karin(NewRequest(kTenant));
  take.set_aggregate_id(chat2);
  take.mutable_take_over_conversation();
  const pb::ExecuteReply taken = stack.MustExecute(take);

  // What Karin sees when she takes it over: this chat, and everything before it.
  {
    pb::ConversationView context = Conversation(stack, chat2, taken);
    CHECK(context.conversation().status() == pb::CONVERSATION_STATUS_WITH_EMPLOYEE);
    CHECK(context.conversation().taken_over_by().id() == "kcc-karin");
    REQUIRE(context.turns_size() == 3);
    CHECK(context.turns(0).text() == "Mijn verhuizing schuift een maand op door omstandigheden.");
    CHECK(context.party().display_name() == "Thijs de Vries");
    CHECK(context.party().identifications(0).method() == pb::IDENTIFICATION_METHOD_CAMERA);
    REQUIRE(context.earlier_conversations_size() == 1);
    CHECK(context.earlier_conversations(0).outcome() == "verhuizing geregistreerd, P-vergunning aangevraagd");
    CHECK(context.earlier_conversations(0).underlying_topics(0) == "parkeervergunning");
    CHECK(context.earlier_contacts_size() == 7);
    bool zaak_seen = false;
    for (const auto& c : context.earlier_contacts())
      for (const auto& z : c.zaken()) zaak_seen |= z.identification() == "ZAAK-2026-0001";
    CHECK(zaak_seen);
    REQUIRE(context.scheduled_messages_size() == 2);
  }
  pb::ListHandoversRequest alerts_after = alerts;
  alerts_after.clear_consistency();
  After(alerts_after, taken);
  CHECK(MustQuery(stack, &pb::QueryService::Stub::ListHandovers, alerts_after).conversations_size() == 0);

  // Karin calls, identifies him again, and moves the date.
  Turn(stack, chat2, pb::DIRECTION_OUTBOUND, "Ik heb vernomen dat de verhuisdatum opschuift: klopt dat?", pb::CHANNEL_PHONE, true);
  Identify(stack, thijs, pb::IDENTIFICATION_METHOD_CAMERA, "verhuizing wijzigen", Karin, pb::CHANNEL_PHONE);
  Turn(stack, chat2, pb::DIRECTION_INBOUND, "Ja, dat klopt. Het wordt een maand later.", pb::CHANNEL_PHONE, true);
  for (const auto& [id, at] : {std::pair{reminder, new_moving_day - 7 * kDay}, {congratulation, new_moving_day + 9 * 3600}}) {
    auto move = Karin(NewRequest(kTenant));
    move.set_aggregate_id(id);
    *move.mutable_reschedule_notification()->mutable_send_at() = TimeUtil::SecondsToTimestamp(at);
    stack.MustExecute(move);
  }
  const std::string confirmation =
      PlanSms(stack, thijs, "Je nieuwe verhuisdatum is vastgelegd. Je P-vergunning is opgeschort tot die dag.", 0,
              "call-karin/confirmation", Karin);
  auto close2 = Karin(NewRequest(kTenant));
  close2.set_aggregate_id(chat2);
  close2.mutable_close_conversation()->set_outcome("verhuisdatum gewijzigd");
  close2.mutable_close_conversation()->add_underlying_topics("parkeervergunning opschorten");
  const pb::ExecuteReply closed = stack.MustExecute(close2);

  // ---- The SMS gateway: the confirmation now, the rest when due ----
  const Adapter sms{kTenant, pb::CHANNEL_SMS, "sms-gateway", ""};
  auto now_due = sms.Pull(stack, 1);
  REQUIRE(now_due.size() == 1);
  CHECK(now_due[0].notification_id() == confirmation);
  CHECK(now_due[0].address().value() == kThijsPhone);
  sms.Report(stack, now_due[0]);

  stack.RunQueueClockAhead(std::chrono::seconds(moving_day + kDay - now));  // the old moving day: nothing
  CHECK(sms.PullOnce(stack).empty());
  stack.RunQueueClockAhead(std::chrono::seconds(new_moving_day - 7 * kDay + 3600 - now));
  auto week_before = sms.PullOnce(stack);
  REQUIRE(week_before.size() == 1);
  CHECK(week_before[0].notification_id() == reminder);
  sms.Report(stack, week_before[0]);
  stack.RunQueueClockAhead(std::chrono::seconds(new_moving_day + 10 * 3600 - now));
  auto on_the_day = sms.PullOnce(stack);
  REQUIRE(on_the_day.size() == 1);
  CHECK(on_the_day[0].notification_id() == congratulation);
  CHECK(on_the_day[0].text() == "Gefeliciteerd met je verhuizing!");
  const pb::ExecuteReply delivered = sms.Report(stack, on_the_day[0]);
  CHECK(sms.PullOnce(stack).empty());
  stack.Restart();  // exactly once, also after a restart: the policy reads the log again
  AwaitPolicies(stack);
  CHECK(sms.Pull(stack, 0, std::chrono::milliseconds(500)).empty());

  // Thijs's history reads as one: two conversations, twelve turns (the call's two included), two
  // identifications, and the congratulation delivered on the new day.
  pb::CustomerView view = ViewWithTimeline(stack, thijs, 12, {&closed, &delivered});
  CHECK(view.timeline_size() == 12);
  REQUIRE(view.conversations_size() == 2);
  CHECK(view.conversations(0).conversation_id() == chat2);
  CHECK(view.conversations(0).outcome() == "verhuisdatum gewijzigd");
  CHECK(view.party().identifications_size() == 2);
  CHECK(view.party().identifications(1).verified_by().id() == "kcc-karin");
  int congratulations = 0;
  for (const auto& n : view.notifications()) {
    if (n.notification_id() != congratulation) continue;
    ++congratulations;
    CHECK(n.status() == pb::NOTIFICATION_STATUS_DELIVERED);
    CHECK(n.send_at().seconds() == new_moving_day + 9 * 3600);
  }
  CHECK(congratulations == 1);
  pb::ListZaakContactsRequest zaak;
  zaak.set_tenant(kTenant);
  zaak.set_zaak("ZAAK-2026-0001");
  After(zaak, closed);
  auto zaak_contacts = MustQuery(stack, &pb::QueryService::Stub::ListZaakContacts, zaak);
  REQUIRE(zaak_contacts.contacts_size() == 1);
  CHECK(zaak_contacts.contacts(0).interaction_id() == confirmed);
  CHECK(zaak_contacts.contacts(0).text() == "Bevestigen");
}
