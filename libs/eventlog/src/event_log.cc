#include "ks/eventlog/event_log.h"

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
                 const std::function<Status(const StoredRecord&)>& visit) {
  std::vector<int64_t> next = start_offsets;
  auto remaining = [&] {
    for (size_t p = 0; p < next.size(); ++p)
      if (next[p] < end_offsets[p]) return true;
    return false;
  };
  if (!remaining()) return Status::Ok();
  auto reader = log.OpenReader(start_offsets);
  if (!reader) return reader.error();
  int idle_polls = 0;
  while (remaining()) {
    auto batch = (*reader)->Poll(4096, std::chrono::milliseconds(200));
    if (!batch) return batch.error();
    if (batch->empty()) {
      // The end offsets were read before; records below them exist, so a long silence means the
      // log lost them (Kafka retention) or cannot be reached.
      if (++idle_polls > 150)
        return Unavailable("event log {}: records below the end offsets did not arrive within 30 s",
                           log.description());
      continue;
    }
    idle_polls = 0;
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
