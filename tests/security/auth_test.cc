// Who may do what, over gRPC as callers meet it: bearer tokens, one tenant per caller, roles per
// call; and a specialist team's sensitive contact, which everyone else sees as THAT (team,
// channel, date) and never WHAT, in the customer view, in search and in the topic counts.
#include <catch2/catch.hpp>

#include <fstream>
#include <thread>

#include <google/protobuf/util/time_util.h>

#include "ks/auth/auth.h"
#include "support/stack.h"
#include "support/temp_dir.h"

using namespace ks::testing;
namespace pb = ::klantstroom::v1;
using google::protobuf::util::TimeUtil;

namespace {

constexpr int64_t kNov16 = 1'794'815'220;

// Writes a tokens file: one line per (token, tenant, roles, subject, teams).
std::string TokensFile(const TempDir& dir) {
  const std::string path = dir.Sub("tokens");
  std::ofstream out(path);
  out << "# test callers\n";
  auto line = [&](const std::string& token, const std::string& rest) { out << ks::auth::TokenHash(token) << " " << rest << "\n"; };
  line("kcc-aa", "gemeente-aa kcc kcc-karin");
  line("wijkteam-aa", "gemeente-aa specialist wt-noor wijkteam-noord");
  line("kcc-bb", "gemeente-bb kcc kcc-bob");
  line("analyst-aa", "gemeente-aa analyst ana");
  line("adapter-aa", "gemeente-aa channel-adapter whatsapp-adapter");
  return path;
}

grpc::Status Execute(Stack& stack, const std::string& token, const pb::ExecuteRequest& request,
                     pb::ExecuteReply* reply = nullptr) {
  return stack.Execute(request, reply, token);
}

grpc::Status View(Stack& stack, const std::string& token, const std::string& tenant, const std::string& party,
                  pb::CustomerView* view, const pb::ExecuteReply* after = nullptr) {
  pb::GetCustomerViewRequest request;
  request.set_tenant(tenant);
  request.set_party_id(party);
  if (after != nullptr)
    for (const auto& p : after->positions()) *request.mutable_consistency()->add_min_positions() = p;
  grpc::ClientContext context;
  WithToken(context, token);
  return stack.queries().GetCustomerView(&context, request, view);
}

// The hits of a search for `text`, waiting (up to 10 s) until `ready_text` is found, so that the
// index has caught up with everything written before.
std::vector<pb::SearchHit> SearchAs(Stack& stack, const std::string& token, const std::string& text,
                                    const std::string& ready_text) {
  for (int i = 0; i < 200; ++i) {
    pb::SearchRequest ready;
    ready.set_tenant("gemeente-aa");
    ready.set_text(ready_text);
    pb::SearchReply reply;
    grpc::ClientContext context;
    WithToken(context, token);
    if (stack.queries().Search(&context, ready, &reply).ok() && reply.hits_size() > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  pb::SearchRequest request;
  request.set_tenant("gemeente-aa");
  request.set_text(text);
  pb::SearchReply reply;
  grpc::ClientContext context;
  WithToken(context, token);
  grpc::Status status = stack.queries().Search(&context, request, &reply);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return {reply.hits().begin(), reply.hits().end()};
}

// Desiree registered by the KCC of gemeente-aa.
pb::ExecuteReply RegisterDesiree(Stack& stack) {
  pb::ExecuteRequest person = RegisterPerson("Desiree");
  person.mutable_meta()->set_tenant("gemeente-aa");
  pb::ExecuteReply registered;
  grpc::Status status = Execute(stack, "kcc-aa", person, &registered);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return registered;
}

}  // namespace

TEST_CASE("auth: the tokens file is checked line by line, and keeps hashes, not tokens", "[auth][unit]") {
  CHECK(ks::auth::TokenHash("test") == "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  TempDir dir;
  {
    std::ofstream(dir.Sub("bad-role")) << ks::auth::TokenHash("x") << " gemeente-aa superuser someone\n";
    auto auth = ks::auth::Authenticator::FromFile(dir.Sub("bad-role"));
    REQUIRE_FALSE(auth.has_value());
    CHECK(auth.error().message().find("line 1") != std::string::npos);
    CHECK(auth.error().message().find("superuser") != std::string::npos);
  }
  {
    std::ofstream(dir.Sub("plain-token")) << "# a comment\n\nmy-secret-token gemeente-aa kcc someone\n";
    auto auth = ks::auth::Authenticator::FromFile(dir.Sub("plain-token"));
    REQUIRE_FALSE(auth.has_value());
    CHECK(auth.error().message().find("line 3") != std::string::npos);
    CHECK(auth.error().message().find("SHA-256") != std::string::npos);
  }
  auto missing = ks::auth::Authenticator::FromFile(dir.Sub("nothing-here"));
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error().message().find("cannot read") != std::string::npos);
}

TEST_CASE("auth: callers need a known token, act for their own tenant, and only in their roles",
          "[auth][integration]") {
  TempDir dir;
  Stack stack(TokensFile(dir));
  pb::ExecuteRequest person = RegisterPerson("Desiree");
  person.mutable_meta()->set_tenant("gemeente-aa");
  const int64_t before = stack.LogSize();

  grpc::Status anonymous = Execute(stack, "", person);
  CHECK(anonymous.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(anonymous.error_message().find("bearer token") != std::string::npos);
  CHECK(Execute(stack, "guessed-token", person).error_code() == grpc::StatusCode::UNAUTHENTICATED);
  grpc::Status other_tenant = Execute(stack, "kcc-bb", person);
  CHECK(other_tenant.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(other_tenant.error_message().find("tenant") != std::string::npos);
  grpc::Status analyst = Execute(stack, "analyst-aa", person);
  CHECK(analyst.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(analyst.error_message().find("Execute: needs one of the roles") != std::string::npos);
  CHECK(stack.LogSize() == before);  // nothing refused was written

  const pb::ExecuteReply registered = RegisterDesiree(stack);
  pb::CustomerView view;
  CHECK(View(stack, "", "gemeente-aa", registered.aggregate_id(), &view).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  CHECK(View(stack, "kcc-bb", "gemeente-aa", registered.aggregate_id(), &view).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  CHECK(View(stack, "analyst-aa", "gemeente-aa", registered.aggregate_id(), &view).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  CHECK(View(stack, "adapter-aa", "gemeente-aa", registered.aggregate_id(), &view).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  CHECK(View(stack, "kcc-aa", "gemeente-aa", registered.aggregate_id(), &view, &registered).ok());
  CHECK(view.party().display_name() == "Desiree");

  // A channel adapter may recognise a citizen; an analyst may read figures.
  pb::LookupPartiesRequest lookup;
  lookup.set_tenant("gemeente-aa");
  lookup.mutable_digital_address()->set_kind(pb::DIGITAL_ADDRESS_KIND_EMAIL);
  lookup.mutable_digital_address()->set_value("desiree@example.nl");
  pb::LookupPartiesReply found;
  grpc::ClientContext lookup_context;
  WithToken(lookup_context, "adapter-aa");
  CHECK(stack.queries().LookupParties(&lookup_context, lookup, &found).ok());
  pb::GetKpisRequest kpis;
  kpis.set_tenant("gemeente-aa");
  *kpis.mutable_from() = TimeUtil::SecondsToTimestamp(kNov16 - 3600);
  *kpis.mutable_to() = TimeUtil::SecondsToTimestamp(kNov16 + 3600);
  pb::KpiReport report;
  grpc::ClientContext kpi_context;
  WithToken(kpi_context, "analyst-aa");
  CHECK(stack.queries().GetKpis(&kpi_context, kpis, &report).ok());
}

TEST_CASE("auth: a batch needs a known token, and each command in it is allowed or refused on its own",
          "[auth][integration]") {
  TempDir dir;
  Stack stack(TokensFile(dir));
  pb::ExecuteBatchRequest batch;
  pb::ExecuteRequest own = RegisterPerson("Desiree");
  own.mutable_meta()->set_tenant("gemeente-aa");
  pb::ExecuteRequest other = RegisterPerson("Bob");
  other.mutable_meta()->set_tenant("gemeente-bb");
  *batch.add_commands() = own;
  *batch.add_commands() = other;
  const int64_t before = stack.LogSize();
  auto send = [&](const std::string& token, pb::ExecuteBatchReply* reply) {
    grpc::ClientContext context;
    WithToken(context, token);
    return stack.commands().ExecuteBatch(&context, batch, reply);
  };
  pb::ExecuteBatchReply reply;
  CHECK(send("", &reply).error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(stack.LogSize() == before);
  // An analyst only reads: every command refused, nothing written.
  REQUIRE(send("analyst-aa", &reply).ok());
  REQUIRE(reply.results_size() == 2);
  for (const auto& result : reply.results()) CHECK(result.error().code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(stack.LogSize() == before);
  // The KCC of gemeente-aa writes for its own tenant, not for another's.
  pb::ExecuteBatchReply mixed;
  REQUIRE(send("kcc-aa", &mixed).ok());
  REQUIRE(mixed.results_size() == 2);
  CHECK(mixed.results(0).has_reply());
  CHECK(mixed.results(1).error().code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK_THAT(mixed.results(1).error().message(), Catch::Contains("tenant"));
  CHECK(stack.LogSize() == before + 1);
}

TEST_CASE("auth: a wijkteam contact is THAT, not WHAT, for the KCC: in the customer view, search and topics",
          "[auth][integration]") {
  TempDir dir;
  Stack stack(TokensFile(dir));
  const std::string desiree = RegisterDesiree(stack).aggregate_id();

  pb::ExecuteRequest sensitive = RegisterMessage(desiree, pb::CHANNEL_IN_PERSON,
                                                 "Gesprek over schulden en de huurachterstand", kNov16);
  sensitive.mutable_meta()->set_tenant("gemeente-aa");
  sensitive.mutable_register_interaction()->set_restricted_to_team("wijkteam-noord");
  sensitive.mutable_register_interaction()->add_topics("schuldhulp");
  REQUIRE(Execute(stack, "wijkteam-aa", sensitive).ok());
  pb::ExecuteRequest plain = RegisterMessage(desiree, pb::CHANNEL_PHONE, "Vraag over haar paspoort", kNov16 + 60);
  plain.mutable_meta()->set_tenant("gemeente-aa");
  plain.mutable_register_interaction()->add_topics("paspoort");
  pb::ExecuteReply last;
  REQUIRE(Execute(stack, "kcc-aa", plain, &last).ok());

  auto sensitive_entry = [](const pb::CustomerView& view) {
    for (const auto& entry : view.timeline())
      if (entry.channel() == pb::CHANNEL_IN_PERSON) return entry;
    FAIL("no in-person contact in the timeline");
    return pb::InteractionRecord();
  };
  pb::CustomerView kcc_view;
  REQUIRE(View(stack, "kcc-aa", "gemeente-aa", desiree, &kcc_view, &last).ok());
  REQUIRE(kcc_view.timeline_size() == 2);
  const pb::InteractionRecord seen_by_kcc = sensitive_entry(kcc_view);
  CHECK(seen_by_kcc.content_withheld());
  CHECK(seen_by_kcc.restricted_to_team() == "wijkteam-noord");       // THAT: which team
  CHECK(TimeUtil::TimestampToSeconds(seen_by_kcc.occurred_at()) == kNov16);  // and when
  CHECK(seen_by_kcc.text().empty());                                 // never WHAT
  CHECK(seen_by_kcc.topics().empty());
  // Nothing of the content is anywhere in the answer's bytes.
  CHECK(kcc_view.SerializeAsString().find("schulden") == std::string::npos);
  CHECK(kcc_view.SerializeAsString().find("schuldhulp") == std::string::npos);

  pb::CustomerView team_view;
  REQUIRE(View(stack, "wijkteam-aa", "gemeente-aa", desiree, &team_view, &last).ok());
  const pb::InteractionRecord seen_by_team = sensitive_entry(team_view);
  CHECK_FALSE(seen_by_team.content_withheld());
  CHECK(seen_by_team.text() == "Gesprek over schulden en de huurachterstand");

  // Search: the team finds it by its words; the KCC does not, though it finds the plain contact.
  CHECK(SearchAs(stack, "kcc-aa", "schulden", "paspoort").empty());
  CHECK(SearchAs(stack, "kcc-aa", "schuldhulp", "paspoort").empty());
  const auto team_hits = SearchAs(stack, "wijkteam-aa", "schulden", "paspoort");
  REQUIRE(team_hits.size() == 1);
  CHECK(team_hits[0].text().find("huurachterstand") != std::string::npos);

  // Topic counts leave the sensitive contact's topics out.
  pb::GetTopTopicsRequest topics_request;
  topics_request.set_tenant("gemeente-aa");
  *topics_request.mutable_from() = TimeUtil::SecondsToTimestamp(kNov16 - 3600);
  *topics_request.mutable_to() = TimeUtil::SecondsToTimestamp(kNov16 + 3600);
  for (const auto& p : last.positions()) *topics_request.mutable_consistency()->add_min_positions() = p;
  pb::TopTopics topics;
  grpc::ClientContext topics_context;
  WithToken(topics_context, "analyst-aa");
  REQUIRE(stack.queries().GetTopTopics(&topics_context, topics_request, &topics).ok());
  REQUIRE(topics.topics_size() == 1);
  CHECK(topics.topics(0).topic() == "paspoort");
}
