#pragma once

#include <string_view>

/// Event types and reasons shared by the services (ARCHITECTURE.md "Topics", "Saga"; field
/// lists in docs/events.md). Every order-related record is keyed by orderId.
namespace orderflow::events {

// orders.v1 (producer: order-service)
inline constexpr std::string_view kOrderCreated = "ORDER_CREATED";
inline constexpr std::string_view kOrderConfirmed = "ORDER_CONFIRMED";
inline constexpr std::string_view kOrderPaid = "ORDER_PAID";
inline constexpr std::string_view kOrderCompleted = "ORDER_COMPLETED";
inline constexpr std::string_view kOrderCancelled = "ORDER_CANCELLED";

// inventory.v1 (producer: inventory-service)
inline constexpr std::string_view kStockReserved = "STOCK_RESERVED";
inline constexpr std::string_view kStockRejected = "STOCK_REJECTED";
inline constexpr std::string_view kStockDeducted = "STOCK_DEDUCTED";
inline constexpr std::string_view kStockReleased = "STOCK_RELEASED";
/// PAYMENT_COMPLETED arrived for a reservation that is gone (expired or released): the saga
/// cancels the order and the payment is refunded. Not in the brief's table; see docs/events.md.
inline constexpr std::string_view kStockDeductionFailed = "STOCK_DEDUCTION_FAILED";

// payments.v1 (producer: payment-service)
inline constexpr std::string_view kPaymentCompleted = "PAYMENT_COMPLETED";
inline constexpr std::string_view kPaymentFailed = "PAYMENT_FAILED";
inline constexpr std::string_view kPaymentRefunded = "PAYMENT_REFUNDED";

// reasons
inline constexpr std::string_view kReasonOutOfStock = "OUT_OF_STOCK";
inline constexpr std::string_view kReasonUnknownSku = "UNKNOWN_SKU";
inline constexpr std::string_view kReasonPaymentFailed = "PAYMENT_FAILED";
inline constexpr std::string_view kReasonUserRequested = "USER_REQUESTED";
inline constexpr std::string_view kReasonReservationExpired = "RESERVATION_EXPIRED";
inline constexpr std::string_view kReasonExpired = "EXPIRED";
inline constexpr std::string_view kReasonOrderCancelled = "ORDER_CANCELLED";
inline constexpr std::string_view kReasonTimeout = "TIMEOUT";

}  // namespace orderflow::events
