#pragma once

#include <functional>
#include <string_view>

#include "orderflow/common/result.h"

namespace orderflow::messaging {

/// The idempotent-consumer port every service's repository offers its app layer (ARCHITECTURE.md
/// "Consuming"): "inbox check + effect + mark" in one transaction, one shape for all services.
/// `Tx` is the service's own transaction port (the operations its effects may run). The storage
/// adapters implement it with Inbox::process and Inbox::contains (inbox.h). Implementations are
/// thread-safe; errors: kUnavailable when the database is busy or unreachable (retry), or what
/// the effect returned.
template <typename Tx>
class InboxPort {
 public:
  using Effect = std::function<Result<void>(Tx&)>;

  virtual ~InboxPort() = default;

  /// True when (consumer_group, event_id) is already recorded. A read, for a handler whose
  /// effect begins outside the database (a gateway call, a notification channel): it skips the
  /// outside call for a redelivered event. process_once still decides.
  virtual Result<bool> already_processed(std::string_view consumer_group,
                                         std::string_view event_id) = 0;

  /// In one write transaction: records (consumer_group, event_id) and, the first time only,
  /// runs `effect`. True when the effect ran and committed; false for a duplicate (nothing ran,
  /// nothing was written). An error from `effect` rolls everything back, the inbox entry too, so
  /// that the event can be handled again.
  virtual Result<bool> process_once(std::string_view consumer_group, std::string_view event_id,
                                    const Effect& effect) = 0;
};

}  // namespace orderflow::messaging
