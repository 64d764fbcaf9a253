#include "orderflow/messaging/topic_browser.h"

#include <algorithm>
#include <map>

#include "rdkafka_handles.h"

namespace orderflow::messaging {

namespace {

using Clock = std::chrono::steady_clock;
using detail::remaining_ms;

using Partitioner = int32_t (*)(const rd_kafka_topic_t*, const void*, size_t, int32_t, void*,
                                void*);

// librdkafka's built-in partitioners by their `partitioner` property value.
Result<Partitioner> partitioner_of(const KafkaConfig& config) {
  static const std::map<std::string, Partitioner> kByName = {
      {"random", rd_kafka_msg_partitioner_random},
      {"consistent", rd_kafka_msg_partitioner_consistent},
      {"consistent_random", rd_kafka_msg_partitioner_consistent_random},
      {"murmur2", rd_kafka_msg_partitioner_murmur2},
      {"murmur2_random", rd_kafka_msg_partitioner_murmur2_random},
      {"fnv1a", rd_kafka_msg_partitioner_fnv1a},
      {"fnv1a_random", rd_kafka_msg_partitioner_fnv1a_random}};
  std::string name = "consistent_random";  // librdkafka's default
  if (auto it = config.properties.find("partitioner"); it != config.properties.end()) {
    name = it->second;
  }
  if (auto it = config.producer_properties.find("partitioner");
      it != config.producer_properties.end()) {
    name = it->second;
  }
  auto found = kByName.find(name);
  if (found == kByName.end()) {
    return invalid_input("UNKNOWN_PARTITIONER", "partitioner " + name + " is not librdkafka's");
  }
  return found->second;
}

Error broker_error(const std::string& what, rd_kafka_resp_err_t err) {
  return unavailable(err == RD_KAFKA_RESP_ERR__TIMED_OUT ? "KAFKA_TIMEOUT"
                     : detail::authorization_failed(err) ? detail::kAuthorizationFailed
                                                         : "KAFKA_ERROR",
                     what + ": " + rd_kafka_err2str(err));
}

BrowsedRecord to_record(const rd_kafka_message_t& m) {
  BrowsedRecord r;
  r.topic = rd_kafka_topic_name(m.rkt);
  r.partition = m.partition;
  r.offset = m.offset;
  rd_kafka_timestamp_type_t type;
  r.timestamp_ms = rd_kafka_message_timestamp(&m, &type);
  if (m.key != nullptr) r.key.emplace(static_cast<const char*>(m.key), m.key_len);
  if (m.payload != nullptr) r.value.assign(static_cast<const char*>(m.payload), m.len);
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(&m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    for (size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      r.headers.push_back(
          {name, value != nullptr ? std::string(static_cast<const char*>(value), size) : ""});
    }
  }
  return r;
}

}  // namespace

struct TopicBrowser::Impl {
  KafkaConfig config;
  detail::Handle rk;  // a consumer that never joins its group (assign() only); also metadata

  Result<rd_kafka_t*> client() {
    if (!rk) {
      try {
        rk = detail::make_client(config, detail::ClientRole::kAssigned, config.client_id);
      } catch (const std::exception& e) {
        return invalid_input("KAFKA_CONFIG", e.what());
      }
    }
    return rk.get();
  }

  // Every topic's metadata: asking for all (rather than one by name) never makes a broker with
  // auto.create.topics.enable create the topic asked about.
  Result<detail::Metadata> metadata(Clock::time_point deadline) {
    auto handle = client();
    if (!handle) return handle.error();
    const rd_kafka_metadata_t* raw = nullptr;
    auto err = rd_kafka_metadata(*handle, 1, nullptr, &raw, remaining_ms(deadline));
    if (err) return broker_error("cluster metadata", err);
    return detail::Metadata(raw);
  }

  // The partition count of `topic`; kNotFound UNKNOWN_TOPIC.
  Result<int> partitions(const std::string& topic, Clock::time_point deadline) {
    auto meta = metadata(deadline);
    if (!meta) return meta.error();
    for (int i = 0; i < (*meta)->topic_cnt; ++i) {
      const auto& t = (*meta)->topics[i];
      if (topic == t.topic && t.err == RD_KAFKA_RESP_ERR_NO_ERROR) return t.partition_cnt;
    }
    return not_found("UNKNOWN_TOPIC", "no topic " + topic);
  }

  Result<PartitionRange> watermarks(const std::string& topic, int partition,
                                    Clock::time_point deadline) {
    PartitionRange range{partition, 0, 0};
    auto err = rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), partition, &range.begin,
                                                &range.end, remaining_ms(deadline));
    if (err) return broker_error("offsets of " + topic + "/" + std::to_string(partition), err);
    return range;
  }

  Result<PartitionRange> range(const std::string& topic, int partition,
                               Clock::time_point deadline) {
    auto count = partitions(topic, deadline);
    if (!count) return count.error();
    if (partition < 0 || partition >= *count) {
      return not_found("UNKNOWN_PARTITION",
                       "topic " + topic + " has partitions 0.." + std::to_string(*count - 1));
    }
    return watermarks(topic, partition, deadline);
  }
};

TopicBrowser::TopicBrowser(KafkaConfig config) : impl_(std::make_unique<Impl>()) {
  impl_->config = std::move(config);
  if (impl_->config.client_id.empty()) impl_->config.client_id = "orderflow-topic-browser";
}

TopicBrowser::~TopicBrowser() = default;

Result<std::vector<TopicInfo>> TopicBrowser::topics(std::chrono::milliseconds timeout) {
  std::lock_guard lock(mutex_);
  const auto deadline = Clock::now() + timeout;
  auto meta = impl_->metadata(deadline);
  if (!meta) return meta.error();
  std::vector<TopicInfo> out;
  for (int i = 0; i < (*meta)->topic_cnt; ++i) {
    const auto& t = (*meta)->topics[i];
    std::string name = t.topic;
    if (name.starts_with("__") || t.err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    TopicInfo info{name, {}};
    for (int p = 0; p < t.partition_cnt; ++p) info.partitions.push_back({t.partitions[p].id, 0, 0});
    std::sort(info.partitions.begin(), info.partitions.end(),
              [](const auto& a, const auto& b) { return a.partition < b.partition; });
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  // Both ends of every partition in two ListOffsets rounds (one request per leader each) rather
  // than two requests per partition: a shared cluster has hundreds of partitions.
  for (auto logical : {RD_KAFKA_OFFSET_BEGINNING, RD_KAFKA_OFFSET_END}) {
    detail::PartitionList list(rd_kafka_topic_partition_list_new(1));
    for (const auto& topic : out) {
      for (const auto& p : topic.partitions) {
        rd_kafka_topic_partition_list_add(list.get(), topic.name.c_str(), p.partition)->offset =
            logical;
      }
    }
    if (list->cnt == 0) break;
    auto err = rd_kafka_offsets_for_times(impl_->rk.get(), list.get(), remaining_ms(deadline));
    if (err) return broker_error("partition offsets", err);
    std::size_t next = 0;
    for (auto& topic : out) {
      for (auto& p : topic.partitions) {
        const auto& answer = list->elems[next++];
        if (answer.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
          return broker_error("offsets of " + topic.name + "/" + std::to_string(p.partition),
                              answer.err);
        }
        (logical == RD_KAFKA_OFFSET_BEGINNING ? p.begin : p.end) = answer.offset;
      }
    }
  }
  return out;
}

Result<PartitionRange> TopicBrowser::range(const std::string& topic, int partition,
                                           std::chrono::milliseconds timeout) {
  std::lock_guard lock(mutex_);
  return impl_->range(topic, partition, Clock::now() + timeout);
}

Result<std::vector<BrowsedRecord>> TopicBrowser::read(const std::string& topic, int partition,
                                                      std::int64_t offset, std::int64_t limit,
                                                      std::chrono::milliseconds timeout,
                                                      const std::optional<std::string>& only_key) {
  std::lock_guard lock(mutex_);
  const auto deadline = Clock::now() + timeout;
  auto range = impl_->range(topic, partition, deadline);
  if (!range) return range.error();
  if (offset < range->begin || offset > range->end) {
    return invalid_input("OFFSET_OUT_OF_RANGE", "offset " + std::to_string(offset) +
                                                    " is outside " + std::to_string(range->begin) +
                                                    ".." + std::to_string(range->end));
  }
  std::vector<BrowsedRecord> out;
  const std::int64_t stop = std::min(range->end, offset + std::max<std::int64_t>(0, limit));
  if (offset >= stop) return out;
  rd_kafka_t* rk = impl_->rk.get();
  // What an earlier read of this partition left queued (its end-of-partition event) would end
  // this one before it started.
  while (detail::Message(rd_kafka_consumer_poll(rk, 0))) {
  }
  detail::PartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = offset;
  if (auto err = rd_kafka_assign(rk, list.get()); err) return broker_error("assign", err);
  std::optional<Error> failed;
  std::string last_error;
  while (true) {
    if (Clock::now() >= deadline) {
      failed = unavailable("KAFKA_TIMEOUT", "records of " + topic + "/" +
                                                std::to_string(partition) + " from offset " +
                                                std::to_string(offset) + " did not arrive in time" +
                                                (last_error.empty() ? "" : ": " + last_error));
      break;
    }
    detail::Message m(rd_kafka_consumer_poll(rk, std::min(remaining_ms(deadline), 100)));
    if (!m) continue;
    // Left from an earlier read, after its partition was unassigned.
    if (m->rkt == nullptr || topic != rd_kafka_topic_name(m->rkt) || m->partition != partition) {
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) break;
    if (m->err) {
      // Refused by the ACLs (no READ on the topic): waiting for the timeout would not help.
      if (detail::authorization_failed(m->err)) {
        failed = broker_error("records of " + topic + "/" + std::to_string(partition), m->err);
        break;
      }
      last_error = rd_kafka_message_errstr(m.get());  // may pass (a broker reconnecting)
      continue;
    }
    if (m->offset < offset) continue;
    if (m->offset >= stop) break;
    auto record = to_record(*m);
    if (!only_key || record.key == only_key) out.push_back(std::move(record));
    if (m->offset + 1 >= stop) break;
  }
  rd_kafka_assign(rk, nullptr);
  if (failed) return *failed;
  return out;
}

Result<int> TopicBrowser::partition_for_key(const std::string& topic, const std::string& key,
                                            std::chrono::milliseconds timeout) {
  std::lock_guard lock(mutex_);
  auto partitioner = partitioner_of(impl_->config);
  if (!partitioner) return partitioner.error();
  auto count = impl_->partitions(topic, Clock::now() + timeout);
  if (!count) return count.error();
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(impl_->rk.get(), topic.c_str(), nullptr);
  int partition = (*partitioner)(rkt, key.data(), key.size(), *count, nullptr, nullptr);
  rd_kafka_topic_destroy(rkt);
  return partition;
}

}  // namespace orderflow::messaging
