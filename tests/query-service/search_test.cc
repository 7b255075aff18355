// Search over all communication, as a KCC employee uses it over gRPC: by stem and without regard
// to diacritics, only within the tenant, filtered and paged; and, with the projector as its own
// process SIGKILLed while it indexes, every contact found exactly once after the restarts.
#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <sstream>
#include <set>
#include <thread>

#include <google/protobuf/util/time_util.h>

#include "ks/privacy/key_vault.h"
#include "ks/search/search_index.h"
#include "ks/search/text_fold.h"
#include "support/process.h"
#include "support/stack.h"

using namespace ks::testing;
namespace pb = ::klantstroom::v1;
using google::protobuf::util::TimeUtil;

namespace {

constexpr int64_t kNov16 = 1'794'815'220;  // 2026-11-16 07:47 UTC, seconds

std::string Contact(Stack& stack, const std::string& tenant, const std::string& party, pb::Channel channel,
                    const std::string& text, int64_t at_seconds, std::vector<std::string> topics = {}) {
  pb::ExecuteRequest r = RegisterMessage(party, channel, text, at_seconds);
  r.mutable_meta()->set_tenant(tenant);
  for (const auto& t : topics) r.mutable_register_interaction()->add_topics(t);
  return stack.MustExecute(r).aggregate_id();
}

std::string Party(Stack& stack, const std::string& tenant, const std::string& name) {
  pb::ExecuteRequest r = RegisterPerson(name);
  r.mutable_meta()->set_tenant(tenant);
  return stack.MustExecute(r).aggregate_id();
}

grpc::Status Search(Stack& stack, const pb::SearchRequest& request, pb::SearchReply* reply) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return stack.queries().Search(&context, request, reply);
}

pb::SearchRequest Ask(const std::string& tenant, const std::string& text) {
  pb::SearchRequest r;
  r.set_tenant(tenant);
  r.set_text(text);
  return r;
}

// The ids found; waits (up to 10 s) until the index has caught up to `expected` hits.
std::set<std::string> Found(Stack& stack, const pb::SearchRequest& request, size_t expected) {
  std::set<std::string> ids;
  for (int i = 0; i < 200; ++i) {
    pb::SearchReply reply;
    grpc::Status status = Search(stack, request, &reply);
    ids.clear();
    if (status.ok())
      for (const auto& h : reply.hits()) ids.insert(h.id());
    if (ids.size() >= expected) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return ids;
}

}  // namespace

TEST_CASE("search: diacritics are folded for what is indexed and what is asked", "[search][unit]") {
  using ks::search::FoldForSearch;
  CHECK(FoldForSearch("geïnformeerd") == "geinformeerd");
  CHECK(FoldForSearch("GEÏNFORMEERD Café Ærø") == "geinformeerd cafe aero");
  CHECK(FoldForSearch("Łódź, Škoda, façade, Straße, Œuvre") == "lodz, skoda, facade, strasse, oeuvre");
  CHECK(FoldForSearch("3 × 4 ÷ 2") == "3 × 4 ÷ 2");  // not letters: kept
  CHECK(FoldForSearch("日本") == "日本");
}

TEST_CASE("search: by stem and folded diacritics, within the tenant, filtered and paged", "[search][integration]") {
  Stack stack;
  const std::string thijs = Party(stack, "gemeente-aa", "Thijs");
  const std::string desiree = Party(stack, "gemeente-aa", "Desiree");
  const std::string other = Party(stack, "gemeente-bb", "Iemand");
  const std::string moving = Contact(stack, "gemeente-aa", thijs, pb::CHANNEL_CHAT,
                                     "Ik wil mijn verhuizing naar de Dorpsstraat doorgeven", kNov16, {"verhuizing"});
  const std::string informed = Contact(stack, "gemeente-aa", desiree, pb::CHANNEL_EMAIL,
                                       "Ik ben niet geïnformeerd over de parkeervergunning", kNov16 + 3600, {"parkeren"});
  const std::string elsewhere = Contact(stack, "gemeente-bb", other, pb::CHANNEL_CHAT,
                                        "Wij verhuizen volgende week", kNov16);
  // A conversation report added later is searchable too.
  pb::ExecuteRequest report = NewRequest("gemeente-aa");
  report.set_aggregate_id(informed);
  report.mutable_record_interaction_report()->set_report("Burger uitgelegd hoe verhuizen en parkeren samengaan");
  report.mutable_record_interaction_report()->set_outcome("informatie gegeven");
  stack.MustExecute(report);

  // "verhuizen" finds "verhuizing" (the Dutch stemmer) and the report; never the other tenant's.
  CHECK(Found(stack, Ask("gemeente-aa", "verhuizen"), 2) == std::set<std::string>{moving, informed});
  CHECK(Found(stack, Ask("gemeente-bb", "verhuizing"), 1) == std::set<std::string>{elsewhere});
  // "geinformeerd" finds "geïnformeerd", and the other way round, in any case.
  CHECK(Found(stack, Ask("gemeente-aa", "geinformeerd"), 1) == std::set<std::string>{informed});
  CHECK(Found(stack, Ask("gemeente-aa", "GEÏNFORMEERD"), 1) == std::set<std::string>{informed});
  // Topics are words too.
  CHECK(Found(stack, Ask("gemeente-aa", "parkeren"), 1) == std::set<std::string>{informed});

  pb::SearchReply reply;
  REQUIRE(Search(stack, Ask("gemeente-aa", "verhuizen"), &reply).ok());
  REQUIRE(reply.hits_size() == 2);
  const auto& hit = reply.hits(0).id() == moving ? reply.hits(0) : reply.hits(1);
  CHECK(hit.kind() == "interaction");
  CHECK(hit.party_id() == thijs);
  CHECK(hit.channel() == pb::CHANNEL_CHAT);
  CHECK(TimeUtil::TimestampToSeconds(hit.occurred_at()) == kNov16);
  CHECK(hit.text().find("Dorpsstraat") != std::string::npos);
  CHECK(reply.hits(0).score() >= reply.hits(1).score());  // ranked

  SECTION("filters: channel, party and period") {
    pb::SearchRequest by_channel = Ask("gemeente-aa", "verhuizen");
    by_channel.set_channel(pb::CHANNEL_EMAIL);
    CHECK(Found(stack, by_channel, 1) == std::set<std::string>{informed});
    pb::SearchRequest by_party = Ask("gemeente-aa", "verhuizen");
    by_party.set_party_id(thijs);
    CHECK(Found(stack, by_party, 1) == std::set<std::string>{moving});
    pb::SearchRequest by_period = Ask("gemeente-aa", "verhuizen");
    *by_period.mutable_from() = TimeUtil::SecondsToTimestamp(kNov16 + 60);
    *by_period.mutable_to() = TimeUtil::SecondsToTimestamp(kNov16 + 7200);
    CHECK(Found(stack, by_period, 1) == std::set<std::string>{informed});
  }

  SECTION("a melding's description is found, marked as a melding") {
    pb::ExecuteRequest category = NewRequest("gemeente-aa");
    category.mutable_define_melding_category()->set_code("VERLICHTING");
    category.mutable_define_melding_category()->set_name("Straatverlichting");
    category.mutable_define_melding_category()->set_due_days(5);
    stack.MustExecute(category);
    pb::ExecuteRequest melding = NewRequest("gemeente-aa");
    melding.mutable_register_melding()->set_category("VERLICHTING");
    melding.mutable_register_melding()->set_description("De lantaarnpaal bij de speeltuin is kapot");
    melding.mutable_register_melding()->mutable_location()->set_street("Dorpsstraat");
    melding.mutable_register_melding()->set_channel(pb::CHANNEL_WEB_FORM);
    const std::string id = stack.MustExecute(melding).aggregate_id();
    CHECK(Found(stack, Ask("gemeente-aa", "lantaarnpalen"), 1) == std::set<std::string>{id});
    pb::SearchReply found;
    REQUIRE(Search(stack, Ask("gemeente-aa", "lantaarnpaal"), &found).ok());
    REQUIRE(found.hits_size() == 1);
    CHECK(found.hits(0).kind() == "melding");
    CHECK(found.hits(0).text() == "De lantaarnpaal bij de speeltuin is kapot");
    // Reported without a party: no key was made for it (the indexer sealed its description under
    // a key of its own, a file in the vault per such melding).
    auto vault = ks::privacy::KeyVault::Open(stack.data_dir() + "/vault", /*create=*/false);
    REQUIRE(vault.has_value());
    for (const std::string& key_id : {"interaction/" + id, "melding/" + id}) {
      auto key = (*vault)->Get("gemeente-aa", key_id);  // neither there nor destroyed: an error
      REQUIRE_FALSE(key.has_value());
      CHECK_THAT(key.error().message(), Catch::Contains("is not in the key vault"));
    }
  }

  SECTION("paging: every hit once, then no token") {
    std::set<std::string> made;
    for (int i = 0; i < 25; ++i)
      made.insert(Contact(stack, "gemeente-aa", thijs, pb::CHANNEL_PHONE, "Vraag over afvalinzameling " + std::to_string(i),
                          kNov16 + i));
    std::set<std::string> seen;
    std::string token;
    int pages = 0;
    do {
      pb::SearchRequest page = Ask("gemeente-aa", "afvalinzameling");
      page.set_page_size(10);
      page.set_page_token(token);
      pb::SearchReply r;
      // Wait until all 25 are indexed before paging.
      for (int i = 0; i < 200; ++i) {
        REQUIRE(Search(stack, page, &r).ok());
        if (r.total_estimate() == 25) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      for (const auto& h : r.hits()) CHECK(seen.insert(h.id()).second);
      token = r.next_page_token();
      ++pages;
    } while (!token.empty() && pages < 10);
    CHECK(pages == 3);
    CHECK(seen == made);
  }

  SECTION("bad input names the field") {
    pb::SearchReply r;
    grpc::Status empty = Search(stack, Ask("gemeente-aa", "   "), &r);
    CHECK(empty.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(empty.error_message().find("text") != std::string::npos);
    grpc::Status tenant = Search(stack, Ask("Gemeente AA", "verhuizen"), &r);
    CHECK(tenant.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(tenant.error_message().find("tenant") != std::string::npos);
    pb::SearchRequest token = Ask("gemeente-aa", "verhuizen");
    token.set_page_token("abc");
    grpc::Status bad_token = Search(stack, token, &r);
    CHECK(bad_token.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(bad_token.error_message().find("page_token") != std::string::npos);
  }
}

TEST_CASE("search: after the projector is killed while indexing and restarted, every contact is found exactly once",
          "[search][e2e]") {
  Stack stack;
  const std::string party = Party(stack, "gemeente-aa", "Johan");
  std::set<std::string> made;
  for (int i = 0; i < 1500; ++i)
    made.insert(Contact(stack, "gemeente-aa", party, pb::CHANNEL_WHATSAPP,
                        "Melding over een gat in de weg nummer " + std::to_string(i), kNov16 + i));
  stack.Stop();  // the log is left for the projector process alone

  TempDir dir;
  const std::vector<std::string> args = {"--log=embedded:" + stack.data_dir() + "/log",
                                         "--read-models=" + dir.Sub("read-models"),
                                         "--search-index=" + dir.Sub("search"), "--batch=100",
                                         "--vault=" + stack.data_dir() + "/vault"};
  std::mt19937 rng(7);
  for (int kill = 0; kill < 6; ++kill) {
    ChildProcess projector(ProgramPath("projector/projector"), args, dir.Sub("projector.log"));
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(30, 400)(rng)));
    projector.Kill();
  }
  // The index's terms are digests with the tenant's key, its texts sealed: read with the vault.
  auto vault = ks::privacy::KeyVault::Open(stack.data_dir() + "/vault", false);
  REQUIRE(vault.has_value());
  auto index_key = (*vault)->IndexKey("gemeente-aa");
  REQUIRE(index_key.has_value());
  ks::privacy::KeyRing keys(vault->get());
  {
    ChildProcess projector(ProgramPath("projector/projector"), args, dir.Sub("projector.log"));
    // Until the index has everything: the reader sees each commit.
    bool complete = false;
    for (int i = 0; i < 300 && !complete; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      auto index = ks::search::SearchIndex::Open(dir.Sub("search"));
      if (!index) continue;
      auto result = (*index)->Search({.tenant = "gemeente-aa", .text = "gat weg", .limit = 1}, *index_key, keys);
      complete = result && result->total_estimate == made.size();
    }
    if (!complete) {
      std::ifstream log(dir.Sub("projector.log"));
      std::stringstream text;
      text << log.rdbuf();
      FAIL("the index never got every contact; the projector said:\n" << text.str());
    }
    CHECK(projector.Terminate() == 0);
  }
  auto index = ks::search::SearchIndex::Open(dir.Sub("search"));
  REQUIRE(index.has_value());
  std::multiset<std::string> seen;
  for (size_t offset = 0; offset < made.size() + 200; offset += 200) {
    auto page = (*index)->Search({.tenant = "gemeente-aa", .text = "gat weg", .offset = offset, .limit = 200},
                                 *index_key, keys);
    REQUIRE(page.has_value());
    for (const auto& hit : page->hits) seen.insert(hit.id);
  }
  CHECK(seen.size() == made.size());
  CHECK(std::set<std::string>(seen.begin(), seen.end()) == made);
}
