#pragma once

#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "orderflow/testing/broker_param.h"
#include "orderflow/testing/test_broker.h"
#include "orderflow/testing/test_database.h"

namespace orderflow::testing {

/// The broker and the database of a test parametrised over both.
struct BackendParam {
  BrokerKind broker = BrokerKind::kEmbedded;
  DatabaseKind database = DatabaseKind::kSqlite;
};

/// The broker's name then the database's: "EmbeddedSqlite", "KafkaPostgres", … (the CTest
/// name's suffix: tests/CMakeLists.txt gives a …Kafka… run the kafka fixture and a …Postgres
/// run the postgres one).
inline std::string backend_param_name(const BackendParam& param) {
  return broker_kind_name(param.broker) + database_kind_name(param.database);
}
inline void PrintTo(const BackendParam& param, std::ostream* out) {
  *out << backend_param_name(param);
}

/// Names a BackendParam instance by backend_param_name().
struct BackendParamName {
  std::string operator()(const ::testing::TestParamInfo<BackendParam>& info) const {
    return backend_param_name(info.param);
  }
};

/// SystemSuite (broker_param.h) over a broker and a database: `system_` is the suite's
/// RunningSystem for the test's BackendParam (storage.backend postgres on the shared server for
/// …Postgres). Instantiate with ORDERFLOW_ON_BACKENDS.
template <typename Suite>
using BackendSystemSuite = SystemSuite<Suite, BackendParam>;

}  // namespace orderflow::testing

/// Runs every TEST_P of `suite` (a fixture deriving from ::testing::TestWithParam<BackendParam>)
/// on the given BackendParams, e.g.
/// ORDERFLOW_ON_BACKENDS(Suite, {kEmbedded, kSqlite}, {kKafka, kPostgres}):
/// Suite.Test/EmbeddedSqlite, Suite.Test/KafkaPostgres.
#define ORDERFLOW_ON_BACKENDS(suite, ...)                                                         \
  INSTANTIATE_TEST_SUITE_P(, suite, ::testing::ValuesIn([] {                                      \
                             using enum ::orderflow::testing::BrokerKind;                         \
                             using enum ::orderflow::testing::DatabaseKind;                       \
                             return std::vector<::orderflow::testing::BackendParam>{__VA_ARGS__}; \
                           }()),                                                                  \
                           ::orderflow::testing::BackendParamName())
