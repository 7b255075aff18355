// Journey 004 end to end through gRPC, with authentication: the city's one contact centre and one
// follow-up system. An Peeters comes to the counter, later asks a question through the web form
// (which makes a second profile of her) and calls because nobody answered. The KCC finds the
// second profile suggested as a duplicate and merges it: her history across channels reads as one.
// The open question sits in the back office's queue, monitored, until it is answered. Every read
// and change is in the audit trail; the analyst sees figures, never the person.
#include <catch2/catch.hpp>


#include <google/protobuf/util/time_util.h>

#include "support/journey.h"

using namespace ks::testing;
namespace pb = ::klantstroom::v1;
using google::protobuf::util::TimeUtil;

namespace {

constexpr const char* kTenant = "stad-gent";

pb::ExecuteRequest Contact(const std::string& party, pb::Channel channel, const std::string& topic, const std::string& text) {
  auto request = NewRequest(kTenant);
  auto* c = request.mutable_register_interaction();
  c->set_party_id(party);
  c->set_channel(channel);
  c->set_direction(pb::DIRECTION_INBOUND);
  c->add_topics(topic);
  c->set_text(text);
  return request;
}

pb::CallbackQueue Queue(Stack& stack, const pb::ExecuteReply& after) {
  pb::GetCallbackQueueRequest request;
  request.set_tenant(kTenant);
  request.set_department("afval");
  After(request, after);
  return MustQuery(stack, &pb::QueryService::Stub::GetCallbackQueue, request, "afval");
}

}  // namespace

TEST_CASE("journey 004: one history across channels, a duplicate merged, an open question followed until answered",
          "[e2e][identity][security]") {
  TempDir tokens_dir;
  Stack stack(WriteTokens(tokens_dir, {{"els", "stad-gent kcc kcc-els"},
                                       {"web", "stad-gent channel-adapter webformulier"},
                                       {"telefonie", "stad-gent channel-adapter telefonie"},
                                       {"afval", "stad-gent back-office bo-afval"},
                                       {"privacy", "stad-gent admin dpo"},
                                       {"analist", "stad-gent analyst analist-1"}}));
  const int64_t now = TimeUtil::GetCurrentTime().seconds();

  // At the counter: Els registers An and what she asked.
  auto an_request = As(NewRequest(kTenant), "kcc-els", pb::ACTOR_KIND_EMPLOYEE);
  auto* p = an_request.mutable_register_party();
  p->set_kind(pb::PARTY_KIND_PERSON);
  p->set_display_name("An Peeters");
  for (auto [kind, value] : {std::pair{pb::DIGITAL_ADDRESS_KIND_EMAIL, "an.peeters@example.be"},
                             {pb::DIGITAL_ADDRESS_KIND_PHONE, "+32 470 12 34 56"}}) {
    auto* a = p->add_digital_addresses();
    a->set_kind(kind);
    a->set_value(value);
  }
  const std::string an = MustExecuteAs(stack, "els", an_request).aggregate_id();
  // The contacts carry when they happened, in order: commands a millisecond apart would otherwise
  // take the time of their arrival, and the timeline would order two of the same millisecond by
  // their random ids.
  auto at_counter = As(Contact(an, pb::CHANNEL_IN_PERSON, "parkeren", "Bewonerskaart aangevraagd"), "kcc-els",
                       pb::ACTOR_KIND_EMPLOYEE);
  *at_counter.mutable_meta()->mutable_occurred_at() = TimeUtil::SecondsToTimestamp(now - 3);
  MustExecuteAs(stack, "els", at_counter);

  // The web form knows no profile of hers and makes one; her question becomes an open task for
  // the back office, to be answered within two days.
  auto web_party = As(NewRequest(kTenant, "web-4711/party"), "webformulier", pb::ACTOR_KIND_ADAPTER);
  web_party.mutable_register_party()->set_kind(pb::PARTY_KIND_PERSON);
  web_party.mutable_register_party()->set_display_name("A. Peeters");
  auto* mail = web_party.mutable_register_party()->add_digital_addresses();
  mail->set_kind(pb::DIGITAL_ADDRESS_KIND_EMAIL);
  mail->set_value("An.Peeters@Example.be");
  const std::string web_an = MustExecuteAs(stack, "web", web_party).aggregate_id();
  auto question = As(Contact(web_an, pb::CHANNEL_WEB_FORM, "afval", "Wanneer wordt het grof vuil opgehaald in mijn straat?"),
                     "webformulier", pb::ACTOR_KIND_ADAPTER);
  question.mutable_meta()->set_idempotency_key("web-4711/question");
  *question.mutable_meta()->mutable_occurred_at() = TimeUtil::SecondsToTimestamp(now - 2);
  const std::string question_id = MustExecuteAs(stack, "web", question).aggregate_id();
  auto task = As(RequestCallback(web_an, "afval", "", pb::URGENCY_NORMAL, now + 2 * 24 * 3600), "webformulier",
                 pb::ACTOR_KIND_ADAPTER);
  task.mutable_meta()->set_tenant(kTenant);
  task.mutable_request_callback()->set_subject("Vraag over ophalen grof vuil");
  task.mutable_request_callback()->set_origin_interaction_id(question_id);
  const pb::ExecuteReply tasked = MustExecuteAs(stack, "web", task);
  const std::string callback = tasked.aggregate_id();
  CHECK(Queue(stack, tasked).total_open() == 1);

  // A week later she calls; telephony registers the call under her number only.
  auto call = As(NewRequest(kTenant), "telefonie", pb::ACTOR_KIND_ADAPTER);
  auto* c = call.mutable_register_interaction();
  c->set_channel(pb::CHANNEL_PHONE);
  c->set_direction(pb::DIRECTION_INBOUND);
  c->add_topics("afval");
  c->set_text("Nog geen antwoord op mijn vraag over grof vuil");
  c->mutable_counterpart()->set_kind(pb::DIGITAL_ADDRESS_KIND_PHONE);
  c->mutable_counterpart()->set_value("+32470123456");
  const pb::ExecuteReply called = MustExecuteAs(stack, "telefonie", call);

  // Els sees a possible duplicate (the same e-mail address) and merges it.
  pb::SuggestDuplicatesRequest suggest;
  suggest.set_tenant(kTenant);
  suggest.set_party_id(an);
  After(suggest, called);
  auto suggestions = MustQuery(stack, &pb::QueryService::Stub::SuggestDuplicates, suggest, "els");
  REQUIRE(suggestions.suggestions_size() == 1);
  CHECK(suggestions.suggestions(0).party().party_id() == web_an);
  CHECK(suggestions.suggestions(0).shared(0) == "email");
  auto merge = As(NewRequest(kTenant), "kcc-els", pb::ACTOR_KIND_EMPLOYEE);
  merge.set_aggregate_id(web_an);
  merge.mutable_merge_party()->set_into_party_id(an);
  const pb::ExecuteReply merged = MustExecuteAs(stack, "els", merge);

  // One history, newest first, across the counter, the web form and the phone; the open question
  // with it, whichever profile is asked for.
  for (const std::string& asked : {an, web_an}) {
    pb::GetCustomerViewRequest view_request;
    view_request.set_tenant(kTenant);
    view_request.set_party_id(asked);
    After(view_request, merged);
    auto view = MustQuery(stack, &pb::QueryService::Stub::GetCustomerView, view_request, "els");
    CHECK(view.party().party_id() == an);
    REQUIRE(view.timeline_size() == 3);
    CHECK(view.timeline(0).channel() == pb::CHANNEL_PHONE);
    CHECK(view.timeline(1).channel() == pb::CHANNEL_WEB_FORM);
    CHECK(view.timeline(2).channel() == pb::CHANNEL_IN_PERSON);
    REQUIRE(view.open_callbacks_size() == 1);
    CHECK(view.open_callbacks(0).callback_id() == callback);
    REQUIRE(view.merged_from_size() == 1);
    CHECK(view.merged_from(0).party_id() == web_an);
  }

  // The back office answers; the question leaves the queue and the view.
  auto answer = As(NewRequest(kTenant), "bo-afval", pb::ACTOR_KIND_EMPLOYEE);
  auto* reply = answer.mutable_register_interaction();
  reply->set_party_id(an);
  reply->set_channel(pb::CHANNEL_EMAIL);
  reply->set_direction(pb::DIRECTION_OUTBOUND);
  reply->add_topics("afval");
  reply->set_text("Grof vuil wordt in uw straat de tweede dinsdag van de maand opgehaald.");
  const std::string answer_id = MustExecuteAs(stack, "afval", answer).aggregate_id();
  auto done = As(NewRequest(kTenant), "bo-afval", pb::ACTOR_KIND_EMPLOYEE);
  done.set_aggregate_id(callback);
  done.mutable_complete_callback()->set_report("Beantwoord per e-mail");
  done.mutable_complete_callback()->set_interaction_id(answer_id);
  const pb::ExecuteReply completed = MustExecuteAs(stack, "afval", done);
  CHECK(Queue(stack, completed).total_open() == 0);
  pb::GetCustomerViewRequest view_request;
  view_request.set_tenant(kTenant);
  view_request.set_party_id(an);
  After(view_request, completed);
  auto view = MustQuery(stack, &pb::QueryService::Stub::GetCustomerView, view_request, "els");
  CHECK(view.open_callbacks_size() == 0);
  CHECK(view.timeline_size() == 4);

  // The privacy officer sees who read and changed An's data.
  pb::GetAuditTrailRequest audit;
  audit.set_tenant(kTenant);
  audit.set_party_id(an);
  After(audit, completed);
  auto trail = MustQuery(stack, &pb::QueryService::Stub::GetAuditTrail, audit, "privacy");
  bool read_by_els = false;
  bool registered_by_els = false;
  for (const auto& entry : trail.entries()) {
    CHECK(entry.tenant() == kTenant);
    CHECK(entry.party_id() == an);
    read_by_els |= entry.kind() == pb::AUDIT_KIND_READ && entry.actor().id() == "kcc-els" && entry.action() == "GetCustomerView";
    registered_by_els |= entry.kind() == pb::AUDIT_KIND_CHANGE && entry.actor().id() == "kcc-els" &&
                         entry.action() == "klantstroom.v1.PartyRegistered";
  }
  CHECK(read_by_els);
  CHECK(registered_by_els);

  // The analyst reports on what is asked most, and cannot open a customer view.
  pb::CustomerView denied;
  CHECK(Query(stack, &pb::QueryService::Stub::GetCustomerView, view_request, &denied, "analist").error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  pb::GetTopTopicsRequest topics;
  topics.set_tenant(kTenant);
  *topics.mutable_from() = TimeUtil::SecondsToTimestamp(now - 3600);
  *topics.mutable_to() = TimeUtil::SecondsToTimestamp(now + 3600);
  After(topics, completed);
  const pb::TopTopics top = MustQuery(stack, &pb::QueryService::Stub::GetTopTopics, topics, "analist");
  REQUIRE(top.topics_size() >= 2);
  CHECK(top.topics(0).topic() == "afval");
  CHECK(top.topics(0).contacts() == 3);
}
