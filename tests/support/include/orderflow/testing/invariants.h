#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "orderflow/testing/system_under_test.h"

namespace orderflow::testing {

/// An order a test placed, to be checked.
struct PlacedOrder {
  std::int64_t id = 0;
  std::string user_id;
};

/// Stock totals per SKU (available + reserved + sold), taken before a test.
std::map<std::string, std::int64_t> stock_totals(const RunningSystem& system);

/// Waits (up to `deadline`) until every order is COMPLETED or CANCELLED; returns their final
/// JSON by id (missing ids never got there).
std::map<std::int64_t, nlohmann::json> wait_terminal(
    const RunningSystem& system, const std::vector<PlacedOrder>& orders,
    std::chrono::milliseconds deadline = std::chrono::milliseconds{30000});

/// The brief's four invariants (ARCHITECTURE.md "Saga"), read through the services' APIs:
/// 1. per SKU: available + reserved + sold == the total before (`initial_totals`), available ≥ 0;
/// 2. every order reaches COMPLETED or CANCELLED (within `deadline`);
/// 3. COMPLETED ⇒ exactly one captured payment of the order total and its reservation deducted;
///    CANCELLED ⇒ no reservation holding stock and no captured payment left (refunded or none);
///    a REFUND_FAILED payment (money kept) is a violation on either;
/// 4. one notification per (event, user): for every status the order went through and every
///    refund exactly one notification, and no sourceEventId twice.
/// Returns the violations, empty when all hold. Notifications are awaited up to `deadline`.
std::vector<std::string> check_invariants(
    const RunningSystem& system, const std::vector<PlacedOrder>& orders,
    const std::map<std::string, std::int64_t>& initial_totals,
    std::chrono::milliseconds deadline = std::chrono::milliseconds{30000});

}  // namespace orderflow::testing
