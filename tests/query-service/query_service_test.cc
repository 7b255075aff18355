// The query service over gRPC on loopback: what a KCC employee sees in the customer view, party
// lookup and callback queues, read-your-writes with min_positions, health and reflection.
#include <catch2/catch.hpp>

#include <filesystem>

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>
#include <grpcpp/generic/generic_stub.h>

#include "ks/readmodel/keys.h"
#include "support/stack.h"
#include "support/store_compare.h"

using namespace ks::testing;
namespace pb = ::klantstroom::v1;
using google::protobuf::util::TimeUtil;

namespace {

template <typename Request>
void After(Request& request, const pb::ExecuteReply& reply) {
  for (const auto& p : reply.positions()) *request.mutable_consistency()->add_min_positions() = p;
}

pb::CustomerView View(Stack& stack, const std::string& party_id, const pb::ExecuteReply& after, int page_size = 0,
                      const std::string& token = "") {
  pb::GetCustomerViewRequest request;
  request.set_tenant("gemeente-test");
  request.set_party_id(party_id);
  request.set_page_size(page_size);
  request.set_page_token(token);
  After(request, after);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  pb::CustomerView view;
  grpc::Status status = stack.queries().GetCustomerView(&context, request, &view);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return view;
}

pb::CallbackQueue Queue(Stack& stack, const std::string& department, const std::string& employee,
                        const pb::ExecuteReply& after, int limit = 0) {
  pb::GetCallbackQueueRequest request;
  request.set_tenant("gemeente-test");
  request.set_department(department);
  request.set_employee_id(employee);
  request.set_limit(limit);
  After(request, after);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  pb::CallbackQueue queue;
  grpc::Status status = stack.queries().GetCallbackQueue(&context, request, &queue);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return queue;
}

// A query service's reader (a RocksDB secondary) on the store at `path` is refused: FAILED_PRECONDITION,
// naming `what` (the store's layout version) and the projector, which upgrades it.
void ExpectReaderRefuses(const std::string& path, const std::string& what) {
  TempDir secondary;
  auto reader = ks::readmodel::ReadModelStore::OpenSecondary(path, secondary.Sub("reader"));
  REQUIRE_FALSE(reader.has_value());
  CHECK(reader.error().code() == ks::StatusCode::kFailedPrecondition);
  CHECK_THAT(reader.error().message(), Catch::Contains(what) && Catch::Contains("start the projector"));
}

// The layout version the stack's store records.
std::string StoredLayout(Stack& stack) {
  std::string layout;
  REQUIRE(stack.app().store().db()->Get(rocksdb::ReadOptions(), std::string(ks::readmodel::keys::kLayoutKey), &layout).ok());
  return layout;
}

constexpr int64_t kMonday = 1'794'815'220;  // 2026-11-16 07:47 UTC

}  // namespace

TEST_CASE("the customer view shows every channel newest first, including contacts from the party's handle "
          "before the party was known",
          "[query][integration]") {
  Stack stack;
  // A tweet from @johndv arrives before anybody knows who that is.
  auto tweet = NewRequest();
  *tweet.mutable_meta()->mutable_occurred_at() = TimeUtil::SecondsToTimestamp(kMonday);
  auto* t = tweet.mutable_register_interaction();
  t->set_channel(pb::CHANNEL_TWITTER);
  t->set_direction(pb::DIRECTION_INBOUND);
  t->set_visibility(pb::VISIBILITY_PUBLIC);
  t->set_text("Waarom weet niemand iets van dat windmolenpark?");
  t->mutable_counterpart()->set_kind(pb::DIGITAL_ADDRESS_KIND_TWITTER);
  t->mutable_counterpart()->set_value("@JohnDV");
  stack.MustExecute(tweet);

  const auto john = stack.MustExecute(RegisterPerson("John de Vries", "john@example.nl", "0612345678", "johndv"));
  stack.MustExecute(RegisterMessage(john.aggregate_id(), pb::CHANNEL_EMAIL, "Mijn gegevens", kMonday + 3600));
  const auto call = stack.MustExecute(RegisterMessage(john.aggregate_id(), pb::CHANNEL_PHONE, "Gebeld", kMonday + 7200));

  const pb::CustomerView view = View(stack, john.aggregate_id(), call);
  CHECK(view.party().display_name() == "John de Vries");
  REQUIRE(view.timeline_size() == 3);
  CHECK(view.timeline(0).channel() == pb::CHANNEL_PHONE);
  CHECK(view.timeline(1).channel() == pb::CHANNEL_EMAIL);
  CHECK(view.timeline(2).channel() == pb::CHANNEL_TWITTER);
  CHECK(view.timeline(2).text() == "Waarom weet niemand iets van dat windmolenpark?");
  CHECK(view.next_page_token().empty());
  CHECK_FALSE(view.reflects().empty());
}

TEST_CASE("the timeline pages through every contact once, newest first", "[query][integration]") {
  Stack stack;
  const auto party = stack.MustExecute(RegisterPerson("Fatima", "", "", "fatima_b"));
  pb::ExecuteReply last;
  for (int i = 0; i < 11; ++i) {
    if (i % 2 == 0) {
      last = stack.MustExecute(RegisterMessage(party.aggregate_id(), pb::CHANNEL_WHATSAPP, "bericht " + std::to_string(i),
                                               kMonday + i * 60));
    } else {  // every other contact is known only by her handle
      auto dm = NewRequest();
      *dm.mutable_meta()->mutable_occurred_at() = TimeUtil::SecondsToTimestamp(kMonday + i * 60);
      auto* c = dm.mutable_register_interaction();
      c->set_channel(pb::CHANNEL_TWITTER);
      c->set_direction(pb::DIRECTION_INBOUND);
      c->set_text("bericht " + std::to_string(i));
      c->mutable_counterpart()->set_kind(pb::DIGITAL_ADDRESS_KIND_TWITTER);
      c->mutable_counterpart()->set_value("@Fatima_B");
      last = stack.MustExecute(dm);
    }
  }
  std::vector<std::string> texts;
  std::string token;
  int pages = 0;
  do {
    const pb::CustomerView page = View(stack, party.aggregate_id(), last, 4, token);
    for (const auto& entry : page.timeline()) texts.push_back(entry.text());
    token = page.next_page_token();
    ++pages;
  } while (!token.empty() && pages < 10);
  CHECK(pages == 3);
  REQUIRE(texts.size() == 11);
  for (int i = 0; i < 11; ++i) CHECK(texts[static_cast<size_t>(i)] == "bericht " + std::to_string(10 - i));
}

TEST_CASE("parties are found by e-mail, phone and handle however they are typed, within the tenant",
          "[query][integration]") {
  Stack stack;
  const auto john = stack.MustExecute(RegisterPerson("John de Vries", "John.deVries@Example.nl", "06-12345678", "@JohnDV"));
  auto lookup = [&](pb::DigitalAddressKind kind, const std::string& value, const std::string& tenant) {
    pb::LookupPartiesRequest request;
    request.set_tenant(tenant);
    request.mutable_digital_address()->set_kind(kind);
    request.mutable_digital_address()->set_value(value);
    After(request, john);
    grpc::ClientContext context;
    pb::LookupPartiesReply reply;
    grpc::Status status = stack.queries().LookupParties(&context, request, &reply);
    INFO(status.error_message());
    REQUIRE(status.ok());
    return reply;
  };
  auto by_email = lookup(pb::DIGITAL_ADDRESS_KIND_EMAIL, "john.devries@example.NL", "gemeente-test");
  REQUIRE(by_email.parties_size() == 1);
  CHECK(by_email.parties(0).party_id() == john.aggregate_id());
  CHECK(lookup(pb::DIGITAL_ADDRESS_KIND_PHONE, "06 1234 5678", "gemeente-test").parties_size() == 1);
  CHECK(lookup(pb::DIGITAL_ADDRESS_KIND_TWITTER, "johndv", "gemeente-test").parties_size() == 1);
  CHECK(lookup(pb::DIGITAL_ADDRESS_KIND_EMAIL, "john.devries@example.nl", "gemeente-anders").parties_size() == 0);
  CHECK(lookup(pb::DIGITAL_ADDRESS_KIND_EMAIL, "someone@example.nl", "gemeente-test").parties_size() == 0);

  pb::LookupPartiesRequest bad;
  bad.set_tenant("gemeente-test");
  bad.mutable_digital_address()->set_kind(pb::DIGITAL_ADDRESS_KIND_EMAIL);
  bad.mutable_digital_address()->set_value("no email");
  grpc::ClientContext context;
  pb::LookupPartiesReply reply;
  grpc::Status status = stack.queries().LookupParties(&context, bad, &reply);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(status.error_message(), Catch::StartsWith("digital_address.value:"));
}

TEST_CASE("a callback queue lists overdue first, then by urgency, then by due time", "[query][integration]") {
  Stack stack;
  const auto john = stack.MustExecute(RegisterPerson("John"));
  const int64_t now = TimeUtil::GetCurrentTime().seconds();
  const auto normal_soon = stack.MustExecute(RequestCallback(john.aggregate_id(), "vergunningen", "windy", pb::URGENCY_NORMAL, now + 3600));
  const auto urgent_later = stack.MustExecute(RequestCallback(john.aggregate_id(), "vergunningen", "windy", pb::URGENCY_URGENT, now + 7200));
  const auto low_overdue = stack.MustExecute(RequestCallback(john.aggregate_id(), "vergunningen", "gijs", pb::URGENCY_LOW, now - 600));
  const auto urgent_sooner = stack.MustExecute(RequestCallback(john.aggregate_id(), "vergunningen", "windy", pb::URGENCY_URGENT, now + 1800));
  const auto urgent_overdue = stack.MustExecute(RequestCallback(john.aggregate_id(), "vergunningen", "gijs", pb::URGENCY_URGENT, now - 300));
  const auto elsewhere = stack.MustExecute(RequestCallback(john.aggregate_id(), "burgerzaken", "", pb::URGENCY_URGENT, now));

  pb::CallbackQueue queue = Queue(stack, "vergunningen", "", elsewhere);
  REQUIRE(queue.callbacks_size() == 5);
  CHECK(queue.total_open() == 5);
  CHECK(queue.overdue() == 2);
  CHECK(queue.callbacks(0).callback_id() == urgent_overdue.aggregate_id());
  CHECK(queue.callbacks(1).callback_id() == low_overdue.aggregate_id());
  CHECK(queue.callbacks(2).callback_id() == urgent_sooner.aggregate_id());
  CHECK(queue.callbacks(3).callback_id() == urgent_later.aggregate_id());
  CHECK(queue.callbacks(4).callback_id() == normal_soon.aggregate_id());
  // Pages of the queue: the first ones in the same order, the counts of the whole queue.
  const pb::CallbackQueue page = Queue(stack, "vergunningen", "", elsewhere, 3);
  REQUIRE(page.callbacks_size() == 3);
  CHECK(page.callbacks(0).callback_id() == urgent_overdue.aggregate_id());
  CHECK(page.callbacks(1).callback_id() == low_overdue.aggregate_id());
  CHECK(page.callbacks(2).callback_id() == urgent_sooner.aggregate_id());
  CHECK(page.total_open() == 5);
  CHECK(page.overdue() == 2);
  const pb::CallbackQueue first = Queue(stack, "vergunningen", "", elsewhere, 1);
  REQUIRE(first.callbacks_size() == 1);
  CHECK(first.callbacks(0).callback_id() == urgent_overdue.aggregate_id());
  CHECK(first.overdue() == 2);  // counted beyond the page

  // Windy's own queue; a completed callback leaves it, a reassigned one moves to Gijs.
  auto complete = NewRequest();
  complete.set_aggregate_id(urgent_sooner.aggregate_id());
  complete.mutable_complete_callback()->set_report("gebeld, opgelost");
  stack.MustExecute(complete);
  auto reassign = NewRequest();
  reassign.set_aggregate_id(normal_soon.aggregate_id());
  reassign.mutable_reassign_callback()->mutable_target()->set_department("vergunningen");
  reassign.mutable_reassign_callback()->mutable_target()->set_employee_id("gijs");
  const auto moved = stack.MustExecute(reassign);
  pb::CallbackQueue windy = Queue(stack, "", "windy", moved);
  REQUIRE(windy.callbacks_size() == 1);
  CHECK(windy.callbacks(0).callback_id() == urgent_later.aggregate_id());
  pb::CallbackQueue gijs = Queue(stack, "", "gijs", moved);
  CHECK(gijs.callbacks_size() == 3);
  CHECK(gijs.total_open() == 3);
  CHECK(gijs.overdue() == 2);
  // Windy's queue within a department holds only that department's callbacks, and counts them.
  const auto windy_elsewhere =
      stack.MustExecute(RequestCallback(john.aggregate_id(), "burgerzaken", "windy", pb::URGENCY_LOW, now + 600));
  CHECK(Queue(stack, "", "windy", windy_elsewhere).total_open() == 2);
  const pb::CallbackQueue windy_here = Queue(stack, "vergunningen", "windy", windy_elsewhere);
  REQUIRE(windy_here.callbacks_size() == 1);
  CHECK(windy_here.callbacks(0).callback_id() == urgent_later.aggregate_id());
  CHECK(windy_here.total_open() == 1);
  const pb::CallbackQueue windy_there = Queue(stack, "burgerzaken", "windy", windy_elsewhere);
  REQUIRE(windy_there.callbacks_size() == 1);
  CHECK(windy_there.callbacks(0).callback_id() == windy_elsewhere.aggregate_id());

  // The customer view lists the party's open callbacks.
  const pb::CustomerView view = View(stack, john.aggregate_id(), windy_elsewhere);
  CHECK(view.open_callbacks_size() == 6);
  // The queues' counters agree with their entries after requests, a completion and a reassignment.
  stack.WaitForReadModels();
  const auto mismatches = ks::testing::IndexCounterMismatches(stack.app().store().View());
  for (const auto& m : mismatches) UNSCOPED_INFO(m);
  CHECK(mismatches.empty());
}

TEST_CASE("read models of layout version 2 get their queue counters when the projector starts on them",
          "[query][integration]") {
  Stack stack;
  const auto john = stack.MustExecute(RegisterPerson("John"));
  const int64_t now = TimeUtil::GetCurrentTime().seconds();
  stack.MustExecute(RequestCallback(john.aggregate_id(), "vergunningen", "windy", pb::URGENCY_NORMAL, now + 3600));
  stack.MustExecute(RequestCallback(john.aggregate_id(), "vergunningen", "gijs", pb::URGENCY_LOW, now - 600));
  const auto last = stack.MustExecute(RequestCallback(john.aggregate_id(), "burgerzaken", "", pb::URGENCY_URGENT, now));
  stack.WaitForReadModels();
  stack.Stop();

  // The store as version 2 wrote it: the same entries, no counters, layout "2".
  const std::string path = stack.data_dir() + "/read-models";
  {
    auto store = ks::readmodel::ReadModelStore::OpenPrimary(path);
    REQUIRE(store.has_value());
    std::vector<std::string> counters;
    REQUIRE((*store)->View().Scan("#", "", [&](std::string_view key, std::string_view) {
      counters.emplace_back(key);
      return true;
    }).ok());
    CHECK(counters.size() >= 4);  // two department queues, two employee queues
    for (const auto& key : counters) REQUIRE((*store)->db()->Delete(rocksdb::WriteOptions(), key).ok());
    REQUIRE((*store)->db()->Put(rocksdb::WriteOptions(), std::string(ks::readmodel::keys::kLayoutKey), "2").ok());
  }
  // A reader cannot upgrade it and says who can.
  ExpectReaderRefuses(path, "layout version 2");

  // The projector's store opens it, counts the entries and moves it to the current layout.
  stack.Restart();
  CHECK(StoredLayout(stack) == std::to_string(ks::readmodel::keys::kLayoutVersion));
  const auto mismatches = IndexCounterMismatches(stack.app().store().View());
  for (const auto& m : mismatches) UNSCOPED_INFO(m);
  CHECK(mismatches.empty());
  const pb::CallbackQueue queue = Queue(stack, "vergunningen", "", last);
  CHECK(queue.total_open() == 2);
  CHECK(queue.overdue() == 1);
  // And counts on from there.
  const auto more = stack.MustExecute(RequestCallback(john.aggregate_id(), "vergunningen", "windy", pb::URGENCY_HIGH, now + 60));
  CHECK(Queue(stack, "vergunningen", "", more).total_open() == 3);
}

namespace {

// A melding of `reporter` registered at `seconds`, in a category due in 3 days.
pb::ExecuteRequest ReportMelding(const std::string& reporter, int64_t seconds, const std::string& description) {
  auto melding = NewRequest();
  *melding.mutable_meta()->mutable_occurred_at() = TimeUtil::SecondsToTimestamp(seconds);
  auto* m = melding.mutable_register_melding();
  m->set_category("AFVAL");
  m->set_description(description);
  m->mutable_location()->set_street("Dorpsstraat");
  m->set_channel(pb::CHANNEL_APP);
  m->set_reporter_party_id(reporter);
  return melding;
}

// The key layout 3 gave an entry of a party's list (PM, OC): family, tenant, party and id.
std::string LayoutThreeEntry(std::string_view key) {
  size_t third = 0;
  for (int i = 0; i < 3; ++i) third = key.find('\0', third) + 1;
  return std::string(key.substr(0, third)) + std::string(ks::readmodel::keys::LastPart(key));
}

}  // namespace

TEST_CASE("read models of layout version 3 have a party's lists put in view order when the projector starts on them",
          "[query][integration]") {
  // Layout 3 kept a party's meldingen and open callbacks by id; a customer view read them all to
  // choose what it lists. Layout 4 keys them in the view's order. The projector re-keys an older
  // store in place; the result is the store a clean build makes.
  Stack stack;
  const std::string anna = stack.MustExecute(RegisterPerson("Anna Veelmelder")).aggregate_id();
  const std::string twin = stack.MustExecute(RegisterPerson("Anna V.")).aggregate_id();
  auto category = NewRequest();
  category.mutable_define_melding_category()->set_code("AFVAL");
  category.mutable_define_melding_category()->set_name("Afval");
  category.mutable_define_melding_category()->set_due_days(3);
  stack.MustExecute(category);
  std::vector<std::string> meldingen;  // registered an hour apart, alternately by Anna and her twin
  for (int i = 0; i < 6; ++i)
    meldingen.push_back(stack.MustExecute(ReportMelding(i % 2 ? twin : anna, kMonday + i * 3600, fmt::format("melding {}", i)))
                            .aggregate_id());
  for (int i : {1, 4}) {  // resolved
    auto resolve = NewRequest();
    resolve.set_aggregate_id(meldingen[static_cast<size_t>(i)]);
    resolve.mutable_change_melding_status()->set_to(pb::MELDING_STATUS_RESOLVED);
    stack.MustExecute(resolve);
  }
  std::vector<std::string> callbacks;  // each due earlier than the one before
  for (int i = 0; i < 3; ++i)
    callbacks.push_back(stack.MustExecute(RequestCallback(i == 1 ? twin : anna, "belastingen", "", pb::URGENCY_NORMAL,
                                                          kMonday + (10 - i) * 600))
                            .aggregate_id());
  auto merge = NewRequest();
  merge.set_aggregate_id(twin);
  merge.mutable_merge_party()->set_into_party_id(anna);
  const pb::ExecuteReply last = stack.MustExecute(merge);
  stack.WaitForReadModels();

  // Open ones first, the newest first, across Anna and the twin merged into her; callbacks soonest due first.
  auto expect_view_order = [&](const pb::CustomerView& view) {
    std::vector<std::string> listed;
    for (const auto& m : view.meldingen()) listed.push_back(m.melding_id());
    CHECK(listed == std::vector<std::string>{meldingen[5], meldingen[3], meldingen[2], meldingen[0], meldingen[4],
                                             meldingen[1]});
    listed.clear();
    for (const auto& c : view.open_callbacks()) listed.push_back(c.callback_id());
    CHECK(listed == std::vector<std::string>{callbacks[2], callbacks[1], callbacks[0]});
  };
  expect_view_order(View(stack, anna, last));
  stack.Stop();

  // The store as version 3 wrote it (all of a party's lists keyed by id), or as an upgrade cut
  // short left it (every other entry), beside a copy of it as built.
  const std::string path = stack.data_dir() + "/read-models";
  TempDir copies;
  std::filesystem::copy(path, copies.Sub("built"), std::filesystem::copy_options::recursive);
  auto downgrade = [&](bool every_other, const std::string& layout) {
    auto store = ks::readmodel::ReadModelStore::OpenPrimary(path);
    REQUIRE(store.has_value());
    int entries = 0;
    for (const std::string family : {"PM", "OC"}) {
      std::vector<std::string> keys;
      REQUIRE((*store)->View().Scan(family + '\0', "", [&](std::string_view key, std::string_view) {
        keys.emplace_back(key);
        return true;
      }).ok());
      for (const std::string& key : keys) {
        if (every_other && ++entries % 2 == 0) continue;
        REQUIRE((*store)->db()->Delete(rocksdb::WriteOptions(), key).ok());
        REQUIRE((*store)->db()->Put(rocksdb::WriteOptions(), LayoutThreeEntry(key), "").ok());
      }
      if (!every_other) entries += static_cast<int>(keys.size());
    }
    CHECK(entries == 6 + 3);
    REQUIRE((*store)->db()->Put(rocksdb::WriteOptions(), std::string(ks::readmodel::keys::kLayoutKey), layout).ok());
  };
  // The projector re-keys the lists and moves the store to the current layout: the view's order
  // holds, and the store is the one built.
  auto expect_upgraded = [&] {
    stack.Restart();
    CHECK(StoredLayout(stack) == std::to_string(ks::readmodel::keys::kLayoutVersion));
    expect_view_order(View(stack, anna, last));
    stack.Stop();
    const auto differences = ks::testing::StoreDifferences(path, copies.Sub("built"));
    for (const auto& d : differences) UNSCOPED_INFO(d);
    CHECK(differences.empty());
  };

  downgrade(/*every_other=*/false, "3");
  // A reader cannot upgrade it and says who can.
  ExpectReaderRefuses(path, "layout version 3");
  expect_upgraded();

  // An upgrade cut short: a number that the programs of layout 3 refuse (their folds would leave
  // the re-keyed entries stale), and which the projector finishes.
  downgrade(/*every_other=*/true, std::to_string(ks::readmodel::keys::kLayoutListOrderUpgrading));
  ExpectReaderRefuses(path, "being upgraded");
  expect_upgraded();
}

TEST_CASE("read your writes: a query waits for the positions a command returned, and says so when it cannot",
          "[query][integration]") {
  Stack stack;
  // Without min_positions a fresh write may not be visible yet; with them it always is.
  for (int i = 0; i < 20; ++i) {
    const auto party = stack.MustExecute(RegisterPerson("Burger " + std::to_string(i)));
    const pb::CustomerView view = View(stack, party.aggregate_id(), party);
    CHECK(view.party().display_name() == "Burger " + std::to_string(i));
  }

  pb::GetCustomerViewRequest ahead;
  ahead.set_tenant("gemeente-test");
  ahead.set_party_id("whoever");
  auto* p = ahead.mutable_consistency()->add_min_positions();
  p->set_partition(0);
  p->set_offset(1'000'000);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(1000));
  pb::CustomerView view;
  grpc::Status status = stack.queries().GetCustomerView(&context, ahead, &view);
  CHECK(status.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK_THAT(status.error_message(), Catch::StartsWith("consistency.min_positions:"));
}

TEST_CASE("queries refuse bad input with the field named", "[query][integration]") {
  Stack stack;
  const auto john = stack.MustExecute(RegisterPerson("John"));
  pb::GetCustomerViewRequest request;
  request.set_tenant("gemeente-test");
  request.set_party_id("nobody");
  After(request, john);
  grpc::ClientContext c1;
  pb::CustomerView view;
  grpc::Status status = stack.queries().GetCustomerView(&c1, request, &view);
  CHECK(status.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK_THAT(status.error_message(), Catch::StartsWith("party_id:"));

  request.set_party_id(john.aggregate_id());
  request.set_tenant("Gemeente Test");
  grpc::ClientContext c2;
  status = stack.queries().GetCustomerView(&c2, request, &view);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(status.error_message(), Catch::StartsWith("tenant:"));

  request.set_tenant("gemeente-test");
  request.set_page_size(100000);
  grpc::ClientContext c3;
  status = stack.queries().GetCustomerView(&c3, request, &view);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(status.error_message(), Catch::StartsWith("page_size:"));
}

TEST_CASE("every server answers the standard health check and server reflection", "[query][integration]") {
  Stack stack;
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(stack.port()), grpc::InsecureChannelCredentials());
  grpc::GenericStub generic(channel);

  // grpc.health.v1.Health/Check with an empty request: the answer is status SERVING.
  CHECK(HealthStatus("127.0.0.1:" + std::to_string(stack.port())) == "SERVING");

  // grpc.reflection.v1alpha.ServerReflection: list_services (field 7) names our services.
  {
    class Reflection : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
     public:
      std::string answer;
      grpc::Status status;
      bool finished = false;
      std::mutex m;
      std::condition_variable cv;
      grpc::ByteBuffer request;
      grpc::ByteBuffer response;
      void OnWriteDone(bool) override { StartWritesDone(); }
      void OnReadDone(bool ok) override {
        if (!ok) return;
        std::vector<grpc::Slice> slices;
        if (response.Dump(&slices).ok())
          for (const auto& s : slices) answer.append(reinterpret_cast<const char*>(s.begin()), s.size());
        StartRead(&response);
      }
      void OnDone(const grpc::Status& s) override {
        std::lock_guard lock(m);
        status = s;
        finished = true;
        cv.notify_one();
      }
    } reactor;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::Slice list_services(std::string("\x3a\x00", 2));
    reactor.request = grpc::ByteBuffer(&list_services, 1);
    generic.PrepareBidiStreamingCall(&context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                     grpc::StubOptions(), &reactor);
    reactor.StartWrite(&reactor.request);
    reactor.StartRead(&reactor.response);
    reactor.StartCall();
    std::unique_lock lock(reactor.m);
    reactor.cv.wait(lock, [&] { return reactor.finished; });
    CHECK(reactor.status.ok());
    CHECK_THAT(reactor.answer, Catch::Contains("klantstroom.v1.CommandService"));
    CHECK_THAT(reactor.answer, Catch::Contains("klantstroom.v1.QueryService"));
  }
}

TEST_CASE("a frequent reporter's customer view lists her open meldingen first and then the newest of the rest",
          "[query][integration]") {
  // Hundreds of meldingen a year from one citizen are no exception (a "veelmelder"). The view
  // lists 200 of them: her open ones however old, then the newest. (When their index was by id
  // alone, the view showed the first 200 by id, here the oldest, hiding the newest.)
  Stack stack;
  const std::string anna = stack.MustExecute(RegisterPerson("Anna Veelmelder", "anna@example.nl")).aggregate_id();
  auto category = NewRequest();
  category.mutable_define_melding_category()->set_code("AFVAL");
  category.mutable_define_melding_category()->set_name("Afval");
  category.mutable_define_melding_category()->set_due_days(3);
  stack.MustExecute(category);
  constexpr int kReported = 230;
  const int64_t first = kMonday - 20 * 24 * 3600;
  std::vector<std::string> ids;
  for (int i = 0; i < kReported; ++i) {
    auto melding = NewRequest();
    *melding.mutable_meta()->mutable_occurred_at() = TimeUtil::SecondsToTimestamp(first + i * 3600);
    auto* m = melding.mutable_register_melding();
    m->set_category("AFVAL");
    m->set_description(fmt::format("Zwerfafval, de {}e keer", i));
    m->mutable_location()->set_street("Dorpsstraat");
    m->set_channel(pb::CHANNEL_APP);
    m->set_reporter_party_id(anna);
    m->mutable_reporter_address()->set_kind(pb::DIGITAL_ADDRESS_KIND_EMAIL);
    m->mutable_reporter_address()->set_value("anna@example.nl");
    ids.push_back(stack.MustExecute(melding).aggregate_id());
  }
  // All resolved but the first and the 101st.
  pb::ExecuteReply last;
  for (int i = 0; i < kReported; ++i) {
    if (i == 0 || i == 100) continue;
    auto resolve = NewRequest();
    resolve.set_aggregate_id(ids[static_cast<size_t>(i)]);
    *resolve.mutable_meta()->mutable_occurred_at() = TimeUtil::SecondsToTimestamp(first + i * 3600 + 60);
    resolve.mutable_change_melding_status()->set_to(pb::MELDING_STATUS_RESOLVED);
    last = stack.MustExecute(resolve);
  }

  stack.WaitForReadModels();  // every resolve applied, on every partition
  const pb::CustomerView view = View(stack, anna, last);
  REQUIRE(view.meldingen_size() == 200);
  CHECK(view.meldingen(0).melding_id() == ids[100]);
  CHECK(view.meldingen(1).melding_id() == ids[0]);
  std::vector<std::string> newest_closed;
  for (int i = kReported - 1; newest_closed.size() < 198; --i)
    if (i != 100) newest_closed.push_back(ids[static_cast<size_t>(i)]);
  std::vector<std::string> listed;
  for (int i = 2; i < view.meldingen_size(); ++i) listed.push_back(view.meldingen(i).melding_id());
  CHECK(listed == newest_closed);
  // Those listed are shown whole: their personal data opened.
  CHECK(view.meldingen(0).reporter_address().value() == "anna@example.nl");
  CHECK(view.meldingen(199).reporter_address().value() == "anna@example.nl");
}

TEST_CASE("a customer view lists a party's open callbacks soonest due first and at most 100 of them",
          "[query][integration]") {
  // An adapter gone wrong can file thousands of callback requests for one citizen; listing them
  // all would outgrow gRPC's message limit and fail the whole view. The view lists the 100 due
  // soonest. Each request here is due earlier than the one filed before it, so an order by id
  // (which follows filing) is the reverse of the view's, and its first 100 the wrong ones.
  Stack stack;
  const std::string kees = stack.MustExecute(RegisterPerson("Kees Terugbel", "kees@example.nl")).aggregate_id();
  // One without a due date, filed first (the smallest id): it comes after every dated one, as in
  // the callback queue, so it is not among the 100 listed.
  const std::string undated =
      stack.MustExecute(RequestCallback(kees, "belastingen", "", pb::URGENCY_NORMAL, 0)).aggregate_id();
  constexpr int kFiled = 130;
  std::vector<std::string> ids;
  pb::ExecuteReply last;
  for (int i = 0; i < kFiled; ++i) {
    auto request = RequestCallback(kees, "belastingen", "", pb::URGENCY_NORMAL, kMonday + (kFiled - i) * 600);
    request.mutable_request_callback()->set_context(fmt::format("vraag {} over de aanslag", i));
    last = stack.MustExecute(request);
    ids.push_back(last.aggregate_id());
  }
  // One completed among those due soonest: no longer open, so not listed.
  auto complete = NewRequest();
  complete.set_aggregate_id(ids[kFiled - 1]);
  complete.mutable_complete_callback()->set_report("teruggebeld, vraag beantwoord");
  last = stack.MustExecute(complete);

  stack.WaitForReadModels();
  const pb::CustomerView view = View(stack, kees, last);
  REQUIRE(view.open_callbacks_size() == 100);
  std::vector<std::string> expected;  // the 100 open ones due soonest, soonest first
  for (int i = kFiled - 2; expected.size() < 100; --i) expected.push_back(ids[static_cast<size_t>(i)]);
  std::vector<std::string> listed;
  for (const auto& callback : view.open_callbacks()) listed.push_back(callback.callback_id());
  CHECK(listed == expected);
  CHECK(std::find(listed.begin(), listed.end(), undated) == listed.end());
  // Those listed are shown whole: their personal data opened.
  CHECK(view.open_callbacks(0).context() == fmt::format("vraag {} over de aanslag", kFiled - 2));
  CHECK(view.open_callbacks(99).context() == fmt::format("vraag {} over de aanslag", kFiled - 101));
}
