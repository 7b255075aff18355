// The projector against a real log on disk: duplicates skipped, undecodable events parked,
// resuming from committed positions equals a clean rebuild.
#include "ks/projector/projector.h"

#include <catch2/catch.hpp>
#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/file_system.h>

#include <chrono>
#include <thread>

#include "klantstroom/v1/events.pb.h"
#include "ks/eventlog/embedded_log.h"
#include "ks/query/query_engine.h"
#include "ks/readmodel/keys.h"
#include "support/store_compare.h"
#include "support/temp_dir.h"
#include "support/vault.h"

using namespace ks;
namespace pb = ::klantstroom::v1;

namespace {

// The local file system, with every append to a write-ahead log taking 5 ms more: a batch's commit
// then surely lasts while the projector folds the next batch.
class SlowLogFileSystem : public rocksdb::FileSystemWrapper {
 public:
  SlowLogFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "SlowLogFileSystem"; }
  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    std::unique_ptr<rocksdb::FSWritableFile> file;
    rocksdb::IOStatus s = target()->NewWritableFile(f, options, &file, dbg);
    if (s.ok() && f.ends_with(".log"))
      *result = std::make_unique<SlowFile>(std::move(file));
    else if (s.ok())
      *result = std::move(file);
    return s;
  }

 private:
  class SlowFile : public rocksdb::FSWritableFileWrapper {
   public:
    explicit SlowFile(std::unique_ptr<rocksdb::FSWritableFile> file)
        : FSWritableFileWrapper(file.get()), owned_(std::move(file)) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      return FSWritableFileWrapper::Append(data, options, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             const rocksdb::DataVerificationInfo& info, rocksdb::IODebugContext* dbg) override {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      return FSWritableFileWrapper::Append(data, options, info, dbg);
    }

   private:
    std::unique_ptr<rocksdb::FSWritableFile> owned_;
  };
};

eventlog::Record Encode(const pb::EventEnvelope& e) {
  return {e.aggregate_id(), e.SerializeAsString(), 1'794'815'220'000};
}

pb::EventEnvelope Registered(const std::string& id, const std::string& name) {
  pb::EventEnvelope e;
  e.set_event_id("event-" + id + "-1");  // unique, as the command service makes them
  e.set_aggregate_id(id);
  e.set_aggregate_version(1);
  e.set_tenant("gemeente-test");
  e.set_aggregate_type(pb::AGGREGATE_TYPE_PARTY);
  e.mutable_party_registered()->set_kind(pb::PARTY_KIND_PERSON);
  e.mutable_party_registered()->set_display_name(name);
  return e;
}

pb::EventEnvelope Message(const std::string& id, const std::string& party, int64_t seconds) {
  pb::EventEnvelope e;
  e.set_event_id("event-" + id + "-1");  // unique, as the command service makes them
  e.set_aggregate_id(id);
  e.set_aggregate_version(1);
  e.set_tenant("gemeente-test");
  e.mutable_occurred_at()->set_seconds(seconds);
  e.mutable_interaction_registered()->set_party_id(party);
  e.mutable_interaction_registered()->set_channel(pb::CHANNEL_CHAT);
  return e;
}

pb::EventEnvelope MeldingEvent(const std::string& id, int64_t version) {
  pb::EventEnvelope e;
  e.set_event_id(fmt::format("event-{}-{}", id, version));
  e.set_aggregate_id(id);
  e.set_aggregate_version(version);
  e.set_tenant("gemeente-test");
  e.set_aggregate_type(pb::AGGREGATE_TYPE_MELDING);
  e.mutable_occurred_at()->set_seconds(1000 + version);
  return e;
}

// Twenty parties p0..p19 and `contacts` chat messages i0.. spread over them in turn.
std::vector<eventlog::Record> PartiesAndContacts(int contacts) {
  std::vector<eventlog::Record> records;
  for (int p = 0; p < 20; ++p) records.push_back(Encode(Registered(fmt::format("p{}", p), "Burger")));
  for (int i = 0; i < contacts; ++i)
    records.push_back(Encode(Message(fmt::format("i{}", i), fmt::format("p{}", i % 20), 1000 + i)));
  return records;
}

size_t TimelineLength(readmodel::ReadModelStore& store, const std::string& party) {
  query::QueryEngine engine(store, ks::testing::TestVault());
  pb::GetCustomerViewRequest request;
  request.set_tenant("gemeente-test");
  request.set_party_id(party);
  request.set_page_size(500);
  auto view = engine.GetCustomerView(store.View(), request);
  REQUIRE(view.has_value());
  return static_cast<size_t>(view->timeline_size());
}

}  // namespace

TEST_CASE("a redelivered event is skipped and an undecodable one is parked, not lost or fatal",
          "[projector][integration]") {
  testing::TempDir dir;
  auto log = eventlog::OpenEmbeddedLog({.path = dir.Sub("log"), .partitions = 3, .sync = false});
  REQUIRE(log.has_value());
  REQUIRE((*log)->Append({Encode(Registered("p1", "Johan")), Encode(Message("i1", "p1", 100)),
                          Encode(Message("i2", "p1", 200))}));
  // The same event delivered a second time (a producer retry), and a record that is no event.
  REQUIRE((*log)->Append(
      {Encode(Message("i1", "p1", 100)), {"garbage", "\xff\xff\xff not protobuf", 0}}));
  REQUIRE((*log)->Append({Encode(Message("i3", "p1", 300))}));

  auto store = readmodel::ReadModelStore::OpenPrimary(dir.Sub("rm"));
  REQUIRE(store.has_value());
  auto projector = projector::Projector::Open(**log, **store, ks::testing::TestVault());
  REQUIRE(projector.has_value());
  auto ends = (*log)->EndOffsets();
  REQUIRE(ends.has_value());
  REQUIRE((*projector)->CatchUpTo(*ends).ok());
  CHECK((*projector)->events_applied() == 4);
  CHECK((*projector)->events_skipped() == 1);
  CHECK((*projector)->events_parked() == 1);
  CHECK(TimelineLength(**store, "p1") == 3);
  // The parked record is kept with its position for an operator to inspect.
  size_t dead = 0;
  REQUIRE((*store)
              ->View()
              .Scan("~dead", "",
                    [&](std::string_view, std::string_view value) {
                      CHECK(value.find("not protobuf") != std::string_view::npos);
                      ++dead;
                      return true;
                    })
              .ok());
  CHECK(dead == 1);
}

TEST_CASE("a projector that stops and resumes ends equal to a clean rebuild",
          "[projector][integration]") {
  testing::TempDir dir;
  auto log = eventlog::OpenEmbeddedLog({.path = dir.Sub("log"), .partitions = 4, .sync = false});
  REQUIRE(log.has_value());
  REQUIRE((*log)->Append(PartiesAndContacts(400)));
  auto ends = (*log)->EndOffsets();
  REQUIRE(ends.has_value());

  {
    auto live = readmodel::ReadModelStore::OpenPrimary(dir.Sub("live"));
    REQUIRE(live.has_value());
    // Several short lives of 3 small batches each, as if the projector were restarted: each life
    // starts exactly where the previous one committed.
    std::vector<int64_t> committed(4, 0);
    for (int life = 0; life < 100; ++life) {
      auto projector = projector::Projector::Open(**log, **live, ks::testing::TestVault(),
                                                  {.max_batch_events = 7});
      REQUIRE(projector.has_value());
      CHECK((*projector)->next_offsets() == committed);
      for (int step = 0; step < 3; ++step) REQUIRE((*projector)->Step().has_value());
      committed = (*projector)->next_offsets();
      CHECK((*projector)->events_skipped() == 0);
    }
    auto projector = projector::Projector::Open(**log, **live, ks::testing::TestVault());
    REQUIRE(projector.has_value());
    REQUIRE((*projector)->CatchUpTo(*ends).ok());
    for (int p = 0; p < 20; ++p) CHECK(TimelineLength(**live, fmt::format("p{}", p)) == 20);
  }
  {
    auto clean = readmodel::ReadModelStore::OpenPrimary(dir.Sub("clean"));
    REQUIRE(clean.has_value());
    auto projector = projector::Projector::Open(**log, **clean, ks::testing::TestVault());
    REQUIRE(projector.has_value());
    REQUIRE((*projector)->CatchUpTo(*ends).ok());
  }
  const auto differences = testing::StoreDifferences(dir.Sub("live"), dir.Sub("clean"));
  for (const auto& d : differences) UNSCOPED_INFO(d);
  CHECK(differences.empty());
}

TEST_CASE("a rebuild that skips reading the records it never wrote or writes its indexes and audit trail aside ends equal to one that reads them all",
          "[projector][integration]") {
  // Parties, contacts and meldingen that change over many batches, with duplicates delivered
  // again after their aggregate moved on (a producer retry): a melding's registration after its
  // status changes, a contact's registration, a status change. A filter that wrongly said "never
  // written" of one would fold it again onto an empty record, and the store would differ.
  testing::TempDir dir;
  auto log = eventlog::OpenEmbeddedLog({.path = dir.Sub("log"), .partitions = 4, .sync = false});
  REQUIRE(log.has_value());
  // The meldingen are registered and started first and resolved last, so that their index entries
  // (open, by status) are written in one of a rebuild's runs and deleted in a later one.
  std::vector<eventlog::Record> records;
  std::vector<eventlog::Record> resolutions;
  std::vector<eventlog::Record> duplicates;
  for (int m = 0; m < 10; ++m) {
    const std::string id = fmt::format("m{}", m);
    pb::EventEnvelope registered = MeldingEvent(id, 1);
    registered.mutable_melding_registered()->set_number(fmt::format("M-2026-{}", 200 + m));
    registered.mutable_melding_registered()->set_category("afval");
    records.push_back(Encode(registered));
    pb::EventEnvelope started = MeldingEvent(id, 2);
    started.mutable_melding_status_changed()->set_from(pb::MELDING_STATUS_REGISTERED);
    started.mutable_melding_status_changed()->set_to(pb::MELDING_STATUS_IN_PROGRESS);
    records.push_back(Encode(started));
    pb::EventEnvelope resolved = MeldingEvent(id, 3);
    resolved.mutable_melding_status_changed()->set_from(pb::MELDING_STATUS_IN_PROGRESS);
    resolved.mutable_melding_status_changed()->set_to(pb::MELDING_STATUS_RESOLVED);
    resolutions.push_back(Encode(resolved));
    duplicates.push_back(Encode(registered));
    duplicates.push_back(Encode(started));
  }
  for (eventlog::Record& r : PartiesAndContacts(300)) records.push_back(std::move(r));
  for (eventlog::Record& r : resolutions) records.push_back(std::move(r));
  for (int i = 0; i < 300; i += 30) duplicates.push_back(Encode(Message(fmt::format("i{}", i), fmt::format("p{}", i % 20), 1000 + i)));
  REQUIRE((*log)->Append(std::move(records)));
  const size_t duplicate_count = duplicates.size();
  REQUIRE((*log)->Append(std::move(duplicates)));
  auto ends = (*log)->EndOffsets();
  REQUIRE(ends.has_value());

  auto build = [&](const std::string& name, projector::ProjectorOptions options, bool rebuild = false) {
    auto store = readmodel::ReadModelStore::OpenPrimary(dir.Sub(name));
    REQUIRE(store.has_value());
    if (rebuild) REQUIRE((*store)->BeginRebuild(/*run_bytes=*/8 << 10).ok());
    auto projector = projector::Projector::Open(**log, **store, ks::testing::TestVault(), options);
    REQUIRE(projector.has_value());
    REQUIRE((*projector)->CatchUpTo(*ends).ok());
    CHECK((*projector)->events_applied() == 20 + 300 + 30);
    CHECK((*projector)->events_skipped() == static_cast<int64_t>(duplicate_count));
    if (rebuild) REQUIRE((*store)->Settle().ok());
  };
  build("reads-all", {.max_batch_events = 7});
  // Small batches and two workers, as a rebuild runs: most records are read in later batches than
  // the one that wrote them. A filter of 1 MB answers "never written" for nearly every new record;
  // one of 64 bytes is saturated at once and answers "maybe" for all (the store is read).
  build("filtered", {.max_batch_events = 7, .workers = 2, .written_records_filter_bytes = 1 << 20});
  build("saturated", {.max_batch_events = 7, .workers = 2, .written_records_filter_bytes = 64});
  // As `projector --rebuild-into` runs: the audit trail and the index entries written aside in
  // runs of 8 KB, merged and ingested when the store settles.
  build("rebuilt", {.max_batch_events = 7, .workers = 2, .written_records_filter_bytes = 1 << 20},
        /*rebuild=*/true);
  {
    // The audit trail is there to compare: a store without it would differ from "reads-all".
    auto reads_all = readmodel::ReadModelStore::OpenSecondary(dir.Sub("reads-all"), dir.Sub("secondary"));
    REQUIRE(reads_all.has_value());
    int audited = 0;
    REQUIRE((*reads_all)->View().Scan("AU", "", [&](std::string_view, std::string_view) { return ++audited > 0; }).ok());
    CHECK(audited >= 300);
  }
  for (const std::string name : {"filtered", "saturated", "rebuilt"}) {
    const auto differences = testing::StoreDifferences(dir.Sub(name), dir.Sub("reads-all"));
    for (const auto& d : differences) UNSCOPED_INFO(name << ": " << d);
    CHECK(differences.empty());
  }

  // Only for a store that starts empty: on one that holds events, a record it never wrote may well
  // be there. Refused, and the store is left as it was.
  auto store = readmodel::ReadModelStore::OpenPrimary(dir.Sub("reads-all"));
  REQUIRE(store.has_value());
  auto before = (*store)->View().ReadProgress();
  REQUIRE(before.has_value());
  auto refused = projector::Projector::Open(**log, **store, ks::testing::TestVault(),
                                            {.written_records_filter_bytes = 1 << 20});
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().code() == StatusCode::kFailedPrecondition);
  CHECK_THAT(refused.error().message(), Catch::Contains("starts empty"));
  auto after = (*store)->View().ReadProgress();
  REQUIRE(after.has_value());
  CHECK(*after == *before);
}

TEST_CASE("read models in another key layout are refused with the way out named, not misread",
          "[projector][integration]") {
  ks::testing::TempDir dir;
  using readmodel::ReadModelStore;
  {
    // A new store says which layout it is written in, and opens again.
    auto fresh = ReadModelStore::OpenPrimary(dir.Sub("fresh"));
    REQUIRE(fresh.has_value());
    std::string layout;
    REQUIRE((*fresh)->db()->Get(rocksdb::ReadOptions(), std::string(readmodel::keys::kLayoutKey), &layout).ok());
    CHECK(layout == std::to_string(readmodel::keys::kLayoutVersion));
  }
  CHECK(ReadModelStore::OpenPrimary(dir.Sub("fresh")).has_value());
  CHECK(ReadModelStore::OpenSecondary(dir.Sub("fresh"), dir.Sub("secondary-1")).has_value());

  // A store built before layouts were kept: events applied (progress), no layout key.
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(options, dir.Sub("old"), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    REQUIRE(db->Put(rocksdb::WriteOptions(), readmodel::keys::PartitionProgress(0), readmodel::keys::EncodeInt64(42)).ok());
  }
  auto primary = ReadModelStore::OpenPrimary(dir.Sub("old"));
  REQUIRE_FALSE(primary.has_value());
  CHECK(primary.error().code() == StatusCode::kFailedPrecondition);
  CHECK_THAT(primary.error().message(), Catch::Contains("layout version 1") && Catch::Contains("--rebuild-into"));
  auto secondary = ReadModelStore::OpenSecondary(dir.Sub("old"), dir.Sub("secondary-2"));
  REQUIRE_FALSE(secondary.has_value());
  CHECK(secondary.error().code() == StatusCode::kFailedPrecondition);
}

TEST_CASE("index entries that move several times within one batch end as when each event is a batch",
          "[projector][integration]") {
  // A melding registered and moved through four statuses: each change deletes the index entries
  // of the old status and puts those of the new. In one batch, an entry put and deleted again is
  // written only as its last operation; the store must end the same as one event per batch.
  // A batch is folded while the one before it is still being written: on a slow disk each
  // status change is folded while its melding's previous state is not yet in RocksDB, only in
  // the batch being written, and must be read from there (one partition: the next batch is the
  // melding's next event).
  testing::TempDir dir;
  auto log = eventlog::OpenEmbeddedLog({.path = dir.Sub("log"), .partitions = 1, .sync = false});
  REQUIRE(log.has_value());
  const std::vector<pb::MeldingStatus> path = {
      pb::MELDING_STATUS_IN_PROGRESS, pb::MELDING_STATUS_RESOLVED, pb::MELDING_STATUS_REOPENED,
      pb::MELDING_STATUS_IN_PROGRESS};
  std::vector<eventlog::Record> records;
  for (int m = 0; m < 12; ++m) {
    const std::string id = fmt::format("m{}", m);
    pb::EventEnvelope registered = MeldingEvent(id, 1);
    auto* r = registered.mutable_melding_registered();
    r->set_number(fmt::format("M-2026-{}", 100 + m));
    r->set_category(m % 2 == 0 ? "afval" : "straatverlichting");
    r->mutable_location()->set_postcode("6711AA");
    r->mutable_location()->set_neighbourhood("Veldhuizen");
    records.push_back(Encode(registered));
    // Meldingen with an odd number stop at RESOLVED: closed, out of the open lists.
    const size_t steps = m % 2 == 0 ? path.size() : 2;
    pb::MeldingStatus from = pb::MELDING_STATUS_REGISTERED;
    for (size_t i = 0; i < steps; ++i) {
      pb::EventEnvelope changed = MeldingEvent(id, static_cast<int64_t>(i) + 2);
      changed.mutable_melding_status_changed()->set_from(from);
      changed.mutable_melding_status_changed()->set_to(path[i]);
      from = path[i];
      records.push_back(Encode(changed));
    }
  }
  REQUIRE((*log)->Append(std::move(records)));
  auto ends = (*log)->EndOffsets();
  REQUIRE(ends.has_value());
  const auto slow_disk = std::make_shared<SlowLogFileSystem>();
  struct Way {
    std::string name;
    size_t batch;
    std::shared_ptr<rocksdb::FileSystem> fs;
  };
  for (const Way& way : {Way{"one-by-one", 1, nullptr}, Way{"one-by-one-slow-disk", 1, slow_disk},
                         Way{"one-batch", 10'000, nullptr}}) {
    const std::string& name = way.name;
    const size_t batch = way.batch;
    auto store = readmodel::ReadModelStore::OpenPrimary(dir.Sub(name), way.fs);
    REQUIRE(store.has_value());
    auto projector = projector::Projector::Open(**log, **store, ks::testing::TestVault(),
                                                {.max_batch_events = batch});
    REQUIRE(projector.has_value());
    REQUIRE((*projector)->CatchUpTo(*ends).ok());
    CHECK((*projector)->events_applied() == 12 + 6 * 4 + 6 * 2);
    // What a KCC employee sees: the six still open, all in progress; none left under an old status.
    query::QueryEngine engine(**store, ks::testing::TestVault());
    pb::ListMeldingenRequest request;
    request.set_tenant("gemeente-test");
    request.set_limit(50);
    auto open = engine.ListMeldingen((*store)->View(), request, std::chrono::system_clock::now());
    REQUIRE(open.has_value());
    CHECK(open->meldingen_size() == 6);
    CHECK(open->total() == 6);
    for (const auto& melding : open->meldingen()) CHECK(melding.status() == pb::MELDING_STATUS_IN_PROGRESS);
    request.add_statuses(pb::MELDING_STATUS_REGISTERED);
    auto registered = engine.ListMeldingen((*store)->View(), request, std::chrono::system_clock::now());
    REQUIRE(registered.has_value());
    CHECK(registered->meldingen_size() == 0);
    CHECK(registered->total() == 0);
    const auto mismatches = testing::IndexCounterMismatches((*store)->View());
    for (const auto& m : mismatches) UNSCOPED_INFO(name << ": " << m);
    CHECK(mismatches.empty());
  }
  // The counters were checked against the entries above; they differ only in form (a counter
  // that went up and down again across batches is stored as 0, within one batch not at all).
  for (const std::string name : {"one-by-one", "one-by-one-slow-disk"}) {
    const auto differences = testing::StoreDifferences(dir.Sub(name), dir.Sub("one-batch"), {"#"});
    for (const auto& d : differences) UNSCOPED_INFO(name << ": " << d);
    CHECK(differences.empty());
  }
}

TEST_CASE("a contact's registration is stored as its event sealed it and reads back whole: older contacts are opened and forged ones parked",
          "[projector][privacy][integration]") {
  // The projector keeps a registration's sealed part as it is (no opening and sealing again) when
  // the event says what its counterpart's digest is; a contact of an older log, without that, is
  // opened so that its counterpart's digest can be made.
  testing::TempDir dir;
  privacy::KeyVault& vault = testing::TestVault();
  const std::string tenant = "gemeente-test";
  auto index_key = vault.IndexKey(tenant);
  REQUIRE(index_key.has_value());
  auto sealed = [&](pb::EventEnvelope e) {
    REQUIRE(privacy::SealEvent(e, "party/p7", [&] { return vault.GetOrCreate(tenant, "party/p7"); }).ok());
    REQUIRE(e.has_personal_data());
    return e;
  };
  auto contact = [&](const std::string& id, int64_t seconds, const std::string& text, const std::string& phone,
                     bool digested) {
    pb::EventEnvelope e = Message(id, "p7", seconds);
    auto* registered = e.mutable_interaction_registered();
    registered->set_text(text);
    if (!phone.empty()) {
      registered->mutable_counterpart()->set_kind(pb::DIGITAL_ADDRESS_KIND_PHONE);
      registered->mutable_counterpart()->set_value(phone);
      if (digested) registered->set_counterpart_digest(privacy::AddressDigest(*index_key, pb::DIGITAL_ADDRESS_KIND_PHONE, phone));
    }
    registered->set_counterpart_digested(digested);
    return sealed(e);
  };
  const pb::EventEnvelope call = contact("i1", 100, "Mijn kliko is niet geleegd", "+31611112222", true);
  const pb::EventEnvelope chat = contact("i2", 200, "Wanneer komt de grofvuilwagen?", "", true);
  const pb::EventEnvelope old = contact("i3", 300, "Een oud bericht", "+31633334444", false);
  pb::EventEnvelope report = Message("i1", "p7", 400);
  report.set_event_id("event-i1-2");
  report.set_aggregate_version(2);
  report.mutable_interaction_report_recorded()->set_report("Doorverwezen naar de afvaldienst");
  report = sealed(report);
  // A registration whose sealed bytes do not authenticate (altered on the way): parked, as when
  // the projector opened every event, not kept to fail the queries that would open it.
  pb::EventEnvelope forged = contact("i4", 500, "Vervalst", "", true);
  forged.mutable_personal_data()->mutable_ciphertext()->back() ^= 0x01;
  // A message from a number not known yet (under the contact's own key), linked to Fatima after:
  // sealed again under her key, so that erasing her leaves nothing readable under another.
  pb::EventEnvelope anonymous = Message("i5", "", 600);
  anonymous.mutable_interaction_registered()->set_text("Bericht van een onbekend nummer");
  anonymous.mutable_interaction_registered()->mutable_counterpart()->set_kind(pb::DIGITAL_ADDRESS_KIND_PHONE);
  anonymous.mutable_interaction_registered()->mutable_counterpart()->set_value("+31655556666");
  anonymous.mutable_interaction_registered()->set_counterpart_digest(
      privacy::AddressDigest(*index_key, pb::DIGITAL_ADDRESS_KIND_PHONE, "+31655556666"));
  anonymous.mutable_interaction_registered()->set_counterpart_digested(true);
  REQUIRE(privacy::SealEvent(anonymous, "interaction/i5", [&] { return vault.GetOrCreate(tenant, "interaction/i5"); }).ok());
  pb::EventEnvelope linked = Message("i5", "", 700);
  linked.clear_interaction_registered();
  linked.set_event_id("event-i5-2");
  linked.set_aggregate_version(2);
  linked.mutable_interaction_linked_to_party()->set_party_id("p7");

  auto log = eventlog::OpenEmbeddedLog({.path = dir.Sub("log"), .partitions = 3, .sync = false});
  REQUIRE(log.has_value());
  REQUIRE((*log)->Append({Encode(Registered("p7", "Fatima")), Encode(call), Encode(chat), Encode(old), Encode(report),
                          Encode(forged), Encode(anonymous)}));
  REQUIRE((*log)->Append({Encode(linked)}));  // after: the projector may fold them in one batch or two
  auto store = readmodel::ReadModelStore::OpenPrimary(dir.Sub("rm"));
  REQUIRE(store.has_value());
  auto projector = projector::Projector::Open(**log, **store, vault);
  REQUIRE(projector.has_value());
  auto ends = (*log)->EndOffsets();
  REQUIRE(ends.has_value());
  REQUIRE((*projector)->CatchUpTo(*ends).ok());
  CHECK((*projector)->events_parked() == 1);
  auto forged_record = (*store)->View().Get(readmodel::keys::Interaction(tenant, "i4"));
  REQUIRE(forged_record.has_value());
  CHECK_FALSE(forged_record->has_value());

  auto stored = [&](const std::string& id) {
    auto bytes = (*store)->View().Get(readmodel::keys::Interaction(tenant, id));
    REQUIRE(bytes.has_value());
    REQUIRE(bytes->has_value());
    pb::InteractionRecord record;
    REQUIRE(record.ParseFromString(**bytes));
    CHECK(record.text().empty());  // never in the clear on disk
    CHECK_FALSE(record.has_counterpart());
    return record;
  };
  // The chat: the event's sealed bytes as they are, nothing sealed by the projector.
  const pb::InteractionRecord kept = stored("i2");
  CHECK(kept.sealed_registration().SerializeAsString() == chat.personal_data().SerializeAsString());
  CHECK_FALSE(kept.has_personal_data());
  CHECK(kept.counterpart_digest().empty());
  // The old contact: opened, its counterpart's digest made, sealed as a record.
  const pb::InteractionRecord opened = stored("i3");
  CHECK_FALSE(opened.has_sealed_registration());
  CHECK(opened.personal_data().key_id() == "party/p7");
  CHECK(opened.counterpart_digest() == privacy::AddressDigest(*index_key, pb::DIGITAL_ADDRESS_KIND_PHONE, "+31633334444"));
  // The call with a report since: one sealed part, text, counterpart and report together.
  const pb::InteractionRecord reported = stored("i1");
  CHECK_FALSE(reported.has_sealed_registration());
  CHECK(reported.personal_data().key_id() == "party/p7");
  CHECK(reported.counterpart_digest() == call.interaction_registered().counterpart_digest());

  const pb::InteractionRecord relinked = stored("i5");
  CHECK_FALSE(relinked.has_sealed_registration());
  CHECK(relinked.personal_data().key_id() == "party/p7");

  // Read through the query engine, each is whole.
  query::QueryEngine engine(**store, vault);
  pb::GetCustomerViewRequest request;
  request.set_tenant(tenant);
  request.set_party_id("p7");
  auto view = engine.GetCustomerView((*store)->View(), request);
  REQUIRE(view.has_value());
  REQUIRE(view->timeline_size() == 4);  // newest first
  CHECK(view->timeline(0).text() == "Bericht van een onbekend nummer");
  CHECK(view->timeline(0).counterpart().value() == "+31655556666");
  CHECK(view->timeline(1).text() == "Een oud bericht");
  CHECK(view->timeline(1).counterpart().value() == "+31633334444");
  CHECK(view->timeline(2).text() == "Wanneer komt de grofvuilwagen?");
  CHECK_FALSE(view->timeline(2).has_counterpart());
  CHECK(view->timeline(3).text() == "Mijn kliko is niet geleegd");
  CHECK(view->timeline(3).counterpart().value() == "+31611112222");
  CHECK(view->timeline(3).report() == "Doorverwezen naar de afvaldienst");
  for (const auto& c : view->timeline()) CHECK_FALSE(c.personal_data_erased());
}
