// Journey 001 end to end through gRPC (the all-in-one on the embedded log, on loopback): Johan
// reports a dangerous hole in the road by WhatsApp with a photo and gets an automatic
// acknowledgement; two weeks later he contacts again quoting the number; Karin finds the melding,
// sees Gijs is on holiday and Conny replaces him; Conny schedules the repair for tomorrow 15-17h
// and Johan is told on WhatsApp; the repair is photographed and resolved and Johan gets the photo;
// his status page shows it resolved; he gives a KTO score. No notification is ever sent twice.
#include <catch2/catch.hpp>

#include <ctime>
#include <set>

#include <google/protobuf/util/time_util.h>

#include "ks/domain/policy.h"
#include "support/journey.h"
#include "support/store_compare.h"

using namespace ks::testing;
namespace pb = ::klantstroom::v1;
using google::protobuf::util::TimeUtil;

namespace {

constexpr const char* kTenant = "gemeente-test";
constexpr const char* kJohanWhatsApp = "+31 6 11223344";

// The projector's counters of the melding indexes and callback queues (the lists' totals) agree
// with the entries they count, once the read models have caught up with the log.
void CheckIndexCounters(Stack& stack) {
  stack.WaitForReadModels();
  const auto mismatches = IndexCounterMismatches(stack.app().store().View());
  for (const auto& m : mismatches) UNSCOPED_INFO(m);
  CHECK(mismatches.empty());
}

pb::Attachment Upload(Stack& stack, const std::string& bytes, const std::string& name) {
  pb::UploadAttachmentRequest request;
  request.set_tenant(kTenant);
  request.set_media_type("image/jpeg");
  request.set_file_name(name);
  request.set_content(bytes);
  grpc::ClientContext context;
  pb::Attachment attachment;
  grpc::Status status = stack.uploads().Upload(&context, request, &attachment);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return attachment;
}

// The WhatsApp adapter, which takes notifications and reports delivery.
const Adapter kWhatsApp{kTenant, pb::CHANNEL_WHATSAPP, "whatsapp-adapter", ""};

std::vector<pb::OutboundNotification> Pull(Stack& stack, size_t expect,
                                           std::chrono::milliseconds wait = std::chrono::seconds(10)) {
  return kWhatsApp.Pull(stack, expect, wait);
}

void Report(Stack& stack, const pb::OutboundNotification& n, bool delivered, const std::string& error = "") {
  (void)kWhatsApp.Report(stack, n, delivered, error);
}

pb::MeldingDetail Melding(Stack& stack, const std::string& number, const pb::ExecuteReply& after) {
  pb::GetMeldingRequest request;
  request.set_tenant(kTenant);
  request.set_number(number);
  After(request, after);
  grpc::ClientContext context;
  pb::MeldingDetail detail;
  grpc::Status status = stack.queries().GetMelding(&context, request, &detail);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return detail;
}

// ListMeldingen of kTenant, with the criteria `fill` sets, once the projector has seen `after`.
template <typename Fill>
pb::MeldingList ListMeldingen(Stack& stack, const pb::ExecuteReply& after, Fill fill) {
  pb::ListMeldingenRequest request;
  request.set_tenant(kTenant);
  fill(request);
  After(request, after);
  grpc::ClientContext context;
  pb::MeldingList out;
  grpc::Status status = stack.queries().ListMeldingen(&context, request, &out);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return out;
}

// The setup a municipality does once: the category and who is available.
void Configure(Stack& stack) {
  auto category = NewRequest();
  auto* c = category.mutable_define_melding_category();
  c->set_code("wegdek");
  c->set_name("Gat in de weg / wegdek");
  c->set_due_days(5);
  c->set_working_days(true);
  c->set_default_department("openbare-ruimte");
  stack.MustExecute(category);
  auto gijs = NewRequest();
  auto* g = gijs.mutable_set_employee_availability();
  g->set_employee_id("gijs");
  g->set_employee_name("Gijs");
  g->set_available(false);
  g->set_replacement_employee_id("conny");
  g->set_replacement_name("Conny");
  g->set_reason("vakantie");
  stack.MustExecute(gijs);
}

}  // namespace

TEST_CASE("journey 001: Johan's hole in the road, from WhatsApp to a photo of the repair", "[e2e][melding]") {
  Stack stack;
  Configure(stack);
  const int64_t now = TimeUtil::GetCurrentTime().seconds();
  const int64_t two_weeks_ago = now - 14 * 24 * 3600;

  // 1. Johan WhatsApps a photo of the hole. The WhatsApp adapter registers him (new number), his
  //    message, and the melding; the photo goes to the attachment store first.
  auto johan_request = NewRequest(kTenant, "wa-contact-31611223344");
  auto* party = johan_request.mutable_register_party();
  party->set_kind(pb::PARTY_KIND_PERSON);
  party->set_display_name("Johan");
  auto* wa = party->add_digital_addresses();
  wa->set_kind(pb::DIGITAL_ADDRESS_KIND_WHATSAPP);
  wa->set_value(kJohanWhatsApp);
  wa->set_preferred(true);
  const auto johan = stack.MustExecute(As(johan_request, "whatsapp-adapter", pb::ACTOR_KIND_ADAPTER, two_weeks_ago));
  auto prefer = NewRequest();
  prefer.set_aggregate_id(johan.aggregate_id());
  prefer.mutable_set_preferred_channel()->set_channel(pb::CHANNEL_WHATSAPP);
  stack.MustExecute(As(prefer, "whatsapp-adapter", pb::ACTOR_KIND_ADAPTER, two_weeks_ago));

  const std::string hole_jpeg = std::string("\xff\xd8\xff\xe0", 4) + std::string(50'000, 'h');
  const pb::Attachment hole_photo = Upload(stack, hole_jpeg, "gat.jpg");
  CHECK(hole_photo.size_bytes() == static_cast<int64_t>(hole_jpeg.size()));

  auto message = RegisterMessage(johan.aggregate_id(), pb::CHANNEL_WHATSAPP,
                                 "Er zit een gevaarlijk gat in de Dorpsstraat bij nummer 12, fietsers vallen erin!",
                                 two_weeks_ago);
  message.mutable_meta()->set_idempotency_key("wamid.001");
  const auto first_message = stack.MustExecute(As(message, "whatsapp-adapter", pb::ACTOR_KIND_ADAPTER));

  auto report = NewRequest(kTenant, "wamid.001/melding");
  auto* m = report.mutable_register_melding();
  m->set_category("wegdek");
  m->set_description("Gevaarlijk gat in de weg, fietsers vallen erin.");
  m->mutable_location()->set_street("Dorpsstraat");
  m->mutable_location()->set_house_number("12");
  m->mutable_location()->set_postcode("1234 ab");
  m->mutable_location()->set_city("Voorbeeld");
  m->mutable_location()->set_neighbourhood("Centrum");
  *m->add_attachments() = hole_photo;
  m->set_priority(pb::URGENCY_HIGH);
  m->set_reporter_party_id(johan.aggregate_id());
  m->set_channel(pb::CHANNEL_WHATSAPP);
  m->set_origin_interaction_id(first_message.aggregate_id());
  const auto registered = stack.MustExecute(As(report, "whatsapp-adapter", pb::ACTOR_KIND_ADAPTER, two_weeks_ago));
  auto assign = NewRequest();
  assign.set_aggregate_id(registered.aggregate_id());
  assign.mutable_assign_melding()->set_department("openbare-ruimte");
  assign.mutable_assign_melding()->set_employee_id("gijs");
  assign.mutable_assign_melding()->set_employee_name("Gijs");
  stack.MustExecute(As(assign, "kcc-karin", pb::ACTOR_KIND_EMPLOYEE, two_weeks_ago));

  // 2. The automatic acknowledgement goes out on WhatsApp with the number to quote.
  const auto acknowledgement = Pull(stack, 1);
  REQUIRE(acknowledgement.size() == 1);
  CHECK(acknowledgement[0].address().value() == "+31611223344");
  CHECK_THAT(acknowledgement[0].text(), Catch::Contains("meldingnummer is M-"));
  const std::string& ack = acknowledgement[0].text();
  const size_t at = ack.find("M-");
  const std::string number = ack.substr(at, ack.find_first_of(". ", at) - at);
  const std::time_t when = two_weeks_ago;
  std::tm tm{};
  gmtime_r(&when, &tm);
  CHECK(number == "M-" + std::to_string(tm.tm_year + 1900) + "-00001");
  Report(stack, acknowledgement[0], true);

  // 3. Two weeks later the hole is still there; Johan WhatsApps again, quoting the number.
  auto again = RegisterMessage(johan.aggregate_id(), pb::CHANNEL_WHATSAPP,
                               "Het gat (melding " + number + ") zit er na twee weken nog steeds!", now);
  again.mutable_meta()->set_idempotency_key("wamid.002");
  const auto second_message = stack.MustExecute(As(again, "whatsapp-adapter", pb::ACTOR_KIND_ADAPTER));

  // 4. Karin opens the melding by its number: overdue, Gijs absent, Conny replaces him.
  pb::MeldingDetail karin_sees = Melding(stack, number, second_message);
  const pb::MeldingRecord& melding = karin_sees.melding();
  CHECK(melding.melding_id() == registered.aggregate_id());
  CHECK(melding.status() == pb::MELDING_STATUS_REGISTERED);
  CHECK(melding.overdue());
  CHECK(melding.location().postcode() == "1234AB");
  CHECK(melding.employee_id() == "gijs");
  CHECK(melding.employee_absent());
  CHECK(melding.replacement_employee_id() == "conny");
  CHECK(melding.replacement_name() == "Conny");
  REQUIRE(melding.attachments_size() == 1);
  CHECK(melding.attachments(0).sha256() == hole_photo.sha256());
  REQUIRE(karin_sees.contacts_size() == 1);  // the WhatsApp message it came in with
  CHECK(karin_sees.notifications_size() == 1);

  auto repeat = NewRequest();
  repeat.set_aggregate_id(registered.aggregate_id());
  repeat.mutable_record_melding_contact()->set_interaction_id(second_message.aggregate_id());
  repeat.mutable_record_melding_contact()->set_note("Johan belt opnieuw: gat nog niet gedicht.");
  const auto counted = stack.MustExecute(As(repeat, "kcc-karin", pb::ACTOR_KIND_EMPLOYEE));
  karin_sees = Melding(stack, number, counted);
  CHECK(karin_sees.melding().repeat_contacts() == 1);
  CHECK(karin_sees.contacts_size() == 2);

  // She also finds it by address, and in Conny's list (Conny replaces Gijs).
  pb::ListMeldingenRequest by_address;
  by_address.set_tenant(kTenant);
  by_address.set_postcode("1234AB");
  by_address.set_house_number("12");
  After(by_address, counted);
  grpc::ClientContext c1;
  pb::MeldingList found;
  REQUIRE(stack.queries().ListMeldingen(&c1, by_address, &found).ok());
  REQUIRE(found.meldingen_size() == 1);
  CHECK(found.meldingen(0).number() == number);
  pb::ListMeldingenRequest connys;
  connys.set_tenant(kTenant);
  connys.set_employee_id("conny");
  grpc::ClientContext c2;
  REQUIRE(stack.queries().ListMeldingen(&c2, connys, &found).ok());
  REQUIRE(found.meldingen_size() == 1);
  CHECK(found.meldingen(0).overdue());

  // 5. Conny takes it and plans the repair for tomorrow 15-17h; Johan is told on WhatsApp.
  auto take = NewRequest();
  take.set_aggregate_id(registered.aggregate_id());
  take.mutable_assign_melding()->set_department("openbare-ruimte");
  take.mutable_assign_melding()->set_employee_id("conny");
  take.mutable_assign_melding()->set_employee_name("Conny");
  stack.MustExecute(As(take, "conny", pb::ACTOR_KIND_EMPLOYEE));
  const int64_t tomorrow_15h = (now / 86400 + 1) * 86400 + 14 * 3600;  // 15:00 in winter, 16:00 in summer
  auto schedule = NewRequest();
  schedule.set_aggregate_id(registered.aggregate_id());
  auto* plan = schedule.mutable_change_melding_status();
  plan->set_to(pb::MELDING_STATUS_SCHEDULED);
  plan->set_reason("Spoed: gat wordt vandaag afgezet");
  plan->set_notify_citizen(true);
  plan->set_public_message("Het gat wordt nu afgezet en morgen tussen 15-17 uur gedicht.");
  *plan->mutable_scheduled_window()->mutable_start() = TimeUtil::SecondsToTimestamp(tomorrow_15h);
  *plan->mutable_scheduled_window()->mutable_end() = TimeUtil::SecondsToTimestamp(tomorrow_15h + 7200);
  const auto scheduled = stack.MustExecute(As(schedule, "conny", pb::ACTOR_KIND_EMPLOYEE));

  const auto planned = Pull(stack, 1);
  REQUIRE(planned.size() == 1);
  CHECK_THAT(planned[0].text(), Catch::StartsWith("Het gat wordt nu afgezet en morgen tussen 15-17 uur gedicht."));
  CHECK_THAT(planned[0].text(), Catch::Contains("gepland: " + ks::domain::FormatWindowNl(plan->scheduled_window())));
  CHECK_THAT(planned[0].text(), Catch::Contains(number));
  CHECK(planned[0].channel() == pb::CHANNEL_WHATSAPP);
  Report(stack, planned[0], true);

  // Karin sees the new status appear.
  karin_sees = Melding(stack, number, scheduled);
  CHECK(karin_sees.melding().status() == pb::MELDING_STATUS_SCHEDULED);
  CHECK(karin_sees.melding().employee_id() == "conny");
  CHECK_FALSE(karin_sees.melding().employee_absent());
  CHECK(karin_sees.melding().scheduled_window().start().seconds() == tomorrow_15h);

  // 6. The crew photographs the new situation; the melding is resolved with the photo.
  const std::string fixed_jpeg = std::string("\xff\xd8\xff\xe0", 4) + std::string(40'000, 'f');
  const pb::Attachment fixed_photo = Upload(stack, fixed_jpeg, "gedicht.jpg");
  auto resolve = NewRequest();
  resolve.set_aggregate_id(registered.aggregate_id());
  auto* done = resolve.mutable_change_melding_status();
  done->set_to(pb::MELDING_STATUS_RESOLVED);
  done->set_reason("Asfalt hersteld door ploeg 3");
  done->set_notify_citizen(true);
  done->set_public_message("Het gat is gedicht. Dank voor het mede veilig houden van de buurt!");
  *done->add_attachments() = fixed_photo;
  const auto resolved = stack.MustExecute(As(resolve, "uitvoerder-ploeg-3", pb::ACTOR_KIND_EMPLOYEE));

  const auto with_photo = Pull(stack, 1);
  REQUIRE(with_photo.size() == 1);
  CHECK_THAT(with_photo[0].text(), Catch::StartsWith("Het gat is gedicht."));
  REQUIRE(with_photo[0].attachments_size() == 1);
  CHECK(with_photo[0].attachments(0).sha256() == fixed_photo.sha256());
  Report(stack, with_photo[0], true);
  pb::GetAttachmentRequest get_photo;
  get_photo.set_tenant(kTenant);
  get_photo.set_sha256(fixed_photo.sha256());
  grpc::ClientContext c3;
  pb::AttachmentContent photo;
  REQUIRE(stack.queries().GetAttachment(&c3, get_photo, &photo).ok());
  CHECK(photo.content() == fixed_jpeg);

  // 7. Johan's status page: resolved, with the photo, and nothing the public may not see.
  pb::GetPublicMeldingStatusRequest public_request;
  public_request.set_tenant(kTenant);
  public_request.set_number(number);
  After(public_request, resolved);
  grpc::ClientContext c4;
  pb::PublicMeldingStatus status_page;
  REQUIRE(stack.queries().GetPublicMeldingStatus(&c4, public_request, &status_page).ok());
  CHECK(status_page.status() == pb::MELDING_STATUS_RESOLVED);
  CHECK(status_page.category_name() == "Gat in de weg / wegdek");
  CHECK(status_page.street() == "Dorpsstraat");
  REQUIRE(status_page.updates_size() == 3);
  CHECK(status_page.updates(1).status() == pb::MELDING_STATUS_SCHEDULED);
  CHECK(status_page.updates(2).message() == "Het gat is gedicht. Dank voor het mede veilig houden van de buurt!");
  REQUIRE(status_page.updates(2).photos_size() == 1);
  const std::string everything_public = status_page.DebugString();
  for (const char* secret : {"Gijs", "Conny", "Johan", "ploeg 3", "Spoed", "+316"})
    CHECK_THAT(everything_public, !Catch::Contains(secret));

  // 8. KTO: Johan is satisfied.
  auto kto = NewRequest();
  kto.set_aggregate_id(registered.aggregate_id());
  kto.mutable_record_satisfaction()->set_score(5);
  kto.mutable_record_satisfaction()->set_comment("Snel opgelost, top!");
  const auto rated = stack.MustExecute(As(kto, "whatsapp-adapter", pb::ACTOR_KIND_ADAPTER));

  // Johan's customer view: both messages, the resolved melding, three notifications delivered.
  pb::GetCustomerViewRequest view_request;
  view_request.set_tenant(kTenant);
  view_request.set_party_id(johan.aggregate_id());
  After(view_request, rated);
  auto look = [&] {
    grpc::ClientContext context;
    pb::CustomerView view;
    REQUIRE(stack.queries().GetCustomerView(&context, view_request, &view).ok());
    return view;
  };
  pb::CustomerView view = look();
  CHECK(view.timeline_size() == 2);
  REQUIRE(view.meldingen_size() == 1);
  CHECK(view.meldingen(0).status() == pb::MELDING_STATUS_RESOLVED);
  CHECK(view.meldingen(0).satisfaction_score() == 5);
  REQUIRE(view.notifications_size() == 3);
  for (const auto& n : view.notifications()) CHECK(n.status() == pb::NOTIFICATION_STATUS_DELIVERED);

  // Nothing is sent twice: not on the next pull, and not after a restart whose policy runner has
  // read the whole log again.
  CHECK(Pull(stack, 0, std::chrono::milliseconds(300)).empty());
  const int64_t events = stack.LogSize();
  stack.Restart();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (stack.app().policies().events_seen() < events && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(stack.app().policies().events_seen() >= events);
  CHECK(Pull(stack, 0, std::chrono::milliseconds(300)).empty());
  CHECK(stack.LogSize() == events);  // no new notification request was written
  view = look();
  CHECK(view.notifications_size() == 3);
  CheckIndexCounters(stack);  // after assignments, a reassignment, closing and a restart
}

TEST_CASE("a failed notification stays visible and is not offered again before its backoff", "[e2e][melding]") {
  Stack stack;
  Configure(stack);
  auto request = NewRequest(kTenant, "anon-1");
  auto* m = request.mutable_register_melding();
  m->set_category("wegdek");
  m->set_description("Losliggende stoeptegel");
  m->mutable_location()->set_street("Kerkstraat");
  m->mutable_reporter_address()->set_kind(pb::DIGITAL_ADDRESS_KIND_WHATSAPP);
  m->mutable_reporter_address()->set_value("0687654321");
  m->set_channel(pb::CHANNEL_WHATSAPP);
  const auto registered = stack.MustExecute(request);
  const auto first = Pull(stack, 1);
  REQUIRE(first.size() == 1);
  CHECK(first[0].address().value() == "0687654321");
  CHECK(first[0].attempt() == 1);
  Report(stack, first[0], false, "WhatsApp API: 503");
  // Not offered again at once.
  CHECK(Pull(stack, 0, std::chrono::milliseconds(300)).empty());
  // The back office sees it failed, why, and when it will be tried again.
  pb::GetMeldingRequest get;
  get.set_tenant(kTenant);
  get.set_melding_id(registered.aggregate_id());
  After(get, registered);
  pb::MeldingDetail detail;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    grpc::ClientContext context;
    REQUIRE(stack.queries().GetMelding(&context, get, &detail).ok());
  } while ((detail.notifications_size() == 0 || detail.notifications(0).last_error().empty()) &&
           std::chrono::steady_clock::now() < deadline);
  REQUIRE(detail.notifications_size() == 1);
  const auto& n = detail.notifications(0);
  CHECK(n.status() == pb::NOTIFICATION_STATUS_PENDING);
  CHECK(n.last_error() == "WhatsApp API: 503");
  CHECK(n.attempts() == 1);
  CHECK(n.next_attempt_at().seconds() > TimeUtil::GetCurrentTime().seconds() + 20);
}

TEST_CASE("melding rules: bad input and forbidden transitions are refused with clear errors and change nothing",
          "[integration][melding]") {
  Stack stack;
  Configure(stack);
  auto valid = [] {
    auto r = NewRequest();
    auto* m = r.mutable_register_melding();
    m->set_category("wegdek");
    m->set_description("Gat in de weg");
    m->mutable_location()->set_street("Dorpsstraat");
    m->set_channel(pb::CHANNEL_WEB_FORM);
    return r;
  };
  const int64_t before = stack.LogSize();
  struct Case {
    std::string name;
    pb::ExecuteRequest request;
    grpc::StatusCode code;
    std::string message_start;
  };
  std::vector<Case> cases;
  {
    auto r = valid();
    r.mutable_register_melding()->set_category("vuurwerk");
    cases.push_back({"unknown category", r, grpc::StatusCode::INVALID_ARGUMENT, "register_melding.category: 'vuurwerk'"});
  }
  {
    auto r = valid();
    r.mutable_register_melding()->clear_description();
    cases.push_back({"no description", r, grpc::StatusCode::INVALID_ARGUMENT, "register_melding.description: is required"});
  }
  {
    auto r = valid();
    r.mutable_register_melding()->clear_location();
    cases.push_back({"no location", r, grpc::StatusCode::INVALID_ARGUMENT, "register_melding.location: is required"});
  }
  {
    auto r = valid();
    auto* a = r.mutable_register_melding()->add_attachments();
    a->set_sha256(std::string(64, 'a'));
    a->set_media_type("image/jpeg");
    a->set_size_bytes(11 * 1024 * 1024);
    cases.push_back({"oversized attachment", r, grpc::StatusCode::INVALID_ARGUMENT,
                     "register_melding.attachments[0].size_bytes: must be between 1 and 10485760"});
  }
  {
    auto r = valid();
    auto* a = r.mutable_register_melding()->add_attachments();
    a->set_sha256(std::string(64, 'b'));
    a->set_media_type("image/jpeg");
    a->set_size_bytes(1000);
    cases.push_back({"attachment never uploaded", r, grpc::StatusCode::FAILED_PRECONDITION,
                     "register_melding.attachments[0].sha256: no attachment"});
  }
  for (const auto& c : cases) {
    SECTION(c.name) {
      grpc::Status status = stack.Execute(c.request);
      CHECK(status.error_code() == c.code);
      CHECK_THAT(status.error_message(), Catch::StartsWith(c.message_start));
      CHECK(stack.LogSize() == before);
    }
  }
  SECTION("an oversized upload") {
    pb::UploadAttachmentRequest upload;
    upload.set_tenant(kTenant);
    upload.set_media_type("image/jpeg");
    upload.set_content(std::string(10 * 1024 * 1024 + 1, 'x'));
    grpc::ClientContext context;
    pb::Attachment attachment;
    grpc::Status status = stack.uploads().Upload(&context, upload, &attachment);
    CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(status.error_message(), Catch::StartsWith("content: at most 10485760 bytes"));
  }
  SECTION("a forbidden transition names both states") {
    const auto melding = stack.MustExecute(valid());
    auto resolve = NewRequest();
    resolve.set_aggregate_id(melding.aggregate_id());
    resolve.mutable_change_melding_status()->set_to(pb::MELDING_STATUS_RESOLVED);
    stack.MustExecute(resolve);
    const int64_t size = stack.LogSize();
    auto schedule = NewRequest();
    schedule.set_aggregate_id(melding.aggregate_id());
    auto* c = schedule.mutable_change_melding_status();
    c->set_to(pb::MELDING_STATUS_SCHEDULED);
    c->mutable_scheduled_window()->mutable_start()->set_seconds(1'800'000'000);
    c->mutable_scheduled_window()->mutable_end()->set_seconds(1'800'007'200);
    grpc::Status status = stack.Execute(schedule);
    CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
    CHECK_THAT(status.error_message(), Catch::Contains("cannot go from RESOLVED to SCHEDULED"));
    CHECK(stack.LogSize() == size);
  }
}

TEST_CASE("closing a parent melding resolves its open children and tells their reporters", "[integration][melding]") {
  Stack stack;
  Configure(stack);
  auto report = [&](const std::string& key, const std::string& phone) {
    auto r = NewRequest(kTenant, key);
    auto* m = r.mutable_register_melding();
    m->set_category("wegdek");
    m->set_description("Gat in de weg bij de school");
    m->mutable_location()->set_street("Schoolstraat");
    m->mutable_reporter_address()->set_kind(pb::DIGITAL_ADDRESS_KIND_WHATSAPP);
    m->mutable_reporter_address()->set_value(phone);
    m->set_channel(pb::CHANNEL_WHATSAPP);
    return stack.MustExecute(r);
  };
  const auto parent = report("first", "0611111111");
  const auto child = report("second", "0622222222");
  auto link = NewRequest();
  link.set_aggregate_id(parent.aggregate_id());
  link.mutable_link_melding()->set_other_melding_id(child.aggregate_id());
  link.mutable_link_melding()->set_kind(pb::MELDING_LINK_KIND_PARENT_OF);
  stack.MustExecute(link);
  for (const auto& n : Pull(stack, 2)) Report(stack, n, true);  // the acknowledgements

  auto resolve = NewRequest();
  resolve.set_aggregate_id(parent.aggregate_id());
  resolve.mutable_change_melding_status()->set_to(pb::MELDING_STATUS_RESOLVED);
  resolve.mutable_change_melding_status()->set_notify_citizen(true);
  resolve.mutable_change_melding_status()->set_public_message("Het gat bij de school is gedicht.");
  stack.MustExecute(resolve);

  const auto told = Pull(stack, 2);
  REQUIRE(told.size() == 2);
  std::set<std::string> addresses;
  for (const auto& n : told) {
    addresses.insert(n.address().value());
    CHECK_THAT(n.text(), Catch::StartsWith("Het gat bij de school is gedicht."));
  }
  CHECK(addresses == std::set<std::string>{"0611111111", "0622222222"});

  pb::GetMeldingRequest get;
  get.set_tenant(kTenant);
  get.set_melding_id(child.aggregate_id());
  After(get, child);
  pb::MeldingDetail detail;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  do {
    grpc::ClientContext context;
    REQUIRE(stack.queries().GetMelding(&context, get, &detail).ok());
  } while (detail.melding().status() != pb::MELDING_STATUS_RESOLVED && std::chrono::steady_clock::now() < deadline);
  CHECK(detail.melding().status() == pb::MELDING_STATUS_RESOLVED);
  REQUIRE(detail.linked_size() == 1);  // the link shows from the child's side too
  CHECK(detail.linked(0).melding_id() == parent.aggregate_id());
  CHECK(detail.melding().links(0).kind() == pb::MELDING_LINK_KIND_CHILD_OF);
  CheckIndexCounters(stack);
}

TEST_CASE("journey 000: the callback for Windy shows her replacement while she is away", "[integration][melding]") {
  Stack stack;
  const auto john = stack.MustExecute(RegisterPerson("John de Vries"));
  const auto callback =
      stack.MustExecute(RequestCallback(john.aggregate_id(), "ruimtelijke-ordening", "windy", pb::URGENCY_HIGH, 0));
  auto away = NewRequest();
  auto* a = away.mutable_set_employee_availability();
  a->set_employee_id("windy");
  a->set_employee_name("Windy");
  a->set_available(false);
  a->set_replacement_employee_id("piet");
  a->set_replacement_name("Piet");
  a->set_reason("cursus");
  const auto marked = stack.MustExecute(away);
  auto queue_of = [&](const std::string& employee, const pb::ExecuteReply& after) {
    pb::GetCallbackQueueRequest request;
    request.set_tenant(kTenant);
    request.set_employee_id(employee);
    After(request, after);
    grpc::ClientContext context;
    pb::CallbackQueue queue;
    REQUIRE(stack.queries().GetCallbackQueue(&context, request, &queue).ok());
    return queue;
  };
  pb::CallbackQueue windys = queue_of("windy", marked);
  REQUIRE(windys.callbacks_size() == 1);
  CHECK(windys.callbacks(0).target_absent());
  CHECK(windys.callbacks(0).replacement_name() == "Piet");
  pb::CallbackQueue piets = queue_of("piet", marked);
  REQUIRE(piets.callbacks_size() == 1);
  CHECK(piets.callbacks(0).callback_id() == callback.aggregate_id());

  auto back = NewRequest();
  back.mutable_set_employee_availability()->set_employee_id("windy");
  back.mutable_set_employee_availability()->set_employee_name("Windy");
  back.mutable_set_employee_availability()->set_available(true);
  const auto returned = stack.MustExecute(back);
  windys = queue_of("windy", returned);
  REQUIRE(windys.callbacks_size() == 1);
  CHECK_FALSE(windys.callbacks(0).target_absent());
  CHECK(queue_of("piet", returned).callbacks_size() == 0);
  CheckIndexCounters(stack);
}

TEST_CASE("the back office filters meldingen by status, category, wijk, department and overdue, and a poor KTO score "
          "asks to reopen",
          "[integration][melding]") {
  Stack stack;
  Configure(stack);
  auto light = NewRequest();
  auto* c = light.mutable_define_melding_category();
  c->set_code("verlichting");
  c->set_name("Straatverlichting");
  c->set_due_days(30);
  c->set_default_department("verlichting");
  stack.MustExecute(light);

  const int64_t now = TimeUtil::GetCurrentTime().seconds();
  auto melding = [&](const std::string& category, const std::string& wijk, int64_t at) {
    auto r = NewRequest();
    *r.mutable_meta()->mutable_occurred_at() = TimeUtil::SecondsToTimestamp(at);
    auto* m = r.mutable_register_melding();
    m->set_category(category);
    m->set_description("probleem in " + wijk);
    m->mutable_location()->set_street("Straat");
    m->mutable_location()->set_neighbourhood(wijk);
    m->set_channel(pb::CHANNEL_WEB_FORM);
    return stack.MustExecute(r);
  };
  const auto old_hole = melding("wegdek", "Noord", now - 30 * 86400);  // 5 working days: overdue
  const auto new_hole = melding("wegdek", "Zuid", now);
  const auto lamp = melding("verlichting", "Noord", now);
  auto resolve = NewRequest();
  resolve.set_aggregate_id(new_hole.aggregate_id());
  resolve.mutable_change_melding_status()->set_to(pb::MELDING_STATUS_RESOLVED);
  const auto resolved = stack.MustExecute(resolve);

  auto list = [&](auto fill) {
    const pb::MeldingList out = ListMeldingen(stack, resolved, fill);
    std::set<std::string> ids;
    for (const auto& m : out.meldingen()) ids.insert(m.melding_id());
    return ids;
  };
  using Ids = std::set<std::string>;
  CHECK(list([](auto&) {}) == Ids{old_hole.aggregate_id(), lamp.aggregate_id()});  // open ones
  CHECK(list([](auto& r) { r.set_category("wegdek"); }) == Ids{old_hole.aggregate_id()});
  CHECK(list([](auto& r) { r.set_neighbourhood("Noord"); }) == Ids{old_hole.aggregate_id(), lamp.aggregate_id()});
  CHECK(list([](auto& r) { r.set_department("verlichting"); }) == Ids{lamp.aggregate_id()});
  CHECK(list([](auto& r) { r.set_overdue_only(true); }) == Ids{old_hole.aggregate_id()});
  CHECK(list([](auto& r) { r.add_statuses(pb::MELDING_STATUS_RESOLVED); }) == Ids{new_hole.aggregate_id()});

  // KTO before resolution is refused; a poor score after it asks to reopen.
  auto early = NewRequest();
  early.set_aggregate_id(lamp.aggregate_id());
  early.mutable_record_satisfaction()->set_score(4);
  CHECK(stack.Execute(early).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  auto poor = NewRequest();
  poor.set_aggregate_id(new_hole.aggregate_id());
  poor.mutable_record_satisfaction()->set_score(1);
  poor.mutable_record_satisfaction()->set_comment("Het gat is slordig gedicht, nu ligt er een bult.");
  poor.mutable_record_satisfaction()->set_request_reopen(true);
  const auto rated = stack.MustExecute(poor);
  CHECK(rated.positions_size() == 1);  // score and reopen request in one event
  pb::GetMeldingRequest get;
  get.set_tenant(kTenant);
  get.set_melding_id(new_hole.aggregate_id());
  After(get, rated);
  grpc::ClientContext context;
  pb::MeldingDetail detail;
  REQUIRE(stack.queries().GetMelding(&context, get, &detail).ok());
  CHECK(detail.melding().status() == pb::MELDING_STATUS_REOPEN_REQUESTED);
  CHECK(detail.melding().satisfaction_score() == 1);
  CHECK_THAT(detail.melding().history().rbegin()->reason(), Catch::Contains("KTO score 1"));
  CheckIndexCounters(stack);  // a status index entry moved by the reopen request
}

TEST_CASE("a melding list gives overdue ones first, then by due time, with the total of all that match beyond the page",
          "[integration][melding]") {
  Stack stack;
  Configure(stack);
  // Due in 5 calendar days: registrations a day apart are due a day apart, whatever the weekday
  // (5 working days from a Saturday and from a Sunday end on the same Friday).
  auto category = NewRequest();
  auto* c = category.mutable_define_melding_category();
  c->set_code("stoep");
  c->set_name("Losse stoeptegel");
  c->set_due_days(5);
  c->set_working_days(false);
  c->set_default_department("openbare-ruimte");
  stack.MustExecute(category);
  const int64_t now = TimeUtil::GetCurrentTime().seconds();
  auto melding = [&](const std::string& wijk, int64_t days_ago) {
    auto r = NewRequest();
    *r.mutable_meta()->mutable_occurred_at() = TimeUtil::SecondsToTimestamp(now - days_ago * 86400);
    auto* m = r.mutable_register_melding();
    m->set_category("stoep");
    m->set_description("gat in " + wijk);
    m->mutable_location()->set_street("Straat");
    m->mutable_location()->set_neighbourhood(wijk);
    m->set_channel(pb::CHANNEL_WEB_FORM);
    return stack.MustExecute(r).aggregate_id();
  };
  // Registered in an order unlike the answer's.
  const std::string fresh = melding("Noord", 0);
  const std::string oldest = melding("Zuid", 30);
  const std::string yesterday = melding("Noord", 1);
  const std::string older = melding("Noord", 20);
  const std::string closed = melding("Noord", 40);  // past due, but resolved: not overdue
  auto resolve = NewRequest();
  resolve.set_aggregate_id(closed);
  resolve.mutable_change_melding_status()->set_to(pb::MELDING_STATUS_RESOLVED);
  const auto last = stack.MustExecute(resolve);

  struct Page {
    std::vector<std::string> ids;
    int total;
  };
  auto list = [&](auto fill) {
    const pb::MeldingList out = ListMeldingen(stack, last, fill);
    Page page{{}, out.total()};
    for (const auto& m : out.meldingen()) {
      page.ids.push_back(m.melding_id());
      CHECK(m.overdue() == (m.melding_id() == oldest || m.melding_id() == older));
    }
    return page;
  };
  using Ids = std::vector<std::string>;
  // Every open one (answered from the index alone), the first three of four.
  Page page = list([](auto& r) { r.set_limit(3); });
  CHECK(page.ids == Ids{oldest, older, yesterday});
  CHECK(page.total == 4);
  // One wijk (the index alone again), and the same wijk with a second criterion (records filtered):
  // the same order either way.
  page = list([](auto& r) { r.set_neighbourhood("Noord"); });
  CHECK(page.ids == Ids{older, yesterday, fresh});
  CHECK(page.total == 3);
  page = list([](auto& r) {
    r.set_neighbourhood("Noord");
    r.set_category("stoep");
    r.set_limit(2);
  });
  CHECK(page.ids == Ids{older, yesterday});
  CHECK(page.total == 3);
  page = list([](auto& r) {
    r.set_overdue_only(true);
    r.set_limit(1);
  });
  CHECK(page.ids == Ids{oldest});
  CHECK(page.total == 2);
  // Open and closed statuses asked together: the resolved one is past due but not overdue.
  page = list([](auto& r) {
    r.add_statuses(pb::MELDING_STATUS_REGISTERED);
    r.add_statuses(pb::MELDING_STATUS_RESOLVED);
  });
  CHECK(page.ids == Ids{oldest, older, closed, yesterday, fresh});
  CHECK(page.total == 5);
  page = list([](auto& r) {
    r.add_statuses(pb::MELDING_STATUS_RESOLVED);
    r.set_neighbourhood("Noord");
  });
  CHECK(page.ids == Ids{closed});
  CHECK(page.total == 1);
  CheckIndexCounters(stack);
}

TEST_CASE("a notification goes to the citizen's preferred channel, not the one the melding came in on",
          "[integration][melding]") {
  Stack stack;
  Configure(stack);
  auto register_fatima = NewRequest();
  auto* p = register_fatima.mutable_register_party();
  p->set_kind(pb::PARTY_KIND_PERSON);
  p->set_display_name("Fatima");
  auto* phone = p->add_digital_addresses();
  phone->set_kind(pb::DIGITAL_ADDRESS_KIND_PHONE);
  phone->set_value("06-55512345");
  auto* mail = p->add_digital_addresses();
  mail->set_kind(pb::DIGITAL_ADDRESS_KIND_EMAIL);
  mail->set_value("fatima@example.nl");
  mail->set_preferred(true);
  const auto fatima = stack.MustExecute(register_fatima);
  auto prefer_sms = NewRequest();
  prefer_sms.set_aggregate_id(fatima.aggregate_id());
  prefer_sms.mutable_set_preferred_channel()->set_channel(pb::CHANNEL_SMS);
  stack.MustExecute(prefer_sms);

  auto report = NewRequest(kTenant, "webform-77");
  auto* m = report.mutable_register_melding();
  m->set_category("wegdek");
  m->set_description("Kuil in het fietspad");
  m->mutable_location()->set_street("Parkweg");
  m->set_reporter_party_id(fatima.aggregate_id());
  m->set_channel(pb::CHANNEL_WEB_FORM);
  stack.MustExecute(report);

  std::vector<pb::OutboundNotification> sms;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (sms.empty() && std::chrono::steady_clock::now() < deadline) {
    pb::PullNotificationsRequest request;
    request.set_tenant(kTenant);
    request.set_channel(pb::CHANNEL_SMS);
    request.set_adapter_id("sms-adapter");
    grpc::ClientContext context;
    pb::PullNotificationsReply reply;
    REQUIRE(stack.notifications().PullNotifications(&context, request, &reply).ok());
    sms.assign(reply.notifications().begin(), reply.notifications().end());
    if (sms.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  REQUIRE(sms.size() == 1);
  CHECK(sms[0].address().value() == "0655512345");
  CHECK_THAT(sms[0].text(), Catch::Contains("meldingnummer"));
}
