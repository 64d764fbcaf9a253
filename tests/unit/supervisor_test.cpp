// unit: the supervision settings of `orderflow up`, what it logs about an exited child, and
// how it builds a child's command line.
#include "supervisor.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <fstream>

#include "bus_acls.h"
#include "child_process.h"
#include "orderflow/config/config.h"
#include "orderflow/observability/logging.h"
#include "orderflow/testing/support.h"
#include "system.h"

namespace orderflow::cli {
namespace {

using namespace std::chrono_literals;

std::string write_file(const testing::TempDir& dir, const std::string& text) {
  auto path = dir.file("orderflow.yaml");
  std::ofstream(path) << text;
  return path;
}

TEST(SupervisionSpecTest, DefaultsWhenTheSectionIsMissing) {
  testing::TempDir dir;
  auto spec = load_system_spec(write_file(dir, "data_dir: data\n"), "", "/bin");
  EXPECT_EQ(spec.supervision.max_restarts, 5);
  EXPECT_EQ(spec.supervision.window, 60000ms);
  EXPECT_EQ(spec.supervision.backoff_initial, 500ms);
  EXPECT_EQ(spec.supervision.backoff_max, 10000ms);
}

TEST(SupervisionSpecTest, ReadsEveryKey) {
  testing::TempDir dir;
  auto spec = load_system_spec(write_file(dir,
                                          "supervision:\n  max_restarts: 1\n  window_ms: 5000\n"
                                          "  backoff_initial_ms: 100\n  backoff_max_ms: 400\n"),
                               "", "/bin");
  EXPECT_EQ(spec.supervision.max_restarts, 1);
  EXPECT_EQ(spec.supervision.window, 5000ms);
  EXPECT_EQ(spec.supervision.backoff_initial, 100ms);
  EXPECT_EQ(spec.supervision.backoff_max, 400ms);
}

TEST(SupervisionSpecTest, RejectsUnknownKeysAndAnInvertedBackoff) {
  testing::TempDir dir;
  EXPECT_THROW(load_system_spec(write_file(dir, "supervision:\n  max_restart: 1\n"), "", "/bin"),
               config::ConfigError);
  EXPECT_THROW(load_system_spec(write_file(dir,
                                           "supervision:\n  backoff_initial_ms: 2000\n"
                                           "  backoff_max_ms: 1000\n"),
                                "", "/bin"),
               config::ConfigError);
}

TEST(ReplicasTest, InstancesAreNamedAfterTheirService) {
  EXPECT_EQ(instance_name("order-service", 1), "order-service");
  EXPECT_EQ(instance_name("order-service", 2), "order-service-2");
  EXPECT_EQ(instance_name("inventory-service", 10), "inventory-service-10");
}

// SystemSpec::launcher, e.g. a profiler: its words before every child's command, with the
// child's name for "{name}" (one callgrind output file per child).
TEST(LauncherTest, PrefixesTheCommandWithTheChildsName) {
  EXPECT_EQ(launch_command({}, "order-service", {"/bin/order-service", "--port", "0"}),
            (std::vector<std::string>{"/bin/order-service", "--port", "0"}));
  EXPECT_EQ(launch_command({"valgrind", "--out=/tmp/cg.{name}", "--tag={name}-{name}"},
                           "orderflow-broker", {"/bin/orderflow-broker"}),
            (std::vector<std::string>{"valgrind", "--out=/tmp/cg.orderflow-broker",
                                      "--tag=orderflow-broker-orderflow-broker",
                                      "/bin/orderflow-broker"}));
  EXPECT_EQ(launch_command({"{name}"}, "x{name}", {"a"}),
            (std::vector<std::string>{"x{name}", "a"}));
}

TEST(ReplicasTest, ReadPerServiceWithOneByDefault) {
  testing::TempDir dir;
  auto spec = load_system_spec(write_file(dir,
                                          "services:\n  order-service:\n    replicas: 3\n"
                                          "  ops-service:\n    port: 0\n"),
                               "", "/bin");
  ASSERT_EQ(spec.services.size(), 2u);
  EXPECT_EQ(spec.services[0].replicas, 3);
  EXPECT_EQ(spec.services[1].replicas, 1);
  EXPECT_THROW(load_system_spec(write_file(dir, "services:\n  order-service:\n    replicas: 0\n"),
                                "", "/bin"),
               config::ConfigError);
}

// The refusal comes before anything is started: bin_dir has no executables, so a start that
// got as far as the broker would throw "executable not found" instead.
TEST(ReplicasTest, SeveralInstancesOnSqliteAreRefusedBeforeAnythingStarts) {
  testing::TempDir dir;
  auto service_file = dir.file("inventory-service.yaml");
  std::ofstream(service_file) << "storage:\n  backend: sqlite\n";
  auto spec = load_system_spec(write_file(dir,
                                          "data_dir: data\nservices:\n  inventory-service:\n"
                                          "    config: inventory-service.yaml\n"
                                          "    replicas: 2\n"),
                               "", dir.file("no-bin"));
  System system(spec, observability::make_logger("test", {"off", "text"}));
  try {
    system.start();
    FAIL() << "started 2 instances on SQLite";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("inventory-service: 2 replicas"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("--storage postgres"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(system.pids().empty());
}

TEST(ReplicasTest, SeveralInstancesOnPostgresAreNotRefused) {
  testing::TempDir dir;
  // No initdb there: the start fails at the server, past the check of the replicas.
  auto spec = load_system_spec(write_file(dir,
                                          "data_dir: data\nstorage:\n  backend: postgres\n"
                                          "  postgres:\n    bin_dir: no-postgres\n"
                                          "services:\n  inventory-service:\n    replicas: 2\n"),
                               "", dir.file("no-bin"));
  System system(spec, observability::make_logger("test", {"off", "text"}));
  try {
    system.start();
    FAIL() << "started without a PostgreSQL server";
  } catch (const config::ConfigError& e) {
    FAIL() << "refused: " << e.what();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).find("replicas"), std::string::npos) << e.what();
  }
}

// broker.security scram is read from the file and refused with the embedded broker (no SASL
// there) before anything starts.
TEST(KafkaSecuritySpecTest, ScramNeedsTheLocalKafkaCluster) {
  testing::TempDir dir;
  auto spec = load_system_spec(write_file(dir, "data_dir: data\nbroker:\n  security: scram\n"), "",
                               dir.file("no-bin"));
  EXPECT_EQ(spec.kafka_security, KafkaSecurity::kScram);
  System system(spec, observability::make_logger("test", {"off", "text"}));
  try {
    system.start();
    FAIL() << "started scram on the embedded broker";
  } catch (const config::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("--broker kafka"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(system.pids().empty());
  EXPECT_THROW(load_system_spec(write_file(dir, "broker:\n  security: tls\n"), "", "bin"),
               config::ConfigError);
}

// ops-service watches the groups the services really use: a consumer.group_id from a service's
// file or its `set` overrides (a test run's suffix), else the service's name.
TEST(ServiceGroupIdsTest, AreEachServicesConsumerGroupId) {
  testing::TempDir dir;
  std::ofstream(dir.file("payment-service.yaml")) << "consumer:\n  group_id: payments-g\n";
  auto spec = load_system_spec(
      write_file(
          dir,
          "services:\n  order-service:\n    set: [\"consumer.group_id=order-service.e2e-1\"]\n"
          "  payment-service:\n    config: payment-service.yaml\n"
          "  notification-service: {}\n  ops-service: {}\n"),
      "", "/bin");
  EXPECT_EQ(service_group_ids(spec),
            (std::map<std::string, std::string>{{"order-service", "order-service.e2e-1"},
                                                {"payment-service", "payments-g"},
                                                {"notification-service", "notification-service"},
                                                {"data-platform-sink", ""}}));
}

// The data-platform sink's group (notification-service's sink.group_id) is watched too while
// the sink is enabled; while it is not (the default), its id is empty: ops-service drops it
// rather than list a group that never runs.
TEST(ServiceGroupIdsTest, IncludeTheDataPlatformSinksGroupWhenItIsEnabled) {
  testing::TempDir dir;
  auto spec = load_system_spec(
      write_file(dir,
                 "services:\n  notification-service:\n"
                 "    set: [\"consumer.group_id=n.e2e-1\", \"sink.group_id=sink.e2e-1\", "
                 "\"sink.enabled=true\"]\n"),
      "", "/bin");
  EXPECT_EQ(service_group_ids(spec),
            (std::map<std::string, std::string>{{"notification-service", "n.e2e-1"},
                                                {"data-platform-sink", "sink.e2e-1"}}));
  spec = load_system_spec(
      write_file(dir,
                 "services:\n  notification-service:\n"
                 "    set: [\"sink.group_id=sink.e2e-1\", \"sink.enabled=false\"]\n"),
      "", "/bin");
  EXPECT_EQ(service_group_ids(spec)["data-platform-sink"], "");
}

// config/ops-service.yaml watches every group orderflow up renames (lag.group_ids), the sink's
// included: a group it does not list in lag.groups would show in no lag gauge nor on the console.
TEST(ServiceGroupIdsTest, AreAllWatchedByTheDevOpsServiceConfig) {
  testing::TempDir dir;
  const std::string config_dir = std::string(ORDERFLOW_SOURCE_DIR) + "/config/";
  auto spec = load_system_spec(config_dir + "orderflow.yaml", dir.path().string(), "/bin");
  auto ops = config::Source::load(config_dir + "ops-service.yaml", {}, {});
  auto watched = config::Reader(ops).string_map("lag.groups");
  auto ids = service_group_ids(spec);
  EXPECT_TRUE(ids.contains("data-platform-sink"));
  for (const auto& [name, group] : ids) EXPECT_TRUE(watched.contains(name)) << name;
  EXPECT_EQ(watched["data-platform-sink"], "orders");
}

// Who may write and read what on a secured cluster (docs/security.md has the same table).
TEST(BusAclsTest, EachTopicIsWrittenByItsOwnServiceAndReadByItsConsumers) {
  using Rule = messaging::AclRule;
  auto rules = service_acl_rules({});
  auto who = [&](Rule::Resource resource, const std::string& name, Rule::Operation op) {
    std::vector<std::string> out;
    for (const auto& r : rules) {
      if (r.resource == resource && r.name == name && r.operation == op) out.push_back(r.principal);
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  using V = std::vector<std::string>;
  constexpr auto kTopic = Rule::Resource::kTopic;
  constexpr auto kGroup = Rule::Resource::kGroup;
  constexpr auto kWrite = Rule::Operation::kWrite;
  constexpr auto kRead = Rule::Operation::kRead;
  // ops-service re-publishes dead letters to their original topic (replay).
  EXPECT_EQ(who(kTopic, "orders.v1", kWrite), (V{"User:ops-service", "User:order-service"}));
  EXPECT_EQ(who(kTopic, "inventory.v1", kWrite), (V{"User:inventory-service", "User:ops-service"}));
  EXPECT_EQ(who(kTopic, "payments.v1", kWrite), (V{"User:ops-service", "User:payment-service"}));
  // ops-service reads them for the console (topic browser, events by key).
  EXPECT_EQ(who(kTopic, "orders.v1", kRead),
            (V{"User:inventory-service", "User:notification-service", "User:ops-service",
               "User:payment-service"}));
  EXPECT_EQ(who(kTopic, "inventory.v1", kRead),
            (V{"User:ops-service", "User:order-service", "User:payment-service"}));
  EXPECT_EQ(who(kTopic, "payments.v1", kRead),
            (V{"User:inventory-service", "User:notification-service", "User:ops-service",
               "User:order-service"}));
  // A DLT is written by the groups that consume its topic and read by ops-service alone.
  EXPECT_EQ(who(kTopic, "inventory.v1.dlt", kWrite),
            (V{"User:order-service", "User:payment-service"}));
  EXPECT_EQ(who(kTopic, "orders.v1.dlt", kRead), (V{"User:ops-service"}));
  EXPECT_EQ(who(kGroup, "order-service", kRead), (V{"User:order-service"}));
  EXPECT_EQ(who(kGroup, "data-platform-sink", kRead), (V{"User:notification-service"}));
  EXPECT_EQ(who(kGroup, "ops-service", kRead), (V{"User:ops-service"}));
  // ops-service reads the committed offsets of the groups whose lag it reports (DESCRIBE, not
  // READ: it may not join nor commit in them); no one else may, and no group but these.
  constexpr auto kDescribe = Rule::Operation::kDescribe;
  std::vector<std::string> described;
  for (const auto& r : rules) {
    if (r.resource == kGroup && r.operation == kDescribe) {
      EXPECT_EQ(r.principal, "User:ops-service") << r.name;
      described.push_back(r.name);
    }
  }
  std::sort(described.begin(), described.end());
  EXPECT_EQ(described, (V{"data-platform-sink", "inventory-service", "notification-service",
                          "order-service", "payment-service"}));
  // Other names follow the configuration.
  auto renamed = service_acl_rules({"o", "i", "p", ".dead"});
  EXPECT_NE(std::find(renamed.begin(), renamed.end(),
                      Rule{"User:order-service", kTopic, "i.dead", kWrite}),
            renamed.end());
}

TEST(StorageSpecTest, SqliteUnlessConfiguredOtherwise) {
  testing::TempDir dir;
  auto spec = load_system_spec(write_file(dir, "data_dir: data\n"), "", "/bin");
  EXPECT_EQ(spec.storage_backend, SystemSpec::kSqlite);
  EXPECT_EQ(spec.postgres_url, "");
  spec = load_system_spec(write_file(dir,
                                     "storage:\n  backend: postgres\n  postgres:\n"
                                     "    url: postgresql://app@db.example:5432/admin\n"
                                     "    database_prefix: shop_\n"),
                          "", "/bin");
  EXPECT_EQ(spec.storage_backend, SystemSpec::kPostgres);
  EXPECT_EQ(spec.postgres_url, "postgresql://app@db.example:5432/admin");
  EXPECT_EQ(spec.postgres_database_prefix, "shop_");
  EXPECT_THROW(load_system_spec(write_file(dir, "storage:\n  backend: mysql\n"), "", "/bin"),
               config::ConfigError);
  EXPECT_THROW(
      load_system_spec(write_file(dir, "storage:\n  postgres:\n    url: db:5432\n"), "", "/bin"),
      config::ConfigError);
}

TEST(StorageSpecTest, OneDatabasePerServiceNamedWithoutTheSuffix) {
  EXPECT_EQ(postgres_database("", "order-service"), "order");
  EXPECT_EQ(postgres_database("", "notification-service"), "notification");
  EXPECT_EQ(postgres_database("shop_", "ops-service"), "shop_ops");
  EXPECT_EQ(postgres_database("", "audit-log"), "audit_log");
}

TEST(StorageSpecTest, ThePasswordIsTakenOutOfTheUri) {
  auto split =
      split_postgres_password("postgresql://app:s%40cret:x@db1:5432,db2/admin?sslmode=require");
  EXPECT_EQ(split.password, "s@cret:x");
  EXPECT_EQ(split.without_password, "postgresql://app@db1:5432,db2/admin?sslmode=require");
  auto none = split_postgres_password("postgres://db.example");
  EXPECT_EQ(none.password, "");
  EXPECT_EQ(none.without_password, "postgres://db.example/");
  EXPECT_THROW(split_postgres_password("host=db dbname=x"), config::ConfigError);
}

TEST(StorageSpecTest, TheUriNamesTheServicesDatabase) {
  EXPECT_EQ(postgres_uri_with_database("postgresql://orderflow@127.0.0.1:5432/", "order"),
            "postgresql://orderflow@127.0.0.1:5432/order");
  EXPECT_EQ(
      postgres_uri_with_database("postgresql://app@[::1]:5432/admin?sslmode=require", "inventory"),
      "postgresql://app@[::1]:5432/inventory?sslmode=require");
  EXPECT_EQ(postgres_uri_with_database("postgresql://db?connect_timeout=5", "ops"),
            "postgresql://db/ops?connect_timeout=5");
}

TEST(ChildProcessTest, TheEnvironmentIsSetInTheChildOnly) {
  testing::TempDir dir;
  auto log = dir.file("child.log");
  ChildOptions options;
  options.log_file = log;
  options.env["ORDERFLOW_TEST_SECRET"] = "s3cret";
  pid_t pid = spawn_child({"sh", "-c", "echo \"secret=$ORDERFLOW_TEST_SECRET\""}, options);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_EQ(tail_lines(log, 1), "secret=s3cret");
  EXPECT_EQ(getenv("ORDERFLOW_TEST_SECRET"), nullptr);
}

TEST(DescribeExitStatusTest, NamesTheExitCodeOrTheSignal) {
  EXPECT_EQ(describe_exit_status(3 << 8), "exit code 3");
  EXPECT_EQ(describe_exit_status(SIGKILL), "signal SIGKILL");
  EXPECT_EQ(describe_exit_status(SIGSEGV | 0x80), "signal SIGSEGV");  // with a core dump
}

TEST(TailLinesTest, LastLinesOfTheFile) {
  testing::TempDir dir;
  auto path = dir.file("x.log");
  std::ofstream(path) << "one\ntwo\nthree\nfour\n";
  EXPECT_EQ(tail_lines(path, 2), "three\nfour");
  EXPECT_EQ(tail_lines(path, 10), "one\ntwo\nthree\nfour");
  EXPECT_EQ(tail_lines(dir.file("missing.log"), 10), "");
}

}  // namespace
}  // namespace orderflow::cli
