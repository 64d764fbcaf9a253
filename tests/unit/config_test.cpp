#include <gtest/gtest.h>

#include <fstream>

#include "orderflow/config/config.h"
#include "orderflow/runtime/endpoints_file.h"
#include "orderflow/testing/support.h"

namespace orderflow::config {
namespace {

std::string write_file(const testing::TempDir& dir, const std::string& text) {
  auto path = dir.file("service.yaml");
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigTest, DefaultsWithoutFile) {
  auto source = Source::load("", {}, {});
  Reader reader(source);
  auto c = read_service_config(reader, "order-service", 8080);
  reader.finish();
  EXPECT_EQ(c.name, "order-service");
  EXPECT_EQ(c.http.port, 8080);
  EXPECT_EQ(c.topics.orders, "orders.v1");
  EXPECT_EQ(c.consumer.concurrency, 16);
  EXPECT_EQ(c.consumer.retry.max_attempts, 3);
  EXPECT_EQ(c.consumer.retry.backoff.count(), 2000);
  EXPECT_EQ(c.storage.sqlite_path, ".orderflow/order-service.db");
  EXPECT_EQ(c.http.max_connections, 1024u);
  EXPECT_EQ(c.http.max_in_flight, 256);
}

TEST(ConfigTest, InstanceIdNamesTheKafkaClientAndTheLogLines) {
  auto alone = Source::load("", {}, {});
  Reader alone_reader(alone);
  auto first = read_service_config(alone_reader, "order-service", 8080);
  EXPECT_EQ(first.instance_id, "order-service");
  EXPECT_EQ(first.kafka.client_id, "order-service");

  auto source = Source::load("", {}, {"service.instance_id=order-service-2"});
  Reader reader(source);
  auto c = read_service_config(reader, "order-service", 8080);
  reader.finish();
  EXPECT_EQ(c.name, "order-service");
  EXPECT_EQ(c.instance_id, "order-service-2");
  EXPECT_EQ(c.kafka.client_id, "order-service-2");
  EXPECT_EQ(c.log.instance, "order-service-2");
}

// A service's principal on a cluster with ACLs: the name from the file or --set, the password
// from the environment (as `orderflow up --kafka-security scram` passes it), never required in a
// file; SASL_SSL or another mechanism set in kafka.properties is kept.
TEST(ConfigTest, KafkaSaslCredentialsComeFromConfigAndEnvironment) {
  auto source = Source::load("",
                             {{"ORDERFLOW__KAFKA__SASL__USERNAME", "payment-service"},
                              {"ORDERFLOW__KAFKA__SASL__PASSWORD", "s3cret"}},
                             {});
  Reader reader(source);
  auto c = read_service_config(reader, "payment-service", 8080);
  reader.finish();
  EXPECT_EQ(c.kafka.properties.at("sasl.username"), "payment-service");
  EXPECT_EQ(c.kafka.properties.at("sasl.password"), "s3cret");
  EXPECT_EQ(c.kafka.properties.at("sasl.mechanisms"), "SCRAM-SHA-256");
  EXPECT_EQ(c.kafka.properties.at("security.protocol"), "SASL_PLAINTEXT");

  auto tls = Source::load("", {{"ORDERFLOW__KAFKA__SASL__PASSWORD", "s3cret"}},
                          {"kafka.sasl.username=ops", "kafka.sasl.mechanism=SCRAM-SHA-512",
                           "kafka.properties.security.protocol=SASL_SSL"});
  Reader tls_reader(tls);
  auto t = read_service_config(tls_reader, "ops-service", 8081);
  EXPECT_EQ(t.kafka.properties.at("sasl.mechanisms"), "SCRAM-SHA-512");
  EXPECT_EQ(t.kafka.properties.at("security.protocol"), "SASL_SSL");

  auto plain = Source::load("", {}, {});
  Reader plain_reader(plain);
  auto p = read_service_config(plain_reader, "order-service", 8080);
  EXPECT_FALSE(p.kafka.properties.contains("security.protocol"));
  EXPECT_FALSE(p.kafka.properties.contains("sasl.username"));
}

// Batches of records in one transaction: on by default on SQLite; one record per transaction on
// PostgreSQL (lock-order deadlocks between workers' batches); consumer.batch_size sets it.
TEST(ConfigTest, BatchSizeDefaultsByStorageBackend) {
  auto read = [](std::vector<std::string> overrides) {
    auto source = Source::load("", {}, std::move(overrides));
    Reader reader(source);
    auto c = read_service_config(reader, "order-service", 8080);
    reader.finish();
    return c.consumer;
  };
  EXPECT_EQ(read({}).max_batch, 64);
  EXPECT_EQ(read({"storage.backend=postgres", "storage.postgres.url=postgresql://h/db"}).max_batch,
            64);
  {
    auto source = Source::load(
        "", {}, {"storage.backend=postgres", "storage.postgres.url=postgresql://h/db"});
    Reader reader(source);
    auto c = read_service_config(reader, "inventory-service", 8082, {.postgres_batch_size = 1});
    EXPECT_EQ(c.consumer.max_batch, 1) << "a service's own PostgreSQL default";
  }
  EXPECT_EQ(read({"consumer.batch_size=8"}).max_batch, 8);
  EXPECT_EQ(read({}).hand_off_threads, 64);
}

TEST(ConfigTest, OverloadLimitsAreRead) {
  auto source =
      Source::load("", {{"ORDERFLOW__HTTP__MAX_IN_FLIGHT", "3"}}, {"http.max_connections=10"});
  Reader reader(source);
  auto c = read_service_config(reader, "order-service", 8080);
  reader.finish();
  EXPECT_EQ(c.http.max_connections, 10u);
  EXPECT_EQ(c.http.max_in_flight, 3);
}

TEST(ConfigTest, AuthSectionIsReadAndItsKeyRequiredUnlessModeNone) {
  auto defaults_source = Source::load("", {}, {});
  Reader defaults_reader(defaults_source);
  EXPECT_EQ(read_service_config(defaults_reader, "order-service", 8080).http.auth.mode,
            http::AuthMode::kNone);

  testing::TempDir dir;
  auto file = write_file(dir,
                         "auth:\n  mode: required\n  algorithm: RS256\n"
                         "  public_key_file: keys/pub.pem\n  issuer: https://id\n"
                         "  audience: orderflow\n  clock_skew_ms: 5000\n");
  auto source = Source::load(file, {}, {});
  Reader reader(source);
  auto c = read_service_config(reader, "order-service", 8080);
  reader.finish();
  EXPECT_EQ(c.http.auth.mode, http::AuthMode::kRequired);
  EXPECT_EQ(c.http.auth.algorithm, http::JwtAlgorithm::kRS256);
  EXPECT_EQ(c.http.auth.public_key_file, (dir.path() / "keys/pub.pem").string());
  EXPECT_EQ(c.http.auth.issuer, "https://id");
  EXPECT_EQ(c.http.auth.audience, "orderflow");
  EXPECT_EQ(c.http.auth.clock_skew, std::chrono::milliseconds(5000));

  // The secret may come from the environment, never needing a file or a command line.
  auto env_source =
      Source::load("", {{"ORDERFLOW__AUTH__SECRET", std::string(32, 'x')}}, {"auth.mode=optional"});
  Reader env_reader(env_source);
  EXPECT_EQ(read_service_config(env_reader, "order-service", 8080).http.auth.secret,
            std::string(32, 'x'));
}

TEST(ConfigTest, FileThenEnvironmentThenOverrides) {
  testing::TempDir dir;
  auto file = write_file(dir,
                         "http:\n  port: 9000\n  threads: 4\nkafka:\n  bootstrap_servers: a:1\n"
                         "  properties:\n    linger.ms: \"7\"\n");
  auto source = Source::load(file, {{"ORDERFLOW__HTTP__THREADS", "8"}, {"UNRELATED", "x"}},
                             {"kafka.bootstrap_servers=b:2", "data_dir=/tmp/x"});
  Reader reader(source);
  auto c = read_service_config(reader, "order-service", 8080);
  reader.finish();
  EXPECT_EQ(c.http.port, 9000);
  EXPECT_EQ(c.http.threads, 8);
  EXPECT_EQ(c.kafka.bootstrap_servers, "b:2");
  EXPECT_EQ(c.kafka.properties.at("linger.ms"), "7");
  EXPECT_EQ(c.storage.sqlite_path, "/tmp/x/order-service.db");
}

// Regression: `--set kafka.producer.linger.ms=1` built a nested linger → ms section beside the
// file's "linger.ms" key, and the file's value won silently.
TEST(ConfigTest, OverrideOfADottedPropertyReplacesTheFilesValue) {
  testing::TempDir dir;
  auto file = write_file(dir,
                         "kafka:\n  profile: none\n  producer:\n    linger.ms: \"5\"\n"
                         "  consumer:\n    fetch.wait.max.ms: \"5\"\n");
  auto source = Source::load(file, {{"ORDERFLOW__KAFKA__CONSUMER__FETCH.WAIT.MAX.MS", "9"}},
                             {"kafka.producer.linger.ms=1", "kafka.producer.batch.size=1000"});
  Reader reader(source);
  auto c = read_service_config(reader, "order-service", 8080);
  reader.finish();
  EXPECT_EQ(c.kafka.producer_properties.at("linger.ms"), "1");
  EXPECT_EQ(c.kafka.producer_properties.at("batch.size"), "1000");
  EXPECT_EQ(c.kafka.consumer_properties.at("fetch.wait.max.ms"), "9");
  EXPECT_EQ(c.kafka.producer_properties.size(), 3u);  // and message.timeout.ms (below)
}

TEST(ConfigTest, UnknownKeyStopsStartupNamingIt) {
  testing::TempDir dir;
  auto file = write_file(dir, "http:\n  prot: 9000\n");
  auto source = Source::load(file, {}, {});
  Reader reader(source);
  read_service_config(reader, "order-service", 8080);
  try {
    reader.finish();
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("http.prot"), std::string::npos) << e.what();
  }
}

TEST(ConfigTest, BadValuesNameTheKey) {
  auto expect_error = [](const std::string& override_text, const std::string& key) {
    auto source = Source::load("", {}, {override_text});
    Reader reader(source);
    try {
      read_service_config(reader, "order-service", 8080);
      ADD_FAILURE() << "expected ConfigError for " << override_text;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  };
  expect_error("http.port=abc", "http.port");
  expect_error("http.port=70000", "http.port");
  expect_error("consumer.concurrency=0", "consumer.concurrency");
  expect_error("storage.backend=mysql", "storage.backend");
  expect_error("consumer.retry.kind=linear", "consumer.retry.kind");
  expect_error("log.level=loud", "log.level");
  expect_error("http.max_connections=0", "http.max_connections");
  expect_error("http.max_in_flight=0", "http.max_in_flight");
  expect_error("auth.mode=maybe", "auth.mode");
  expect_error("auth.algorithm=none", "auth.algorithm");
  expect_error("auth.mode=optional", "auth.secret");  // HS256 without a secret
  expect_error("auth.mode=required", "auth.secret");
  expect_error("kafka.sasl.password=x", "kafka.sasl.username");  // a password for no one
  expect_error("kafka.sasl.mechanism=GSSAPI", "kafka.sasl.mechanism");
  // A producer timeout apart from the relay's, and a batch the producer queue cannot hold.
  expect_error("kafka.producer.message.timeout.ms=300000", "outbox.delivery_timeout_ms");
  expect_error("kafka.properties.delivery.timeout.ms=300000", "outbox.delivery_timeout_ms");
  expect_error("outbox.batch_size=20000", "queue.buffering.max.messages");
  // Two batches in flight at once (the relay's pipeline) must fit together.
  expect_error("outbox.batch_size=6000", "outbox.pipeline_depth 2");
  expect_error("outbox.pipeline_depth=0", "outbox.pipeline_depth");
}

// Regression (issue 15): the relay waited 30 s for a batch (outbox.delivery_timeout_ms) while
// librdkafka tried for its default 300 s, so rounds on a stalled broker re-sent rows still in
// flight. One value now sets both.
TEST(ConfigTest, TheRelaysDeliveryTimeoutIsTheProducersMessageTimeout) {
  auto read = [](const std::vector<std::string>& overrides) {
    auto source = Source::load("", {}, overrides);
    Reader reader(source);
    auto c = read_service_config(reader, "order-service", 8080);
    reader.finish();
    return c;
  };
  auto defaults = read({});
  EXPECT_EQ(defaults.outbox.delivery_timeout.count(), 30000);
  EXPECT_EQ(defaults.kafka.producer_properties.at("message.timeout.ms"), "30000");

  auto shorter = read({"outbox.delivery_timeout_ms=5000", "kafka.profile=none"});
  EXPECT_EQ(shorter.outbox.delivery_timeout.count(), 5000);
  EXPECT_EQ(shorter.kafka.producer_properties.at("message.timeout.ms"), "5000");

  // The same value given to librdkafka as well is accepted.
  auto same = read({"outbox.delivery_timeout_ms=5000", "kafka.producer.message.timeout.ms=5000"});
  EXPECT_EQ(same.kafka.producer_properties.at("message.timeout.ms"), "5000");
}

TEST(ConfigTest, MalformedFileAndOverride) {
  testing::TempDir dir;
  auto file = write_file(dir, "http: [unclosed\n");
  EXPECT_THROW(Source::load(file, {}, {}), ConfigError);
  EXPECT_THROW(Source::load(dir.file("missing.yaml"), {}, {}), ConfigError);
  EXPECT_THROW(Source::load("", {}, {"no-equals-sign"}), ConfigError);
  auto list_file = write_file(dir, "- a\n- b\n");
  EXPECT_THROW(Source::load(list_file, {}, {}), ConfigError);
}

// Found by fuzz/config_fuzz.cpp: keys and list items that are not single values escaped as
// yaml-cpp's "bad conversion" (std::terminate at start-up) instead of a ConfigError.
TEST(ConfigTest, KeysAndListItemsThatAreNotSingleValuesAreConfigErrors) {
  testing::TempDir dir;
  for (const char* text :
       {"kafka:\n  ? [a, b]\n  : 1\n", "? {a: 1}\n: x\n", "x:\n  - ? [k]\n    : v\n"}) {
    auto file = write_file(dir, text);
    EXPECT_THROW(Source::load(file, {}, {}), ConfigError) << text;
  }
  auto file = write_file(dir, "x:\n  items: [a, [b, c]]\n");
  auto source = Source::load(file, {}, {});
  Reader reader(source);
  EXPECT_THROW(reader.string_list("x.items", {}), ConfigError);
  // A null key or item is the text "null", as yaml-cpp reads it.
  auto nulls = Source::load(write_file(dir, "x:\n  ~: 1\n  items: [a, ~]\n"), {}, {});
  EXPECT_EQ(nulls.sequence("x.items"), (std::vector<std::string>{"a", "null"}));
  EXPECT_EQ(nulls.leaf_paths(), (std::vector<std::string>{"x.null", "x.items"}));
}

TEST(ConfigTest, ListsFromSequenceOrCommaText) {
  testing::TempDir dir;
  auto file = write_file(dir, "x:\n  items: [a, b]\n");
  auto source = Source::load(file, {}, {"y.items=c,d", "w.items= log, slack ,,"});
  Reader reader(source);
  EXPECT_EQ(reader.string_list("x.items", {}), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(reader.string_list("y.items", {}), (std::vector<std::string>{"c", "d"}));
  // Regression: "log, slack" from --set or the environment kept the blank before "slack".
  EXPECT_EQ(reader.string_list("w.items", {}), (std::vector<std::string>{"log", "slack"}));
  EXPECT_EQ(reader.string_list("z.items", {"e"}), (std::vector<std::string>{"e"}));
  reader.finish();
}

TEST(ConfigTest, BootstrapFromBrokerFile) {
  testing::TempDir dir;
  std::ofstream(dir.file("broker.bootstrap")) << "127.0.0.1:1234\n";
  ServiceConfig c;
  c.data_dir = dir.path().string();
  resolve_bootstrap(c);
  EXPECT_EQ(c.kafka.bootstrap_servers, "127.0.0.1:1234");

  ServiceConfig missing;
  testing::TempDir empty;
  missing.data_dir = empty.path().string();
  missing.bootstrap_wait = std::chrono::milliseconds{0};
  EXPECT_THROW(resolve_bootstrap(missing), ConfigError);
}

// endpoints.json, as `orderflow up` writes it and ops-service and the CLI read it.
TEST(EndpointsFileTest, ReadsTheInstancesWithDefaults) {
  testing::TempDir dir;
  auto path = dir.file("endpoints.json");
  std::ofstream(path) << R"({"services":{
      "order-service":{"host":"10.0.0.1","port":8080,"url":"http://orders:8080"},
      "ops-service":{"port":8081}},
    "kafka":{"bootstrapServers":"127.0.0.1:9092"}})";
  auto endpoints = runtime::read_endpoints_file(path);
  ASSERT_TRUE(endpoints.ok()) << endpoints.error().message;
  ASSERT_EQ(endpoints->size(), 2u);
  const auto& order = endpoints->at("order-service");
  EXPECT_EQ(order.host, "10.0.0.1");
  EXPECT_EQ(order.port, 8080);
  EXPECT_EQ(order.url, "http://orders:8080");
  const auto& ops = endpoints->at("ops-service");
  EXPECT_EQ(ops.host, "127.0.0.1");
  EXPECT_EQ(ops.url, "http://127.0.0.1:8081");
  std::ofstream(path) << R"({"services":{}})";
  EXPECT_TRUE(runtime::read_endpoints_file(path).value().empty());
}

// Bad input: every file that is not endpoints.json is an error value naming the file and the
// problem, never an empty or partial list and never an exception.
TEST(EndpointsFileTest, BadFilesAreClearErrorValues) {
  testing::TempDir dir;
  auto path = dir.file("endpoints.json");
  auto missing = runtime::read_endpoints_file(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(missing.error().code, "ENDPOINTS_MISSING");
  EXPECT_NE(missing.error().message.find(path), std::string::npos);

  struct Case {
    const char* text;
    const char* says;
  };
  for (const auto& [text, says] : std::vector<Case>{
           {"", "not JSON"},
           {"{\"services\":{\"a\":{\"port\":1}", "not JSON"},
           {"\xff\xfe", "not JSON"},
           {"[]", "\"services\" object"},
           {"{}", "\"services\" object"},
           {R"({"services":[{"port":8080}]})", "\"services\" object"},
           {R"({"services":{"a":"127.0.0.1:8080"}})", "services.a must be an object"},
           {R"({"services":{"a":{"host":"h"}}})", "services.a.port must be an integer 1..65535"},
           {R"({"services":{"a":{"port":"8080"}}})", "services.a.port"},
           {R"({"services":{"a":{"port":0}}})", "services.a.port"},
           {R"({"services":{"a":{"port":-1}}})", "services.a.port"},
           {R"({"services":{"a":{"port":65536}}})", "services.a.port"},
           {R"({"services":{"a":{"port":8080.5}}})", "services.a.port"},
           {R"({"services":{"a":{"port":18446744073709551615}}})", "services.a.port"},
           {R"({"services":{"a":{"port":8080,"host":7}}})", "services.a.host must be a non-empty"},
           {R"({"services":{"a":{"port":8080,"host":""}}})", "services.a.host"},
           {R"({"services":{"a":{"port":8080,"url":null}}})", "services.a.url"},
           {R"({"services":{"ok":{"port":8080},"z":{"port":[]}}})", "services.z.port"},
       }) {
    SCOPED_TRACE(text);
    std::ofstream(path, std::ios::trunc) << text;
    auto endpoints = runtime::read_endpoints_file(path);
    ASSERT_FALSE(endpoints.ok()) << endpoints->size() << " instance(s)";
    EXPECT_EQ(endpoints.error().kind, ErrorKind::kInvalidInput);
    EXPECT_EQ(endpoints.error().code, "ENDPOINTS_INVALID");
    EXPECT_EQ(endpoints.error().message.rfind(path + ": ", 0), 0u) << endpoints.error().message;
    EXPECT_NE(endpoints.error().message.find(says), std::string::npos) << endpoints.error().message;
  }

  auto directory = runtime::read_endpoints_file(dir.path().string());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.error().code, "ENDPOINTS_UNREADABLE");
}

}  // namespace
}  // namespace orderflow::config
