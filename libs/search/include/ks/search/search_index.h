// Search over all communication: interactions (text, conversation report, topics) and meldingen
// (description), in a Xapian database with Snowball's Dutch stemmer, after folding diacritics
// (text_fold.h): "verhuizing" finds "verhuizen", "geinformeerd" finds "geïnformeerd".
//
// SearchIndexer consumes the event log like the projector does and keeps its own applied
// position in the index's metadata, written in the same Xapian commit as the documents it
// covers; a document's id is its aggregate's, and it is replaced, never added twice. So a crash at
// any moment resumes at the last commit and never loses or doubles an entry.
//
// SearchIndex (reading) opens the same directory read-only and sees the last commit.
//
// Privacy: the index holds no word in the clear. Terms are keyed digests of the stemmed words
// (the tenant's index key, libs/privacy) and each document's stored text is sealed with its
// person's key; an erasure deletes the person's documents, and what Xapian's free pages keep of
// them is digests and ciphertext under a destroyed key.
//
// Thread-safety: an indexer is used by one thread; a SearchIndex by one thread at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "klantstroom/v1/events.pb.h"
#include "ks/core/status.h"
#include "ks/eventlog/event_log.h"
#include "ks/privacy/key_vault.h"

namespace ks::search {

class SearchIndexer {
 public:
  // Opens (or creates) the index in `dir` and a reader on `log` from the index's own positions.
  // Each commit covers at most `max_batch_events` events. `vault` opens the events' sealed text;
  // a party's erasure deletes every document of the party.
  static Result<std::unique_ptr<SearchIndexer>> Open(eventlog::EventLog& log, privacy::KeyVault& vault,
                                                     const std::string& dir, size_t max_batch_events = 2000);
  ~SearchIndexer();

  // Polls one batch of events and indexes it with the positions. What is indexed is committed
  // (becomes searchable) once 250 ms have passed since the last commit, or when a poll finds
  // nothing within `wait`: at most four commits a second under load. Returns the number of events
  // consumed (0 when none came within `wait`).
  Result<size_t> Step(std::chrono::milliseconds wait = std::chrono::milliseconds(50));
  // Steps until every partition reached `end_offsets`, and commits.
  Status CatchUpTo(const std::vector<int64_t>& end_offsets);
  const std::vector<int64_t>& next_offsets() const;

 private:
  struct Impl;
  explicit SearchIndexer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The next offset of each of `partitions` partitions that the index in `dir` has committed (what
// a search sees): zeros before the indexer made it. Read without disturbing a running indexer;
// for waiting on one (the benchmarks time queries only once the index is still).
Result<std::vector<int64_t>> CommittedPositions(const std::string& dir, size_t partitions);

// Keeps the index in `dir` up to date with `log` until `stop` becomes true: steps an indexer, and
// after an error (a full disk, an unreachable broker) logs it and opens a new one a second later,
// which resumes from the last commit. For a thread of the projector or the all-in-one.
void RunIndexerUntil(eventlog::EventLog& log, privacy::KeyVault& vault, const std::string& dir,
                     const std::atomic<bool>& stop, size_t max_batch_events = 2000);

// The index directory a program uses: `flag` when given ("none": no index, returned as ""), else
// search/ beside the read-model directory `read_models`.
std::string SearchIndexDir(const std::string& flag, const std::string& read_models);

struct SearchQuery {
  std::string tenant;  // required
  std::string text;    // words; required
  // Filters, each optional.
  int channel = 0;
  std::string party_id;
  int64_t from_ms = 0;  // occurred at or after
  int64_t to_ms = 0;    // occurred before (0: no end)
  // The specialist teams whose restricted contacts the caller may read; nullopt: every team
  // (development). A restricted contact is indexed for its team only, so no other caller can find
  // it by its words.
  std::optional<std::vector<std::string>> visible_teams;
  size_t offset = 0;
  size_t limit = 20;
};

struct SearchHit {
  std::string kind;  // "interaction" or "melding"
  std::string id;
  std::string party_id;
  int channel = 0;
  int64_t occurred_ms = 0;
  std::string text;  // the indexed text (interaction text and report, or melding description)
  std::vector<std::string> topics;
  double score = 0;  // relevance, higher first
};

struct SearchResult {
  std::vector<SearchHit> hits;
  // Exact up to 10,000 matches, estimated beyond.
  size_t total_estimate = 0;
};

class SearchIndex {
 public:
  // NOT_FOUND while no indexer has created it yet.
  static Result<std::unique_ptr<SearchIndex>> Open(const std::string& dir);
  ~SearchIndex();
  // Ranked hits. Sees the indexer's last commit at the time of the call. `index_key` is the
  // tenant's (terms are its keyed digests); `keys` open the hits' sealed text.
  Result<SearchResult> Search(const SearchQuery& query, const privacy::Key& index_key, privacy::KeyRing& keys);

 private:
  struct Impl;
  explicit SearchIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ks::search
