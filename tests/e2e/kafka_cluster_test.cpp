// A real 3-node Apache Kafka cluster (KRaft) as `orderflow up --broker kafka` starts it: topics
// through the Admin API, acks=all + lz4 produce, kcat consume with headers, and records kept
// across a restart on the same data dir; and the secured cluster (--kafka-security scram): the
// ACLs refuse a forged record and foreign reads, the whole system runs on it. Needs Java and
// scripts/install-kafka.sh (make deps).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <string>

#include <librdkafka/rdkafka.h>

#include "bus_acls.h"
#include "kafka_cluster.h"
#include "orderflow/config/config.h"
#include "orderflow/config/kafka_profile.h"
#include "orderflow/messaging/group_lag.h"
#include "orderflow/messaging/producer.h"
#include "orderflow/messaging/topic_admin.h"
#include "orderflow/messaging/topic_browser.h"
#include "orderflow/observability/logging.h"
#include "orderflow/runtime/topic_provisioner.h"
#include "orderflow/testing/support.h"
#include "orderflow/testing/system_under_test.h"

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using orderflow::testing::eventually;
namespace messaging = orderflow::messaging;

std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  while (std::size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  pclose(pipe);
  return out;
}

// Every record of `topic` as "key|headers|value" lines, read with kcat (a second client).
std::string kcat_read(const std::string& bootstrap, const std::string& topic) {
  return run("timeout 30 kcat -b " + bootstrap + " -C -t " + topic +
             " -o beginning -e -q -f '%k|%h|%s\\n' 2>/dev/null");
}

std::uintmax_t segment_bytes(const fs::path& log_dir, const std::string& topic) {
  std::uintmax_t total = 0;
  for (const auto& partition : fs::directory_iterator(log_dir)) {
    if (partition.path().filename().string().rfind(topic + "-", 0) != 0) continue;
    for (const auto& file : fs::directory_iterator(partition.path())) {
      if (file.path().extension() == ".log") total += fs::file_size(file.path());
    }
  }
  return total;
}

long long seconds_since(std::chrono::steady_clock::time_point from) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               from)
             .count() /
         1000;
}

// A cluster of `brokers` nodes under `dir`.
orderflow::cli::KafkaClusterOptions cluster_in(const orderflow::testing::TempDir& dir,
                                               int brokers) {
  orderflow::cli::KafkaClusterOptions options;
  options.data_dir = dir.file("data");
  options.brokers = brokers;
  return options;
}

TEST(KafkaCluster, CreatesTopicsProducesLz4AndKeepsRecordsAcrossARestart) {
  auto logger = orderflow::observability::make_logger(
      "kafka-cluster-test", {orderflow::testing::test_log_level(), "text"});
  orderflow::testing::TempDir dir;
  auto options = cluster_in(dir, 3);

  auto started = std::chrono::steady_clock::now();
  std::string bootstrap;
  {
    orderflow::cli::KafkaCluster cluster(options, logger);
    cluster.start();
    bootstrap = cluster.bootstrap_servers();
    std::cout << "[kafka] 3 brokers up (first start, formatted) in " << seconds_since(started)
              << " s at " << bootstrap << std::endl;
    ASSERT_EQ(cluster.pids().size(), 3u);

    int rf = messaging::default_replication_factor(3);
    ASSERT_EQ(rf, 3);
    std::vector<messaging::TopicSpec> topics;
    for (std::string name : {"orders.v1", "inventory.v1", "payments.v1"}) {
      for (const auto& t : {name, name + ".dlt"}) {
        topics.push_back({t, 3, rf, {{"min.insync.replicas", "2"}}});
      }
    }
    messaging::KafkaConfig kafka;
    kafka.bootstrap_servers = bootstrap;
    orderflow::config::apply_kafka_profile(orderflow::config::load_kafka_profile("cluster"), kafka);
    auto created = messaging::ensure_topics(kafka, topics, 60s, logger);
    ASSERT_EQ(created.size(), 6u);
    for (const auto& t : created) EXPECT_TRUE(t.created) << t.name;
    // A second call finds them; a different partition count is reported, not changed.
    topics[0].partitions = 5;
    auto again = messaging::ensure_topics(kafka, topics, 60s, logger);
    for (const auto& t : again) EXPECT_FALSE(t.created) << t.name;
    EXPECT_EQ(again[0].partitions, 3);
    // Too few brokers for the replication factor: the error names the topic.
    try {
      messaging::ensure_topics(kafka, {{"too-replicated.v1", 1, 5, {}}}, 30s, logger);
      ADD_FAILURE() << "replication factor 5 on 3 brokers was accepted";
    } catch (const messaging::TopicAdminError& e) {
      EXPECT_NE(std::string(e.what()).find("too-replicated.v1"), std::string::npos) << e.what();
    }

    // A service's start-up creation (topics.create): the six topics of its own names, RF 3 on
    // 3 brokers; a replication factor the cluster cannot have stops start-up naming the topic.
    {
      auto source = orderflow::config::Source::load(
          "", {}, {"kafka.bootstrap_servers=" + bootstrap, "topics.orders=svc-orders"});
      orderflow::config::Reader reader(source);
      auto cfg = orderflow::config::read_service_config(reader, "order-service", 8080);
      orderflow::runtime::TopicProvisioner provisioner(cfg, logger, 30s);
      ASSERT_NO_THROW(provisioner.start());
      EXPECT_TRUE(provisioner.done());
      auto found =
          messaging::ensure_topics(kafka, orderflow::runtime::service_topics(cfg, 3), 30s, logger);
      for (const auto& t : found) EXPECT_FALSE(t.created) << t.name << " was not created before";
      cfg.topics.orders = "svc-over-replicated";
      cfg.replication_factor = 5;
      orderflow::runtime::TopicProvisioner refused(cfg, logger, 30s);
      try {
        refused.start();
        ADD_FAILURE() << "replication factor 5 on 3 brokers did not stop start-up";
      } catch (const messaging::TopicAdminError& e) {
        EXPECT_FALSE(e.retryable());
        EXPECT_NE(std::string(e.what()).find("svc-over-replicated"), std::string::npos) << e.what();
      }
    }

    // acks=all, idempotent (the producer's settings), lz4 (the cluster profile's) with headers.
    auto producer = messaging::make_kafka_producer(kafka, logger);
    const std::string value(2000, 'x');
    auto sent = producer->send_sync(
        {"orders.v1", "order-42", value, {{"eventType", "OrderCreated"}, {"eventId", "e-1"}}}, 60s);
    ASSERT_TRUE(sent.ok()) << sent.error().message;
    std::string line = "order-42|eventType=OrderCreated,eventId=e-1|" + value + "\n";
    ASSERT_TRUE(eventually([&] { return kcat_read(bootstrap, "orders.v1") == line; }, 60s, 500ms))
        << kcat_read(bootstrap, "orders.v1");
    // Compressed on the broker: 2000 bytes of 'x' take far less than 2000 bytes in the
    // segment of each replica (with Kafka 4 and librdkafka 2.0.2 they were sent uncompressed).
    auto node1 = fs::path(options.data_dir) / "kafka" / "node-1" / "data";
    EXPECT_LT(segment_bytes(node1, "orders.v1"), 1000u);
    producer.reset();
    auto stopping = std::chrono::steady_clock::now();
    cluster.stop();
    std::cout << "[kafka] stopped in " << seconds_since(stopping) << " s" << std::endl;
    for (auto pid : cluster.pids()) EXPECT_EQ(pid, -1);
  }

  // A second start on the same data dir: same ports, same cluster, the record still there.
  auto restarted = std::chrono::steady_clock::now();
  orderflow::cli::KafkaCluster cluster(options, logger);
  cluster.start();
  std::cout << "[kafka] restarted in " << seconds_since(restarted) << " s" << std::endl;
  EXPECT_EQ(cluster.bootstrap_servers(), bootstrap);
  std::string line = "order-42|eventType=OrderCreated,eventId=e-1|" + std::string(2000, 'x') + "\n";
  EXPECT_TRUE(eventually([&] { return kcat_read(bootstrap, "orders.v1") == line; }, 60s, 500ms))
      << kcat_read(bootstrap, "orders.v1");
  cluster.stop();
  std::cout << "[kafka] whole test " << seconds_since(started) << " s" << std::endl;
}

// What a consumer of `topic` in `group` gets first: an error code, or NO_ERROR with a record.
// Gives up after `timeout` (returns _TIMED_OUT).
rd_kafka_resp_err_t first_consumer_outcome(const messaging::KafkaConfig& config,
                                           const std::string& group, const std::string& topic,
                                           std::chrono::milliseconds timeout) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& name, const std::string& value) {
    EXPECT_EQ(rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err),
              RD_KAFKA_CONF_OK)
        << name << ": " << err;
  };
  set("bootstrap.servers", config.bootstrap_servers);
  set("group.id", group);
  set("auto.offset.reset", "earliest");
  set("log_level", "2");
  for (const auto& [name, value] : config.properties) set(name, value);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == nullptr) {
    ADD_FAILURE() << err;
    return RD_KAFKA_RESP_ERR__FAIL;
  }
  rd_kafka_poll_set_consumer(rk);
  auto* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  auto outcome = RD_KAFKA_RESP_ERR__TIMED_OUT;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (outcome == RD_KAFKA_RESP_ERR__TIMED_OUT && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* message = rd_kafka_consumer_poll(rk, 200);
    if (message == nullptr) continue;
    // End of partition is no outcome: the record (or the refusal) is still to come.
    if (message->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) outcome = message->err;
    rd_kafka_message_destroy(message);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return outcome;
}

// The high watermark of partition 0 of `topic` (records ever written to it), read as `config`.
std::int64_t records_in(const messaging::KafkaConfig& config, const std::string& topic) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", config.bootstrap_servers.c_str(), err, sizeof err);
  for (const auto& [name, value] : config.properties) {
    rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err);
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  std::int64_t low = -1;
  std::int64_t high = -1;
  auto code = rd_kafka_query_watermark_offsets(rk, topic.c_str(), 0, &low, &high, 10000);
  rd_kafka_destroy(rk);
  EXPECT_EQ(code, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(code);
  return high;
}

// Issue 12 item 4: on the secured cluster (`orderflow up --broker kafka --kafka-security scram`)
// each service is a SASL/SCRAM principal of its own and the ACLs of bus_acls.h decide who may
// write and read what. A STOCK_RESERVED forged with payment-service's credentials is refused by
// the broker and never lands on inventory.v1; inventory-service's own record does; a group
// reading a topic it does not consume, or another service's group, is refused. One broker: the
// ACLs, not the replication, are under test, and it starts in half the time of three.
TEST(KafkaCluster, SecuredClusterRefusesRecordsAndReadsTheAclsDoNotAllow) {
  auto logger = orderflow::observability::make_logger(
      "kafka-acl-test", {orderflow::testing::test_log_level(), "text"});
  orderflow::testing::TempDir dir;
  auto options = cluster_in(dir, 1);
  options.security = orderflow::cli::KafkaSecurity::kScram;
  orderflow::cli::KafkaCluster cluster(options, logger);
  auto started = std::chrono::steady_clock::now();
  cluster.start();
  std::cout << "[kafka] secured broker up in " << seconds_since(started) << " s" << std::endl;

  // Credentials are kept in the data dir, readable by its owner only, and no client gets in
  // without them.
  auto credentials = fs::path(options.data_dir) / "kafka" / "credentials.json";
  ASSERT_TRUE(fs::exists(credentials));
  EXPECT_EQ(fs::status(credentials).permissions() & (fs::perms::group_all | fs::perms::others_all),
            fs::perms::none);
  EXPECT_THROW((void)cluster.client_config("mallory"), std::runtime_error);

  auto admin = cluster.client_config(orderflow::cli::kKafkaAdminUser);
  std::vector<messaging::TopicSpec> topics;
  for (std::string name : {"orders.v1", "inventory.v1", "payments.v1"}) {
    for (const auto& t : {name, name + ".dlt"}) topics.push_back({t, 1, 1, {}});
  }
  ASSERT_EQ(messaging::ensure_topics(admin, topics, 60s, logger).size(), 6u);
  messaging::create_acls(admin, orderflow::cli::service_acl_rules({}), 30s);
  // A service may not create topics (only the admin provisions them).
  EXPECT_THROW(messaging::ensure_topics(cluster.client_config("payment-service"),
                                        {{"payment-made-this.v1", 1, 1, {}}}, 30s, logger),
               messaging::TopicAdminError);

  auto forged_stock_reserved = [] {
    return messaging::OutgoingRecord{
        "inventory.v1",
        "order-that-does-not-exist",
        R"({"eventId":"e-forged","eventType":"STOCK_RESERVED","orderId":"order-that-does-not-exist"})",
        {}};
  };
  {
    auto producer =
        messaging::make_kafka_producer(cluster.client_config("payment-service"), logger);
    auto forged = producer->send_sync(forged_stock_reserved(), 30s);
    ASSERT_FALSE(forged.ok()) << "payment-service wrote to inventory.v1";
    EXPECT_NE(forged.error().message.find("Topic authorization failed"), std::string::npos)
        << forged.error().message;
    EXPECT_FALSE(forged.error().retryable()) << forged.error().message;
  }
  EXPECT_EQ(records_in(admin, "inventory.v1"), 0) << "the forged record landed";

  {
    auto producer =
        messaging::make_kafka_producer(cluster.client_config("inventory-service"), logger);
    auto legit = producer->send_sync(
        {"inventory.v1", "o-1", R"({"eventId":"e-1","eventType":"STOCK_RESERVED"})", {}}, 30s);
    ASSERT_TRUE(legit.ok()) << legit.error().message;
  }
  EXPECT_EQ(records_in(admin, "inventory.v1"), 1);

  // payment-service's group reads inventory.v1 (it consumes it) ...
  EXPECT_EQ(first_consumer_outcome(cluster.client_config("payment-service"), "payment-service",
                                   "inventory.v1", 60s),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  // ... but not payments.v1, its own output, which it does not consume ...
  EXPECT_EQ(first_consumer_outcome(cluster.client_config("payment-service"), "payment-service",
                                   "payments.v1", 60s),
            RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  // ... and not in another service's group (order-service consumes inventory.v1 too).
  EXPECT_EQ(first_consumer_outcome(cluster.client_config("payment-service"), "order-service",
                                   "inventory.v1", 60s),
            RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED);
  // The ops console's reads as User:ops-service: the topic browser reads in a group it has no
  // grant on (assign() with explicit offsets needs none) ...
  {
    messaging::TopicBrowser browser(cluster.client_config("ops-service"));
    auto listed = browser.topics(30s);
    ASSERT_TRUE(listed.ok()) << listed.error().message;
    auto inventory = std::find_if(listed->begin(), listed->end(),
                                  [](const auto& t) { return t.name == "inventory.v1"; });
    ASSERT_NE(inventory, listed->end());
    EXPECT_EQ(inventory->partitions.at(0).end, 1);
    auto read = browser.read("inventory.v1", 0, 0, 10, 30s);
    ASSERT_TRUE(read.ok()) << read.error().message;
    ASSERT_EQ(read->size(), 1u);
    EXPECT_EQ(read->front().key, "o-1");
  }
  // ... and the lag probe reads the committed offsets of the service groups (payment-service's
  // consumer above committed its read on close).
  {
    messaging::GroupLagProbe probe(cluster.client_config("ops-service"));
    auto lag = probe.lag("payment-service", {"inventory.v1"}, 10s);
    ASSERT_TRUE(lag.ok()) << lag.error().message;
    ASSERT_EQ(lag->size(), 1u);
    EXPECT_EQ(lag->front().committed, 1);
  }
  // Without a grant the refusal comes back as a value naming it, not as a timeout:
  // inventory-service may DESCRIBE inventory.v1 (it writes it) but not READ it, nor DESCRIBE
  // order-service's group.
  {
    messaging::TopicBrowser browser(cluster.client_config("inventory-service"));
    auto asked = std::chrono::steady_clock::now();
    auto read = browser.read("inventory.v1", 0, 0, 10, 30s);
    ASSERT_FALSE(read.ok());
    EXPECT_EQ(read.error().kind, orderflow::ErrorKind::kUnavailable);
    EXPECT_EQ(read.error().code, "KAFKA_AUTHORIZATION_FAILED") << read.error().message;
    EXPECT_NE(read.error().message.find("Topic authorization failed"), std::string::npos)
        << read.error().message;
    EXPECT_LT(std::chrono::steady_clock::now() - asked, 20s) << "waited for the timeout";

    messaging::GroupLagProbe probe(cluster.client_config("payment-service"));
    for (int round = 1; round <= 2; ++round) {  // the second names the refusal too
      auto lag = probe.lag("order-service", {"inventory.v1"}, 5s);
      ASSERT_FALSE(lag.ok()) << "round " << round;
      EXPECT_EQ(lag.error().code, "KAFKA_AUTHORIZATION_FAILED")
          << "round " << round << ": " << lag.error().message;
      EXPECT_NE(lag.error().message.find("Group authorization failed"), std::string::npos)
          << lag.error().message;
    }
  }
  // A wrong password gets nowhere.
  auto impostor = cluster.client_config("inventory-service");
  impostor.properties["sasl.password"] = "guessed";
  impostor.properties["message.timeout.ms"] = "5000";
  auto producer = messaging::make_kafka_producer(impostor, logger);
  EXPECT_FALSE(producer->send_sync(forged_stock_reserved(), 15s).ok());
  EXPECT_EQ(records_in(admin, "inventory.v1"), 1);
}

// A group ops-service is told to watch (lag.groups) that no ACL lets it DESCRIBE.
constexpr const char* kUngrantedGroup = "audit-without-grant";

// The ops console's Kafka routes (docs/operations.md "Console API") as User:ops-service with
// the ACLs of bus_acls.h, after the order `key` completed: the topics with their offsets; the
// order's ORDER_CREATED among its events by key and among the records of its orders.v1
// partition browsed from offset 0; the lag of every service's consumer group (what each
// committed, read from outside the group) and the refusal of kUngrantedGroup's, and each
// service's own lag gauge.
void expect_console_reads_the_bus(const orderflow::testing::RunningSystem& system,
                                  const std::string& key) {
  auto topics = system.call("ops-service", "GET", "/api/topics");
  ASSERT_EQ(topics.status, 200) << topics.raw;
  std::map<std::string, std::int64_t> ends;  // by topic: records ever written
  for (const auto& t : topics.body["topics"]) {
    auto& end = ends[t["name"].get<std::string>()];
    for (const auto& p : t["partitions"]) end += p["endOffset"].get<std::int64_t>();
  }
  for (std::string name : {"orders.v1", "inventory.v1", "payments.v1"}) {
    ASSERT_TRUE(ends.contains(name)) << topics.raw;
    EXPECT_GT(ends[name], 0) << name << " " << topics.raw;
    EXPECT_TRUE(ends.contains(name + ".dlt")) << topics.raw;
  }

  auto events = system.call("ops-service", "GET", "/api/events?key=" + key);
  ASSERT_EQ(events.status, 200) << events.raw;
  nlohmann::json created;
  std::set<std::string> types;
  for (const auto& e : events.body["events"]) {
    types.insert(e.value("eventType", ""));
    if (e["topic"] == "orders.v1" && e["eventType"] == "ORDER_CREATED") created = e;
  }
  ASSERT_FALSE(created.is_null()) << events.raw;
  for (std::string type : {"STOCK_RESERVED", "PAYMENT_COMPLETED", "ORDER_COMPLETED"}) {
    EXPECT_TRUE(types.contains(type)) << type << " " << events.raw;
  }

  const auto partition = created["partition"].get<int>();
  auto records =
      system.call("ops-service", "GET",
                  "/api/topics/orders.v1/records?partition=" + std::to_string(partition) +
                      "&offset=0&limit=200");
  ASSERT_EQ(records.status, 200) << records.raw;
  EXPECT_EQ(records.body["beginOffset"], 0) << records.raw;
  bool found = false;
  for (const auto& r : records.body["records"]) {
    found = found ||
            (r["offset"] == created["offset"] && r["key"] == key && r["value"] == created["value"]);
  }
  EXPECT_TRUE(found) << "no ORDER_CREATED of " << key << " at offset " << created["offset"] << ": "
                     << records.raw;

  // Each group's lag as ops-service reads it from outside the group (lag.interval_ms: 5 s),
  // for the groups of the services that run (the data-platform sink is off by default).
  const std::set<std::string> services{"order-service", "inventory-service", "payment-service",
                                       "notification-service"};
  nlohmann::json lag;
  auto every_group_read = [&] {
    lag = system.call("ops-service", "GET", "/api/lag").body;
    std::size_t read = 0;
    bool refused = false;
    for (const auto& g : lag.value("groups", nlohmann::json::array())) {
      std::int64_t committed = 0;
      for (const auto& p : g.value("partitions", nlohmann::json::array())) {
        committed += p["committed"].get<std::int64_t>();
      }
      if (committed > 0) ++read;
      // A first read may time out before the broker's refusal arrived; the next names it.
      refused = refused || (g["group"] == kUngrantedGroup && g.contains("error") &&
                            g["error"]["code"] == "KAFKA_AUTHORIZATION_FAILED");
    }
    return read == services.size() && refused;
  };
  EXPECT_TRUE(eventually(every_group_read, 30s, 500ms)) << lag.dump();
  std::set<std::string> listed;
  for (const auto& g : lag["groups"]) {
    listed.insert(g["group"].get<std::string>());
    if (g["group"] == kUngrantedGroup) {
      // The group no ACL lets ops-service DESCRIBE: refused, and it says so.
      EXPECT_EQ(g["error"]["code"], "KAFKA_AUTHORIZATION_FAILED") << g.dump();
      EXPECT_NE(g["error"].value("message", "").find("Group authorization failed"),
                std::string::npos)
          << g.dump();
      continue;
    }
    EXPECT_FALSE(g.contains("error")) << g.dump();
    for (const auto& p : g.value("partitions", nlohmann::json::array())) {
      EXPECT_LE(p["committed"].get<std::int64_t>(), p["endOffset"].get<std::int64_t>()) << g.dump();
    }
  }
  auto expected = services;
  expected.insert(kUngrantedGroup);
  EXPECT_EQ(listed, expected) << lag.dump();

  // Each service's own gauge of its group's lag (its consumer's view).
  for (const auto& service : services) {
    auto metrics = system.call(service, "GET", "/metrics");
    EXPECT_NE(metrics.raw.find("orderflow_consumer_lag{"), std::string::npos) << service << "\n"
                                                                              << metrics.raw;
  }
}

// The whole system as `orderflow up --broker kafka --kafka-security scram` runs it, each service
// with its own principal: an order completes (every producer, consumer group and DLT of the
// saga allowed), and a dead letter of inventory-service (FAIL, the dev fault) reaches
// ops-service through orders.v1.dlt and, replayed onto orders.v1 by ops-service once the fault
// is cleared, completes its order. In between, the ops console reads the bus with
// ops-service's grants (expect_console_reads_the_bus).
TEST(KafkaCluster, SecuredSystemCompletesAnOrderAndReplaysADeadLetter) {
  orderflow::testing::SystemOptions options;
  options.up_args = {"--broker", "kafka", "--kafka-security", "scram", "--brokers", "1"};
  options.up_timeout = 180s;
  orderflow::testing::RunningSystem system(
      {{"inventory-service", {"consumer.retry.backoff_ms=200"}},
       {"ops-service", {std::string("lag.groups.") + kUngrantedGroup + "=orders"}}},
      options);
  auto status_of = [&](std::int64_t id) {
    auto r = system.call("order-service", "GET", "/api/orders/" + std::to_string(id));
    return r.status == 200 ? r.body["status"].get<std::string>()
                           : "HTTP " + std::to_string(r.status);
  };
  auto place = [&](const std::string& sku) -> std::int64_t {
    auto r = system.call("order-service", "POST", "/api/orders",
                         R"({"userId":42,"items":[{"sku":")" + sku + R"(","qty":1}]})");
    EXPECT_EQ(r.status, 201) << r.raw;
    return r.status == 201 ? r.body["orderId"].get<std::int64_t>() : 0;
  };
  auto completed = place("ABC-001");
  ASSERT_GT(completed, 0);
  EXPECT_TRUE(eventually([&] { return status_of(completed) == "COMPLETED"; }, 30s, 100ms))
      << status_of(completed) << "\n"
      << system.output();
  expect_console_reads_the_bus(system, std::to_string(completed));

  auto failing = place("FAIL");
  ASSERT_GT(failing, 0);
  nlohmann::json letters;
  ASSERT_TRUE(eventually(
      [&] {
        auto r =
            system.call("ops-service", "GET", "/api/dlq?limit=10&key=" + std::to_string(failing));
        letters = r.status == 200 ? r.body["items"] : nlohmann::json::array();
        return !letters.empty();
      },
      60s, 200ms))
      << "no dead letter of order " << failing << " at ops-service\n"
      << system.output();
  auto cleared =
      system.call("inventory-service", "POST", "/admin/faults", R"({"failSkuPrefix":""})");
  ASSERT_EQ(cleared.status, 200) << cleared.raw;
  auto replay =
      system.call("ops-service", "POST",
                  "/api/dlq/" + std::to_string(letters[0]["id"].get<std::int64_t>()) + "/replay");
  ASSERT_EQ(replay.status, 200) << replay.raw;
  EXPECT_TRUE(eventually([&] { return status_of(failing) == "COMPLETED"; }, 30s, 100ms))
      << status_of(failing) << "\n"
      << system.output();
}

}  // namespace
