// Unit tests of the inventory domain (services/inventory/domain/inventory.h): all-or-none
// reservation, OUT_OF_STOCK / UNKNOWN_SKU naming the sku, deduct, release, expiry conditions,
// stock conservation (ARCHITECTURE.md invariant 1), product updates. No network, no sleep.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "domain/inventory.h"
#include "orderflow/common/clock.h"
#include "orderflow/common/decimal.h"
#include "orderflow/common/result.h"

namespace orderflow {
void PrintTo(const Decimal& d, std::ostream* os) { *os << d.to_string(); }
}  // namespace orderflow

namespace orderflow::inventory {
namespace {

using namespace std::chrono_literals;

Decimal dec(const char* text) {
  auto d = Decimal::parse(text);
  if (!d) throw std::invalid_argument(std::string("bad decimal in test: ") + text);
  return *d;
}

Product product(std::string sku, std::int64_t available) {
  return {sku, sku + " name", dec("100"), available, 0, 0};
}

std::map<std::string, Product> stock(std::vector<Product> products) {
  std::map<std::string, Product> out;
  for (auto& p : products) out.emplace(p.sku, std::move(p));
  return out;
}

TEST(StockLevels, ReserveMovesAvailableToReserved) {
  auto p = product("A", 5);
  ASSERT_TRUE(reserve(p, 3).ok());
  EXPECT_EQ(p.available, 2);
  EXPECT_EQ(p.reserved, 3);
  EXPECT_EQ(p.sold, 0);
  EXPECT_EQ(p.total(), 5);
}

TEST(StockLevels, ReserveMoreThanAvailableIsOutOfStockAndChangesNothing) {
  auto p = product("A", 2);
  auto r = reserve(p, 3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kUnprocessable);
  EXPECT_EQ(r.error().code, "OUT_OF_STOCK");
  EXPECT_EQ(p.available, 2);
  EXPECT_EQ(p.reserved, 0);
}

TEST(StockLevels, ReserveExactlyAvailableLeavesZero) {
  auto p = product("A", 3);
  ASSERT_TRUE(reserve(p, 3).ok());
  EXPECT_EQ(p.available, 0);
  EXPECT_FALSE(reserve(p, 1).ok());
}

TEST(StockLevels, ReserveRefusesNonPositiveQuantity) {
  auto p = product("A", 3);
  EXPECT_FALSE(reserve(p, 0).ok());
  EXPECT_FALSE(reserve(p, -1).ok());
  EXPECT_EQ(p.available, 3);
}

TEST(StockLevels, DeductMovesReservedToSold) {
  auto p = product("A", 5);
  ASSERT_TRUE(reserve(p, 4).ok());
  ASSERT_TRUE(deduct(p, 4).ok());
  EXPECT_EQ(p.available, 1);
  EXPECT_EQ(p.reserved, 0);
  EXPECT_EQ(p.sold, 4);
  EXPECT_EQ(p.total(), 5);
}

TEST(StockLevels, ReleaseReturnsReservedToAvailable) {
  auto p = product("A", 5);
  ASSERT_TRUE(reserve(p, 4).ok());
  ASSERT_TRUE(release(p, 4).ok());
  EXPECT_EQ(p.available, 5);
  EXPECT_EQ(p.reserved, 0);
  EXPECT_EQ(p.sold, 0);
}

TEST(StockLevels, DeductOrReleaseMoreThanReservedIsAnInvariantErrorAndChangesNothing) {
  auto p = product("A", 5);
  ASSERT_TRUE(reserve(p, 2).ok());
  auto d = deduct(p, 3);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().kind, ErrorKind::kInternal);
  EXPECT_EQ(d.error().code, "STOCK_INVARIANT");
  auto r = release(p, 3);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "STOCK_INVARIANT");
  EXPECT_EQ(p.available, 3);
  EXPECT_EQ(p.reserved, 2);
  EXPECT_EQ(p.sold, 0);
}

TEST(StockLevels, ConservationHoldsOverAnySequenceOfOperations) {
  auto p = product("A", 10);
  const auto initial = p.total();
  std::int64_t qty = 1;
  for (int round = 0; round < 50; ++round) {
    (void)reserve(p, qty);
    if (round % 3 == 0) (void)deduct(p, qty);
    if (round % 3 == 1) (void)release(p, qty);
    (void)release(p, 100);  // refused: more than reserved
    qty = qty % 4 + 1;
    ASSERT_EQ(p.total(), initial) << "round " << round;
    ASSERT_GE(p.available, 0);
    ASSERT_GE(p.reserved, 0);
    ASSERT_GE(p.sold, 0);
  }
}

TEST(MergeLines, MergesSameSkuInOrderOfFirstAppearance) {
  auto merged = merge_lines({{"B", 1}, {"A", 2}, {"B", 3}});
  ASSERT_TRUE(merged.ok());
  ASSERT_EQ(merged->size(), 2u);
  EXPECT_EQ((*merged)[0].sku, "B");
  EXPECT_EQ((*merged)[0].quantity, 4);
  EXPECT_EQ((*merged)[1].sku, "A");
  EXPECT_EQ((*merged)[1].quantity, 2);
}

TEST(MergeLines, RefusesEmptySkuAndBadQuantities) {
  EXPECT_EQ(merge_lines({{"", 1}}).error().code, "INVALID_ITEM");
  EXPECT_EQ(merge_lines({{"A", 0}}).error().code, "INVALID_ITEM");
  EXPECT_EQ(merge_lines({{"A", -5}}).error().code, "INVALID_ITEM");
  EXPECT_EQ(merge_lines({{"A", kMaxQuantity + 1}}).error().code, "INVALID_ITEM");
  EXPECT_EQ(merge_lines({{"A", kMaxQuantity}, {"A", 1}}).error().kind, ErrorKind::kInvalidInput);
  EXPECT_TRUE(merge_lines({}).ok());
}

TEST(ReserveAll, ReservesEveryLine) {
  auto products = stock({product("A", 5), product("B", 2)});
  auto decision = reserve_all({{"A", 3}, {"B", 2}}, products);
  ASSERT_FALSE(decision.rejection);
  ASSERT_EQ(decision.updated.size(), 2u);
  EXPECT_EQ(decision.updated[0].sku, "A");
  EXPECT_EQ(decision.updated[0].available, 2);
  EXPECT_EQ(decision.updated[0].reserved, 3);
  EXPECT_EQ(decision.updated[1].sku, "B");
  EXPECT_EQ(decision.updated[1].available, 0);
  EXPECT_EQ(decision.updated[1].reserved, 2);
}

TEST(ReserveAll, OneShortLineRejectsTheWholeOrderNamingTheSku) {
  auto products = stock({product("A", 5), product("B", 1)});
  auto decision = reserve_all({{"A", 3}, {"B", 2}}, products);
  ASSERT_TRUE(decision.rejection);
  EXPECT_EQ(decision.rejection->reason, "OUT_OF_STOCK");
  EXPECT_EQ(decision.rejection->sku, "B");
  EXPECT_TRUE(decision.updated.empty());
  // The input is untouched: nothing reserved for A either.
  EXPECT_EQ(products.at("A").available, 5);
  EXPECT_EQ(products.at("A").reserved, 0);
}

TEST(ReserveAll, UnknownSkuRejectsNamingTheSku) {
  auto products = stock({product("A", 5)});
  auto decision = reserve_all({{"A", 1}, {"NOPE", 1}}, products);
  ASSERT_TRUE(decision.rejection);
  EXPECT_EQ(decision.rejection->reason, "UNKNOWN_SKU");
  EXPECT_EQ(decision.rejection->sku, "NOPE");
  EXPECT_TRUE(decision.updated.empty());
}

TEST(ReserveAll, FirstFailingLineDecidesTheReason) {
  auto products = stock({product("A", 0)});
  auto decision = reserve_all({{"A", 1}, {"NOPE", 1}}, products);
  ASSERT_TRUE(decision.rejection);
  EXPECT_EQ(decision.rejection->reason, "OUT_OF_STOCK");
  EXPECT_EQ(decision.rejection->sku, "A");
}

TEST(ReserveAll, MergedLinesOfOneSkuAreCheckedTogether) {
  auto products = stock({product("A", 3)});
  auto merged = merge_lines({{"A", 2}, {"A", 2}});
  ASSERT_TRUE(merged.ok());
  auto decision = reserve_all(merged.value(), products);
  ASSERT_TRUE(decision.rejection);
  EXPECT_EQ(decision.rejection->reason, "OUT_OF_STOCK");
}

TEST(ReserveAll, NoLinesReservesNothing) {
  auto decision = reserve_all({}, stock({product("A", 1)}));
  EXPECT_FALSE(decision.rejection);
  EXPECT_TRUE(decision.updated.empty());
}

TEST(Expiry, OnlyAReservedHoldPastItsDeadlineIsDue) {
  ManualClock clock;
  Reservation r;
  r.status = ReservationStatus::kReserved;
  r.expires_at = clock.now() + 15min;
  EXPECT_FALSE(is_due(r, clock.now()));
  EXPECT_FALSE(is_due(r, clock.now() + 15min - 1ms));
  EXPECT_TRUE(is_due(r, clock.now() + 15min));
  EXPECT_TRUE(is_due(r, clock.now() + 1h));
  for (auto s :
       {ReservationStatus::kDeducted, ReservationStatus::kReleased, ReservationStatus::kExpired}) {
    r.status = s;
    EXPECT_FALSE(is_due(r, clock.now() + 1h)) << to_string(s);
  }
}

TEST(Deduction, DecisionPerReservationState) {
  EXPECT_EQ(decide_deduction(ReservationStatus::kReserved), DeductionDecision::kDeduct);
  EXPECT_EQ(decide_deduction(ReservationStatus::kDeducted), DeductionDecision::kAlreadyDeducted);
  EXPECT_EQ(decide_deduction(ReservationStatus::kExpired), DeductionDecision::kFailedExpired);
  EXPECT_EQ(decide_deduction(ReservationStatus::kReleased), DeductionDecision::kFailedReleased);
  EXPECT_EQ(decide_deduction(std::nullopt), DeductionDecision::kFailedReleased);
}

TEST(ReservationStatusText, RoundTrips) {
  for (auto s : {ReservationStatus::kReserved, ReservationStatus::kDeducted,
                 ReservationStatus::kReleased, ReservationStatus::kExpired}) {
    EXPECT_EQ(parse_reservation_status(to_string(s)), s);
  }
  EXPECT_FALSE(parse_reservation_status("reserved"));
  EXPECT_FALSE(parse_reservation_status(""));
}

TEST(ApplyUpdate, CreatesWithPriceAndDefaultsNameAndStock) {
  ProductUpdate u;
  u.unit_price = dec("12.5");
  auto p = apply_update("NEW-1", std::nullopt, u);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->sku, "NEW-1");
  EXPECT_EQ(p->name, "NEW-1");
  EXPECT_EQ(p->unit_price, dec("12.5"));
  EXPECT_EQ(p->available, 0);
}

TEST(ApplyUpdate, CreatingWithoutPriceIsUnprocessable) {
  ProductUpdate u;
  u.stock = 3;
  auto p = apply_update("NEW-1", std::nullopt, u);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().kind, ErrorKind::kUnprocessable);
  EXPECT_EQ(p.error().code, "MISSING_UNIT_PRICE");
}

TEST(ApplyUpdate, StockSetsAvailableAndKeepsHeldAndSold) {
  Product existing{"A", "Old", dec("1"), 5, 2, 7};
  ProductUpdate u;
  u.stock = 10;
  u.name = "New";
  auto p = apply_update("A", existing, u);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->available, 10);
  EXPECT_EQ(p->reserved, 2);
  EXPECT_EQ(p->sold, 7);
  EXPECT_EQ(p->name, "New");
  EXPECT_EQ(p->unit_price, dec("1"));
}

TEST(ApplyUpdate, NegativeStockOrPriceIsUnprocessable) {
  Product existing{"A", "Old", dec("1"), 5, 0, 0};
  ProductUpdate stock_update;
  stock_update.stock = -1;
  EXPECT_EQ(apply_update("A", existing, stock_update).error().code, "NEGATIVE_STOCK");
  ProductUpdate price_update;
  price_update.unit_price = dec("-0.01");
  EXPECT_EQ(apply_update("A", existing, price_update).error().code, "NEGATIVE_PRICE");
  EXPECT_EQ(apply_update("A", std::nullopt, price_update).error().kind, ErrorKind::kUnprocessable);
  ProductUpdate name_update;
  name_update.name = "";
  EXPECT_EQ(apply_update("A", existing, name_update).error().code, "INVALID_NAME");
}

TEST(FaultInjection, PrefixMatchOnlyWhenEnabled) {
  EXPECT_TRUE(is_fault_sku("FAIL", "FAIL"));
  EXPECT_TRUE(is_fault_sku("FAIL-123", "FAIL"));
  EXPECT_FALSE(is_fault_sku("XFAIL", "FAIL"));
  EXPECT_FALSE(is_fault_sku("fail", "FAIL"));
  EXPECT_FALSE(is_fault_sku("FAIL", ""));
}

}  // namespace
}  // namespace orderflow::inventory

namespace orderflow::inventory {
namespace {

TEST(InventoryRestockTest, MovesSoldBackToAvailableAndRefusesMoreThanSold) {
  Product p;
  p.sku = "A";
  p.available = 5;
  p.sold = 3;
  ASSERT_TRUE(restock(p, 2).ok());
  EXPECT_EQ(p.available, 7);
  EXPECT_EQ(p.sold, 1);
  EXPECT_EQ(p.total(), 8);
  auto too_much = restock(p, 2);
  ASSERT_FALSE(too_much.ok());
  EXPECT_EQ(too_much.error().code, "STOCK_INVARIANT");
  EXPECT_EQ(p.sold, 1);
}

// Regression: the restock refusal named the reserved count (here 4) although it checks the
// sold count (1).
TEST(InventoryRestockTest, RefusalNamesTheSoldCountItChecked) {
  Product p;
  p.sku = "A";
  p.reserved = 4;
  p.sold = 1;
  auto refused = restock(p, 2);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().message, "restock 2 of A but only 1 sold");

  auto release_refused = release(p, 5);
  ASSERT_FALSE(release_refused.ok());
  EXPECT_EQ(release_refused.error().message, "release 5 of A but only 4 reserved");
}

}  // namespace
}  // namespace orderflow::inventory
