// Search over all communication, answered from the projector's Xapian index (libs/search).
#include <charconv>

#include <google/protobuf/util/time_util.h>

#include "ks/query/query_engine.h"
#include "src/engine_helpers.h"

namespace ks::query {
namespace {

using google::protobuf::util::TimeUtil;

constexpr int kDefaultHits = 20;
constexpr int kMaxHits = 200;
constexpr size_t kMaxTextBytes = 1000;

}  // namespace

Result<pb::SearchReply> QueryEngine::Search(const pb::SearchRequest& request,
                                            std::optional<std::vector<std::string>> visible_teams) const {
  if (Status s = internal::CheckTenant(request.tenant()); !s.ok()) return std::unexpected(s);
  if (request.text().find_first_not_of(" \t\r\n") == std::string::npos)
    return std::unexpected(InvalidArgument("text: is required (the words to find)"));
  if (request.text().size() > kMaxTextBytes)
    return std::unexpected(InvalidArgument("text: at most {} bytes", kMaxTextBytes));
  if (!pb::Channel_IsValid(request.channel()))
    return std::unexpected(InvalidArgument("channel: {} is not a known channel", request.channel()));
  if (request.page_size() < 0 || request.page_size() > kMaxHits)
    return std::unexpected(InvalidArgument("page_size: must be 0 to {}", kMaxHits));
  size_t offset = 0;
  if (!request.page_token().empty()) {
    const std::string& token = request.page_token();
    auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), offset);
    if (ec != std::errc() || ptr != token.data() + token.size() || offset > 100'000)
      return std::unexpected(InvalidArgument("page_token: not a token this service gave"));
  }
  search::SearchQuery query;
  query.tenant = request.tenant();
  query.text = request.text();
  query.channel = request.channel();
  query.party_id = request.party_id();
  if (request.has_from()) query.from_ms = TimeUtil::TimestampToMilliseconds(request.from());
  if (request.has_to()) query.to_ms = TimeUtil::TimestampToMilliseconds(request.to());
  if (query.to_ms != 0 && query.to_ms <= query.from_ms) return std::unexpected(InvalidArgument("to: must be after from"));
  query.visible_teams = std::move(visible_teams);
  query.offset = offset;
  query.limit = request.page_size() == 0 ? kDefaultHits : static_cast<size_t>(request.page_size());

  std::lock_guard lock(search_mutex_);
  if (!search_) {
    if (search_dir_.empty()) return std::unexpected(Unavailable("search: this query service has no search index"));
    auto opened = search::SearchIndex::Open(search_dir_);
    if (!opened) return std::unexpected(Unavailable("search: {}", opened.error().message()));
    search_ = std::move(*opened);
  }
  auto index_key = vault_.IndexKey(request.tenant());
  if (!index_key) return std::unexpected(index_key.error());
  privacy::KeyRing key_ring(&vault_);
  auto found = search_->Search(query, *index_key, key_ring);
  if (!found) return std::unexpected(found.error());
  pb::SearchReply reply;
  reply.set_total_estimate(static_cast<int64_t>(found->total_estimate));
  for (const search::SearchHit& h : found->hits) {
    pb::SearchHit* hit = reply.add_hits();
    hit->set_kind(h.kind);
    hit->set_id(h.id);
    hit->set_party_id(h.party_id);
    hit->set_channel(static_cast<pb::Channel>(h.channel));
    *hit->mutable_occurred_at() = TimeUtil::MillisecondsToTimestamp(h.occurred_ms);
    hit->set_text(h.text);
    for (const std::string& t : h.topics) hit->add_topics(t);
    hit->set_score(h.score);
  }
  if (offset + found->hits.size() < found->total_estimate && found->hits.size() == query.limit)
    reply.set_next_page_token(std::to_string(offset + found->hits.size()));
  return reply;
}

}  // namespace ks::query
