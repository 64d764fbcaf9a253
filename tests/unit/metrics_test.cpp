#include "orderflow/observability/metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "orderflow/observability/business_metrics.h"

namespace orderflow::observability {
namespace {

bool contains(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

TEST(MetricsTest, OutcomeNames) {
  EXPECT_STREQ(to_string(Outcome::kProcessed), "processed");
  EXPECT_STREQ(to_string(Outcome::kDuplicate), "duplicate");
  EXPECT_STREQ(to_string(Outcome::kSkip), "skip");
  EXPECT_STREQ(to_string(Outcome::kRetry), "retry");
  EXPECT_STREQ(to_string(Outcome::kDlq), "dlq");
  EXPECT_STREQ(to_string(Outcome::kError), "error");
}

TEST(MetricsTest, MessageCountReadsCounter) {
  Metrics metrics("inventory");
  EXPECT_EQ(metrics.service(), "inventory");
  EXPECT_EQ(metrics.message_count("orders", "OrderCreated", Outcome::kProcessed), 0);
  metrics.count_message("orders", "OrderCreated", Outcome::kProcessed);
  metrics.count_message("orders", "OrderCreated", Outcome::kProcessed);
  metrics.count_message("orders", "OrderCreated", Outcome::kDuplicate);
  EXPECT_EQ(metrics.message_count("orders", "OrderCreated", Outcome::kProcessed), 2);
  EXPECT_EQ(metrics.message_count("orders", "OrderCreated", Outcome::kDuplicate), 1);
  EXPECT_EQ(metrics.message_count("orders", "OrderPaid", Outcome::kProcessed), 0);

  auto text = metrics.serialize();
  EXPECT_TRUE(contains(text, "# TYPE orderflow_messages_total counter")) << text;
  EXPECT_TRUE(contains(
      text,
      R"(orderflow_messages_total{service="inventory",event_type="OrderCreated",outcome="processed",topic="orders"} 2)"))
      << text;
}

TEST(MetricsTest, ProcessingHistogramHasSecondBuckets) {
  Metrics metrics("payment");
  metrics.observe_processing("orders", "OrderCreated", 0.003);
  auto text = metrics.serialize();
  EXPECT_TRUE(contains(text, "# TYPE orderflow_message_processing_seconds histogram")) << text;
  const std::string labels = R"(service="payment",event_type="OrderCreated",topic="orders")";
  EXPECT_TRUE(contains(text, "orderflow_message_processing_seconds_count{" + labels + "} 1"))
      << text;
  EXPECT_TRUE(contains(
      text, "orderflow_message_processing_seconds_bucket{" + labels + R"(,le="0.0025"} 0)"))
      << text;
  EXPECT_TRUE(
      contains(text, "orderflow_message_processing_seconds_bucket{" + labels + R"(,le="0.005"} 1)"))
      << text;
  EXPECT_TRUE(
      contains(text, "orderflow_message_processing_seconds_bucket{" + labels + R"(,le="0.0005"})"))
      << text;
  EXPECT_TRUE(
      contains(text, "orderflow_message_processing_seconds_bucket{" + labels + R"(,le="5"} 1)"))
      << text;
  EXPECT_TRUE(
      contains(text, "orderflow_message_processing_seconds_bucket{" + labels + R"(,le="+Inf"} 1)"))
      << text;
}

// The processing-time alerts compare the p99 with 5 s and 10 s (deploy/prometheus/alerts.yml):
// histogram_quantile needs buckets above both to report such a value.
TEST(MetricsTest, ProcessingHistogramSeparatesFiveTenAndThirtySeconds) {
  Metrics metrics("payment");
  metrics.observe_processing("orders", "OrderCreated", 7);
  metrics.observe_processing("orders", "OrderCreated", 12);
  auto text = metrics.serialize();
  const std::string bucket =
      R"(orderflow_message_processing_seconds_bucket{service="payment",event_type="OrderCreated",topic="orders",le=)";
  EXPECT_TRUE(contains(text, bucket + R"("5"} 0)")) << text;
  EXPECT_TRUE(contains(text, bucket + R"("10"} 1)")) << text;
  EXPECT_TRUE(contains(text, bucket + R"("30"} 2)")) << text;
}

TEST(MetricsTest, BusinessCountersStartAtZeroAndCountByLabel) {
  Metrics metrics("order-service");
  register_order_counters(metrics);
  register_reservation_counters(metrics);
  register_payment_counters(metrics);
  auto text = metrics.serialize();
  EXPECT_TRUE(contains(text, R"(orderflow_orders_created_total{service="order-service"} 0)"))
      << text;
  EXPECT_TRUE(contains(text, R"(orderflow_orders_completed_total{service="order-service"} 0)"));
  EXPECT_TRUE(contains(
      text, R"(orderflow_stock_reservations_total{service="order-service",outcome="rejected"} 0)"));
  EXPECT_TRUE(
      contains(text, R"(orderflow_payments_total{service="order-service",outcome="refunded"} 0)"));
  count_order_created(metrics);
  count_order_completed(metrics);
  count_order_cancelled(metrics, "OUT_OF_STOCK");
  count_order_cancelled(metrics, "OUT_OF_STOCK");
  count_reservation(metrics, true);
  count_payment(metrics, "failed");
  set_outbox_oldest_age(metrics, 12.5);
  text = metrics.serialize();
  EXPECT_TRUE(contains(text, R"(orderflow_orders_created_total{service="order-service"} 1)"));
  EXPECT_TRUE(contains(text, R"(orderflow_orders_completed_total{service="order-service"} 1)"));
  EXPECT_TRUE(contains(
      text, R"(orderflow_orders_cancelled_total{service="order-service",reason="OUT_OF_STOCK"} 2)"))
      << text;
  EXPECT_TRUE(contains(
      text, R"(orderflow_stock_reservations_total{service="order-service",outcome="accepted"} 1)"));
  EXPECT_TRUE(
      contains(text, R"(orderflow_payments_total{service="order-service",outcome="failed"} 1)"));
  EXPECT_TRUE(
      contains(text, R"(orderflow_outbox_oldest_unsent_age_seconds{service="order-service"} 12.5)"))
      << text;
}

TEST(MetricsTest, HttpCounterAndHistogram) {
  Metrics metrics("order");
  metrics.count_http("GET", "/api/orders/{id}", 200, 0.02);
  metrics.count_http("GET", "/api/orders/{id}", 200, 0.04);
  metrics.count_http("GET", "/api/orders/{id}", 404, 0.001);
  auto text = metrics.serialize();
  EXPECT_TRUE(contains(text, "# TYPE orderflow_http_requests_total counter")) << text;
  EXPECT_TRUE(contains(
      text,
      R"(orderflow_http_requests_total{service="order",method="GET",route="/api/orders/{id}",status="200"} 2)"))
      << text;
  EXPECT_TRUE(contains(
      text,
      R"(orderflow_http_requests_total{service="order",method="GET",route="/api/orders/{id}",status="404"} 1)"))
      << text;
  EXPECT_TRUE(contains(text, "# TYPE orderflow_http_request_seconds histogram")) << text;
  EXPECT_TRUE(contains(
      text,
      R"(orderflow_http_request_seconds_count{service="order",method="GET",route="/api/orders/{id}"} 3)"))
      << text;
  EXPECT_TRUE(contains(
      text,
      R"(orderflow_http_request_seconds_bucket{service="order",method="GET",route="/api/orders/{id}",le="0.025"} 2)"))
      << text;
}

TEST(MetricsTest, HttpRejectionsByReason) {
  Metrics metrics("order");
  metrics.count_http_rejected("connections");
  metrics.count_http_rejected("connections");
  metrics.count_http_rejected("outbox_backlog");
  auto text = metrics.serialize();
  EXPECT_TRUE(contains(text, "# TYPE orderflow_http_rejected_total counter")) << text;
  EXPECT_TRUE(
      contains(text, R"(orderflow_http_rejected_total{service="order",reason="connections"} 2)"))
      << text;
  EXPECT_TRUE(
      contains(text, R"(orderflow_http_rejected_total{service="order",reason="outbox_backlog"} 1)"))
      << text;
  EXPECT_FALSE(contains(text, R"(reason="in_flight")")) << text;
}

TEST(MetricsTest, ConsumerAndOutboxMetrics) {
  Metrics metrics("notification");
  metrics.set_consumer_lag("notification-group", "orders", 2, 17);
  metrics.set_consumer_lag("notification-group", "orders", 2, 5);
  metrics.count_offset_reset("notification-group", "orders");
  metrics.set_outbox_pending(4);
  metrics.count_outbox_published("orders", 3);
  metrics.count_outbox_published("orders", 2);
  auto text = metrics.serialize();
  EXPECT_TRUE(contains(text, "# TYPE orderflow_consumer_lag gauge")) << text;
  EXPECT_TRUE(contains(
      text,
      R"(orderflow_consumer_lag{service="notification",group="notification-group",partition="2",topic="orders"} 5)"))
      << text;
  EXPECT_TRUE(contains(
      text,
      R"(orderflow_consumer_offset_resets_total{service="notification",group="notification-group",topic="orders"} 1)"))
      << text;
  EXPECT_TRUE(contains(text, R"(orderflow_outbox_pending{service="notification"} 4)")) << text;
  EXPECT_TRUE(contains(
      text, R"(orderflow_outbox_published_total{service="notification",topic="orders"} 5)"))
      << text;
}

TEST(MetricsTest, CustomGaugeAndCounter) {
  Metrics metrics("ops");
  metrics.set_gauge("orderflow_dlq_depth", "Records in the DLT", {{"topic", "orders.DLT"}}, 3);
  metrics.set_gauge("orderflow_dlq_depth", "Records in the DLT", {{"topic", "orders.DLT"}}, 7);
  metrics.add_counter("orderflow_replays_total", "Replayed records", {{"topic", "orders"}});
  metrics.add_counter("orderflow_replays_total", "Replayed records", {{"topic", "orders"}}, 4);
  auto text = metrics.serialize();
  EXPECT_TRUE(contains(text, "# TYPE orderflow_dlq_depth gauge")) << text;
  EXPECT_TRUE(contains(text, R"(orderflow_dlq_depth{service="ops",topic="orders.DLT"} 7)")) << text;
  EXPECT_TRUE(contains(text, "# TYPE orderflow_replays_total counter")) << text;
  EXPECT_TRUE(contains(text, R"(orderflow_replays_total{service="ops",topic="orders"} 5)")) << text;
}

TEST(MetricsTest, ConcurrentUpdatesAreCounted) {
  Metrics metrics("order");
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&metrics, t] {
      for (int i = 0; i < kPerThread; ++i) {
        metrics.count_message("orders", "OrderCreated", Outcome::kProcessed);
        metrics.count_http("GET", "/r" + std::to_string(i % 3), 200, 0.001);
        metrics.add_counter("custom_total", "c", {{"t", std::to_string(t)}});
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(metrics.message_count("orders", "OrderCreated", Outcome::kProcessed),
            kThreads * kPerThread);
  auto text = metrics.serialize();
  EXPECT_TRUE(contains(text, R"(custom_total{service="order",t="3"} 2000)")) << text;
}

}  // namespace
}  // namespace orderflow::observability
