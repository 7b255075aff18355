// Who is calling (seeds 002 and 003), over gRPC as the KCC meets it: recognising a caller by
// postcode, house number and birth date, or by phone (which may be someone else's); each check of
// identity recorded on the profile; a safe alternative address that notifications go to; and the
// automatic "frequent contact" label.
#include <catch2/catch.hpp>

#include <thread>

#include <google/protobuf/util/time_util.h>

#include "ks/domain/policy.h"
#include "support/stack.h"

using namespace ks::testing;
namespace pb = ::klantstroom::v1;
using google::protobuf::util::TimeUtil;

namespace {

constexpr int64_t kNov16 = 1'794'815'220;

pb::LookupPartiesReply Lookup(Stack& stack, pb::LookupPartiesRequest request, const pb::ExecuteReply& after,
                              grpc::Status* status = nullptr) {
  request.set_tenant("gemeente-test");
  for (const auto& p : after.positions()) *request.mutable_consistency()->add_min_positions() = p;
  grpc::ClientContext context;
  WithToken(context, "");
  pb::LookupPartiesReply reply;
  const grpc::Status s = stack.queries().LookupParties(&context, request, &reply);
  if (status != nullptr) *status = s;
  return reply;
}

pb::LookupPartiesRequest ByRecognition(const std::string& postcode, const std::string& number, const std::string& born) {
  pb::LookupPartiesRequest r;
  r.mutable_recognition()->set_postcode(postcode);
  r.mutable_recognition()->set_house_number(number);
  r.mutable_recognition()->set_birth_date(born);
  return r;
}

pb::CustomerView ViewOf(Stack& stack, const std::string& party, const pb::ExecuteReply* after = nullptr) {
  pb::GetCustomerViewRequest request;
  request.set_tenant("gemeente-test");
  request.set_party_id(party);
  if (after != nullptr)
    for (const auto& p : after->positions()) *request.mutable_consistency()->add_min_positions() = p;
  grpc::ClientContext context;
  WithToken(context, "");
  pb::CustomerView view;
  REQUIRE(stack.queries().GetCustomerView(&context, request, &view).ok());
  return view;
}

// The view once `done` holds of it (policies act shortly after the event), at most 10 s. The
// projector may not have seen the party yet (NOT_FOUND) when the machine is busy: that is waited
// out like the rest.
template <typename Done>
pb::CustomerView ViewWhen(Stack& stack, const std::string& party, Done done) {
  pb::CustomerView view;
  grpc::Status status;
  for (int i = 0; i < 200; ++i) {
    pb::GetCustomerViewRequest request;
    request.set_tenant("gemeente-test");
    request.set_party_id(party);
    grpc::ClientContext context;
    WithToken(context, "");
    view.Clear();
    status = stack.queries().GetCustomerView(&context, request, &view);
    if (status.ok() && done(view)) break;
    if (!status.ok() && status.error_code() != grpc::StatusCode::NOT_FOUND) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  INFO(status.error_message());
  REQUIRE(status.ok());
  return view;
}

pb::ExecuteRequest Desiree() {
  pb::ExecuteRequest r = RegisterPerson("Desiree Achterberg", "desiree@example.nl", "+31612345678");
  auto* c = r.mutable_register_party();
  auto* bsn = c->add_identifiers();
  bsn->set_kind(pb::IDENTIFIER_KIND_BSN);
  bsn->set_value("111222333");
  c->set_birth_date("1987-04-02");
  c->mutable_residence()->set_street("Kastanjelaan");
  c->mutable_residence()->set_house_number(" 12A ");
  c->mutable_residence()->set_postcode("1234 ab");
  c->mutable_residence()->set_city("Utrecht");
  return r;
}

}  // namespace

TEST_CASE("recognition: by postcode, house number and birth date (probable), by phone (unverified), by BSN",
          "[identity][integration]") {
  Stack stack;
  const pb::ExecuteReply registered = stack.MustExecute(Desiree());
  const std::string desiree = registered.aggregate_id();

  // However the caller says it: "1234AB", "12a", her birth date.
  pb::LookupPartiesReply found = Lookup(stack, ByRecognition("1234AB", "12a", "1987-04-02"), registered);
  REQUIRE(found.parties_size() == 1);
  CHECK(found.parties(0).party_id() == desiree);
  CHECK(found.parties(0).residence().postcode() == "1234AB");
  CHECK(found.certainty() == pb::MATCH_CERTAINTY_PROBABLE);
  // One part wrong: nobody.
  CHECK(Lookup(stack, ByRecognition("1234AB", "12a", "1987-04-03"), registered).parties_size() == 0);
  CHECK(Lookup(stack, ByRecognition("1234AB", "14", "1987-04-02"), registered).parties_size() == 0);

  // A phone number finds her, marked as not to be trusted alone.
  pb::LookupPartiesRequest by_phone;
  by_phone.mutable_digital_address()->set_kind(pb::DIGITAL_ADDRESS_KIND_PHONE);
  by_phone.mutable_digital_address()->set_value("+31612345678");
  found = Lookup(stack, by_phone, registered);
  REQUIRE(found.parties_size() == 1);
  CHECK(found.certainty() == pb::MATCH_CERTAINTY_UNVERIFIED);
  pb::LookupPartiesRequest by_bsn;
  by_bsn.mutable_identifier()->set_kind(pb::IDENTIFIER_KIND_BSN);
  by_bsn.mutable_identifier()->set_value("111222333");
  CHECK(Lookup(stack, by_bsn, registered).certainty() == pb::MATCH_CERTAINTY_IDENTIFIER);

  // She moves: the new address recognises her, the old one no longer.
  pb::ExecuteRequest move = NewRequest();
  move.set_aggregate_id(desiree);
  move.mutable_change_residence()->mutable_residence()->set_street("Dorpsstraat");
  move.mutable_change_residence()->mutable_residence()->set_house_number("3");
  move.mutable_change_residence()->mutable_residence()->set_postcode("5678 CD");
  const pb::ExecuteReply moved = stack.MustExecute(move);
  CHECK(Lookup(stack, ByRecognition("1234AB", "12a", "1987-04-02"), moved).parties_size() == 0);
  CHECK(Lookup(stack, ByRecognition("5678cd", "3", "1987-04-02"), moved).parties_size() == 1);
  CHECK(ViewOf(stack, desiree, &moved).party().residence().street() == "Dorpsstraat");

  // Bad input names the field and the rule, and changes nothing.
  grpc::Status status;
  Lookup(stack, ByRecognition("12345", "1", "1987-04-02"), moved, &status);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(status.error_message().find("recognition.postcode") != std::string::npos);
  Lookup(stack, ByRecognition("1234AB", "1", "02-04-1987"), moved, &status);
  CHECK(status.error_message().find("recognition.birth_date") != std::string::npos);
  const int64_t size = stack.LogSize();
  pb::ExecuteRequest bad = Desiree();
  bad.mutable_register_party()->set_birth_date("1987-02-30");
  status = stack.Execute(bad);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(status.error_message().find("register_party.birth_date") != std::string::npos);
  bad = Desiree();
  bad.mutable_register_party()->mutable_residence()->set_postcode("AB 1234");
  CHECK(stack.Execute(bad).error_message().find("register_party.residence.postcode") != std::string::npos);
  CHECK(stack.LogSize() == size);
}

TEST_CASE("identification: every check of identity is on the profile with how, what for, by whom and when",
          "[identity][integration]") {
  Stack stack;
  const std::string thijs = stack.MustExecute(RegisterPerson("Thijs de Boer", "thijs@example.nl")).aggregate_id();
  // The chatbot checks him through the camera for his move ...
  pb::ExecuteRequest by_camera = NewRequest();
  by_camera.set_aggregate_id(thijs);
  by_camera.mutable_meta()->mutable_actor()->set_kind(pb::ACTOR_KIND_BOT);
  by_camera.mutable_meta()->mutable_actor()->set_id("chatbot");
  by_camera.mutable_meta()->set_channel(pb::CHANNEL_CHAT);
  *by_camera.mutable_meta()->mutable_occurred_at() = TimeUtil::SecondsToTimestamp(kNov16);
  by_camera.mutable_record_identification()->set_method(pb::IDENTIFICATION_METHOD_CAMERA);
  by_camera.mutable_record_identification()->set_process("verhuizing");
  by_camera.mutable_record_identification()->set_reference("paspoort NX1234567");
  stack.MustExecute(by_camera);
  // ... and Karin again on the phone a month later, when the date changes.
  pb::ExecuteRequest by_questions = NewRequest();
  by_questions.set_aggregate_id(thijs);
  by_questions.mutable_meta()->set_channel(pb::CHANNEL_PHONE);
  *by_questions.mutable_meta()->mutable_occurred_at() = TimeUtil::SecondsToTimestamp(kNov16 + 30 * 86400);
  by_questions.mutable_record_identification()->set_method(pb::IDENTIFICATION_METHOD_KNOWLEDGE_QUESTIONS);
  by_questions.mutable_record_identification()->set_process("verhuizing: nieuwe datum");
  const pb::ExecuteReply last = stack.MustExecute(by_questions);

  const pb::CustomerView view = ViewOf(stack, thijs, &last);
  REQUIRE(view.party().identifications_size() == 2);
  const pb::Identification& first = view.party().identifications(0);
  CHECK(first.method() == pb::IDENTIFICATION_METHOD_CAMERA);
  CHECK(first.process() == "verhuizing");
  CHECK(first.reference() == "paspoort NX1234567");
  CHECK(first.verified_by().id() == "chatbot");
  CHECK(first.channel() == pb::CHANNEL_CHAT);
  CHECK(first.at().seconds() == kNov16);
  const pb::Identification& second = view.party().identifications(1);
  CHECK(second.method() == pb::IDENTIFICATION_METHOD_KNOWLEDGE_QUESTIONS);
  CHECK(second.verified_by().id() == "kcc-karin");
  CHECK(second.at().seconds() == kNov16 + 30 * 86400);

  pb::ExecuteRequest bad = by_questions;
  bad.mutable_record_identification()->set_method(pb::IDENTIFICATION_METHOD_UNSPECIFIED);
  const grpc::Status status = stack.Execute(bad);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(status.error_message().find("record_identification.method") != std::string::npos);
}

TEST_CASE("a safe alternative address gets the confirmations, never her other address of the kind",
          "[identity][integration]") {
  Stack stack;
  const std::string desiree = stack.MustExecute(Desiree()).aggregate_id();
  pb::ExecuteRequest safe = NewRequest();
  safe.set_aggregate_id(desiree);
  auto* address = safe.mutable_add_digital_address()->mutable_address();
  address->set_kind(pb::DIGITAL_ADDRESS_KIND_EMAIL);
  address->set_value("desiree.veilig@example.nl");
  address->set_safe(true);
  stack.MustExecute(safe);
  pb::ExecuteRequest prefer = NewRequest();
  prefer.set_aggregate_id(desiree);
  prefer.mutable_set_preferred_channel()->set_channel(pb::CHANNEL_EMAIL);
  stack.MustExecute(prefer);

  pb::ExecuteRequest category = NewRequest();
  category.mutable_define_melding_category()->set_code("afval");
  category.mutable_define_melding_category()->set_name("Afval");
  category.mutable_define_melding_category()->set_due_days(5);
  category.mutable_define_melding_category()->set_default_department("stadsbeheer");
  stack.MustExecute(category);
  pb::ExecuteRequest melding = NewRequest();
  auto* m = melding.mutable_register_melding();
  m->set_category("afval");
  m->set_description("Volle container bij de flat");
  m->mutable_location()->set_street("Kastanjelaan");
  m->mutable_location()->set_postcode("1234AB");
  m->set_reporter_party_id(desiree);
  m->set_channel(pb::CHANNEL_PHONE);
  stack.MustExecute(melding);

  // The acknowledgement goes to the safe address only.
  const pb::CustomerView view =
      ViewWhen(stack, desiree, [](const pb::CustomerView& v) { return v.notifications_size() > 0; });
  REQUIRE(view.notifications_size() == 1);
  CHECK(view.notifications(0).address().value() == "desiree.veilig@example.nl");
  CHECK(view.notifications(0).channel() == pb::CHANNEL_EMAIL);
  // The KCC sees which address is the safe one.
  int safe_addresses = 0;
  for (const auto& a : view.party().digital_addresses()) safe_addresses += a.safe() ? 1 : 0;
  CHECK(safe_addresses == 1);
}

TEST_CASE("frequent contact: five inbound contacts within 30 days label the party automatically, once",
          "[identity][integration]") {
  Stack stack;
  const std::string often = stack.MustExecute(RegisterPerson("Vaak Bellend")).aggregate_id();
  const std::string seldom = stack.MustExecute(RegisterPerson("Soms Bellend")).aggregate_id();
  for (int i = 0; i < ks::domain::kFrequentContacts; ++i) {
    // One every four days for `often`; one every forty for `seldom`.
    stack.MustExecute(RegisterMessage(often, pb::CHANNEL_PHONE, "vraag " + std::to_string(i), kNov16 + i * 4 * 86400));
    stack.MustExecute(RegisterMessage(seldom, pb::CHANNEL_PHONE, "vraag " + std::to_string(i), kNov16 + i * 40 * 86400));
  }
  auto labelled = [](const pb::CustomerView& v) { return v.party().labels_size() > 0; };
  pb::CustomerView view = ViewWhen(stack, often, labelled);
  REQUIRE(view.party().labels_size() == 1);
  CHECK(view.party().labels(0).label() == ks::domain::kFrequentContactLabel);
  CHECK(view.party().labels(0).automatic());
  // When it became frequent: the fifth contact.
  CHECK(view.party().labels(0).added_at().seconds() == kNov16 + 4 * 4 * 86400);
  // The other never got there (a sixth contact later gives the policy every chance to be wrong).
  const pb::ExecuteReply last =
      stack.MustExecute(RegisterMessage(seldom, pb::CHANNEL_PHONE, "nog een vraag", kNov16 + 200 * 86400));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(ViewOf(stack, seldom, &last).party().labels_size() == 0);

  // A restart reads the log again: still one label, and nothing added twice.
  stack.Restart();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  view = ViewWhen(stack, often, labelled);
  CHECK(view.party().labels_size() == 1);
  CHECK(view.party().version() == 2);
}

TEST_CASE("duplicates: a profile sharing a phone number is suggested, merged, and the history reads as one",
          "[identity][integration]") {
  Stack stack;
  const std::string jan = stack.MustExecute(RegisterPerson("J. Jansen", "jan@example.nl", "+31611112222")).aggregate_id();
  stack.MustExecute(RegisterMessage(jan, pb::CHANNEL_EMAIL, "Vraag over de afvalpas", kNov16));
  stack.MustExecute(RegisterMessage(jan, pb::CHANNEL_PHONE, "Nogmaals de afvalpas", kNov16 + 86400));
  // The same man, registered again from Twitter with his phone number.
  const std::string twin =
      stack.MustExecute(RegisterPerson("Jan Jansen", "", "+31611112222", "@janjansen")).aggregate_id();
  stack.MustExecute(RegisterMessage(twin, pb::CHANNEL_TWITTER, "Waar blijft mijn afvalpas?", kNov16 + 2 * 86400));
  stack.MustExecute(RequestCallback(twin, "afval", "", pb::URGENCY_NORMAL, kNov16 + 3 * 86400));
  const pb::ExecuteReply other = stack.MustExecute(RegisterPerson("Piet Pieters", "piet@example.nl", "+31633334444"));

  // Suggested, with what they share; the other man is not.
  auto suggest = [&](const std::string& party, const pb::ExecuteReply& after) {
    pb::SuggestDuplicatesRequest request;
    request.set_tenant("gemeente-test");
    request.set_party_id(party);
    for (const auto& p : after.positions()) *request.mutable_consistency()->add_min_positions() = p;
    grpc::ClientContext context;
    WithToken(context, "");
    pb::DuplicateSuggestions reply;
    REQUIRE(stack.queries().SuggestDuplicates(&context, request, &reply).ok());
    return reply;
  };
  pb::DuplicateSuggestions suggestions = suggest(jan, other);
  REQUIRE(suggestions.suggestions_size() == 1);
  CHECK(suggestions.suggestions(0).party().party_id() == twin);
  CHECK(suggestions.suggestions(0).party().display_name() == "Jan Jansen");
  CHECK(std::vector<std::string>(suggestions.suggestions(0).shared().begin(), suggestions.suggestions(0).shared().end()) ==
        std::vector<std::string>{"phone"});

  // Merged: the duplicate into the first profile.
  pb::ExecuteRequest merge = NewRequest();
  merge.set_aggregate_id(twin);
  merge.mutable_merge_party()->set_into_party_id(jan);
  const pb::ExecuteReply merged = stack.MustExecute(merge);
  CHECK(stack.MustExecute(merge).aggregate_version() == merged.aggregate_version());  // again: no change
  pb::ExecuteRequest back = NewRequest();
  back.set_aggregate_id(jan);
  back.mutable_merge_party()->set_into_party_id(twin);
  grpc::Status status = stack.Execute(back);
  CHECK(status.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(status.error_message().find("merge_party.into_party_id") != std::string::npos);
  back.set_aggregate_id(jan);
  back.mutable_merge_party()->set_into_party_id(jan);
  CHECK(stack.Execute(back).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  pb::ExecuteRequest rename = NewRequest();
  rename.set_aggregate_id(twin);
  rename.mutable_change_party_name()->set_display_name("J.J.");
  CHECK(stack.Execute(rename).error_code() == grpc::StatusCode::FAILED_PRECONDITION);

  // One history: every contact of both, the duplicate's callback, the duplicate named.
  const pb::CustomerView view = ViewOf(stack, jan, &merged);
  CHECK(view.party().party_id() == jan);
  CHECK(view.timeline_size() == 3);
  CHECK(view.open_callbacks_size() == 1);
  REQUIRE(view.merged_from_size() == 1);
  CHECK(view.merged_from(0).party_id() == twin);
  CHECK(view.merged_from(0).merged_into() == jan);
  // Asking for the duplicate shows the same; so does finding him by the duplicate's handle.
  CHECK(ViewOf(stack, twin, &merged).party().party_id() == jan);
  pb::LookupPartiesRequest by_handle;
  by_handle.mutable_digital_address()->set_kind(pb::DIGITAL_ADDRESS_KIND_TWITTER);
  by_handle.mutable_digital_address()->set_value("@janjansen");
  const pb::LookupPartiesReply found = Lookup(stack, by_handle, merged);
  REQUIRE(found.parties_size() == 1);
  CHECK(found.parties(0).party_id() == jan);
  CHECK(suggest(jan, merged).suggestions_size() == 0);

  // Erasing him erases the duplicate too: nothing finds either any more.
  pb::ExecuteRequest erase = NewRequest();
  erase.set_aggregate_id(jan);
  erase.mutable_erase_party_data()->set_reason("AVG-verzoek");
  const pb::ExecuteReply erased = stack.MustExecute(erase);
  size_t left = 1;
  for (int i = 0; i < 200 && left > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    left = static_cast<size_t>(Lookup(stack, by_handle, erased).parties_size());
  }
  CHECK(left == 0);
  const pb::CustomerView after = ViewOf(stack, twin, &erased);
  CHECK(after.party().erased());
  REQUIRE(after.merged_from_size() == 1);
  CHECK(after.merged_from(0).display_name().empty());
  for (const auto& contact : after.timeline()) CHECK(contact.text().empty());
}
