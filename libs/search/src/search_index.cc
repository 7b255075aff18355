#include "ks/search/search_index.h"

#include <algorithm>
#include <filesystem>
#include <thread>

#include <xapian.h>

#include <google/protobuf/util/time_util.h>

#include "klantstroom/v1/read_models.pb.h"
#include "ks/core/log.h"
#include "ks/domain/event_codec.h"
#include "ks/privacy/sealing.h"
#include "ks/search/text_fold.h"

namespace ks::search {
namespace {

namespace pb = ::klantstroom::v1;
using google::protobuf::util::TimeUtil;

// Boolean filter terms (Xapian's convention: upper-case prefixes) and the value slot of the time.
constexpr const char* kIdPrefix = "Q";
constexpr const char* kTenantPrefix = "XT";
constexpr const char* kChannelPrefix = "XC";
constexpr const char* kPartyPrefix = "XP";
constexpr const char* kAudiencePrefix = "XR";
constexpr Xapian::valueno kTimeSlot = 0;
constexpr Xapian::valueno kKindSlot = 1;  // "interaction" or "melding"
constexpr const char* kStemmer = "dutch";

std::string PositionKey(size_t partition) { return "position/" + std::to_string(partition); }
std::string UniqueTerm(const std::string& tenant, const std::string& id) { return kIdPrefix + tenant + ":" + id; }

// What a document keeps (its data): enough to answer a hit and to re-index it when a later event
// (a conversation report) adds to it. The InteractionRecord shape serves both kinds; the kind
// itself is a value of the document.
pb::InteractionRecord ReadStored(Xapian::WritableDatabase& db, const std::string& unique_term) {
  pb::InteractionRecord stored;
  Xapian::PostingIterator it = db.postlist_begin(unique_term);
  if (it != db.postlist_end(unique_term)) stored.ParseFromString(db.get_document(*it).get_data());
  return stored;
}

void Store(Xapian::WritableDatabase& db, const std::string& kind, const pb::InteractionRecord& r) {
  Xapian::Document doc;
  doc.set_data(r.SerializeAsString());
  const std::string unique = UniqueTerm(r.tenant(), r.interaction_id());
  doc.add_boolean_term(unique);
  doc.add_boolean_term(kTenantPrefix + r.tenant());
  doc.add_boolean_term("XK" + kind);
  if (r.channel() != 0) doc.add_boolean_term(kChannelPrefix + std::to_string(r.channel()));
  if (!r.party_id().empty()) doc.add_boolean_term(kPartyPrefix + r.party_id());
  // Who may find it: everyone ("XR" alone), or only one specialist team ("XR" + team).
  doc.add_boolean_term(kAudiencePrefix + r.restricted_to_team());
  doc.add_value(kTimeSlot, Xapian::sortable_serialise(static_cast<double>(TimeUtil::TimestampToMilliseconds(r.occurred_at()))));
  doc.add_value(kKindSlot, kind);
  Xapian::TermGenerator generator;
  generator.set_stemmer(Xapian::Stem(kStemmer));
  generator.set_document(doc);
  generator.index_text(FoldForSearch(r.text()));
  generator.increase_termpos();
  generator.index_text(FoldForSearch(r.report()));
  for (const std::string& topic : r.topics()) {
    generator.increase_termpos();
    generator.index_text(FoldForSearch(topic));
  }
  db.replace_document(unique, doc);
}

// Indexes one event; events that carry no searchable text are passed over.
void IndexEvent(Xapian::WritableDatabase& db, const pb::EventEnvelope& e) {
  const std::string unique = UniqueTerm(e.tenant(), e.aggregate_id());
  switch (e.payload_case()) {
    case pb::EventEnvelope::kInteractionRegistered: {
      // An interaction's first event: there is nothing stored to keep (a re-delivery brings the
      // later events of the aggregate again after it, in partition order).
      const auto& ev = e.interaction_registered();
      pb::InteractionRecord r;
      r.set_interaction_id(e.aggregate_id());
      r.set_tenant(e.tenant());
      r.set_party_id(ev.party_id());
      r.set_channel(ev.channel());
      r.set_text(ev.text());
      *r.mutable_topics() = ev.topics();
      r.set_restricted_to_team(ev.restricted_to_team());
      *r.mutable_occurred_at() = e.occurred_at();
      Store(db, "interaction", r);
      break;
    }
    case pb::EventEnvelope::kInteractionLinkedToParty: {
      pb::InteractionRecord r = ReadStored(db, unique);
      if (r.interaction_id().empty()) break;
      r.set_party_id(e.interaction_linked_to_party().party_id());
      Store(db, "interaction", r);
      break;
    }
    case pb::EventEnvelope::kInteractionReportRecorded: {
      pb::InteractionRecord r = ReadStored(db, unique);
      if (r.interaction_id().empty()) break;
      r.set_report(e.interaction_report_recorded().report());
      Store(db, "interaction", r);
      break;
    }
    case pb::EventEnvelope::kMeldingRegistered: {
      const auto& ev = e.melding_registered();
      pb::InteractionRecord r;
      r.set_interaction_id(e.aggregate_id());
      r.set_tenant(e.tenant());
      r.set_party_id(ev.reporter_party_id());
      r.set_channel(ev.channel());
      r.set_text(ev.description());
      r.add_topics(ev.category());
      *r.mutable_occurred_at() = e.occurred_at();
      Store(db, "melding", r);
      break;
    }
    case pb::EventEnvelope::kPartyErased: {
      // Whatever the party said or was said about it goes; the index keeps nothing to find it by.
      Xapian::Enquire enquire(db);
      enquire.set_query(Xapian::Query(Xapian::Query::OP_FILTER, Xapian::Query(kTenantPrefix + e.tenant()),
                                      Xapian::Query(kPartyPrefix + e.aggregate_id())));
      std::vector<Xapian::docid> doomed;
      const Xapian::MSet all = enquire.get_mset(0, db.get_doccount());
      for (auto it = all.begin(); it != all.end(); ++it) doomed.push_back(*it);
      for (Xapian::docid id : doomed) db.delete_document(id);
      break;
    }
    default:
      break;
  }
}

Status XapianError(const Xapian::Error& e, std::string_view what) {
  return Unavailable("search index {}: {}", what, e.get_description());
}

}  // namespace

// ---- Indexer ----

struct SearchIndexer::Impl {
  privacy::KeyVault* vault = nullptr;
  std::unique_ptr<Xapian::WritableDatabase> db;
  std::unique_ptr<eventlog::LogReader> reader;
  std::vector<int64_t> next;
  size_t max_batch_events = 2000;
};

SearchIndexer::SearchIndexer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SearchIndexer::~SearchIndexer() = default;
const std::vector<int64_t>& SearchIndexer::next_offsets() const { return impl_->next; }

Result<std::unique_ptr<SearchIndexer>> SearchIndexer::Open(eventlog::EventLog& log, privacy::KeyVault& vault,
                                                          const std::string& dir, size_t max_batch_events) {
  auto impl = std::make_unique<Impl>();
  impl->vault = &vault;
  impl->max_batch_events = std::max<size_t>(max_batch_events, 1);
  try {
    impl->db = std::make_unique<Xapian::WritableDatabase>(dir, Xapian::DB_CREATE_OR_OPEN);
    impl->next.assign(static_cast<size_t>(log.partition_count()), 0);
    for (size_t p = 0; p < impl->next.size(); ++p) {
      const std::string stored = impl->db->get_metadata(PositionKey(p));
      if (!stored.empty()) impl->next[p] = std::stoll(stored);
    }
  } catch (const Xapian::Error& e) {
    return std::unexpected(XapianError(e, "open " + dir));
  }
  auto reader = log.OpenReader(impl->next);
  if (!reader) return std::unexpected(reader.error());
  impl->reader = std::move(*reader);
  return std::unique_ptr<SearchIndexer>(new SearchIndexer(std::move(impl)));
}

Result<size_t> SearchIndexer::Step(std::chrono::milliseconds wait) {
  auto records = impl_->reader->Poll(impl_->max_batch_events, wait);
  if (!records) return std::unexpected(records.error());
  if (records->empty()) return size_t{0};
  try {
    std::vector<int64_t> next = impl_->next;
    privacy::KeyRing keys(impl_->vault);
    for (const eventlog::StoredRecord& record : *records) {
      const auto p = static_cast<size_t>(record.partition);
      if (record.offset < next[p]) continue;  // re-delivered
      next[p] = record.offset + 1;
      auto event = domain::DecodeEvent(record.value);
      if (!event) continue;  // the projector parks it; nothing here to search
      if (auto opened = privacy::OpenEvent(*event, keys); !opened) {
        if (opened.error().code() != StatusCode::kDataLoss) return std::unexpected(opened.error());
        continue;  // parked by the projector too
      }
      // After an erasure no key read before it may open a later event of the party's contacts.
      if (event->has_party_erased()) keys = privacy::KeyRing(impl_->vault);
      IndexEvent(*impl_->db, *event);
    }
    for (size_t p = 0; p < next.size(); ++p)
      if (next[p] != impl_->next[p]) impl_->db->set_metadata(PositionKey(p), std::to_string(next[p]));
    // Documents and positions become visible together, or not at all.
    impl_->db->commit();
    impl_->next = std::move(next);
  } catch (const Xapian::Error& e) {
    return std::unexpected(XapianError(e, "index"));
  }
  return records->size();
}

Status SearchIndexer::CatchUpTo(const std::vector<int64_t>& end_offsets) {
  auto reached = [&] {
    for (size_t p = 0; p < impl_->next.size(); ++p)
      if (impl_->next[p] < end_offsets[p]) return false;
    return true;
  };
  while (!reached()) {
    auto n = Step();
    if (!n) return n.error();
  }
  return Status::Ok();
}

std::string SearchIndexDir(const std::string& flag, const std::string& read_models) {
  if (flag == "none") return "";
  if (!flag.empty()) return flag;
  const std::filesystem::path parent = std::filesystem::path(read_models).lexically_normal().parent_path();
  return (parent / "search").string();
}

void RunIndexerUntil(eventlog::EventLog& log, privacy::KeyVault& vault, const std::string& dir,
                     const std::atomic<bool>& stop, size_t max_batch_events) {
  while (!stop.load()) {
    auto indexer = SearchIndexer::Open(log, vault, dir, max_batch_events);
    Status failure;
    if (!indexer) {
      failure = indexer.error();
    } else {
      while (!stop.load()) {
        auto stepped = (*indexer)->Step();
        if (!stepped) {
          failure = stepped.error();
          break;
        }
      }
    }
    if (failure.ok()) return;
    log::Error("search", "indexing {} stopped: {}; starting again from its last commit", dir, failure.ToString());
    for (int i = 0; i < 10 && !stop.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// ---- Reading ----

struct SearchIndex::Impl {
  std::string dir;
  std::unique_ptr<Xapian::Database> db;
};

SearchIndex::SearchIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SearchIndex::~SearchIndex() = default;

Result<std::unique_ptr<SearchIndex>> SearchIndex::Open(const std::string& dir) {
  auto impl = std::make_unique<Impl>();
  impl->dir = dir;
  if (!std::filesystem::exists(dir)) return std::unexpected(NotFound("search index {}: not created yet", dir));
  try {
    impl->db = std::make_unique<Xapian::Database>(dir);
  } catch (const Xapian::Error& e) {
    return std::unexpected(XapianError(e, "open " + dir));
  }
  return std::unique_ptr<SearchIndex>(new SearchIndex(std::move(impl)));
}

Result<SearchResult> SearchIndex::Search(const SearchQuery& query) {
  for (int attempt = 0;; ++attempt) {
    try {
      impl_->db->reopen();  // the indexer's latest commit
      Xapian::QueryParser parser;
      parser.set_stemmer(Xapian::Stem(kStemmer));
      parser.set_stemming_strategy(Xapian::QueryParser::STEM_SOME);
      parser.set_database(*impl_->db);
      parser.set_default_op(Xapian::Query::OP_AND);
      Xapian::Query q = parser.parse_query(FoldForSearch(query.text), Xapian::QueryParser::FLAG_DEFAULT);
      std::vector<Xapian::Query> filters = {Xapian::Query(kTenantPrefix + query.tenant)};
      if (query.channel != 0) filters.emplace_back(kChannelPrefix + std::to_string(query.channel));
      if (!query.party_id.empty()) filters.emplace_back(kPartyPrefix + query.party_id);
      if (query.visible_teams.has_value()) {
        // Only what the caller may read: the unrestricted, and its own teams' contacts.
        std::vector<Xapian::Query> audiences = {Xapian::Query(kAudiencePrefix)};
        for (const std::string& team : *query.visible_teams) audiences.emplace_back(kAudiencePrefix + team);
        filters.emplace_back(Xapian::Query::OP_OR, audiences.begin(), audiences.end());
      }
      if (query.from_ms != 0 || query.to_ms != 0) {
        const double to = query.to_ms != 0 ? static_cast<double>(query.to_ms) - 1 : 1e18;
        filters.emplace_back(Xapian::Query::OP_VALUE_RANGE, kTimeSlot,
                             Xapian::sortable_serialise(static_cast<double>(query.from_ms)), Xapian::sortable_serialise(to));
      }
      q = Xapian::Query(Xapian::Query::OP_FILTER, q, Xapian::Query(Xapian::Query::OP_AND, filters.begin(), filters.end()));
      Xapian::Enquire enquire(*impl_->db);
      enquire.set_query(q);
      // Counting up to 10,000 matches exactly keeps totals (and paging) exact for any realistic
      // search, at the cost of looking at that many.
      const Xapian::MSet matches = enquire.get_mset(static_cast<Xapian::doccount>(query.offset),
                                                    static_cast<Xapian::doccount>(query.limit), 10'000);
      SearchResult result;
      result.total_estimate = matches.get_matches_estimated();
      for (auto it = matches.begin(); it != matches.end(); ++it) {
        const Xapian::Document doc = it.get_document();
        pb::InteractionRecord stored;
        stored.ParseFromString(doc.get_data());
        SearchHit hit;
        hit.id = stored.interaction_id();
        hit.kind = doc.get_value(kKindSlot);
        hit.party_id = stored.party_id();
        hit.channel = stored.channel();
        hit.occurred_ms = TimeUtil::TimestampToMilliseconds(stored.occurred_at());
        hit.text = stored.report().empty() ? stored.text() : stored.text() + "\n" + stored.report();
        hit.topics.assign(stored.topics().begin(), stored.topics().end());
        hit.score = it.get_weight();
        result.hits.push_back(std::move(hit));
      }
      return result;
    } catch (const Xapian::DatabaseModifiedError&) {
      if (attempt >= 3) return std::unexpected(Unavailable("search index {}: changing too fast to read", impl_->dir));
    } catch (const Xapian::QueryParserError& e) {
      return std::unexpected(InvalidArgument("text: cannot be parsed as a search: {}", e.get_msg()));
    } catch (const Xapian::Error& e) {
      return std::unexpected(XapianError(e, "search"));
    }
  }
}

}  // namespace ks::search
