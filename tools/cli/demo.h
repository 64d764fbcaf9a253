#pragma once

#include <map>
#include <ostream>
#include <string>

#include "system.h"

namespace orderflow::cli {

/// Posts the seeds' sample requests (000, 001, 003) to the order service and prints each order
/// with its notifications once they arrived (up to `wait` per order). Returns 0 when every order
/// was accepted and notified, 1 otherwise.
int run_demo(const std::map<std::string, Endpoint>& endpoints, std::ostream& out,
             std::chrono::milliseconds wait = std::chrono::milliseconds{15000});

}  // namespace orderflow::cli
