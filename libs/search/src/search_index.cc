#include "ks/search/search_index.h"

#include <algorithm>
#include <cctype>
#include <functional>
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
// The next offset of each partition that the index's last commit covers (0 where none is stored).
// Throws std::invalid_argument or std::out_of_range for a stored position that is not a number.
std::vector<int64_t> StoredPositions(const Xapian::Database& db, size_t partitions) {
  std::vector<int64_t> next(partitions, 0);
  for (size_t p = 0; p < partitions; ++p)
    if (const std::string stored = db.get_metadata(PositionKey(p)); !stored.empty()) next[p] = std::stoll(stored);
  return next;
}
Status UnparsedPosition(const std::string& dir, const std::exception& e) {
  return Status(StatusCode::kDataLoss, fmt::format("search index {}: a stored position does not parse ({})", dir, e.what()));
}
std::string UniqueTerm(const std::string& tenant, const std::string& id) { return kIdPrefix + tenant + ":" + id; }

// Words of folded text: runs of letters and digits (and of bytes of other scripts, kept whole).
std::vector<std::string> Words(std::string_view folded) {
  std::vector<std::string> words;
  std::string word;
  for (const char c : folded) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0 || u >= 0x80) {
      word.push_back(c);
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

// The index holds no word in the clear: each (stemmed, folded) word is a keyed digest with the
// tenant's index key. A deleted document (an erased person's) leaves nothing readable behind in
// the database's free pages, and the query side digests the words asked for the same way.
std::string HashedTerm(const privacy::Key& index_key, const Xapian::Stem& stemmer, const std::string& word) {
  // Appended, not `"H" + digest`: GCC 12 warns (-Wrestrict) about the inlined insert at the front.
  std::string term = "H";
  term += privacy::LookupDigest(index_key, "term", stemmer(word));
  return term;
}

// What a document keeps (its data): enough to answer a hit and to re-index it when a later event
// (a conversation report) adds to it. The InteractionRecord shape serves both kinds (the kind
// itself is a value of the document), its personal fields sealed like a read model's.
Result<pb::InteractionRecord> ReadStored(Xapian::WritableDatabase& db, const std::string& unique_term,
                                         privacy::KeyRing& keys) {
  pb::InteractionRecord stored;
  Xapian::PostingIterator it = db.postlist_begin(unique_term);
  if (it != db.postlist_end(unique_term)) stored.ParseFromString(db.get_document(*it).get_data());
  if (auto opened = privacy::OpenRecord(stored, keys); !opened) return std::unexpected(opened.error());
  return stored;
}

Status Store(Xapian::WritableDatabase& db, const std::string& kind, const pb::InteractionRecord& r,
             privacy::KeyVault& vault, privacy::KeyRing& keys) {
  auto index_key = vault.IndexKey(r.tenant());
  if (!index_key) return index_key.error();
  Xapian::Document doc;
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
  const Xapian::Stem stemmer(kStemmer);
  Xapian::termpos position = 0;
  auto index = [&](const std::string& text) {
    for (const std::string& word : Words(FoldForSearch(text))) doc.add_posting(HashedTerm(*index_key, stemmer, word), ++position);
    ++position;  // no phrase runs from one field into the next
  };
  index(r.text());
  index(r.report());
  for (const std::string& topic : r.topics()) index(topic);
  pb::InteractionRecord sealed = r;
  // A melding's description is not personal data (its read model keeps it in the clear): sealed
  // when its reporter is a party, for that party's erasure, but not when there is none, where
  // the sealing would make a key file for this document alone that no erasure ever reaches.
  const bool anonymous_melding = kind == "melding" && r.party_id().empty();
  if (!anonymous_melding)
    if (Status s = privacy::SealRecord(sealed, keys); !s.ok()) return s;
  doc.set_data(sealed.SerializeAsString());
  db.replace_document(unique, doc);
  return Status::Ok();
}

// Indexes one event; events that carry no searchable text are passed over.
Status IndexEvent(Xapian::WritableDatabase& db, const pb::EventEnvelope& e, privacy::KeyVault& vault,
                  privacy::KeyRing& keys) {
  const std::string unique = UniqueTerm(e.tenant(), e.aggregate_id());
  // A later event of an interaction: the stored document, with what the event adds.
  auto amend = [&](const std::function<void(pb::InteractionRecord&)>& change) -> Status {
    auto r = ReadStored(db, unique, keys);
    if (!r) return r.error();
    if (r->interaction_id().empty()) return Status::Ok();
    change(*r);
    return Store(db, "interaction", *r, vault, keys);
  };
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
      return Store(db, "interaction", r, vault, keys);
    }
    case pb::EventEnvelope::kInteractionLinkedToParty:
      return amend([&](pb::InteractionRecord& r) { r.set_party_id(e.interaction_linked_to_party().party_id()); });
    case pb::EventEnvelope::kInteractionReportRecorded:
      return amend([&](pb::InteractionRecord& r) { r.set_report(e.interaction_report_recorded().report()); });
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
      return Store(db, "melding", r, vault, keys);
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
      return Status::Ok();
    }
    default:
      return Status::Ok();
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
  // Indexed but not committed yet, and when the last commit was.
  bool dirty = false;
  std::chrono::steady_clock::time_point last_commit = std::chrono::steady_clock::now();

  // A Xapian commit writes and syncs a new revision (a new file each time); under load one per
  // polled batch cost the all-in-one a fifth of its CPU in file creation. Commits are spaced.
  static constexpr std::chrono::milliseconds kCommitInterval{250};

  void Commit() {
    db->commit();
    dirty = false;
    last_commit = std::chrono::steady_clock::now();
  }
};

SearchIndexer::SearchIndexer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SearchIndexer::~SearchIndexer() {
  // A stopping indexer leaves nothing indexed uncommitted (a failure here is retried by the next
  // indexer, which starts from the last commit).
  try {
    if (impl_ && impl_->dirty) impl_->Commit();
  } catch (const Xapian::Error& e) {
    log::Warn("search", "commit on close: {}", e.get_description());
  }
}
const std::vector<int64_t>& SearchIndexer::next_offsets() const { return impl_->next; }

Result<std::unique_ptr<SearchIndexer>> SearchIndexer::Open(eventlog::EventLog& log, privacy::KeyVault& vault,
                                                          const std::string& dir, size_t max_batch_events) {
  auto impl = std::make_unique<Impl>();
  impl->vault = &vault;
  impl->max_batch_events = std::max<size_t>(max_batch_events, 1);
  // A process killed while creating the database leaves a directory without its revision file
  // (iamglass): nothing was ever committed there, so it is started afresh.
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) && !std::filesystem::exists(dir + "/iamglass", ec)) {
    log::Warn("search", "{} holds no committed index (its creation was interrupted); creating it afresh", dir);
    std::filesystem::remove_all(dir, ec);
  }
  try {
    impl->db = std::make_unique<Xapian::WritableDatabase>(dir, Xapian::DB_CREATE_OR_OPEN);
    impl->next = StoredPositions(*impl->db, static_cast<size_t>(log.partition_count()));
  } catch (const Xapian::Error& e) {
    return std::unexpected(XapianError(e, "open " + dir));
  } catch (const std::exception& e) {
    return std::unexpected(UnparsedPosition(dir, e));
  }
  auto reader = log.OpenReader(impl->next);
  if (!reader) return std::unexpected(reader.error());
  impl->reader = std::move(*reader);
  return std::unique_ptr<SearchIndexer>(new SearchIndexer(std::move(impl)));
}

Result<std::vector<int64_t>> CommittedPositions(const std::string& dir, size_t partitions) {
  std::error_code ec;
  if (!std::filesystem::exists(dir + "/iamglass", ec)) return std::vector<int64_t>(partitions, 0);  // none committed
  try {
    return StoredPositions(Xapian::Database(dir), partitions);
  } catch (const Xapian::Error& e) {
    return std::unexpected(XapianError(e, "read the positions of " + dir));
  } catch (const std::exception& e) {
    return std::unexpected(UnparsedPosition(dir, e));
  }
}

Result<size_t> SearchIndexer::Step(std::chrono::milliseconds wait) {
  auto records = impl_->reader->Poll(impl_->max_batch_events, wait);
  if (!records) return std::unexpected(records.error());
  try {
    if (records->empty()) {
      if (impl_->dirty) impl_->Commit();  // quiet: what was indexed becomes searchable now
      return size_t{0};
    }
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
      if (Status s = IndexEvent(*impl_->db, *event, *impl_->vault, keys); !s.ok()) return std::unexpected(s);
    }
    for (size_t p = 0; p < next.size(); ++p)
      if (next[p] != impl_->next[p]) impl_->db->set_metadata(PositionKey(p), std::to_string(next[p]));
    // Documents and positions are committed together, or not at all.
    impl_->next = std::move(next);
    impl_->dirty = true;
    if (std::chrono::steady_clock::now() - impl_->last_commit >= Impl::kCommitInterval) impl_->Commit();
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
  try {
    if (impl_->dirty) impl_->Commit();
  } catch (const Xapian::Error& e) {
    return XapianError(e, "commit");
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

Result<SearchResult> SearchIndex::Search(const SearchQuery& query, const privacy::Key& index_key,
                                         privacy::KeyRing& keys) {
  // Every word asked must occur, in any form the stemmer reduces to the same stem.
  const Xapian::Stem stemmer(kStemmer);
  std::vector<Xapian::Query> words;
  for (const std::string& word : Words(FoldForSearch(query.text))) words.emplace_back(HashedTerm(index_key, stemmer, word));
  if (words.empty()) return std::unexpected(InvalidArgument("text: has no word to search for"));
  for (int attempt = 0;; ++attempt) {
    try {
      impl_->db->reopen();  // the indexer's latest commit
      Xapian::Query q(Xapian::Query::OP_AND, words.begin(), words.end());
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
        if (auto opened = privacy::OpenRecord(stored, keys); !opened) return std::unexpected(opened.error());
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
    } catch (const Xapian::Error& e) {
      return std::unexpected(XapianError(e, "search"));
    }
  }
}

}  // namespace ks::search
