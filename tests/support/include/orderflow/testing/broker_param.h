#pragma once

#include <gtest/gtest.h>

#include <string>
#include <type_traits>

#include "orderflow/testing/test_broker.h"

namespace orderflow::testing {

/// Names a BrokerKind instance "Embedded" or "Kafka" (the CTest name's suffix).
struct BrokerKindParamName {
  std::string operator()(const ::testing::TestParamInfo<BrokerKind>& info) const {
    return broker_kind_name(info.param);
  }
};

}  // namespace orderflow::testing

/// Runs every TEST_P of `suite` (a fixture deriving from ::testing::TestWithParam<BrokerKind>)
/// on the embedded broker and on the shared Kafka cluster: Suite.Test/Embedded, Suite.Test/Kafka.
#define ORDERFLOW_ON_BOTH_BROKERS(suite)                                                  \
  INSTANTIATE_TEST_SUITE_P(, suite,                                                       \
                           ::testing::Values(::orderflow::testing::BrokerKind::kEmbedded, \
                                             ::orderflow::testing::BrokerKind::kKafka),   \
                           ::orderflow::testing::BrokerKindParamName())

/// Runs every TEST_P of `suite` on the embedded broker only (Suite.Test/Embedded): for tests of
/// a mock-only feature; say which at the use.
#define ORDERFLOW_ON_EMBEDDED_BROKER_ONLY(suite)                                           \
  INSTANTIATE_TEST_SUITE_P(, suite,                                                        \
                           ::testing::Values(::orderflow::testing::BrokerKind::kEmbedded), \
                           ::orderflow::testing::BrokerKindParamName())

#include "orderflow/testing/system_under_test.h"

namespace orderflow::testing {

/// Base of an e2e suite on both brokers (instantiate it with ORDERFLOW_ON_BOTH_BROKERS):
/// `system_` is the suite's RunningSystem for the test's broker, started by the first test of
/// that broker with `Suite::overrides()` (a static function returning the services' "key=value"
/// overrides) and stopped after the suite, which expects `orderflow up` to exit 0.
/// `Param` is BrokerKind, or BackendParam (backend_param.h: BackendSystemSuite) for a suite over
/// a broker and a database.
template <typename Suite, typename Param = BrokerKind>
class SystemSuite : public ::testing::TestWithParam<Param> {
 protected:
  void SetUp() override {
    const Param& param = this->GetParam();
    if constexpr (std::is_same_v<Param, BrokerKind>) {
      system_ = &systems_.get(param, Suite::overrides());
    } else {
      system_ = &systems_.get(param.broker, param.database, Suite::overrides());
    }
  }
  static void TearDownTestSuite() {
    for (int code : systems_.stop_all()) {
      EXPECT_EQ(code, 0) << "orderflow up must drain and exit 0 on SIGINT";
    }
  }
  inline static SystemsByBroker systems_;
  RunningSystem* system_ = nullptr;
};

}  // namespace orderflow::testing
