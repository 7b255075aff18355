#include "ks/eventlog/event_log.h"

#include <algorithm>
#include <future>

namespace ks::eventlog {

Result<std::vector<Position>> EventLog::Append(std::vector<Record> records) {
  std::promise<Result<std::vector<Position>>> promise;
  auto future = promise.get_future();
  AppendAsync(std::move(records), [&promise](Result<std::vector<Position>> result) {
    promise.set_value(std::move(result));
  });
  return future.get();
}

Status ReadUntil(EventLog& log, const std::vector<int64_t>& start_offsets,
                 const std::vector<int64_t>& end_offsets,
                 const std::function<Status(const StoredRecord&)>& visit, std::chrono::milliseconds patience) {
  std::vector<int64_t> next = start_offsets;
  auto remaining = [&] {
    for (size_t p = 0; p < next.size(); ++p)
      if (next[p] < end_offsets[p]) return true;
    return false;
  };
  if (!remaining()) return Status::Ok();
  auto reader = log.OpenReader(start_offsets);
  if (!reader) return reader.error();
  const std::chrono::milliseconds poll_wait = std::min(patience, std::chrono::milliseconds(200));
  auto silent_since = std::chrono::steady_clock::now();
  while (remaining()) {
    auto batch = (*reader)->Poll(4096, poll_wait);
    if (!batch) return batch.error();
    if (batch->empty()) {
      // The end offsets were read before; records below them exist, so a long silence means the
      // log lost them (Kafka retention) or cannot be reached.
      if (std::chrono::steady_clock::now() - silent_since >= patience)
        return Unavailable("event log {}: records below the end offsets did not arrive within {} ms",
                           log.description(), patience.count());
      continue;
    }
    silent_since = std::chrono::steady_clock::now();
    for (const StoredRecord& record : *batch) {
      auto p = static_cast<size_t>(record.partition);
      if (record.offset < next[p] || record.offset >= end_offsets[p]) continue;
      next[p] = record.offset + 1;
      if (Status s = visit(record); !s.ok()) return s;
    }
  }
  return Status::Ok();
}

}  // namespace ks::eventlog
