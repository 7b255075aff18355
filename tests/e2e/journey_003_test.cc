// Journey 003 end to end through gRPC, with authentication (each person with their own token and
// role): Desiree calls in urgent need of financial help. Karin (KCC) recognises her by postcode,
// house number and birth date, goes through the decision questions, records the question behind
// the question, adds her safe e-mail address and a label, and books an appointment with the
// wijkteam's consulent Noor. Confirmations and reminders go to the safe address only and carry the
// time and a link, no details. Desiree moves the appointment and chooses her reminders through
// the citizen portal. Noor's contact and the appointment are the wijkteam's: the KCC sees THAT,
// never WHAT, in every read path. Another municipality and an unauthenticated caller get nothing.
#include <catch2/catch.hpp>

#include <algorithm>

#include <google/protobuf/util/time_util.h>

#include "support/journey.h"

using namespace ks::testing;
namespace pb = ::klantstroom::v1;
using google::protobuf::util::TimeUtil;

namespace {

constexpr const char* kTenant = "gemeente-aa";
constexpr const char* kSharedPhone = "+31655501234";  // her ex knows the passwords of this phone
constexpr const char* kSharedEmail = "desiree.achterberg@example.nl";
constexpr const char* kSafeEmail = "d.veilig@example.nl";
constexpr const char* kDetailsUrl = "https://mijn.gemeente-aa.nl/afspraken/desiree-1";
constexpr int64_t kHour = 3600;

pb::ExecuteRequest ByKarin(const std::string& key = "") {
  return As(NewRequest(kTenant, key), "kcc-karin", pb::ACTOR_KIND_EMPLOYEE, 0, "Karin");
}

pb::TimeWindow Window(int64_t start, int64_t minutes) {
  pb::TimeWindow w;
  *w.mutable_start() = TimeUtil::SecondsToTimestamp(start);
  *w.mutable_end() = TimeUtil::SecondsToTimestamp(start + minutes * 60);
  return w;
}

}  // namespace

TEST_CASE("journey 003: Desiree is recognised, referred, and meets the wijkteam, reminded at her safe address only",
          "[e2e][appointment][security]") {
  TempDir tokens_dir;
  Stack stack(WriteTokens(tokens_dir, {{"karin", "gemeente-aa kcc kcc-karin"},
                                       {"noor", "gemeente-aa specialist wt-noor wijkteam-noord"},
                                       {"portal", "gemeente-aa channel-adapter mijn-gemeente"},
                                       {"mail", "gemeente-aa channel-adapter mail-gateway"},
                                       {"brp", "gemeente-aa back-office brp-koppeling"},
                                       {"kcc-bb", "gemeente-bb kcc kcc-bob"}}));
  const int64_t now = TimeUtil::GetCurrentTime().seconds();

  // Desiree as the BRP knows her.
  auto brp = As(NewRequest(kTenant, "brp-desiree"), "brp-koppeling", pb::ACTOR_KIND_SYSTEM);
  auto* p = brp.mutable_register_party();
  p->set_kind(pb::PARTY_KIND_PERSON);
  p->set_display_name("Desiree Achterberg");
  p->set_birth_date("1988-02-03");
  p->mutable_residence()->set_street("Kerkstraat");
  p->mutable_residence()->set_house_number("7");
  p->mutable_residence()->set_postcode("7411 AB");
  p->mutable_residence()->set_city("Deventer");
  for (auto [kind, value] : {std::pair{pb::DIGITAL_ADDRESS_KIND_PHONE, kSharedPhone}, {pb::DIGITAL_ADDRESS_KIND_EMAIL, kSharedEmail}}) {
    auto* a = p->add_digital_addresses();
    a->set_kind(kind);
    a->set_value(value);
    a->set_preferred(true);
  }
  const pb::ExecuteReply registered = MustExecuteAs(stack, "brp", brp);
  const std::string desiree = registered.aggregate_id();

  // She calls from a friend's phone: number recognition finds nobody; postcode, house number and
  // birth date find her, as probable.
  pb::LookupPartiesRequest by_phone;
  by_phone.set_tenant(kTenant);
  by_phone.mutable_digital_address()->set_kind(pb::DIGITAL_ADDRESS_KIND_PHONE);
  by_phone.mutable_digital_address()->set_value("+31 6 11112222");
  After(by_phone, registered);
  CHECK(MustQuery(stack, &pb::QueryService::Stub::LookupParties, by_phone, "karin").parties_size() == 0);
  pb::LookupPartiesRequest recognise;
  recognise.set_tenant(kTenant);
  recognise.mutable_recognition()->set_postcode("7411ab");
  recognise.mutable_recognition()->set_house_number("7");
  recognise.mutable_recognition()->set_birth_date("1988-02-03");
  After(recognise, registered);
  auto recognised = MustQuery(stack, &pb::QueryService::Stub::LookupParties, recognise, "karin");
  REQUIRE(recognised.parties_size() == 1);
  CHECK(recognised.parties(0).party_id() == desiree);
  CHECK(recognised.certainty() == pb::MATCH_CERTAINTY_PROBABLE);

  // The call, with the decision questions (at most five) as its turns.
  auto start = ByKarin("call-desiree-1");
  start.mutable_start_conversation()->set_party_id(desiree);
  start.mutable_start_conversation()->set_channel(pb::CHANNEL_PHONE);
  start.mutable_start_conversation()->set_subject("financiële hulp");
  const std::string call = MustExecuteAs(stack, "karin", start).aggregate_id();
  std::string last_turn;
  for (const char* text : {"Waar loopt u het meest tegenaan? - De huur en de energierekening, ik heb schulden.",
                           "Wat is het meest acuut? - Er dreigt afsluiting van de energie.",
                           "Voelt u zich veilig thuis? - Mijn ex leest mijn berichten mee."}) {
    auto turn = ByKarin();
    auto* c = turn.mutable_register_interaction();
    c->set_conversation_id(call);
    c->set_channel(pb::CHANNEL_PHONE);
    c->set_direction(pb::DIRECTION_INBOUND);
    c->set_text(text);
    c->add_topics("financiële hulp");
    last_turn = MustExecuteAs(stack, "karin", turn).aggregate_id();
  }
  auto report = ByKarin();
  report.set_aggregate_id(last_turn);
  report.mutable_record_interaction_report()->set_report("Acute geldzorgen; ex leest mee. Verwezen naar wijkteam Noord.");
  report.mutable_record_interaction_report()->set_outcome("doorverwezen");
  report.mutable_record_interaction_report()->add_underlying_topics("schuldhulp");
  report.mutable_record_interaction_report()->add_underlying_topics("veiligheid");
  MustExecuteAs(stack, "karin", report);

  // Her own address, which her ex cannot read, and a label for the reports.
  auto safe = ByKarin();
  safe.set_aggregate_id(desiree);
  safe.mutable_add_digital_address()->mutable_address()->set_kind(pb::DIGITAL_ADDRESS_KIND_EMAIL);
  safe.mutable_add_digital_address()->mutable_address()->set_value(kSafeEmail);
  safe.mutable_add_digital_address()->mutable_address()->set_safe(true);
  MustExecuteAs(stack, "karin", safe);
  auto label = ByKarin();
  label.set_aggregate_id(desiree);
  label.mutable_add_party_label()->set_label("schuldhulp-traject");
  MustExecuteAs(stack, "karin", label);

  // The appointment with Noor of the wijkteam; confirmation by e-mail, as she asks.
  const int64_t first_time = now + 3 * 24 * kHour;
  auto book = ByKarin("call-desiree-1/afspraak");
  auto* a = book.mutable_schedule_appointment();
  a->set_party_id(desiree);
  *a->mutable_window() = Window(first_time, 60);
  a->set_place("Wijkcentrum De Hoven, Hovenstraat 1");
  a->mutable_with()->set_department("wijkteam-noord");
  a->mutable_with()->set_employee_id("wt-noor");
  a->mutable_with()->set_employee_name("Noor");
  a->set_subject("schuldhulp: eerste gesprek");
  a->set_what_to_bring("loonstroken van drie maanden, huurcontract, ID-bewijs");
  a->add_reminder_minutes_before(24 * 60);
  a->add_reminder_minutes_before(60);
  a->set_confirm_channel(pb::CHANNEL_EMAIL);
  a->set_details_url(kDetailsUrl);
  a->set_restricted_to_team("wijkteam-noord");
  a->set_origin_interaction_id(last_turn);
  const std::string appointment = MustExecuteAs(stack, "karin", book).aggregate_id();
  auto close = ByKarin();
  close.set_aggregate_id(call);
  close.mutable_close_conversation()->set_outcome("afspraak wijkteam Noord");
  close.mutable_close_conversation()->add_underlying_topics("schuldhulp");
  MustExecuteAs(stack, "karin", close);

  // The confirmation reaches her safe address, with the time and the link and nothing else.
  const Adapter mail{kTenant, pb::CHANNEL_EMAIL, "mail-gateway", "mail"};
  auto confirmed = mail.Pull(stack, 1);
  REQUIRE(confirmed.size() == 1);
  CHECK(confirmed[0].address().value() == kSafeEmail);
  CHECK(confirmed[0].text().find(kDetailsUrl) != std::string::npos);
  for (const char* detail : {"schuldhulp", "Hoven", "loonstroken", "Noor"}) CHECK(confirmed[0].text().find(detail) == std::string::npos);
  mail.Report(stack, confirmed[0]);

  // Through the portal she moves it to the next afternoon and wants one reminder, a day before.
  const int64_t new_time = first_time + 28 * kHour;
  auto move = As(NewRequest(kTenant, "portal-move-1"), desiree, pb::ACTOR_KIND_CITIZEN);
  move.set_aggregate_id(appointment);
  move.mutable_meta()->set_channel(pb::CHANNEL_APP);
  *move.mutable_reschedule_appointment()->mutable_window() = Window(new_time, 60);
  move.mutable_reschedule_appointment()->set_reason("kinderopvang lukt niet in de ochtend");
  MustExecuteAs(stack, "portal", move);
  auto reminders = As(NewRequest(kTenant, "portal-reminders-1"), desiree, pb::ACTOR_KIND_CITIZEN);
  reminders.set_aggregate_id(appointment);
  reminders.mutable_set_appointment_reminders()->add_reminder_minutes_before(24 * 60);
  reminders.mutable_set_appointment_reminders()->set_confirm_channel(pb::CHANNEL_EMAIL);
  const pb::ExecuteReply chosen = MustExecuteAs(stack, "portal", reminders);
  {
    pb::GetAppointmentRequest get;
    get.set_tenant(kTenant);
    get.set_appointment_id(appointment);
    After(get, chosen);
    auto seen = MustQuery(stack, &pb::QueryService::Stub::GetAppointment, get, "portal");
    CHECK(seen.appointment().window().start().seconds() == new_time);
    CHECK(seen.appointment().reschedule_count() == 1);
    CHECK(seen.appointment().last_changed_by().kind() == pb::ACTOR_KIND_CITIZEN);
  }
  auto moved = mail.Pull(stack, 1);
  REQUIRE(moved.size() == 1);
  // The policy has cancelled the reminders of the earlier choices and planned the new one: seven
  // messages about the appointment, one still to be sent.
  for (int i = 0; i < 200; ++i) {
    pb::GetAppointmentRequest get;
    get.set_tenant(kTenant);
    get.set_appointment_id(appointment);
    auto messages = MustQuery(stack, &pb::QueryService::Stub::GetAppointment, get, "portal").notifications();
    const auto waiting = std::count_if(messages.begin(), messages.end(), [](const auto& n) {
      return n.status() == pb::NOTIFICATION_STATUS_PENDING && n.has_send_at();
    });
    if (messages.size() == 7 && waiting == 1) break;
    REQUIRE(i < 199);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK(moved[0].text().find("verplaatst") != std::string::npos);
  CHECK(moved[0].address().value() == kSafeEmail);
  mail.Report(stack, moved[0]);

  // The old reminders never go; the one she chose goes a day before the new time, once.
  for (int64_t at : {first_time - 24 * kHour + 60, first_time - kHour + 60, new_time - kHour + 60}) {
    stack.RunQueueClockAhead(std::chrono::seconds(at - now));
    if (at < new_time - 24 * kHour) CHECK(mail.PullOnce(stack).empty());
  }
  stack.RunQueueClockAhead(std::chrono::seconds(new_time - kHour - now));
  auto reminded = mail.PullOnce(stack);
  REQUIRE(reminded.size() == 1);
  CHECK(reminded[0].text().find("Herinnering") != std::string::npos);
  CHECK(reminded[0].address().value() == kSafeEmail);
  mail.Report(stack, reminded[0]);
  CHECK(mail.PullOnce(stack).empty());
  const Adapter sms{kTenant, pb::CHANNEL_SMS, "mail-gateway", "mail"};
  CHECK(sms.PullOnce(stack).empty());  // nothing ever went to the shared phone

  // Noor's contact at the appointment is the wijkteam's; the outcome too.
  stack.RunQueueClockAhead(std::chrono::seconds(0));
  auto meeting = As(NewRequest(kTenant), "wt-noor", pb::ACTOR_KIND_EMPLOYEE, 0, "Noor");
  auto* m = meeting.mutable_register_interaction();
  m->set_party_id(desiree);
  m->set_channel(pb::CHANNEL_IN_PERSON);
  m->set_direction(pb::DIRECTION_INBOUND);
  m->set_text("Intake schulden: huurachterstand 3 maanden, energieschuld; veiligheidsplan besproken.");
  m->add_topics("schuldhulp");
  m->set_restricted_to_team("wijkteam-noord");
  const std::string intake = MustExecuteAs(stack, "noor", meeting).aggregate_id();
  auto zaak = As(NewRequest(kTenant), "wt-noor", pb::ACTOR_KIND_EMPLOYEE);
  zaak.set_aggregate_id(intake);
  zaak.mutable_link_interaction_to_zaak()->mutable_zaak()->set_identification("ZAAK-2026-0100");
  zaak.mutable_link_interaction_to_zaak()->mutable_zaak()->set_zaaktype("schuldhulpverlening");
  const pb::ExecuteReply linked = MustExecuteAs(stack, "noor", zaak);

  // What Karin sees: THAT there is an appointment and a contact with wijkteam Noord, never WHAT.
  pb::GetCustomerViewRequest view_request;
  view_request.set_tenant(kTenant);
  view_request.set_party_id(desiree);
  After(view_request, linked);
  const auto karin_view = MustQuery(stack, &pb::QueryService::Stub::GetCustomerView, view_request, "karin");
  REQUIRE(karin_view.appointments_size() == 1);
  const auto& seen_appointment = karin_view.appointments(0);
  CHECK(seen_appointment.content_withheld());
  CHECK(seen_appointment.restricted_to_team() == "wijkteam-noord");
  CHECK(seen_appointment.window().start().seconds() == new_time);
  CHECK(seen_appointment.subject().empty());
  CHECK(seen_appointment.place().empty());
  CHECK(seen_appointment.what_to_bring().empty());
  bool intake_seen = false;
  for (const auto& contact : karin_view.timeline()) {
    if (contact.interaction_id() != intake) continue;
    intake_seen = true;
    CHECK(contact.content_withheld());
    CHECK(contact.text().empty());
  }
  CHECK(intake_seen);
  CHECK(karin_view.party().labels(0).label() == "schuldhulp-traject");
  pb::GetAppointmentRequest get;
  get.set_tenant(kTenant);
  get.set_appointment_id(appointment);
  CHECK(MustQuery(stack, &pb::QueryService::Stub::GetAppointment, get, "karin").appointment().subject().empty());
  pb::ListZaakContactsRequest zaak_contacts;
  zaak_contacts.set_tenant(kTenant);
  zaak_contacts.set_zaak("ZAAK-2026-0100");
  auto karin_zaak = MustQuery(stack, &pb::QueryService::Stub::ListZaakContacts, zaak_contacts, "karin");
  REQUIRE(karin_zaak.contacts_size() == 1);
  CHECK(karin_zaak.contacts(0).content_withheld());
  CHECK(karin_zaak.contacts(0).text().empty());
  CHECK(karin_zaak.contacts(0).zaken_size() == 0);  // "schuldhulpverlening" would say WHAT
  CHECK(seen_appointment.notify_to().address().value().empty());  // nor where her safe address is

  // Nor in the conversation view of her call, where the intake is one of her earlier contacts.
  pb::GetConversationRequest conversation_request;
  conversation_request.set_tenant(kTenant);
  conversation_request.set_conversation_id(call);
  After(conversation_request, linked);
  const auto karin_conversation = MustQuery(stack, &pb::QueryService::Stub::GetConversation, conversation_request, "karin");
  bool intake_in_context = false;
  for (const auto& contact : karin_conversation.earlier_contacts()) {
    if (contact.interaction_id() != intake) continue;
    intake_in_context = true;
    CHECK(contact.content_withheld());
    CHECK(contact.text().empty());
    CHECK(contact.topics_size() == 0);
  }
  CHECK(intake_in_context);
  REQUIRE(karin_conversation.appointments_size() == 1);
  CHECK(karin_conversation.appointments(0).content_withheld());

  // Noor sees it all.
  const auto noor_view = MustQuery(stack, &pb::QueryService::Stub::GetCustomerView, view_request, "noor");
  REQUIRE(noor_view.appointments_size() == 1);
  CHECK(noor_view.appointments(0).subject() == "schuldhulp: eerste gesprek");
  CHECK(noor_view.appointments(0).what_to_bring() == "loonstroken van drie maanden, huurcontract, ID-bewijs");
  CHECK(MustQuery(stack, &pb::QueryService::Stub::ListZaakContacts, zaak_contacts, "noor").contacts(0).text().find(
            "huurachterstand") != std::string::npos);

  // The question behind the question counts in what citizens ask about.
  pb::GetTopTopicsRequest topics;
  topics.set_tenant(kTenant);
  *topics.mutable_from() = TimeUtil::SecondsToTimestamp(now - 3600);
  *topics.mutable_to() = TimeUtil::SecondsToTimestamp(now + 3600);
  bool counted = false;
  const pb::TopTopics top = MustQuery(stack, &pb::QueryService::Stub::GetTopTopics, topics, "karin");
  for (const auto& t : top.topics())
    counted |= t.topic() == "veiligheid" && t.contacts() == 1;
  CHECK(counted);

  // Another municipality's KCC, and a caller without a token, get nothing.
  pb::AppointmentDetail ignored;
  CHECK(Query(stack, &pb::QueryService::Stub::GetAppointment, get, &ignored, "kcc-bb").error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  CHECK(Query(stack, &pb::QueryService::Stub::GetAppointment, get, &ignored, "").error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  auto foreign = As(NewRequest(kTenant), "kcc-bob", pb::ACTOR_KIND_EMPLOYEE);
  foreign.set_aggregate_id(appointment);
  foreign.mutable_cancel_appointment()->set_reason("niet van ons");
  CHECK(stack.Execute(foreign, nullptr, "kcc-bb").error_code() == grpc::StatusCode::PERMISSION_DENIED);
}
