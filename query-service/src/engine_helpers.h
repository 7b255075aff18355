// Helpers shared by the query engine's source files (not part of its interface).
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <google/protobuf/util/time_util.h>

#include "klantstroom/v1/query_service.pb.h"
#include "ks/core/status.h"
#include "ks/domain/validation.h"
#include "ks/privacy/sealing.h"
#include "ks/readmodel/keys.h"
#include "ks/readmodel/store.h"

namespace ks::query::internal {

namespace pb = ::klantstroom::v1;
using readmodel::ReadView;

inline Status CheckTenant(const std::string& tenant) {
  if (!domain::IsValidTenant(tenant))
    return InvalidArgument("tenant: must be 1-63 characters of a-z, 0-9 and '-' (got '{}')", tenant.substr(0, 64));
  return Status::Ok();
}

// The record read at `key` from `bytes`. With `keys`, its personal data is opened (for answers
// that show it); once erased, it is marked so. Without, it stays sealed (for counting, as the KPIs do).
template <typename Message>
inline Result<Message> ParseRecord(const std::string& bytes, const std::string& key, privacy::KeyRing* keys) {
  Message message;
  if (!message.ParseFromString(bytes))
    return std::unexpected(Status(StatusCode::kDataLoss, fmt::format("read model record at {} does not parse", key)));
  if constexpr (requires { message.personal_data(); }) {
    if (keys != nullptr) {
      auto opened = privacy::OpenRecord(message, *keys);
      if (!opened) return std::unexpected(opened.error());
      if constexpr (requires { message.set_personal_data_erased(true); })
        if (*opened == privacy::Opened::kErased) message.set_personal_data_erased(true);
    }
  }
  return message;
}

// The record at `key` (ParseRecord); std::nullopt when there is none.
template <typename Message>
inline Result<std::optional<Message>> GetRecord(const ReadView& view, const std::string& key,
                                                privacy::KeyRing* keys = nullptr) {
  auto bytes = view.Get(key);
  if (!bytes) return std::unexpected(bytes.error());
  if (!bytes->has_value()) return std::optional<Message>();
  auto record = ParseRecord<Message>(**bytes, key, keys);
  if (!record) return std::unexpected(record.error());
  return std::optional<Message>(std::move(*record));
}

// The records at `keys` in their order, read in one batch (a page of a list); std::nullopt where
// there is none.
template <typename Message>
inline Result<std::vector<std::optional<Message>>> GetRecords(const ReadView& view, const std::vector<std::string>& keys,
                                                              privacy::KeyRing* ring = nullptr) {
  auto values = view.MultiGet(keys);
  if (!values) return std::unexpected(values.error());
  std::vector<std::optional<Message>> records(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!(*values)[i].has_value()) continue;
    auto record = ParseRecord<Message>(*(*values)[i], keys[i], ring);
    if (!record) return std::unexpected(record.error());
    records[i].emplace(std::move(*record));
  }
  return records;
}

// A page of a list: reads the records at key_of(0), key_of(1), ... key_of(count - 1) in that
// order, in batches (GetRecords), and hands each that exists to `take(position, record)` until
// `wanted` were taken or every position was read. Returns the number of positions read: where a
// next page starts. A batch asks for as many as are still wanted (at most kMaxBatch), so a page
// of 50 is one batch unless records are missing.
template <typename Message, typename KeyOf, typename Take>
inline Result<size_t> ReadPage(const ReadView& view, size_t count, size_t wanted, KeyOf&& key_of, Take&& take,
                               privacy::KeyRing* ring) {
  constexpr size_t kMaxBatch = 256;  // what a batch holds in memory at once
  size_t taken = 0;
  size_t next = 0;
  while (taken < wanted && next < count) {
    const size_t end = std::min({count, next + (wanted - taken), next + kMaxBatch});
    std::vector<std::string> keys;
    keys.reserve(end - next);
    for (size_t i = next; i < end; ++i) keys.push_back(key_of(i));
    auto records = GetRecords<Message>(view, keys, ring);
    if (!records) return std::unexpected(records.error());
    for (size_t i = next; i < end; ++i) {
      std::optional<Message>& record = (*records)[i - next];
      if (!record) continue;
      if (Status s = take(i, std::move(*record)); !s.ok()) return std::unexpected(s);
      ++taken;
    }
    next = end;
  }
  return next;
}

// Appends the records at key_of(0) ... key_of(count - 1) that exist to `out`, in that order,
// opened with `ring` (ReadPage: in batches).
template <typename Message, typename KeyOf>
inline Status AppendRecords(const ReadView& view, size_t count, KeyOf&& key_of, privacy::KeyRing& ring,
                            google::protobuf::RepeatedPtrField<Message>* out) {
  auto read = ReadPage<Message>(
      view, count, count, key_of,
      [&](size_t, Message&& record) {
        *out->Add() = std::move(record);
        return Status::Ok();
      },
      &ring);
  return read ? Status::Ok() : read.error();
}

// Of the records at key_of(0) ... key_of(ids.size() - 1), the ids of the `wanted` placed first by
// `place_of(record, position)` (a value ordered by <), in that order. For lists whose index says
// nothing of the order they are shown in: the records are read in batches without opening their
// personal data, and only their places are kept, so the caller opens only those it lists.
template <typename Message, typename KeyOf, typename PlaceOf>
inline Result<std::vector<std::string>> FirstPlaced(const ReadView& view, const std::vector<std::string>& ids,
                                                    KeyOf&& key_of, size_t wanted, PlaceOf&& place_of) {
  using Place = decltype(place_of(std::declval<const Message&>(), size_t{0}));
  std::vector<std::pair<Place, size_t>> places;
  places.reserve(ids.size());
  auto read = ReadPage<Message>(
      view, ids.size(), ids.size(), key_of,
      [&](size_t i, Message&& record) {
        places.emplace_back(place_of(record, i), i);
        return Status::Ok();
      },
      /*ring=*/nullptr);
  if (!read) return std::unexpected(read.error());
  const size_t first = std::min(places.size(), wanted);
  std::partial_sort(places.begin(), places.begin() + static_cast<std::ptrdiff_t>(first), places.end());
  std::vector<std::string> out;
  out.reserve(first);
  for (size_t i = 0; i < first; ++i) out.push_back(ids[places[i].second]);
  return out;
}

// Orders a list by a time (`time_of`, in the unit its index keeps: milliseconds, or microseconds
// for a conversation's turns), newest or oldest first, and records of the same time in the order
// they arrived (when the command service recorded them). An index breaks such a tie by id, which
// says nothing of arrival, and ties are common: adapters often give whole seconds (a chat's two
// quick messages, a melding's status updates of one batch). Records folded before their recorded
// time was kept count as recorded first among their ties. For a list read in index order (a page
// of contacts) only ties move, and only within the list given.
template <typename Record, typename TimeOf, typename ArrivalOf>
inline void OrderByTimeThenArrival(google::protobuf::RepeatedPtrField<Record>* records, TimeOf time_of,
                                   ArrivalOf arrival_of, bool newest_first) {
  auto key = [&](const Record& r) { return std::pair{static_cast<int64_t>(time_of(r)), arrival_of(r)}; };
  // Usually a list is strictly in time order already (no two share a time): then the sort would
  // move nothing, and is skipped (its moves of 50 records showed in the customer view's profile).
  bool strictly_ordered = true;
  for (int i = 1; i < records->size() && strictly_ordered; ++i) {
    const int64_t before = time_of(records->Get(i - 1)), after = time_of(records->Get(i));
    strictly_ordered = newest_first ? before > after : before < after;
  }
  if (strictly_ordered) return;
  std::stable_sort(records->begin(), records->end(), [&](const Record& a, const Record& b) {
    return newest_first ? key(a) > key(b) : key(a) < key(b);
  });
}

// The same, arrival being when the record's creation was recorded (`recorded_at`; unset, in
// records folded before it was kept, it reads as 0).
template <typename Record, typename TimeOf>
inline void OrderByTimeThenArrival(google::protobuf::RepeatedPtrField<Record>* records, TimeOf time_of,
                                   bool newest_first) {
  OrderByTimeThenArrival(
      records, time_of,
      [](const Record& r) { return google::protobuf::util::TimeUtil::TimestampToMicroseconds(r.recorded_at()); },
      newest_first);
}

// The times a party timeline (milliseconds) and a conversation's turns (microseconds) order by.
inline int64_t OccurredMs(const pb::InteractionRecord& r) {
  return google::protobuf::util::TimeUtil::TimestampToMilliseconds(r.occurred_at());
}
inline int64_t OccurredUs(const pb::InteractionRecord& r) {
  return google::protobuf::util::TimeUtil::TimestampToMicroseconds(r.occurred_at());
}

// The ids at the end of the keys under `prefix`, at most `max`; a scan error goes to `status`.
inline std::vector<std::string> IdsUnder(const ReadView& view, const std::string& prefix, size_t max, Status* status) {
  std::vector<std::string> ids;
  *status = Status::Ok();
  if (max == 0) return ids;
  *status = view.Scan(prefix, "", [&](std::string_view key, std::string_view) {
    ids.emplace_back(readmodel::keys::LastPart(key));
    return ids.size() < max;
  });
  return ids;
}

// The ids under the prefix `prefix_of(member)` of each of `members` (a party and its merged
// duplicates), in that order, at most `max` in all; a scan error goes to `status`.
template <typename PrefixOf>
inline std::vector<std::string> IdsOfMembers(const ReadView& view, const std::vector<std::string>& members,
                                             PrefixOf&& prefix_of, size_t max, Status* status) {
  std::vector<std::string> ids;
  *status = Status::Ok();
  for (const std::string& member : members) {
    if (ids.size() >= max) break;
    for (std::string& id : IdsUnder(view, prefix_of(member), max - ids.size(), status)) ids.push_back(std::move(id));
    if (!status->ok()) break;
  }
  return ids;
}

// The notifications about a subject (a melding, an appointment) in the order of `when` (in
// milliseconds), oldest first, and then of arrival. Their index is by id: of more than 200, the
// latest 200 by `when` are listed, chosen (FirstPlaced) from at most 10,000.
template <typename When>
inline Result<google::protobuf::RepeatedPtrField<pb::NotificationRecord>> SubjectNotifications(
    const ReadView& view, const std::string& tenant, const std::string& subject_id, When when,
    privacy::KeyRing& key_ring) {
  constexpr size_t kListed = 200;
  constexpr size_t kRead = 10'000;
  Status scanned;
  std::vector<std::string> ids = IdsUnder(view, readmodel::keys::SubjectNotificationsPrefix(tenant, subject_id), kRead, &scanned);
  if (!scanned.ok()) return std::unexpected(scanned);
  auto key_of = [&](size_t i) { return readmodel::keys::Notification(tenant, ids[i]); };
  if (ids.size() > kListed) {
    auto latest = FirstPlaced<pb::NotificationRecord>(view, ids, key_of, kListed, [&](const pb::NotificationRecord& n, size_t) {
      return std::pair{-static_cast<int64_t>(when(n)),
                       -google::protobuf::util::TimeUtil::TimestampToMicroseconds(n.recorded_at())};
    });
    if (!latest) return std::unexpected(latest.error());
    ids = std::move(*latest);
  }
  google::protobuf::RepeatedPtrField<pb::NotificationRecord> out;
  if (Status s = AppendRecords(view, ids.size(), key_of, key_ring, &out); !s.ok()) return std::unexpected(s);
  OrderByTimeThenArrival(&out, when, /*newest_first=*/false);
  return out;
}

// Adds the conversations and appointments of `members` (a party and its merged duplicates) to a
// customer view: conversations newest first, appointments coming ones first (engagement_queries.cc).
Status AddEngagements(const ReadView& view, const std::string& tenant, const std::vector<std::string>& members,
                      privacy::KeyRing& key_ring, int64_t now_ms, pb::CustomerView& out);

inline Status AddReflects(const ReadView& view, google::protobuf::RepeatedPtrField<pb::PartitionProgress>* out) {
  auto progress = view.ReadProgress();
  if (!progress) return progress.error();
  for (const auto& [partition, next] : *progress) {
    auto* p = out->Add();
    p->set_partition(partition);
    p->set_next_offset(next);
  }
  return Status::Ok();
}

}  // namespace ks::query::internal
