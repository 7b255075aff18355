// The right to erasure (AVG/GDPR) as a privacy officer and the KCC meet it, over gRPC: Desiree's
// name, BSN, addresses and everything said with or about her are sealed with her key; erasing her
// destroys it. Afterwards no answer shows them, no lookup finds her, search forgets her, and no
// byte of the log, the read models, the search index or a replay's output holds them, while her
// contacts still count in the KPIs. Only the admin role may erase.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include "ks/auth/auth.h"
#include "support/process.h"
#include "support/journey.h"
#include "support/temp_dir.h"

using namespace ks::testing;
namespace pb = ::klantstroom::v1;
using google::protobuf::util::TimeUtil;

namespace {

constexpr int64_t kNov16 = 1'794'815'220;
constexpr const char* kTenant = "gemeente-aa";
constexpr const char* kKcc = "kcc-aa";
constexpr const char* kOfficer = "privacy-aa";

// What must be gone for good: every way Desiree was written down.
const std::vector<std::string> kDesiree = {"Desiree",        "Achterberg",   "111222333", "612345678",
                                           "desiree.achterberg", "desiree_a", "Kastanjelaan"};

std::string TokensFile(const TempDir& dir) {
  const std::string path = dir.Sub("tokens");
  std::ofstream out(path);
  out << ks::auth::TokenHash(kKcc) << " gemeente-aa kcc kcc-karin\n";
  out << ks::auth::TokenHash(kOfficer) << " gemeente-aa admin privacy-officer\n";
  return path;
}

pb::ExecuteRequest As(pb::ExecuteRequest r) {
  r.mutable_meta()->set_tenant(kTenant);
  return r;
}

pb::ExecuteReply Must(Stack& stack, const pb::ExecuteRequest& request, const std::string& token = kKcc) {
  return MustExecuteAs(stack, token, request);
}

pb::CustomerView ViewOf(Stack& stack, const std::string& party, const pb::ExecuteReply& after) {
  pb::GetCustomerViewRequest request;
  request.set_tenant(kTenant);
  request.set_party_id(party);
  After(request, after);
  grpc::ClientContext context;
  WithToken(context, kKcc);
  pb::CustomerView view;
  const grpc::Status status = stack.queries().GetCustomerView(&context, request, &view);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return view;
}

size_t Lookup(Stack& stack, const pb::LookupPartiesRequest& by, const pb::ExecuteReply& after) {
  pb::LookupPartiesRequest request = by;
  request.set_tenant(kTenant);
  After(request, after);
  grpc::ClientContext context;
  WithToken(context, kKcc);
  pb::LookupPartiesReply reply;
  REQUIRE(stack.queries().LookupParties(&context, request, &reply).ok());
  return static_cast<size_t>(reply.parties_size());
}

// Hits for `words`, once the index has settled on `expected` (up to 10 s).
int SearchHits(Stack& stack, const std::string& words, int expected) {
  int hits = -1;
  for (int i = 0; i < 200 && hits != expected; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    pb::SearchRequest request;
    request.set_tenant(kTenant);
    request.set_text(words);
    grpc::ClientContext context;
    WithToken(context, kKcc);
    pb::SearchReply reply;
    if (stack.queries().Search(&context, request, &reply).ok()) hits = reply.hits_size();
  }
  return hits;
}

double ContactsInPeriod(Stack& stack, const pb::ExecuteReply& after) {
  pb::GetKpisRequest request;
  request.set_tenant(kTenant);
  *request.mutable_from() = TimeUtil::SecondsToTimestamp(kNov16 - 3600);
  *request.mutable_to() = TimeUtil::SecondsToTimestamp(kNov16 + 86400);
  After(request, after);
  grpc::ClientContext context;
  WithToken(context, kKcc);
  pb::KpiReport report;
  REQUIRE(stack.queries().GetKpis(&context, request, &report).ok());
  for (const auto& f : report.figures())
    if (f.kpi() == "contacts" && f.dimension().empty() && f.bucket().empty()) return f.value();
  return 0;
}

// Every file under `dir` whose bytes contain `needle`.
std::vector<std::string> FilesContaining(const std::string& dir, const std::string& needle) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (bytes.find(needle) != std::string::npos) found.push_back(entry.path().string());
  }
  return found;
}

}  // namespace

TEST_CASE("erasure: after ErasePartyData no answer, index, log byte or replay shows the person, and counts still add up",
          "[security][privacy][integration]") {
  TempDir dir;
  Stack stack(TokensFile(dir));

  // Desiree: a person with a BSN, a phone number and an e-mail address; Piet, who stays.
  pb::ExecuteRequest desiree_req = As(RegisterPerson("Desiree Achterberg", "desiree.achterberg@example.nl", "+31612345678"));
  auto* bsn = desiree_req.mutable_register_party()->add_identifiers();
  bsn->set_kind(pb::IDENTIFIER_KIND_BSN);
  bsn->set_value("111222333");
  const std::string desiree = Must(stack, desiree_req).aggregate_id();
  const std::string piet = Must(stack, As(RegisterPerson("Piet Pieters", "piet@example.nl"))).aggregate_id();

  // Her call, with what the employee wrote about her, and a report.
  pb::ExecuteRequest call = As(RegisterMessage(desiree, pb::CHANNEL_PHONE, "Desiree Achterberg van de Kastanjelaan belt over haar schulden", kNov16));
  call.mutable_register_interaction()->add_topics("schulden");
  call.mutable_register_interaction()->mutable_counterpart()->set_kind(pb::DIGITAL_ADDRESS_KIND_PHONE);
  call.mutable_register_interaction()->mutable_counterpart()->set_value("+31612345678");
  const std::string call_id = Must(stack, call).aggregate_id();
  pb::ExecuteRequest report = As(NewRequest());
  report.set_aggregate_id(call_id);
  report.mutable_record_interaction_report()->set_report("Mevrouw Achterberg doorverwezen naar schuldhulp");
  Must(stack, report);
  // A tweet from her handle before she was known, linked to her afterwards.
  pb::ExecuteRequest tweet = As(RegisterMessage("", pb::CHANNEL_TWITTER, "Hoe vraag ik schuldhulp aan? groet desiree_a", kNov16 + 60));
  tweet.mutable_register_interaction()->mutable_counterpart()->set_kind(pb::DIGITAL_ADDRESS_KIND_TWITTER);
  tweet.mutable_register_interaction()->mutable_counterpart()->set_value("@desiree_a");
  const std::string tweet_id = Must(stack, tweet).aggregate_id();
  pb::ExecuteRequest link = As(NewRequest());
  link.set_aggregate_id(tweet_id);
  link.mutable_link_interaction_to_party()->set_party_id(desiree);
  Must(stack, link);
  // A callback request to her number, and a confirmation by e-mail.
  pb::ExecuteRequest callback = As(RequestCallback(desiree, "schuldhulp", "", pb::URGENCY_HIGH, kNov16 + 86400));
  callback.mutable_request_callback()->set_phone_number("+31612345678");
  callback.mutable_request_callback()->set_context("Desiree Achterberg heeft deurwaarders aan de deur");
  Must(stack, callback);
  pb::ExecuteRequest confirm = As(NewRequest());
  confirm.mutable_request_notification()->set_party_id(desiree);
  confirm.mutable_request_notification()->set_channel(pb::CHANNEL_EMAIL);
  confirm.mutable_request_notification()->mutable_address()->set_kind(pb::DIGITAL_ADDRESS_KIND_EMAIL);
  confirm.mutable_request_notification()->mutable_address()->set_value("desiree.achterberg@example.nl");
  confirm.mutable_request_notification()->set_text("Beste Desiree Achterberg, uw afspraak is bevestigd.");
  Must(stack, confirm);
  // A chat handed over to the KCC with a summary that names her, and an appointment whose
  // confirmation goes to her e-mail address.
  pb::ExecuteRequest chat = As(NewRequest());
  chat.mutable_start_conversation()->set_party_id(desiree);
  chat.mutable_start_conversation()->set_channel(pb::CHANNEL_CHAT);
  chat.mutable_start_conversation()->set_subject("schulden van mevrouw Achterberg");
  const std::string chat_id = Must(stack, chat).aggregate_id();
  pb::ExecuteRequest handover = As(NewRequest());
  handover.set_aggregate_id(chat_id);
  handover.mutable_hand_over_conversation()->mutable_to()->set_department("kcc");
  handover.mutable_hand_over_conversation()->set_reason("deurwaarder aan de Kastanjelaan");
  handover.mutable_hand_over_conversation()->set_summary("Desiree Achterberg van de Kastanjelaan wil teruggebeld worden");
  handover.mutable_hand_over_conversation()->set_phone_number("+31612345678");
  Must(stack, handover);
  const int64_t tomorrow = TimeUtil::GetCurrentTime().seconds() + 86400;
  pb::ExecuteRequest appointment = As(NewRequest());
  auto* a = appointment.mutable_schedule_appointment();
  a->set_party_id(desiree);
  *a->mutable_window()->mutable_start() = TimeUtil::SecondsToTimestamp(tomorrow);
  *a->mutable_window()->mutable_end() = TimeUtil::SecondsToTimestamp(tomorrow + 3600);
  a->set_place("Huisbezoek Kastanjelaan 3");
  a->mutable_with()->set_department("schuldhulp");
  a->set_subject("Intake Desiree Achterberg");
  a->set_what_to_bring("brieven van de deurwaarder aan Achterberg");
  a->set_confirm_channel(pb::CHANNEL_EMAIL);
  a->add_reminder_minutes_before(60);
  const std::string appointment_id = Must(stack, appointment).aggregate_id();
  pb::ExecuteRequest move = As(NewRequest());
  move.set_aggregate_id(appointment_id);
  *move.mutable_reschedule_appointment()->mutable_window()->mutable_start() = TimeUtil::SecondsToTimestamp(tomorrow + 7200);
  *move.mutable_reschedule_appointment()->mutable_window()->mutable_end() = TimeUtil::SecondsToTimestamp(tomorrow + 10800);
  move.mutable_reschedule_appointment()->set_place("Wijkcentrum bij de Kastanjelaan");
  move.mutable_reschedule_appointment()->set_reason("Achterberg vraagt een later tijdstip");
  Must(stack, move);
  pb::ExecuteRequest called_off = As(NewRequest());
  called_off.set_aggregate_id(appointment_id);
  called_off.mutable_cancel_appointment()->set_reason("Desiree is ziek");
  Must(stack, called_off);
  const std::string piet_call =
      Must(stack, As(RegisterMessage(piet, pb::CHANNEL_PHONE, "Piet belt over zijn kliko", kNov16 + 120))).aggregate_id();
  const pb::ExecuteReply before = Must(stack, As(RegisterMessage(piet, pb::CHANNEL_EMAIL, "Piet mailt over de kliko", kNov16 + 180)));

  // Before: the KCC sees her whole, finds her by BSN and phone, and finds her words.
  {
    const pb::CustomerView view = ViewOf(stack, desiree, before);
    CHECK(view.party().display_name() == "Desiree Achterberg");
    REQUIRE(view.timeline_size() == 2);
    CHECK(view.open_callbacks_size() == 1);
    CHECK(view.open_callbacks(0).context() == "Desiree Achterberg heeft deurwaarders aan de deur");
    pb::LookupPartiesRequest by_bsn;
    *by_bsn.mutable_identifier() = *bsn;
    CHECK(Lookup(stack, by_bsn, before) == 1);
    CHECK(SearchHits(stack, "Achterberg", 1) == 1);
  }
  const double contacts_before = ContactsInPeriod(stack, before);
  CHECK(contacts_before == 4);

  // A KCC employee may not erase; nothing is written.
  pb::ExecuteRequest erase = As(NewRequest());
  erase.set_aggregate_id(desiree);
  erase.mutable_erase_party_data()->set_reason("AVG-verzoek 2026-118");
  AwaitPolicies(stack);  // the appointment's messages are written by the policy, beside
  const int64_t log_size = stack.LogSize();
  CHECK(stack.Execute(erase, nullptr, kKcc).error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(stack.LogSize() == log_size);

  // The privacy officer erases her.
  const pb::ExecuteReply erased = Must(stack, erase, kOfficer);
  // Again: no change. And nothing personal can be recorded for her any more.
  CHECK(Must(stack, erase, kOfficer).aggregate_version() == erased.aggregate_version());
  pb::ExecuteRequest rename = As(NewRequest());
  rename.set_aggregate_id(desiree);
  rename.mutable_change_party_name()->set_display_name("Desiree A.");
  CHECK(stack.Execute(rename, nullptr, kKcc).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(stack.Execute(As(RegisterMessage(desiree, pb::CHANNEL_PHONE, "weer gebeld", kNov16 + 240)), nullptr, kKcc)
            .error_code() == grpc::StatusCode::FAILED_PRECONDITION);

  // After: the profile says she was erased and holds nothing to know her by; her contacts are
  // there as THAT (channel, time), never WHAT.
  {
    const pb::CustomerView view = ViewOf(stack, desiree, erased);
    CHECK(view.party().erased());
    CHECK(view.party().display_name().empty());
    CHECK(view.party().identifiers_size() == 0);
    CHECK(view.party().digital_addresses_size() == 0);
    REQUIRE(view.timeline_size() == 2);
    for (const auto& contact : view.timeline()) {
      CHECK(contact.personal_data_erased());
      CHECK(contact.text().empty());
      CHECK(contact.report().empty());
      CHECK_FALSE(contact.has_counterpart());
    }
    REQUIRE(view.open_callbacks_size() == 1);
    CHECK(view.open_callbacks(0).personal_data_erased());
    CHECK(view.open_callbacks(0).context().empty());
    CHECK(view.open_callbacks(0).phone_number().empty());
    for (const auto& n : view.notifications()) CHECK(n.text().empty());
    // Piet is untouched.
    const pb::CustomerView other = ViewOf(stack, piet, erased);
    CHECK(other.party().display_name() == "Piet Pieters");
    CHECK(other.timeline_size() == 2);
  }
  pb::LookupPartiesRequest by_bsn;
  *by_bsn.mutable_identifier() = *bsn;
  CHECK(Lookup(stack, by_bsn, erased) == 0);
  pb::LookupPartiesRequest by_phone;
  by_phone.mutable_digital_address()->set_kind(pb::DIGITAL_ADDRESS_KIND_PHONE);
  by_phone.mutable_digital_address()->set_value("+31612345678");
  CHECK(Lookup(stack, by_phone, erased) == 0);
  CHECK(SearchHits(stack, "Achterberg", 0) == 0);
  CHECK(SearchHits(stack, "schuldhulp", 0) == 0);
  CHECK(SearchHits(stack, "kliko", 2) == 2);
  // Her contacts still count.
  CHECK(ContactsInPeriod(stack, erased) == contacts_before);

  // No byte on disk holds her: not the log, not the read models, not the search index, not the
  // vault. (What is not personal, such as the id of Piet's call, is found: the scan reads it all.)
  stack.Stop();
  const std::string data = stack.data_dir();
  CHECK_FALSE(FilesContaining(data + "/log", piet_call).empty());
  CHECK_FALSE(FilesContaining(data + "/read-models", piet_call).empty());
  for (const std::string& needle : kDesiree) {
    const auto found = FilesContaining(data, needle);
    INFO(needle << " in " << (found.empty() ? std::string() : found.front()));
    CHECK(found.empty());
  }

  // An analyst's replay of the period counts her contacts and writes nothing of her.
  const std::string out = dir.Sub("replay");
  ChildProcess replay(ProgramPath("replay/ks-replay"),
                      {"--log=embedded:" + data + "/log", "--from=2026-11-16", "--to=2026-11-18", "--out=" + out},
                      dir.Sub("replay.log"));
  replay.ReadAll(std::chrono::seconds(60));
  REQUIRE(replay.Terminate() == 0);
  for (const std::string& needle : kDesiree) {
    INFO(needle);
    CHECK(FilesContaining(out, needle).empty());
  }
  std::ifstream csv(out + "/kpi.csv");
  const std::string figures((std::istreambuf_iterator<char>(csv)), std::istreambuf_iterator<char>());
  CHECK(figures.find("gemeente-aa,contacts,,,4") != std::string::npos);
}

TEST_CASE("audit trail: the privacy officer sees who read and who changed a person's data, and when",
          "[security][privacy][integration]") {
  TempDir dir;
  Stack stack(TokensFile(dir));
  const std::string desiree = Must(stack, As(RegisterPerson("Desiree Achterberg", "desiree@example.nl"))).aggregate_id();
  // Karin (KCC) looks her up, opens her customer view, and corrects her name.
  pb::LookupPartiesRequest by_mail;
  by_mail.mutable_digital_address()->set_kind(pb::DIGITAL_ADDRESS_KIND_EMAIL);
  by_mail.mutable_digital_address()->set_value("desiree@example.nl");
  const pb::ExecuteReply registered = Must(stack, As(RegisterPerson("Piet Pieters", "piet@example.nl")));
  CHECK(Lookup(stack, by_mail, registered) == 1);
  ViewOf(stack, desiree, registered);
  pb::ExecuteRequest rename = As(NewRequest());
  rename.set_aggregate_id(desiree);
  rename.mutable_change_party_name()->set_display_name("Desirée Achterberg");
  const pb::ExecuteReply renamed = Must(stack, rename);

  auto trail = [&](const std::string& token, grpc::Status* status) {
    pb::GetAuditTrailRequest request;
    request.set_tenant(kTenant);
    request.set_party_id(desiree);
    After(request, renamed);
    grpc::ClientContext context;
    WithToken(context, token);
    pb::AuditTrail reply;
    *status = stack.queries().GetAuditTrail(&context, request, &reply);
    return reply;
  };
  // The KCC may not read the trail.
  grpc::Status status;
  trail(kKcc, &status);
  CHECK(status.error_code() == grpc::StatusCode::PERMISSION_DENIED);

  const pb::AuditTrail first = trail(kOfficer, &status);
  REQUIRE(status.ok());
  std::vector<std::string> seen;  // newest first: "kind action by"
  for (const auto& e : first.entries())
    seen.push_back(fmt::format("{} {} {}", e.kind() == pb::AUDIT_KIND_READ ? "read" : "change", e.action(), e.actor().id()));
  CHECK(seen == std::vector<std::string>{"change klantstroom.v1.PartyNameChanged kcc-karin",
                                         "read GetCustomerView kcc-karin", "read LookupParties kcc-karin",
                                         "change klantstroom.v1.PartyRegistered kcc-karin"});
  for (int i = 1; i < first.entries_size(); ++i)
    CHECK(TimeUtil::TimestampToMilliseconds(first.entries(i - 1).at()) >=
          TimeUtil::TimestampToMilliseconds(first.entries(i).at()));
  // Reading the trail is on it too.
  const pb::AuditTrail second = trail(kOfficer, &status);
  REQUIRE(second.entries_size() == first.entries_size() + 1);
  CHECK(second.entries(0).action() == "GetAuditTrail");
  CHECK(second.entries(0).actor().id() == "privacy-officer");
}
