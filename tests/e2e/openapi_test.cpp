// e2e (issue 14): every service's OpenAPI description, served at GET /openapi.json, against the
// running service. schemathesis (PyPI, pinned in scripts/requirements-test.txt, installed into
// <repo>/.venv by `make deps`) generates requests from each description, valid and invalid, and
// checks every answer: no 5xx, a documented status code, a body matching the schema, the
// content type, the headers, 401 without the token on a route that needs one, 405 for a method
// the path does not have. The system runs with auth.mode required and the calls carry an admin
// token, so the admin routes are exercised too.
//
// Left out of the run: POST /admin/drain (it closes intake for the rest of the run) and the
// console's static files (GET /, /assets/{file}: not an API, and not built in every tree).
// /admin/faults is exercised: a prefix it sets only makes some later orders fail, which the
// descriptions document. tests/e2e/schemathesis.toml has the checks' exceptions and why.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "orderflow/testing/system_under_test.h"

namespace orderflow::testing {
namespace {

using namespace std::chrono_literals;

// Test cases per operation and phase: the five runs take about a minute on two cores.
constexpr int kMaxExamples = 100;

const char* const kServices[] = {"order", "inventory", "payment", "notification", "ops"};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Where scripts/install-python-tools.sh puts the virtualenv (ORDERFLOW_VENV overrides).
std::string schemathesis_executable() {
  const char* venv = std::getenv("ORDERFLOW_VENV");
  std::string dir =
      venv != nullptr && *venv != '\0' ? venv : std::string(ORDERFLOW_SOURCE_DIR) + "/.venv";
  return dir + "/bin/schemathesis";
}

std::string url_of(const RunningSystem& system, const std::string& service) {
  const auto& e = system.endpoint(service + "-service");
  return "http://" + e.host + ":" + std::to_string(e.port);
}

TEST(OpenApiTest, EveryServiceAnswersAsItsDescriptionSays) {
  const auto schemathesis = schemathesis_executable();
  ASSERT_TRUE(std::filesystem::exists(schemathesis))
      << schemathesis << " is missing: `make deps` (scripts/install-python-tools.sh) installs it";
  SystemOptions options;
  options.auth_mode = "required";
  RunningSystem system({{"inventory-service", {"consumer.retry.backoff_ms=200"}}}, options);

  int minted = -1;
  auto token = run_command(std::string(ORDERFLOW_BIN_DIR) + "/orderflow token --config " +
                               system.config_file() + " --user openapi-admin --role admin",
                           &minted);
  ASSERT_EQ(minted, 0) << token;
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
  const std::vector<std::pair<std::string, std::string>> admin{
      {"Authorization", "Bearer " + token}};

  // Data for the list routes to answer with: a completed order (reservation, payment,
  // notifications) and a dead letter (an item the inventory fault makes fail).
  ASSERT_EQ(
      system
          .call("inventory-service", "POST", "/admin/faults", R"({"failSkuPrefix":"FAIL"})", admin)
          .status,
      200);
  auto completed = system.call("order-service", "POST", "/api/orders",
                               R"({"items":[{"sku":"ABC-001","quantity":1}]})", admin);
  ASSERT_EQ(completed.status, 201) << completed.raw;
  auto failing = system.call("order-service", "POST", "/api/orders",
                             R"({"items":[{"sku":"FAIL","quantity":1}]})", admin);
  ASSERT_EQ(failing.status, 201) << failing.raw;
  const auto order_path = "/api/orders/" + std::to_string(completed.body["orderId"].get<int>());
  EXPECT_TRUE(eventually(
      [&] {
        return system.call("order-service", "GET", order_path, "", admin)
                   .body.value("status", "") == "COMPLETED";
      },
      30s, 100ms));
  EXPECT_TRUE(eventually(
      [&] {
        return system.call("ops-service", "GET", "/api/dlq", "", admin).body.value("total", 0) > 0;
      },
      30s, 100ms));

  // schemathesis and Hypothesis keep caches in the working directory (.hypothesis/,
  // .schemathesis/): a fresh one per run, so no run replays another's examples.
  TempDir work;
  for (const std::string service : kServices) {
    SCOPED_TRACE(service);
    const auto url = url_of(system, service);
    // The served description is the committed file.
    auto served = system.call(service + "-service", "GET", "/openapi.json");
    ASSERT_EQ(served.status, 200);
    EXPECT_TRUE(served.raw == read_file(std::string(ORDERFLOW_SOURCE_DIR) + "/services/" + service +
                                        "/adapters/http/openapi.json"))
        << "GET /openapi.json is not the committed file: rebuild the service";

    // A 503 of /health/ready is documented but still counts as a server error to schemathesis.
    ASSERT_TRUE(eventually(
        [&] { return system.call(service + "-service", "GET", "/health/ready").status == 200; },
        30s, 100ms));

    int status = -1;
    auto output = run_command(
        "cd '" + work.path().string() + "' && " + schemathesis + " --no-color --config-file " +
            ORDERFLOW_SOURCE_DIR + "/tests/e2e/schemathesis.toml run " + url + "/openapi.json" +
            " --header 'Authorization: Bearer " + token + "'" +
            " --exclude-path /admin/drain --exclude-path-regex '^/(assets/.*)?$'" +
            " --workers 1 --max-examples " + std::to_string(kMaxExamples) +
            " --request-timeout 10 --output-truncate false 2>&1",
        &status);
    EXPECT_EQ(status, 0) << output;
    EXPECT_NE(output.find("Test cases:"), std::string::npos) << output;
  }
}

}  // namespace
}  // namespace orderflow::testing
