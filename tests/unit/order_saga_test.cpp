// The order state machine for every (state, input) pair (issue 3).
#include <gtest/gtest.h>

#include <map>
#include <tuple>

#include "domain/saga.h"

namespace orderflow::order {
namespace {

using S = OrderStatus;
using I = SagaInput;

struct Expect {
  S to;                            // final state (== from when nothing changes)
  std::vector<std::string> emits;  // events emitted, in order
  std::string reason;              // cancel reason when ending CANCELLED by this input
};

// The full table. An entry whose `to` equals the state and emits nothing is a skip.
std::map<std::pair<S, I>, Expect> table() {
  std::map<std::pair<S, I>, Expect> t;
  auto skip = [&](S s, I i) { t[{s, i}] = {s, {}, ""}; };
  // PENDING
  t[{S::kPending, I::kStockReserved}] = {S::kConfirmed, {"ORDER_CONFIRMED"}, ""};
  t[{S::kPending, I::kStockRejected}] = {S::kCancelled, {"ORDER_CANCELLED"}, "OUT_OF_STOCK"};
  t[{S::kPending, I::kReservationExpired}] = {
      S::kCancelled, {"ORDER_CANCELLED"}, "RESERVATION_EXPIRED"};
  skip(S::kPending, I::kStockReleased);
  t[{S::kPending, I::kStockDeducted}] = {
      S::kCompleted, {"ORDER_CONFIRMED", "ORDER_PAID", "ORDER_COMPLETED"}, ""};
  t[{S::kPending, I::kStockDeductionFailed}] = {
      S::kCancelled, {"ORDER_CANCELLED"}, "RESERVATION_EXPIRED"};
  t[{S::kPending, I::kPaymentCompleted}] = {S::kPaid, {"ORDER_CONFIRMED", "ORDER_PAID"}, ""};
  // It overtook its STOCK_RESERVED: the reservation it proves is recorded first.
  t[{S::kPending, I::kPaymentFailed}] = {
      S::kCancelled, {"ORDER_CONFIRMED", "ORDER_CANCELLED"}, "PAYMENT_FAILED"};
  skip(S::kPending, I::kPaymentRefunded);
  t[{S::kPending, I::kUserCancel}] = {S::kCancelled, {"ORDER_CANCELLED"}, "USER_REQUESTED"};
  t[{S::kPending, I::kTimeout}] = {S::kCancelled, {"ORDER_CANCELLED"}, "TIMEOUT"};
  // CONFIRMED
  skip(S::kConfirmed, I::kStockReserved);
  skip(S::kConfirmed, I::kStockRejected);
  t[{S::kConfirmed, I::kReservationExpired}] = {
      S::kCancelled, {"ORDER_CANCELLED"}, "RESERVATION_EXPIRED"};
  skip(S::kConfirmed, I::kStockReleased);
  t[{S::kConfirmed, I::kStockDeducted}] = {S::kCompleted, {"ORDER_PAID", "ORDER_COMPLETED"}, ""};
  t[{S::kConfirmed, I::kStockDeductionFailed}] = {
      S::kCancelled, {"ORDER_CANCELLED"}, "RESERVATION_EXPIRED"};
  t[{S::kConfirmed, I::kPaymentCompleted}] = {S::kPaid, {"ORDER_PAID"}, ""};
  t[{S::kConfirmed, I::kPaymentFailed}] = {S::kCancelled, {"ORDER_CANCELLED"}, "PAYMENT_FAILED"};
  skip(S::kConfirmed, I::kPaymentRefunded);
  t[{S::kConfirmed, I::kUserCancel}] = {S::kCancelled, {"ORDER_CANCELLED"}, "USER_REQUESTED"};
  t[{S::kConfirmed, I::kTimeout}] = {S::kCancelled, {"ORDER_CANCELLED"}, "TIMEOUT"};
  // PAID
  skip(S::kPaid, I::kStockReserved);
  skip(S::kPaid, I::kStockRejected);
  t[{S::kPaid, I::kReservationExpired}] = {
      S::kCancelled, {"ORDER_CANCELLED"}, "RESERVATION_EXPIRED"};
  skip(S::kPaid, I::kStockReleased);
  t[{S::kPaid, I::kStockDeducted}] = {S::kCompleted, {"ORDER_COMPLETED"}, ""};
  t[{S::kPaid, I::kStockDeductionFailed}] = {
      S::kCancelled, {"ORDER_CANCELLED"}, "RESERVATION_EXPIRED"};
  skip(S::kPaid, I::kPaymentCompleted);
  skip(S::kPaid, I::kPaymentFailed);
  skip(S::kPaid, I::kPaymentRefunded);
  skip(S::kPaid, I::kUserCancel);
  t[{S::kPaid, I::kTimeout}] = {S::kCancelled, {"ORDER_CANCELLED"}, "TIMEOUT"};
  // terminal states: nothing moves them
  for (auto input : kAllSagaInputs) {
    skip(S::kCompleted, input);
    skip(S::kCancelled, input);
  }
  return t;
}

TEST(OrderSagaTest, EveryStateAndInputPair) {
  auto expected = table();
  int checked = 0;
  for (auto state : {S::kPending, S::kConfirmed, S::kPaid, S::kCompleted, S::kCancelled}) {
    for (auto input : kAllSagaInputs) {
      auto it = expected.find({state, input});
      ASSERT_NE(it, expected.end())
          << "no expectation for " << to_string(state) << " + " << to_string(input);
      auto d = decide(state, input);
      std::string where = std::string(to_string(state)) + " + " + to_string(input);
      std::vector<std::string> emitted;
      S current = state;
      for (const auto& step : d.steps) {
        EXPECT_EQ(step.from, current) << where << ": steps must chain";
        current = step.to;
        emitted.emplace_back(step.emits);
      }
      EXPECT_EQ(current, it->second.to) << where;
      EXPECT_EQ(emitted, it->second.emits) << where;
      if (it->second.to == S::kCancelled && state != S::kCancelled) {
        EXPECT_EQ(d.cancel_reason, it->second.reason) << where;
      }
      if (!d.changes()) {
        EXPECT_FALSE(d.skip_reason.empty()) << where << ": a skip says why";
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 5 * static_cast<int>(std::size(kAllSagaInputs)));
}

TEST(OrderSagaTest, EventsMapToInputs) {
  EXPECT_EQ(saga_input_for("STOCK_RESERVED", ""), I::kStockReserved);
  EXPECT_EQ(saga_input_for("STOCK_REJECTED", "UNKNOWN_SKU"), I::kStockRejected);
  EXPECT_EQ(saga_input_for("STOCK_RELEASED", "EXPIRED"), I::kReservationExpired);
  EXPECT_EQ(saga_input_for("STOCK_RELEASED", "ORDER_CANCELLED"), I::kStockReleased);
  EXPECT_EQ(saga_input_for("STOCK_DEDUCTED", ""), I::kStockDeducted);
  EXPECT_EQ(saga_input_for("STOCK_DEDUCTION_FAILED", "RESERVATION_EXPIRED"),
            I::kStockDeductionFailed);
  EXPECT_EQ(saga_input_for("PAYMENT_COMPLETED", ""), I::kPaymentCompleted);
  EXPECT_EQ(saga_input_for("PAYMENT_FAILED", "DECLINED"), I::kPaymentFailed);
  EXPECT_EQ(saga_input_for("PAYMENT_REFUNDED", ""), I::kPaymentRefunded);
  EXPECT_FALSE(saga_input_for("ORDER_CREATED", "").has_value());
  EXPECT_FALSE(saga_input_for("SOMETHING_ELSE", "").has_value());
}

}  // namespace
}  // namespace orderflow::order
