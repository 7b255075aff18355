// Scheduled messages, appointments, conversations, zaak links and contact persons over gRPC: the
// rules a user runs into (what is refused, with which field named, and that a refusal writes
// nothing), and the promises (a scheduled message goes out once, when due, also after a restart
// and with two adapters asking).
#include <catch2/catch.hpp>

#include <algorithm>
#include <thread>

#include <google/protobuf/util/time_util.h>

#include "support/journey.h"

using namespace ks::testing;
namespace pb = ::klantstroom::v1;
using google::protobuf::util::TimeUtil;

namespace {

constexpr const char* kTenant = "gemeente-test";
constexpr int64_t kHour = 3600;

// The refusal of `request`: its code, that the message names `field`, and that nothing was written.
void CheckRefused(Stack& stack, const pb::ExecuteRequest& request, grpc::StatusCode code, const std::string& field) {
  AwaitPolicies(stack);  // what the policy writes by itself is not the refused command's
  const int64_t before = stack.LogSize();
  grpc::Status status = stack.Execute(request);
  INFO(status.error_message());
  CHECK(status.error_code() == code);
  CHECK(status.error_message().find(field) != std::string::npos);
  CHECK(stack.LogSize() == before);
}

std::string Register(Stack& stack, const std::string& name, const std::string& email, const std::string& phone) {
  auto request = RegisterPerson(name, email, phone);
  request.mutable_meta()->set_tenant(kTenant);
  return stack.MustExecute(request).aggregate_id();
}

pb::ExecuteRequest Message(const std::string& party, pb::Channel channel, const std::string& text, int64_t send_at) {
  auto request = NewRequest(kTenant);
  auto* c = request.mutable_request_notification();
  c->set_party_id(party);
  c->set_channel(channel);
  c->set_text(text);
  if (send_at > 0) *c->mutable_send_at() = TimeUtil::SecondsToTimestamp(send_at);
  return request;
}

pb::TimeWindow Window(int64_t start, int64_t minutes) {
  pb::TimeWindow w;
  *w.mutable_start() = TimeUtil::SecondsToTimestamp(start);
  *w.mutable_end() = TimeUtil::SecondsToTimestamp(start + minutes * 60);
  return w;
}

pb::ExecuteRequest Appointment(const std::string& party, int64_t start) {
  auto request = NewRequest(kTenant);
  auto* a = request.mutable_schedule_appointment();
  a->set_party_id(party);
  *a->mutable_window() = Window(start, 30);
  a->set_place("Stadskantoor, balie 4");
  a->mutable_with()->set_department("burgerzaken");
  a->set_subject("paspoort aanvragen");
  a->add_reminder_minutes_before(60);
  return request;
}

pb::AppointmentDetail AppointmentOf(Stack& stack, const std::string& id, const pb::ExecuteReply& after) {
  pb::GetAppointmentRequest request;
  request.set_tenant(kTenant);
  request.set_appointment_id(id);
  After(request, after);
  return MustQuery(stack, &pb::QueryService::Stub::GetAppointment, request);
}

// The appointment's messages once `count` exist (the policy runs beside), at most 10 s.
pb::AppointmentDetail AwaitMessages(Stack& stack, const std::string& id, const pb::ExecuteReply& after, int count,
                                    int cancelled) {
  pb::AppointmentDetail detail;
  for (int i = 0; i < 200; ++i) {
    detail = AppointmentOf(stack, id, after);
    const auto n = std::count_if(detail.notifications().begin(), detail.notifications().end(),
                                 [](const auto& m) { return m.status() == pb::NOTIFICATION_STATUS_CANCELLED; });
    if (detail.notifications_size() == count && n == cancelled) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return detail;
}

}  // namespace

TEST_CASE("scheduled message: offered when due, to one of two adapters, exactly once, also after a restart",
          "[engagement][notification]") {
  Stack stack;
  const int64_t now = TimeUtil::GetCurrentTime().seconds();
  const std::string thijs = Register(stack, "Thijs de Vries", "", "+31612345678");
  const std::string id = stack.MustExecute(Message(thijs, pb::CHANNEL_SMS, "Gefeliciteerd met je verhuizing!", now + 48 * kHour))
                             .aggregate_id();
  const Adapter first{kTenant, pb::CHANNEL_SMS, "sms-1", ""};
  const Adapter second{kTenant, pb::CHANNEL_SMS, "sms-2", ""};
  CHECK(first.PullOnce(stack).empty());  // not due yet
  stack.Restart();
  stack.RunQueueClockAhead(std::chrono::seconds(47 * kHour));
  CHECK(first.PullOnce(stack).empty());  // an hour early
  stack.RunQueueClockAhead(std::chrono::seconds(48 * kHour + 60));
  std::vector<pb::OutboundNotification> got_first;
  std::vector<pb::OutboundNotification> got_second;
  std::thread other([&] { got_second = second.PullOnce(stack); });
  got_first = first.PullOnce(stack);
  other.join();
  REQUIRE(got_first.size() + got_second.size() == 1);
  const pb::OutboundNotification sent = got_first.empty() ? got_second[0] : got_first[0];
  CHECK(sent.notification_id() == id);
  CHECK(sent.address().value() == "+31612345678");  // the party's number for SMS
  (got_first.empty() ? second : first).Report(stack, sent);
  stack.Restart();
  AwaitPolicies(stack);
  CHECK(first.PullOnce(stack).empty());
  CHECK(second.PullOnce(stack).empty());
}

TEST_CASE("scheduled message: moved or withdrawn only while it waits, and bad input writes nothing",
          "[engagement][notification]") {
  Stack stack;
  const int64_t now = TimeUtil::GetCurrentTime().seconds();
  const std::string thijs = Register(stack, "Thijs de Vries", "", "+31612345678");
  CheckRefused(stack, Message(thijs, pb::CHANNEL_SMS, "te ver", now + 400 * 24 * kHour), grpc::StatusCode::INVALID_ARGUMENT,
               "request_notification.send_at");
  CheckRefused(stack, Message(thijs, pb::CHANNEL_EMAIL, "geen adres", 0), grpc::StatusCode::FAILED_PRECONDITION,
               "request_notification.address");
  CheckRefused(stack, Message("", pb::CHANNEL_SMS, "aan niemand", 0), grpc::StatusCode::INVALID_ARGUMENT,
               "request_notification.address");

  const std::string later = stack.MustExecute(Message(thijs, pb::CHANNEL_SMS, "later", now + 24 * kHour)).aggregate_id();
  auto move = NewRequest(kTenant);
  move.set_aggregate_id(later);
  *move.mutable_reschedule_notification()->mutable_send_at() = TimeUtil::SecondsToTimestamp(now + 2 * 24 * kHour);
  stack.MustExecute(move);
  auto cancel = NewRequest(kTenant);
  cancel.set_aggregate_id(later);
  cancel.mutable_cancel_notification()->set_reason("niet meer nodig");
  stack.MustExecute(cancel);
  const pb::ExecuteReply again = stack.MustExecute(cancel);  // no change
  CHECK(again.positions_size() == 0);
  CheckRefused(stack, move, grpc::StatusCode::FAILED_PRECONDITION, "aggregate_id");
  stack.RunQueueClockAhead(std::chrono::seconds(3 * 24 * kHour));
  CHECK(Adapter{kTenant, pb::CHANNEL_SMS, "sms-1", ""}.PullOnce(stack).empty());

  // Sent is sent.
  stack.RunQueueClockAhead(std::chrono::seconds(0));
  const std::string now_id = stack.MustExecute(Message(thijs, pb::CHANNEL_SMS, "nu", 0)).aggregate_id();
  const Adapter sms{kTenant, pb::CHANNEL_SMS, "sms-1", ""};
  auto sent = sms.Pull(stack, 1);
  REQUIRE(sent.size() == 1);
  sms.Report(stack, sent[0]);
  auto too_late = NewRequest(kTenant);
  too_late.set_aggregate_id(now_id);
  too_late.mutable_cancel_notification()->set_reason("te laat");
  CheckRefused(stack, too_late, grpc::StatusCode::FAILED_PRECONDITION, "aggregate_id");

  // Held by an adapter: withdrawn all the same (it may have gone out: the adapter's report is
  // refused), and never offered again.
  const std::string held_id = stack.MustExecute(Message(thijs, pb::CHANNEL_SMS, "vastgehouden", 0)).aggregate_id();
  auto held = sms.Pull(stack, 1);
  REQUIRE(held.size() == 1);
  CHECK(held[0].notification_id() == held_id);
  auto withdraw = NewRequest(kTenant);
  withdraw.set_aggregate_id(held_id);
  withdraw.mutable_cancel_notification()->set_reason("de afspraak is gewijzigd");
  stack.MustExecute(withdraw);
  pb::ReportDeliveryRequest report;
  report.set_tenant(kTenant);
  report.set_notification_id(held_id);
  report.set_attempt(held[0].attempt());
  report.set_delivered(true);
  report.set_adapter_id("sms-1");
  grpc::ClientContext context;
  pb::ExecuteReply ignored;
  CHECK(stack.notifications().ReportDelivery(&context, report, &ignored).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);
  stack.RunQueueClockAhead(std::chrono::seconds(3600));  // its lease long over
  CHECK(sms.PullOnce(stack).empty());
}

TEST_CASE("appointment: bad input is refused naming the field, and writes nothing", "[engagement][appointment]") {
  Stack stack;
  const int64_t now = TimeUtil::GetCurrentTime().seconds();
  const std::string desiree = Register(stack, "Desiree", "desiree@example.nl", "");
  auto past = Appointment(desiree, now - kHour);
  CheckRefused(stack, past, grpc::StatusCode::INVALID_ARGUMENT, "schedule_appointment.window.start");
  auto backwards = Appointment(desiree, now + 24 * kHour);
  *backwards.mutable_schedule_appointment()->mutable_window()->mutable_end() = TimeUtil::SecondsToTimestamp(now);
  CheckRefused(stack, backwards, grpc::StatusCode::INVALID_ARGUMENT, "schedule_appointment.window.end");
  auto long_one = Appointment(desiree, now + 24 * kHour);
  *long_one.mutable_schedule_appointment()->mutable_window() = Window(now + 24 * kHour, 9 * 60);
  CheckRefused(stack, long_one, grpc::StatusCode::INVALID_ARGUMENT, "schedule_appointment.window");
  auto nowhere = Appointment(desiree, now + 24 * kHour);
  nowhere.mutable_schedule_appointment()->clear_place();
  CheckRefused(stack, nowhere, grpc::StatusCode::INVALID_ARGUMENT, "schedule_appointment.place");
  auto too_many = Appointment(desiree, now + 24 * kHour);
  for (int m : {1, 2, 3, 4, 5}) too_many.mutable_schedule_appointment()->add_reminder_minutes_before(m);
  CheckRefused(stack, too_many, grpc::StatusCode::INVALID_ARGUMENT, "schedule_appointment.reminder_minutes_before");
  auto month = Appointment(desiree, now + 24 * kHour);
  month.mutable_schedule_appointment()->set_reminder_minutes_before(0, 50000);
  CheckRefused(stack, month, grpc::StatusCode::INVALID_ARGUMENT, "schedule_appointment.reminder_minutes_before[0]");
  auto mismatch = Appointment(desiree, now + 24 * kHour);
  mismatch.mutable_schedule_appointment()->set_confirm_channel(pb::CHANNEL_SMS);
  mismatch.mutable_schedule_appointment()->mutable_confirm_address()->set_kind(pb::DIGITAL_ADDRESS_KIND_EMAIL);
  mismatch.mutable_schedule_appointment()->mutable_confirm_address()->set_value("d@example.nl");
  CheckRefused(stack, mismatch, grpc::StatusCode::INVALID_ARGUMENT, "schedule_appointment.confirm_address");
  auto no_phone = Appointment(desiree, now + 24 * kHour);
  no_phone.mutable_schedule_appointment()->set_confirm_channel(pb::CHANNEL_SMS);
  CheckRefused(stack, no_phone, grpc::StatusCode::FAILED_PRECONDITION, "schedule_appointment.confirm_channel");
  auto nobody = Appointment("", now + 24 * kHour);
  CheckRefused(stack, nobody, grpc::StatusCode::INVALID_ARGUMENT, "schedule_appointment.person_name");
  auto unknown = Appointment("no-such-party", now + 24 * kHour);
  CheckRefused(stack, unknown, grpc::StatusCode::NOT_FOUND, "schedule_appointment.party_id");
  auto far = Appointment(desiree, now + 400 * 24 * kHour);
  CheckRefused(stack, far, grpc::StatusCode::INVALID_ARGUMENT, "schedule_appointment.window.start");
  auto channel_only = Appointment("", now + 24 * kHour);
  channel_only.mutable_schedule_appointment()->set_person_name("mevrouw D.");
  channel_only.mutable_schedule_appointment()->clear_reminder_minutes_before();
  channel_only.mutable_schedule_appointment()->set_confirm_channel(pb::CHANNEL_SMS);
  CheckRefused(stack, channel_only, grpc::StatusCode::INVALID_ARGUMENT, "schedule_appointment.confirm_address");
  auto insecure = Appointment(desiree, now + 24 * kHour);
  insecure.mutable_schedule_appointment()->set_details_url("http://mijn.example.nl/a/1");
  CheckRefused(stack, insecure, grpc::StatusCode::INVALID_ARGUMENT, "schedule_appointment.details_url");

  // Once cancelled, it cannot be moved, and its outcome is recorded only after it started. (The
  // policy's confirmations and reminders are awaited first: they write to the log beside.)
  const pb::ExecuteReply scheduled = stack.MustExecute(Appointment(desiree, now + 24 * kHour));
  const std::string id = scheduled.aggregate_id();
  REQUIRE(AwaitMessages(stack, id, scheduled, 2, 0).notifications_size() == 2);
  auto same = NewRequest(kTenant);
  same.set_aggregate_id(id);
  *same.mutable_reschedule_appointment()->mutable_window() = Window(now + 24 * kHour, 30);
  same.mutable_reschedule_appointment()->set_place("Stadskantoor, balie 4");
  CHECK(stack.MustExecute(same).positions_size() == 0);  // the same time and place: no change, no messages
  auto early = NewRequest(kTenant);
  early.set_aggregate_id(id);
  early.mutable_record_appointment_outcome()->set_outcome(pb::APPOINTMENT_STATUS_ATTENDED);
  CheckRefused(stack, early, grpc::StatusCode::FAILED_PRECONDITION, "has not started");
  auto cancel = NewRequest(kTenant);
  cancel.set_aggregate_id(id);
  cancel.mutable_cancel_appointment()->set_reason("ziek");
  const pb::ExecuteReply cancelled = stack.MustExecute(cancel);
  REQUIRE(AwaitMessages(stack, id, cancelled, 3, 1).notifications_size() == 3);
  auto move = NewRequest(kTenant);
  move.set_aggregate_id(id);
  *move.mutable_reschedule_appointment()->mutable_window() = Window(now + 48 * kHour, 30);
  CheckRefused(stack, move, grpc::StatusCode::FAILED_PRECONDITION, "cancelled");
}

TEST_CASE("appointment: for a person not identified yet, confirmed at the address given, linked later, cancelled with its reminder",
          "[engagement][appointment]") {
  Stack stack;
  const int64_t now = TimeUtil::GetCurrentTime().seconds();
  auto request = Appointment("", now + 24 * kHour);
  auto* a = request.mutable_schedule_appointment();
  a->set_person_name("mevrouw D.");
  a->mutable_confirm_address()->set_kind(pb::DIGITAL_ADDRESS_KIND_EMAIL);
  a->mutable_confirm_address()->set_value("D.Veilig@Example.nl");
  a->set_details_url("https://mijn.example.nl/afspraken/1");
  const pb::ExecuteReply scheduled = stack.MustExecute(request);
  const Adapter mail{kTenant, pb::CHANNEL_EMAIL, "mail", ""};
  auto confirmation = mail.Pull(stack, 1);
  REQUIRE(confirmation.size() == 1);
  CHECK(confirmation[0].address().value() == "d.veilig@example.nl");
  CHECK(confirmation[0].text().find("https://mijn.example.nl/afspraken/1") != std::string::npos);
  CHECK(confirmation[0].text().find("paspoort") == std::string::npos);
  mail.Report(stack, confirmation[0]);

  // Identified later: the appointment joins her customer view, once.
  const std::string desiree = Register(stack, "Desiree", "d.veilig@example.nl", "");
  auto link = NewRequest(kTenant);
  link.set_aggregate_id(scheduled.aggregate_id());
  link.mutable_link_appointment_to_party()->set_party_id(desiree);
  const pb::ExecuteReply linked = stack.MustExecute(link);
  CHECK(stack.MustExecute(link).positions_size() == 0);
  const std::string someone = Register(stack, "Iemand anders", "iemand@example.nl", "");
  link.mutable_link_appointment_to_party()->set_party_id(someone);
  CheckRefused(stack, link, grpc::StatusCode::FAILED_PRECONDITION, "link_appointment_to_party.party_id");
  pb::GetCustomerViewRequest view_request;
  view_request.set_tenant(kTenant);
  view_request.set_party_id(desiree);
  After(view_request, linked);
  const auto view = MustQuery(stack, &pb::QueryService::Stub::GetCustomerView, view_request);
  REQUIRE(view.appointments_size() == 1);
  CHECK(view.appointments(0).appointment_id() == scheduled.aggregate_id());
  CHECK(view.appointments(0).person_name() == "mevrouw D.");

  auto cancel = NewRequest(kTenant);
  cancel.set_aggregate_id(scheduled.aggregate_id());
  cancel.mutable_cancel_appointment()->set_reason("kan niet");
  const pb::ExecuteReply cancelled = stack.MustExecute(cancel);
  // Confirmation, reminder (cancelled), cancellation message.
  auto detail = AwaitMessages(stack, scheduled.aggregate_id(), cancelled, 3, 1);
  CHECK(detail.appointment().status() == pb::APPOINTMENT_STATUS_CANCELLED);
  CHECK(detail.appointment().person_name() == "mevrouw D.");
  REQUIRE(detail.notifications_size() == 3);
  auto told = mail.Pull(stack, 1);
  REQUIRE(told.size() == 1);
  CHECK(told[0].text().find("geannuleerd") != std::string::npos);
  mail.Report(stack, told[0]);
  stack.RunQueueClockAhead(std::chrono::seconds(24 * kHour));
  CHECK(mail.PullOnce(stack).empty());  // the reminder is gone with the appointment
}

TEST_CASE("conversation: who may do what when, and anonymous turns need a started conversation",
          "[engagement][conversation]") {
  Stack stack;
  const std::string thijs = Register(stack, "Thijs", "thijs@example.nl", "");
  const std::string other = Register(stack, "Other", "other@example.nl", "");
  auto start = As(NewRequest(kTenant), "chatbot", pb::ACTOR_KIND_BOT);
  start.mutable_start_conversation()->set_channel(pb::CHANNEL_CHAT);
  const std::string chat = stack.MustExecute(start).aggregate_id();

  auto take = NewRequest(kTenant);  // an employee, but nothing waits
  take.set_aggregate_id(chat);
  take.mutable_take_over_conversation();
  CheckRefused(stack, take, grpc::StatusCode::FAILED_PRECONDITION, "with the bot");
  auto handover = As(NewRequest(kTenant), "chatbot", pb::ACTOR_KIND_BOT);
  handover.set_aggregate_id(chat);
  handover.mutable_hand_over_conversation()->set_reason("vraag te moeilijk");
  CheckRefused(stack, handover, grpc::StatusCode::INVALID_ARGUMENT, "hand_over_conversation.to.department");
  handover.mutable_hand_over_conversation()->mutable_to()->set_department("kcc");
  handover.mutable_hand_over_conversation()->set_phone_number("bel me");
  CheckRefused(stack, handover, grpc::StatusCode::INVALID_ARGUMENT, "hand_over_conversation.phone_number");

  auto orphan = NewRequest(kTenant);
  orphan.mutable_register_interaction()->set_channel(pb::CHANNEL_CHAT);
  orphan.mutable_register_interaction()->set_direction(pb::DIRECTION_INBOUND);
  orphan.mutable_register_interaction()->set_conversation_id("never-started");
  CheckRefused(stack, orphan, grpc::StatusCode::NOT_FOUND, "register_interaction.conversation_id");
  orphan.mutable_register_interaction()->clear_conversation_id();
  CheckRefused(stack, orphan, grpc::StatusCode::INVALID_ARGUMENT, "register_interaction");

  auto link = NewRequest(kTenant);
  link.set_aggregate_id(chat);
  link.mutable_link_conversation_to_party()->set_party_id(thijs);
  stack.MustExecute(link);
  link.mutable_link_conversation_to_party()->set_party_id(other);
  CheckRefused(stack, link, grpc::StatusCode::FAILED_PRECONDITION, "link_conversation_to_party.party_id");
  auto stray = NewRequest(kTenant);  // Other's contact cannot join Thijs's conversation
  stray.mutable_register_interaction()->set_party_id(other);
  stray.mutable_register_interaction()->set_channel(pb::CHANNEL_CHAT);
  stray.mutable_register_interaction()->set_direction(pb::DIRECTION_INBOUND);
  stray.mutable_register_interaction()->set_conversation_id(chat);
  CheckRefused(stack, stray, grpc::StatusCode::FAILED_PRECONDITION, "register_interaction.party_id");
  auto close = NewRequest(kTenant);
  close.set_aggregate_id(chat);
  close.mutable_close_conversation()->set_outcome("beantwoord");
  stack.MustExecute(close);
  CheckRefused(stack, close, grpc::StatusCode::FAILED_PRECONDITION, "closed");
  auto late = stray;
  late.mutable_register_interaction()->set_party_id(thijs);
  CheckRefused(stack, late, grpc::StatusCode::FAILED_PRECONDITION, "register_interaction.conversation_id");
}

TEST_CASE("contacts of the same second are listed in the order they arrived, in the customer view and a conversation",
          "[engagement][conversation]") {
  // Adapters often give whole seconds (a WhatsApp webhook does): a chat's quick turns then share
  // their time, and the index alone would list them by id, in no particular order.
  Stack stack;
  const std::string sanne = Register(stack, "Sanne", "sanne@example.nl", "");
  auto start = As(NewRequest(kTenant), "chatbot", pb::ACTOR_KIND_BOT);
  start.mutable_start_conversation()->set_channel(pb::CHANNEL_CHAT);
  const std::string chat = stack.MustExecute(start).aggregate_id();
  auto link = NewRequest(kTenant);
  link.set_aggregate_id(chat);
  link.mutable_link_conversation_to_party()->set_party_id(sanne);
  stack.MustExecute(link);
  constexpr int kTurns = 8;
  const int64_t second = TimeUtil::GetCurrentTime().seconds() - 60;
  pb::ExecuteReply last;
  for (int i = 0; i < kTurns; ++i) {
    auto turn = NewRequest(kTenant);
    *turn.mutable_meta()->mutable_occurred_at() = TimeUtil::SecondsToTimestamp(second);
    auto* c = turn.mutable_register_interaction();
    c->set_party_id(sanne);
    c->set_channel(pb::CHANNEL_CHAT);
    c->set_direction(i % 2 == 0 ? pb::DIRECTION_INBOUND : pb::DIRECTION_OUTBOUND);
    c->set_conversation_id(chat);
    c->set_text("beurt " + std::to_string(i));
    last = stack.MustExecute(turn);
  }

  pb::GetConversationRequest conversation;
  conversation.set_tenant(kTenant);
  conversation.set_conversation_id(chat);
  After(conversation, last);
  const auto turns = MustQuery(stack, &pb::QueryService::Stub::GetConversation, conversation).turns();
  REQUIRE(turns.size() == kTurns);
  for (int i = 0; i < kTurns; ++i) CHECK(turns[i].text() == "beurt " + std::to_string(i));  // oldest first

  pb::GetCustomerViewRequest view_request;
  view_request.set_tenant(kTenant);
  view_request.set_party_id(sanne);
  After(view_request, last);
  const auto timeline = MustQuery(stack, &pb::QueryService::Stub::GetCustomerView, view_request).timeline();
  REQUIRE(timeline.size() == kTurns);
  for (int i = 0; i < kTurns; ++i) CHECK(timeline[i].text() == "beurt " + std::to_string(kTurns - 1 - i));  // newest first

  // Paged, every contact comes once (the order within a page is by arrival; a tie that a page
  // boundary cuts is ordered on each side of it).
  view_request.set_page_size(3);
  std::vector<std::string> seen;
  for (int page = 0; page < 10; ++page) {
    const auto part = MustQuery(stack, &pb::QueryService::Stub::GetCustomerView, view_request);
    for (const auto& contact : part.timeline()) seen.push_back(contact.text());
    if (part.next_page_token().empty()) break;
    view_request.set_page_token(part.next_page_token());
  }
  std::sort(seen.begin(), seen.end());
  REQUIRE(seen.size() == kTurns);
  for (int i = 0; i < kTurns; ++i) CHECK(seen[static_cast<size_t>(i)] == "beurt " + std::to_string(i));
}

namespace {

// A melding of a broken street lamp (category VERLICHTING, defined with it) by `reporter`, who is
// told of its progress at `email`; its id.
std::string ReportBrokenLamp(Stack& stack, const std::string& reporter, const std::string& email, int64_t at_seconds) {
  auto category = NewRequest(kTenant);
  category.mutable_define_melding_category()->set_code("VERLICHTING");
  category.mutable_define_melding_category()->set_name("Straatverlichting");
  category.mutable_define_melding_category()->set_due_days(5);
  stack.MustExecute(category);
  auto melding = NewRequest(kTenant);
  auto* m = melding.mutable_register_melding();
  m->set_category("VERLICHTING");
  m->set_description("Lantaarnpaal kapot");
  m->mutable_location()->set_street("Dorpsstraat");
  m->set_channel(pb::CHANNEL_WEB_FORM);
  m->set_reporter_party_id(reporter);
  m->mutable_reporter_address()->set_kind(pb::DIGITAL_ADDRESS_KIND_EMAIL);
  m->mutable_reporter_address()->set_value(email);
  *melding.mutable_meta()->mutable_occurred_at() = TimeUtil::SecondsToTimestamp(at_seconds);
  return stack.MustExecute(melding).aggregate_id();
}

}  // namespace

TEST_CASE("notifications and conversations (started or handed over) of the same second are listed in the order they arrived",
          "[engagement][conversation][notification]") {
  // As with contacts: their indexes break a tie of time by id, which says nothing of arrival, and
  // a melding's notifications are indexed by id alone. A batch of status updates from a zaak
  // system, or a chatbot's quick restarts, share their second.
  Stack stack;
  const std::string noor = Register(stack, "Noor", "noor@example.nl", "");
  const int64_t second = TimeUtil::GetCurrentTime().seconds() - 60;
  const std::string melding_id = ReportBrokenLamp(stack, noor, "noor@example.nl", second - 1);
  // Its status updates, each telling Noor (the policy's notifications have ids from a hash).
  const std::vector<std::pair<pb::MeldingStatus, std::string>> updates = {
      {pb::MELDING_STATUS_IN_PROGRESS, "in behandeling"}, {pb::MELDING_STATUS_SCHEDULED, "ingepland"},
      {pb::MELDING_STATUS_ON_HOLD, "tijdelijk stil"},     {pb::MELDING_STATUS_RESOLVED, "afgehandeld"},
      {pb::MELDING_STATUS_REOPENED, "heropend"},          {pb::MELDING_STATUS_CANCELLED, "geannuleerd"}};
  for (const auto& [status, _] : updates) {
    auto change = NewRequest(kTenant);
    change.set_aggregate_id(melding_id);
    *change.mutable_meta()->mutable_occurred_at() = TimeUtil::SecondsToTimestamp(second);
    change.mutable_change_melding_status()->set_to(status);
    if (status == pb::MELDING_STATUS_SCHEDULED)
      *change.mutable_change_melding_status()->mutable_scheduled_window() = Window(second + 24 * kHour, 60);
    change.mutable_change_melding_status()->set_notify_citizen(true);
    stack.MustExecute(change);
  }

  constexpr int kEach = 6;
  pb::ExecuteReply last;
  std::vector<std::string> conversations;
  for (int i = 0; i < kEach; ++i) {
    auto message = Message(noor, pb::CHANNEL_EMAIL, "bericht " + std::to_string(i), 0);
    *message.mutable_meta()->mutable_occurred_at() = TimeUtil::SecondsToTimestamp(second);
    last = stack.MustExecute(message);
    auto start = As(NewRequest(kTenant), "chatbot", pb::ACTOR_KIND_BOT);
    *start.mutable_meta()->mutable_occurred_at() = TimeUtil::SecondsToTimestamp(second);
    start.mutable_start_conversation()->set_party_id(noor);
    start.mutable_start_conversation()->set_channel(pb::CHANNEL_CHAT);
    start.mutable_start_conversation()->set_subject("gesprek " + std::to_string(i));
    last = stack.MustExecute(start);
    conversations.push_back(last.aggregate_id());
  }
  // The bot hands them over in the same second, in the reverse order.
  for (int i = kEach - 1; i >= 0; --i) {
    auto handover = As(NewRequest(kTenant), "chatbot", pb::ACTOR_KIND_BOT);
    handover.set_aggregate_id(conversations[static_cast<size_t>(i)]);
    *handover.mutable_meta()->mutable_occurred_at() = TimeUtil::SecondsToTimestamp(second);
    handover.mutable_hand_over_conversation()->mutable_to()->set_department("kcc");
    handover.mutable_hand_over_conversation()->set_reason("vraag te moeilijk");
    last = stack.MustExecute(handover);
  }

  pb::GetCustomerViewRequest view_request;
  view_request.set_tenant(kTenant);
  view_request.set_party_id(noor);
  After(view_request, last);
  const auto view = MustQuery(stack, &pb::QueryService::Stub::GetCustomerView, view_request);
  // The melding's acknowledgement (if its policy sent one) is another second's: only ours counted.
  std::vector<std::string> notifications;
  for (const auto& n : view.notifications())
    if (n.text().starts_with("bericht ")) notifications.push_back(n.text());
  REQUIRE(notifications.size() == kEach);
  for (int i = 0; i < kEach; ++i) CHECK(notifications[i] == "bericht " + std::to_string(kEach - 1 - i));  // newest first
  REQUIRE(view.conversations_size() == kEach);
  for (int i = 0; i < kEach; ++i)
    CHECK(view.conversations(i).subject() == "gesprek " + std::to_string(kEach - 1 - i));  // newest first
  pb::ListHandoversRequest alerts;
  alerts.set_tenant(kTenant);
  alerts.set_department("kcc");
  After(alerts, last);
  const auto waiting = MustQuery(stack, &pb::QueryService::Stub::ListHandovers, alerts);
  REQUIRE(waiting.conversations_size() == kEach);
  for (int i = 0; i < kEach; ++i)  // longest waiting first: in the order handed over
    CHECK(waiting.conversations(i).subject() == "gesprek " + std::to_string(kEach - 1 - i));

  // The status updates' notifications are the policy's, appended after `last`: read until all are in.
  pb::GetMeldingRequest melding_request;
  melding_request.set_tenant(kTenant);
  melding_request.set_melding_id(melding_id);
  After(melding_request, last);
  std::vector<size_t> order;  // which update each listed notification tells of, as listed
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    order.clear();
    const auto detail = MustQuery(stack, &pb::QueryService::Stub::GetMelding, melding_request);
    for (const auto& n : detail.notifications())
      for (size_t u = 0; u < updates.size(); ++u)
        if (n.text().find(updates[u].second) != std::string::npos) order.push_back(u);
  } while (order.size() < updates.size() && std::chrono::steady_clock::now() < deadline);
  REQUIRE(order.size() == updates.size());
  for (size_t i = 0; i < updates.size(); ++i) CHECK(order[i] == i);  // oldest first: in the order they were made
}

TEST_CASE("contact person and zaak: a daughter calls for her mother, the call is linked to a zaak once",
          "[engagement][identity]") {
  Stack stack;
  const std::string mother = Register(stack, "Mevrouw Jansen", "jansen@example.nl", "");
  const std::string daughter = Register(stack, "Ellen Jansen", "ellen@example.nl", "");
  auto add = NewRequest(kTenant);
  add.set_aggregate_id(mother);
  add.mutable_add_contact_person()->set_party_id(daughter);
  add.mutable_add_contact_person()->set_role("mantelzorger");
  stack.MustExecute(add);
  CHECK(stack.MustExecute(add).positions_size() == 0);  // known already: no change
  auto self = add;
  self.mutable_add_contact_person()->set_party_id(mother);
  CheckRefused(stack, self, grpc::StatusCode::INVALID_ARGUMENT, "add_contact_person.party_id");
  auto nobody = add;
  nobody.mutable_add_contact_person()->set_party_id("nobody");
  CheckRefused(stack, nobody, grpc::StatusCode::NOT_FOUND, "add_contact_person.party_id");

  auto call = NewRequest(kTenant);
  auto* c = call.mutable_register_interaction();
  c->set_party_id(mother);
  c->set_contact_person_party_id(daughter);
  c->set_channel(pb::CHANNEL_PHONE);
  c->set_direction(pb::DIRECTION_INBOUND);
  c->set_text("Mijn moeder wil een Wmo-voorziening aanvragen");
  const std::string call_id = stack.MustExecute(call).aggregate_id();
  auto zaak = NewRequest(kTenant);
  zaak.set_aggregate_id(call_id);
  zaak.mutable_link_interaction_to_zaak()->mutable_zaak()->set_identification("ZAAK-2026-0042");
  zaak.mutable_link_interaction_to_zaak()->mutable_zaak()->set_url("https://zaken.example.nl/api/v1/zaken/42");
  const pb::ExecuteReply linked = stack.MustExecute(zaak);
  const pb::ExecuteReply twice = stack.MustExecute(zaak);
  CHECK(twice.positions_size() == 0);
  auto bad = zaak;
  bad.mutable_link_interaction_to_zaak()->mutable_zaak()->set_url("ftp://zaken");
  CheckRefused(stack, bad, grpc::StatusCode::INVALID_ARGUMENT, "link_interaction_to_zaak.zaak.url");

  pb::GetCustomerViewRequest view_request;
  view_request.set_tenant(kTenant);
  view_request.set_party_id(mother);
  After(view_request, linked);
  pb::ListZaakContactsRequest zaak_request;
  zaak_request.set_tenant(kTenant);
  zaak_request.set_zaak("ZAAK-2026-0042");
  After(zaak_request, linked);
  auto contacts = MustQuery(stack, &pb::QueryService::Stub::ListZaakContacts, zaak_request);
  REQUIRE(contacts.contacts_size() == 1);
  CHECK(contacts.contacts(0).contact_person_party_id() == daughter);
  auto view = MustQuery(stack, &pb::QueryService::Stub::GetCustomerView, view_request);
  REQUIRE(view.party().contact_persons_size() == 1);
  CHECK(view.party().contact_persons(0).party_id() == daughter);
  CHECK(view.party().contact_persons(0).role() == "mantelzorger");
  REQUIRE(view.timeline_size() == 1);
  REQUIRE(view.timeline(0).zaken_size() == 1);
  CHECK(view.timeline(0).zaken(0).url() == "https://zaken.example.nl/api/v1/zaken/42");
}

TEST_CASE("a melding with more status updates than are listed shows the newest of them, oldest first",
          "[engagement][notification]") {
  // A melding's notifications are indexed by id (the policy's are hashes): of more than 200, the
  // detail showed the first 200 by id, any of them.
  Stack stack;
  const std::string noor = Register(stack, "Noor", "noor@example.nl", "");
  constexpr int kUpdates = 230;
  const int64_t first = TimeUtil::GetCurrentTime().seconds() - 2 * kUpdates * 60;
  const std::string melding_id = ReportBrokenLamp(stack, noor, "noor@example.nl", first - 60);
  pb::ExecuteReply last;
  for (int i = 0; i < kUpdates; ++i) {  // a lamp that keeps failing: on hold, in progress, ...
    auto change = NewRequest(kTenant);
    change.set_aggregate_id(melding_id);
    *change.mutable_meta()->mutable_occurred_at() = TimeUtil::SecondsToTimestamp(first + i * 60);
    change.mutable_change_melding_status()->set_to(i % 2 == 0 ? pb::MELDING_STATUS_ON_HOLD
                                                              : pb::MELDING_STATUS_IN_PROGRESS);
    change.mutable_change_melding_status()->set_notify_citizen(true);
    last = stack.MustExecute(change);
  }

  // The notifications are the policy's, appended after `last`: read until the newest is in.
  pb::GetMeldingRequest request;
  request.set_tenant(kTenant);
  request.set_melding_id(melding_id);
  After(request, last);
  // (They land on every partition, each applied at its own pace: until all are in, an older one
  // may stand in for one still missing.)
  std::vector<int64_t> newest;
  for (int i = kUpdates - 200; i < kUpdates; ++i) newest.push_back(first + i * 60);
  std::vector<int64_t> listed;  // when each listed notification was requested, as listed
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  do {
    listed.clear();
    const auto detail = MustQuery(stack, &pb::QueryService::Stub::GetMelding, request);
    for (const auto& n : detail.notifications()) listed.push_back(n.requested_at().seconds());
  } while (listed != newest && std::chrono::steady_clock::now() < deadline);
  CHECK(listed == newest);
}
