#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include <spdlog/logger.h>

#include "orderflow/messaging/parked_key_store.h"
#include "orderflow/messaging/record.h"
#include "orderflow/observability/metrics.h"

namespace orderflow::messaging::consumer {

/// The keys a consumer group parked after a dead letter, and the UNPARK protocol (docs/dlq.md
/// "Parking"): a parked key's later records go to the DLT without the handler until an UNPARK
/// control record for this group resolves at least as many dead letters as were parked. Kept in
/// memory, persisted through the ParkedKeyStore (a store failure is logged; the memory state
/// wins until restart). orderflow_parked_keys{group} counts parked keys. Thread-safe.
class KeyParking {
 public:
  /// What an UNPARK control record did.
  enum class Control { kIgnored, kUnparked, kRefused };

  /// Loads the group's parked keys; throws std::runtime_error when they cannot be loaded.
  KeyParking(ParkedKeyStore& store, observability::Metrics& metrics,
             std::shared_ptr<spdlog::logger> logger, std::string group);

  /// Dead letters parked for (topic, key); 0 = not parked.
  [[nodiscard]] std::int64_t count(const std::string& topic, const std::string& key) const;
  /// One more dead letter of (topic, key); parks the key when it was not parked.
  void park(const std::string& topic, const std::string& key);
  /// Applies a control record (header dlq.control = `control`): kIgnored when it is not an
  /// UNPARK for this group, kRefused when it resolves fewer dead letters than are parked.
  Control apply_control(const ConsumedRecord& record, const std::string& control);

 private:
  void publish_count();  ///< caller holds mutex_

  ParkedKeyStore& store_;
  observability::Metrics& metrics_;
  std::shared_ptr<spdlog::logger> logger_;
  std::string group_;
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, std::string>, std::int64_t> parked_;  ///< (topic, key) → n
};

}  // namespace orderflow::messaging::consumer
