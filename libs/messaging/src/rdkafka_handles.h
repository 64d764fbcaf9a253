#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <memory>
#include <string>

#include "orderflow/messaging/record.h"

namespace orderflow::messaging::detail {

/// Owning handles of librdkafka's C API (topic administration, the lag probe, the browser).
template <typename T, void (*Destroy)(T*)>
struct Deleter {
  void operator()(T* p) const {
    if (p != nullptr) Destroy(p);
  }
};
using Handle = std::unique_ptr<rd_kafka_t, Deleter<rd_kafka_t, rd_kafka_destroy>>;
using PartitionList = std::unique_ptr<
    rd_kafka_topic_partition_list_t,
    Deleter<rd_kafka_topic_partition_list_t, rd_kafka_topic_partition_list_destroy>>;
using Message =
    std::unique_ptr<rd_kafka_message_t, Deleter<rd_kafka_message_t, rd_kafka_message_destroy>>;
inline void destroy_metadata(const rd_kafka_metadata_t* m) { rd_kafka_metadata_destroy(m); }
using Metadata = std::unique_ptr<const rd_kafka_metadata_t,
                                 Deleter<const rd_kafka_metadata_t, destroy_metadata>>;

/// What make_client() creates.
enum class ClientRole {
  kAdmin,     ///< a producer handle for the Admin API and metadata
  kGroup,     ///< a consumer of `group` that never subscribes (reads its committed offsets)
  kAssigned,  ///< a consumer of `group` that only reads assign()ed partitions, never commits
};

/// A client of the cluster of `config` (bootstrap_servers, client_id, properties). Throws
/// std::runtime_error when the configuration is refused (empty bootstrap, bad property).
Handle make_client(const KafkaConfig& config, ClientRole role, const std::string& group = {});

/// The code of an Error for a request the broker refused because the client's principal lacks
/// an ACL (authorization_failed()).
inline constexpr const char* kAuthorizationFailed = "KAFKA_AUTHORIZATION_FAILED";

/// Whether the broker refused a request of this client's principal for a missing ACL (topic,
/// group or cluster authorization): it stays refused until an admin grants it, unlike a
/// timeout or a broker that is down.
inline bool authorization_failed(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
         err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED ||
         err == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED;
}

/// Milliseconds from now until `deadline`, at least 1 (librdkafka's timeouts).
int remaining_ms(std::chrono::steady_clock::time_point deadline);

/// The partition count of `topic` on the cluster; 0 when no metadata answer lists it before
/// `deadline`. A topic created a moment ago may not be in every broker's metadata yet.
int partition_count(rd_kafka_t* rk, const std::string& topic,
                    std::chrono::steady_clock::time_point deadline);

}  // namespace orderflow::messaging::detail
