#include "ks/eventlog/kafka_log.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <librdkafka/rdkafka.h>

#include "ks/core/ids.h"
#include "ks/core/log.h"

namespace ks::eventlog {
namespace {

constexpr int kMetadataTimeoutMs = 10000;

struct HandleDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using Handle = std::unique_ptr<rd_kafka_t, HandleDeleter>;

Status KafkaError(rd_kafka_resp_err_t err, std::string_view what) {
  return Unavailable("kafka {}: {}", what, rd_kafka_err2str(err));
}

// Builds a client configuration; any refused property is a programming error in this file or a
// bad value from options, reported as INVALID_ARGUMENT naming the property.
Result<rd_kafka_conf_t*> MakeConf(const std::vector<std::pair<std::string, std::string>>& props) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (const auto& [name, value] : props) {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return std::unexpected(InvalidArgument("kafka property {}={}: {}", name, value, err));
    }
  }
  return conf;
}

Result<Handle> NewConsumer(const std::vector<std::pair<std::string, std::string>>& props) {
  auto conf = MakeConf(props);
  if (!conf) return std::unexpected(conf.error());
  char err[512];
  Handle consumer(rd_kafka_new(RD_KAFKA_CONSUMER, *conf, err, sizeof err));
  if (!consumer) {
    rd_kafka_conf_destroy(*conf);
    return std::unexpected(Unavailable("kafka consumer: {}", err));
  }
  return consumer;
}

// The state of one AppendAsync call, shared by its records' delivery reports.
struct AppendState {
  std::vector<Position> positions;
  std::atomic<size_t> remaining;
  std::mutex error_mutex;
  Status error;
  AppendCallback done;

  explicit AppendState(size_t n, AppendCallback cb) : positions(n), remaining(n), done(std::move(cb)) {}

  void Fail(Status s) {
    std::lock_guard lock(error_mutex);
    if (error.ok()) error = std::move(s);
  }
  // Called once per record; the last one reports.
  void RecordDone() {
    if (remaining.fetch_sub(1) != 1) return;
    std::unique_ptr<AppendState> self(this);
    if (error.ok())
      done(std::move(positions));
    else
      done(std::unexpected(std::move(error)));
  }
};

struct RecordOpaque {
  AppendState* state;
  size_t index;
};

void OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* msg, void* /*conf_opaque*/) {
  auto* opaque = static_cast<RecordOpaque*>(msg->_private);
  AppendState* state = opaque->state;
  if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    state->Fail(KafkaError(msg->err, "append"));
  } else {
    state->positions[opaque->index] = {msg->partition, msg->offset};
  }
  delete opaque;
  state->RecordDone();
}

class KafkaReader final : public LogReader {
 public:
  explicit KafkaReader(Handle consumer) : consumer_(std::move(consumer)) {}
  ~KafkaReader() override { rd_kafka_consumer_close(consumer_.get()); }

  Result<std::vector<StoredRecord>> Poll(size_t max_records, std::chrono::milliseconds wait) override {
    std::vector<StoredRecord> out;
    int timeout_ms = static_cast<int>(wait.count());
    while (out.size() < max_records) {
      rd_kafka_message_t* msg = rd_kafka_consumer_poll(consumer_.get(), timeout_ms);
      if (msg == nullptr) break;
      timeout_ms = 0;  // only the first record is waited for
      std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> guard(msg, rd_kafka_message_destroy);
      if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
      if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        // Transient errors (a broker going away) are retried by librdkafka itself; fatal ones, and
        // a position the broker no longer has, are reported so that the owner stops rather than
        // silently skipping records.
        if (msg->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET || msg->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE)
          return std::unexpected(Status(StatusCode::kDataLoss,
                                        fmt::format("kafka read: partition {} has no offset {} any more ({})",
                                                    msg->partition, msg->offset, rd_kafka_message_errstr(msg))));
        if (msg->err == RD_KAFKA_RESP_ERR__FATAL || msg->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
          return std::unexpected(KafkaError(msg->err, "read"));
        log::Warn("eventlog", "kafka read: {} (retrying)", rd_kafka_message_errstr(msg));
        continue;
      }
      StoredRecord record;
      record.partition = msg->partition;
      record.offset = msg->offset;
      rd_kafka_timestamp_type_t ts_type;
      record.timestamp_ms = rd_kafka_message_timestamp(msg, &ts_type);
      if (msg->key != nullptr) record.key.assign(static_cast<const char*>(msg->key), msg->key_len);
      if (msg->payload != nullptr) record.value.assign(static_cast<const char*>(msg->payload), msg->len);
      out.push_back(std::move(record));
    }
    return out;
  }

 private:
  Handle consumer_;
};

class KafkaLog final : public EventLog {
 public:
  KafkaLog(Handle producer, KafkaLogOptions options, int32_t partitions)
      : producer_(std::move(producer)), options_(std::move(options)), partitions_(partitions) {
    poller_ = std::thread([this] {
      while (!stopping_.load()) rd_kafka_poll(producer_.get(), 50);
    });
  }

  ~KafkaLog() override {
    // Deliver what is queued before going away; anything not delivered in time is reported.
    rd_kafka_resp_err_t err = rd_kafka_flush(producer_.get(), options_.delivery_timeout_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) log::Warn("eventlog", "kafka flush on close: {}", rd_kafka_err2str(err));
    stopping_.store(true);
    poller_.join();
  }

  int32_t partition_count() const override { return partitions_; }
  std::string description() const override {
    return "kafka:" + options_.bootstrap_servers + "/" + options_.topic;
  }

  void AppendAsync(std::vector<Record> records, AppendCallback done) override {
    if (records.empty()) {
      done(std::vector<Position>{});
      return;
    }
    auto* state = new AppendState(records.size(), std::move(done));
    for (size_t i = 0; i < records.size(); ++i) {
      Record& record = records[i];
      auto* opaque = new RecordOpaque{state, i};
      rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
      // A full local queue is back-pressure, not failure: wait for deliveries to make room.
      for (int tries = 0; tries < 200; ++tries) {
        err = rd_kafka_producev(
            producer_.get(), RD_KAFKA_V_TOPIC(options_.topic.c_str()),
            RD_KAFKA_V_PARTITION(PartitionFor(record.key)),
            RD_KAFKA_V_KEY(record.key.data(), record.key.size()),
            RD_KAFKA_V_VALUE(record.value.data(), record.value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_TIMESTAMP(record.timestamp_ms), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        delete opaque;
        state->Fail(KafkaError(err, "enqueue"));
        state->RecordDone();
      }
    }
  }

  Result<std::vector<int64_t>> EndOffsets() override {
    // One ListOffsets("latest") for all partitions: the high watermark of each. Asked through
    // rd_kafka_offsets_for_times, which keeps to its timeout; rd_kafka_query_watermark_offsets
    // waits for the request's own timeout (socket.timeout.ms, a minute) when the brokers are away,
    // and a caller that waits on the end of the log must hear of an outage sooner.
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions_);
    for (int32_t p = 0; p < partitions_; ++p)
      rd_kafka_topic_partition_list_add(list, options_.topic.c_str(), p)->offset = RD_KAFKA_OFFSET_END;
    std::unique_ptr<rd_kafka_topic_partition_list_t, void (*)(rd_kafka_topic_partition_list_t*)> guard(
        list, rd_kafka_topic_partition_list_destroy);
    rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(producer_.get(), list, kMetadataTimeoutMs);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return std::unexpected(KafkaError(err, "end offsets"));
    std::vector<int64_t> ends(static_cast<size_t>(partitions_), -1);
    for (int i = 0; i < list->cnt; ++i) {
      const rd_kafka_topic_partition_t& tp = list->elems[i];
      if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR) return std::unexpected(KafkaError(tp.err, "end offsets"));
      if (tp.partition >= 0 && tp.partition < partitions_) ends[static_cast<size_t>(tp.partition)] = tp.offset;
    }
    for (int32_t p = 0; p < partitions_; ++p)
      if (ends[static_cast<size_t>(p)] < 0)
        return std::unexpected(Unavailable("kafka end offsets: no answer for partition {}", p));
    return ends;
  }

  // Found by binary search over the records' own timestamps rather than with the broker's
  // ListOffsets-by-time: librdkafka 2.0.2's mock cluster answers that with the end offset, and the
  // search gives the same answer on any broker with O(log n) single-record fetches per partition.
  Result<std::vector<int64_t>> OffsetsForTime(int64_t timestamp_ms) override {
    auto ends = EndOffsets();
    if (!ends) return std::unexpected(ends.error());
    auto made = NewConsumer({{"bootstrap.servers", options_.bootstrap_servers},
                             {"enable.partition.eof", "false"},
                             // Each probe wants one record now, not a full fetch later.
                             {"fetch.wait.max.ms", "10"},
                             {"queued.min.messages", "1"},
                             {"log_level", "4"}});
    if (!made) return std::unexpected(made.error());
    Handle consumer = std::move(*made);
    rd_kafka_topic_t* topic = rd_kafka_topic_new(consumer.get(), options_.topic.c_str(), nullptr);
    auto timestamp_at = [&](int32_t partition, int64_t offset) -> Result<int64_t> {
      if (rd_kafka_consume_start(topic, partition, offset) == -1)
        return std::unexpected(KafkaError(rd_kafka_last_error(), "seek"));
      rd_kafka_message_t* msg = rd_kafka_consume(topic, partition, kMetadataTimeoutMs);
      Result<int64_t> result = std::unexpected(Unavailable("kafka: no record at {}/{} within {} ms", partition,
                                                           offset, kMetadataTimeoutMs));
      if (msg != nullptr) {
        if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR)
          result = std::unexpected(KafkaError(msg->err, "read"));
        else
          result = rd_kafka_message_timestamp(msg, nullptr);
        rd_kafka_message_destroy(msg);
      }
      rd_kafka_consume_stop(topic, partition);
      return result;
    };
    std::vector<int64_t> result(ends->size());
    Status failure;
    for (int32_t p = 0; p < partitions_ && failure.ok(); ++p) {
      int64_t low = 0;
      int64_t high = (*ends)[static_cast<size_t>(p)];
      int64_t watermark_high = 0;
      rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(consumer.get(), options_.topic.c_str(), p, &low,
                                                               &watermark_high, kMetadataTimeoutMs);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        failure = KafkaError(e, "watermarks");
        break;
      }
      // The usual cases first: the whole partition is after the time (a replay from before the
      // history), or before it.
      if (low < high) {
        auto first = timestamp_at(p, low);
        if (!first) {
          failure = first.error();
          break;
        }
        if (*first >= timestamp_ms) high = low;
      }
      if (low < high) {
        auto last = timestamp_at(p, high - 1);
        if (!last) {
          failure = last.error();
          break;
        }
        if (*last < timestamp_ms) low = high;
      }
      while (low < high) {
        const int64_t mid = low + (high - low) / 2;
        auto ts = timestamp_at(p, mid);
        if (!ts) {
          failure = ts.error();
          break;
        }
        if (*ts < timestamp_ms)
          low = mid + 1;
        else
          high = mid;
      }
      result[static_cast<size_t>(p)] = low;
    }
    rd_kafka_topic_destroy(topic);
    if (!failure.ok()) return std::unexpected(failure);
    return result;
  }

  Result<std::unique_ptr<LogReader>> OpenReader(const std::vector<int64_t>& start_offsets) override {
    if (start_offsets.size() != static_cast<size_t>(partitions_))
      return std::unexpected(InvalidArgument("start_offsets: has {} entries, the topic has {} partitions",
                                             start_offsets.size(), partitions_));
    // A group id is required by the client but never joined or committed: positions are kept by
    // the reader's owner, next to the state they produce.
    auto made = NewConsumer({{"bootstrap.servers", options_.bootstrap_servers},
                          {"group.id", "klantstroom-reader-" + NewTimeOrderedId()},
                          {"enable.auto.commit", "false"},
                          {"enable.auto.offset.store", "false"},
                          {"enable.partition.eof", "false"},
                          // A position the broker no longer has (retention) is an error to report,
                          // never a silent jump: the owner's state would miss events.
                          {"auto.offset.reset", "error"},
                          {"fetch.wait.max.ms", std::to_string(options_.fetch_wait_max_ms)},
                          {"fetch.error.backoff.ms", "50"},
                          {"log_level", "4"}});
    if (!made) return std::unexpected(made.error());
    Handle consumer = std::move(*made);
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions_);
    for (int32_t p = 0; p < partitions_; ++p)
      rd_kafka_topic_partition_list_add(list, options_.topic.c_str(), p)->offset = start_offsets[static_cast<size_t>(p)];
    rd_kafka_resp_err_t assign_err = rd_kafka_assign(consumer.get(), list);
    rd_kafka_topic_partition_list_destroy(list);
    if (assign_err != RD_KAFKA_RESP_ERR_NO_ERROR) return std::unexpected(KafkaError(assign_err, "assign"));
    return std::make_unique<KafkaReader>(std::move(consumer));
  }

 private:
  Handle producer_;
  const KafkaLogOptions options_;
  const int32_t partitions_;
  std::atomic<bool> stopping_{false};
  std::thread poller_;
};

// Creates the topic when it does not exist yet; an existing topic is left as it is.
Status EnsureTopic(rd_kafka_t* rk, const KafkaLogOptions& options) {
  char err[512];
  rd_kafka_NewTopic_t* topic = rd_kafka_NewTopic_new(options.topic.c_str(), options.partitions,
                                                     options.replication_factor, err, sizeof err);
  if (topic == nullptr) return InvalidArgument("kafka topic {}: {}", options.topic, err);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &topic, 1, nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, kMetadataTimeoutMs);
  Status status;
  if (event == nullptr) {
    status = Unavailable("kafka {}: no answer to CreateTopics within {} ms", options.bootstrap_servers,
                         kMetadataTimeoutMs);
  } else {
    const rd_kafka_CreateTopics_result_t* result = rd_kafka_event_CreateTopics_result(event);
    size_t count = 0;
    const rd_kafka_topic_result_t** results =
        result != nullptr ? rd_kafka_CreateTopics_result_topics(result, &count) : nullptr;
    if (rd_kafka_event_error(event) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = KafkaError(rd_kafka_event_error(event), "create topic " + options.topic);
    } else if (count == 1) {
      rd_kafka_resp_err_t topic_err = rd_kafka_topic_result_error(results[0]);
      if (topic_err != RD_KAFKA_RESP_ERR_NO_ERROR && topic_err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        status = KafkaError(topic_err, "create topic " + options.topic);
    }
    rd_kafka_event_destroy(event);
  }
  rd_kafka_queue_destroy(queue);
  rd_kafka_NewTopic_destroy(topic);
  return status;
}

Result<int32_t> PartitionCount(rd_kafka_t* rk, const std::string& topic_name) {
  // All topics are listed rather than the one asked for: a broker that creates topics on demand
  // would otherwise create it just by being asked.
  const rd_kafka_metadata_t* metadata = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, nullptr, &metadata, kMetadataTimeoutMs);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return std::unexpected(KafkaError(err, "metadata"));
  int32_t count = 0;
  rd_kafka_resp_err_t topic_err = RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
  for (int i = 0; i < metadata->topic_cnt; ++i)
    if (topic_name == metadata->topics[i].topic) {
      count = metadata->topics[i].partition_cnt;
      topic_err = metadata->topics[i].err;
    }
  rd_kafka_metadata_destroy(metadata);
  if (topic_err != RD_KAFKA_RESP_ERR_NO_ERROR) return std::unexpected(KafkaError(topic_err, "topic " + topic_name));
  if (count <= 0) return std::unexpected(Unavailable("kafka topic {} has no partitions", topic_name));
  return count;
}

}  // namespace

Result<std::unique_ptr<EventLog>> OpenKafkaLog(const KafkaLogOptions& options) {
  if (options.bootstrap_servers.empty())
    return std::unexpected(InvalidArgument("kafka bootstrap servers: must not be empty"));
  auto conf = MakeConf({{"bootstrap.servers", options.bootstrap_servers},
                        {"enable.idempotence", "true"},
                        {"acks", "all"},
                        {"linger.ms", std::to_string(options.linger_ms)},
                        {"delivery.timeout.ms", std::to_string(options.delivery_timeout_ms)},
                        {"partitioner", "murmur2_random"},
                        {"log_level", "4"}});
  if (!conf) return std::unexpected(conf.error());
  rd_kafka_conf_set_dr_msg_cb(*conf, OnDelivery);
  char err[512];
  Handle producer(rd_kafka_new(RD_KAFKA_PRODUCER, *conf, err, sizeof err));
  if (!producer) {
    rd_kafka_conf_destroy(*conf);
    return std::unexpected(Unavailable("kafka producer: {}", err));
  }
  // Look before creating: a topic that exists is used as it is (its partition count wins).
  auto partitions = PartitionCount(producer.get(), options.topic);
  if (!partitions && !options.create_topic)
    return std::unexpected(NotFound("kafka {}: there is no topic {} ({})", options.bootstrap_servers, options.topic,
                                    partitions.error().message()));
  if (!partitions) {
    if (Status s = EnsureTopic(producer.get(), options); !s.ok()) return std::unexpected(s);
    partitions = PartitionCount(producer.get(), options.topic);
  }
  if (!partitions) return std::unexpected(partitions.error());
  log::Info("eventlog", "kafka {} topic {}: {} partitions", options.bootstrap_servers, options.topic, *partitions);
  return std::make_unique<KafkaLog>(std::move(producer), options, *partitions);
}

}  // namespace ks::eventlog
