#include "log_notifier.h"

#include "orderflow/observability/trace_context.h"

namespace orderflow::notification {

ChannelAttempt LogNotifier::send(const Notification& n) {
  logger_->info(
      "\"notification delivered\" channel=log userId={} type={} orderId={} "
      "sourceEventId={} text=\"{}\" trace_id={}",
      n.user_id, n.type, n.order_id, n.source_event_id, n.message,
      observability::trace_id_of(n.traceparent));
  return ChannelAttempt::delivered();
}

ChannelAttempt FaultInjectingNotifier::send(const Notification& n) {
  const auto fault_prefix = prefix();
  if (!fault_prefix.empty() && n.user_id.rfind(fault_prefix, 0) == 0) {
    return ChannelAttempt::failed(
        unavailable("CHANNEL_FAILURE", "injected channel failure for user " + n.user_id +
                                           " (notification.faults.fail_user_prefix)"));
  }
  return inner_.send(n);
}

}  // namespace orderflow::notification
