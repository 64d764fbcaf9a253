// e2e: dead letters, parking and replay (docs/dlq.md) across the real `orderflow up`: the
// consumer runners write <topic>.dlt records (read back with kcat), the ops-service stores them
// (GET /api/dlq, `orderflow dlq list`) and replays them, and the run-time fault switch
// (POST /admin/faults) clears the injected faults. On both brokers: .../Embedded
// (orderflow-broker) and .../Kafka (the ctest run's shared 3-node cluster, where this system's
// topics, DLT suffix and consumer groups carry an id of their own: system.topic(), .group()).
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "orderflow/messaging/idempotency_store.h"
#include "orderflow/testing/broker_param.h"
#include "orderflow/testing/invariants.h"
#include "orderflow/testing/outbound_servers.h"

namespace orderflow::testing {
namespace {

using Overrides = std::map<std::string, std::vector<std::string>>;
using namespace std::chrono_literals;

PlacedOrder place(const RunningSystem& system, const std::string& body) {
  auto r = system.call("order-service", "POST", "/api/orders", body);
  EXPECT_EQ(r.status, 201) << r.raw;
  if (r.status != 201) return {};
  return {r.body["orderId"].get<std::int64_t>(), r.body["userId"].get<std::string>()};
}

nlohmann::json order(const RunningSystem& system, std::int64_t id) {
  return system.call("order-service", "GET", "/api/orders/" + std::to_string(id)).body;
}

nlohmann::json product(const RunningSystem& system, const std::string& sku) {
  return system.call("inventory-service", "GET", "/api/products/" + sku).body;
}

void expect_invariants(const RunningSystem& system, const std::vector<PlacedOrder>& orders,
                       const std::map<std::string, std::int64_t>& before) {
  for (const auto& v : check_invariants(system, orders, before)) ADD_FAILURE() << v;
}

// One record of a topic as kcat's JSON envelope, headers as a map.
struct Record {
  std::string topic;
  int partition = -1;
  std::int64_t offset = -1;
  std::string key;
  std::string value;
  std::map<std::string, std::string> headers;
};

std::vector<Record> read_topic(const RunningSystem& system, const std::string& topic) {
  auto out = run_command("kcat -b " + system.bootstrap_servers() + " -C -t " + topic +
                         " -o beginning -e -J -q 2>/dev/null");
  std::vector<Record> records;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    auto doc = nlohmann::json::parse(line, nullptr, false);
    if (!doc.is_object()) continue;
    Record r;
    r.topic = doc.value("topic", "");
    r.partition = doc.value("partition", -1);
    r.offset = doc.value("offset", static_cast<std::int64_t>(-1));
    if (doc["key"].is_string()) r.key = doc["key"].get<std::string>();
    if (doc["payload"].is_string()) r.value = doc["payload"].get<std::string>();
    if (doc.contains("headers") && doc["headers"].is_array()) {
      const auto& h = doc["headers"];
      for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
        r.headers[h[i].get<std::string>()] =
            h[i + 1].is_string() ? h[i + 1].get<std::string>() : "";
      }
    }
    records.push_back(std::move(r));
  }
  return records;
}

std::string header(const Record& r, const std::string& name) {
  auto it = r.headers.find(name);
  return it == r.headers.end() ? "" : it->second;
}

// The DLT records of orders.v1 for `key` written by the consumer group of `service`.
std::vector<Record> dead_letters_on_topic(const RunningSystem& system, const std::string& key,
                                          const std::string& service) {
  std::vector<Record> out;
  for (auto& r : read_topic(system, system.dlt("orders.v1"))) {
    if (r.key == key && header(r, "dlq.consumer.group") == system.group(service)) {
      out.push_back(std::move(r));
    }
  }
  return out;
}

// Dead letters stored by the ops-service for a filter (query string without '?').
nlohmann::json ops_dead_letters(const RunningSystem& system, const std::string& query) {
  auto r = system.call("ops-service", "GET", "/api/dlq?limit=1000&" + query);
  return r.status == 200 ? r.body["items"] : nlohmann::json::array();
}

// orderflow_messages_total of one service for a topic/event type/outcome (sum over matches).
double messages(const RunningSystem& system, const std::string& service, const std::string& topic,
                const std::string& event_type, const std::string& outcome) {
  auto text = system.call(service, "GET", "/metrics").raw;
  std::istringstream lines(text);
  std::string line;
  double sum = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("orderflow_messages_total{", 0) != 0) continue;
    auto labels = line.substr(0, line.rfind('}') + 1);
    if (labels.find("topic=\"" + topic + "\"") == std::string::npos) continue;
    if (labels.find("event_type=\"" + event_type + "\"") == std::string::npos) continue;
    if (labels.find("outcome=\"" + outcome + "\"") == std::string::npos) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

// The orders.v1 lines of orderflow_messages_total of a service, for failure messages.
std::string orders_v1_metrics(const RunningSystem& system, const std::string& service) {
  std::istringstream lines(system.call(service, "GET", "/metrics").raw);
  std::string line;
  std::string out;
  while (std::getline(lines, line)) {
    if (line.rfind("orderflow_messages_total{", 0) == 0 &&
        line.find(system.topic("orders.v1") + "\"") != std::string::npos) {
      out += line + "\n";
    }
  }
  return out;
}

std::string describe(const std::vector<Record>& records) {
  std::ostringstream out;
  for (const auto& r : records) {
    out << r.topic << "/" << r.partition << "/" << r.offset << " key=" << r.key
        << " reason=" << header(r, "dlq.reason") << " group=" << header(r, "dlq.consumer.group")
        << "\n";
  }
  return out.str();
}

// ------------------------------------------------------------------------------ the suite
// Dev configuration (3 attempts, the dev fault prefixes) with a short backoff for the two
// faulty groups so a dead letter takes well under a second instead of 3 × 2 s.
class DeadLetterTest : public SystemSuite<DeadLetterTest> {
 public:
  static Overrides overrides() {
    return {{"inventory-service", {"consumer.retry.backoff_ms=200"}},
            {"notification-service", {"consumer.retry.backoff_ms=200"}}};
  }

 protected:
  /// The consumer group of `service` (its name, with this system's id on Kafka).
  std::string group(const std::string& service) const { return system_->group(service); }
  /// This system's name of the topic `name`.
  std::string topic(const std::string& name) const { return system_->topic(name); }
};
ORDERFLOW_ON_BOTH_BROKERS(DeadLetterTest);

// a. Seed 003: a technical failure in inventory exhausts the retries and dead-letters.
TEST_P(DeadLetterTest, Seed003FailSkuIsDeadLetteredByInventoryWithFullDiagnostics) {
  const std::string body = R"({"userId":42,"items":[{"sku":"FAIL","qty":1}]})";
  auto o = place(*system_, body);
  ASSERT_GT(o.id, 0);
  const auto key = std::to_string(o.id);

  std::vector<Record> dlt;
  ASSERT_TRUE(eventually(
      [&] {
        dlt = dead_letters_on_topic(*system_, key, "inventory-service");
        return !dlt.empty();
      },
      20000ms, 100ms))
      << "no inventory-service dead letter for order " << key;
  ASSERT_EQ(dlt.size(), 1u) << describe(dlt);
  const auto& d = dlt.front();

  // The original ORDER_CREATED record on orders.v1.
  std::vector<Record> originals;
  for (auto& r : read_topic(*system_, topic("orders.v1"))) {
    if (r.key == key && header(r, "eventType") == "ORDER_CREATED") originals.push_back(r);
  }
  ASSERT_EQ(originals.size(), 1u);
  const auto& original = originals.front();

  EXPECT_EQ(d.key, key);
  EXPECT_EQ(d.value, original.value) << "the DLT record carries the original value";
  auto value = nlohmann::json::parse(d.value, nullptr, false);
  ASSERT_TRUE(value.is_object()) << d.value;
  EXPECT_EQ(header(d, "dlq.service"), "inventory-service");
  EXPECT_EQ(header(d, "dlq.consumer.group"), group("inventory-service"));
  EXPECT_EQ(header(d, "dlq.original.topic"), topic("orders.v1"));
  EXPECT_EQ(header(d, "dlq.original.partition"), std::to_string(original.partition));
  EXPECT_EQ(header(d, "dlq.original.offset"), std::to_string(original.offset));
  EXPECT_FALSE(header(d, "dlq.error.timestamp").empty());
  EXPECT_EQ(header(d, "dlq.error.class"), "kUnavailable:INJECTED_FAULT");
  EXPECT_NE(header(d, "dlq.error.message").find("FAIL"), std::string::npos)
      << header(d, "dlq.error.message");
  EXPECT_FALSE(header(d, "dlq.error.stacktrace").empty());
  EXPECT_EQ(header(d, "dlq.attempts"), "3") << "the dev default consumer.retry.max_attempts";
  EXPECT_EQ(header(d, "dlq.reason"), "RETRIES_EXHAUSTED");
  EXPECT_EQ(header(d, "eventId"), header(original, "eventId"));
  EXPECT_FALSE(header(d, "eventId").empty());
  EXPECT_EQ(header(d, "eventType"), "ORDER_CREATED");

  // Stored by the ops-service.
  nlohmann::json stored;
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& item : ops_dead_letters(*system_, "group=" + group("inventory-service"))) {
          if (item["key"] == key) stored = item;
        }
        return !stored.is_null();
      },
      10000ms, 100ms));
  EXPECT_EQ(stored["status"], "NEW");
  EXPECT_EQ(stored["consumerGroup"], group("inventory-service"));
  EXPECT_EQ(stored["originalTopic"], topic("orders.v1"));
  EXPECT_EQ(stored["reason"], "RETRIES_EXHAUSTED");
  EXPECT_EQ(stored["attempts"], 3);
  EXPECT_EQ(stored["eventType"], "ORDER_CREATED");
  EXPECT_EQ(stored["eventId"], header(original, "eventId"));
  EXPECT_EQ(stored["value"], original.value);

  // The console API: the order's events across topics, its dead letter among them ...
  auto events = system_->call("ops-service", "GET", "/api/events?key=" + key);
  ASSERT_EQ(events.status, 200) << events.raw;
  std::set<std::string> seen;
  for (const auto& e : events.body["events"]) {
    seen.insert(e["topic"].get<std::string>() + " " + e.value("eventType", ""));
  }
  EXPECT_TRUE(seen.count(topic("orders.v1") + " ORDER_CREATED")) << events.raw;
  EXPECT_TRUE(seen.count(system_->dlt("orders.v1") + " ORDER_CREATED")) << events.raw;
  // ... and the lag of the groups the services really use (on Kafka with this system's id:
  // orderflow up passes them as lag.group_ids), inventory-service's with what it committed.
  nlohmann::json lag;
  ASSERT_TRUE(eventually(
      [&] {
        lag = system_->call("ops-service", "GET", "/api/lag").body;
        for (const auto& g : lag["groups"]) {
          if (g["group"] == group("inventory-service") &&
              !g.value("partitions", nlohmann::json::array()).empty()) {
            return true;
          }
        }
        return false;
      },
      20000ms, 200ms))
      << lag.dump();
  std::set<std::string> watched;
  for (const auto& g : lag["groups"]) watched.insert(g["group"]);
  // Not the data-platform sink's: it is not enabled (sink.enabled), its group never runs.
  EXPECT_EQ(watched,
            (std::set<std::string>{group("inventory-service"), group("notification-service"),
                                   group("order-service"), group("payment-service")}));

  // And through the CLI.
  int rc = -1;
  auto listed =
      run_command(std::string(ORDERFLOW_BIN_DIR) + "/orderflow dlq list --data-dir " +
                      system_->data_dir() + " --group " + group("inventory-service") + " 2>&1",
                  &rc);
  EXPECT_EQ(rc, 0) << listed;
  EXPECT_NE(listed.find(std::to_string(stored["id"].get<std::int64_t>())), std::string::npos)
      << listed;
  EXPECT_NE(listed.find(key), std::string::npos) << listed;
  EXPECT_NE(listed.find("RETRIES_EXHAUSTED"), std::string::npos) << listed;

  // The saga waits (timeout, not awaited here): the order is still PENDING.
  EXPECT_EQ(order(*system_, o.id)["status"], "PENDING");
}

// b. Seed 000: a notification failure dead-letters only in notification-service.
TEST_P(DeadLetterTest, Seed000FailUserIsDeadLetteredByNotificationAndTheOrderCompletes) {
  auto before = stock_totals(*system_);
  auto o = place(
      *system_,
      R"({"customerId":"fail-user-1","customerEmail":"fail@example.com","totalAmount":5000,"currency":"KRW"})");
  ASSERT_GT(o.id, 0);
  const auto key = std::to_string(o.id);

  auto done = wait_terminal(*system_, {o});
  ASSERT_EQ(done.count(o.id), 1u);
  EXPECT_EQ(done[o.id]["status"], "COMPLETED") << "other groups are unaffected";

  std::vector<Record> dlt;
  ASSERT_TRUE(eventually(
      [&] {
        dlt = dead_letters_on_topic(*system_, key, "notification-service");
        return !dlt.empty();
      },
      20000ms, 100ms));
  const auto& first = dlt.front();
  EXPECT_EQ(header(first, "eventType"), "ORDER_CREATED");
  EXPECT_EQ(header(first, "dlq.service"), "notification-service");
  EXPECT_EQ(header(first, "dlq.reason"), "RETRIES_EXHAUSTED");
  EXPECT_EQ(header(first, "dlq.attempts"), "3");
  EXPECT_EQ(header(first, "dlq.error.class"), "kUnavailable:CHANNEL_FAILURE");
  // Later events of the order are parked in notification-service only.
  for (std::size_t i = 1; i < dlt.size(); ++i) {
    EXPECT_EQ(header(dlt[i], "dlq.reason"), "KEY_PARKED") << describe(dlt);
  }
  for (const std::string service : {"inventory-service", "payment-service", "order-service"}) {
    EXPECT_TRUE(dead_letters_on_topic(*system_, key, service).empty()) << service;
  }

  // Clear the fault and replay the order's dead letters of notification-service: every
  // notification is then delivered exactly once (invariant 4) and all invariants hold.
  auto cleared =
      system_->call("notification-service", "POST", "/admin/faults", R"({"failUserPrefix":""})");
  ASSERT_EQ(cleared.status, 200) << cleared.raw;
  EXPECT_EQ(cleared.body["failUserPrefix"], "");
  // Wait until ops has stored every dead letter of the key (the topic is the truth).
  ASSERT_TRUE(eventually(
      [&] {
        auto n = dead_letters_on_topic(*system_, key, "notification-service").size();
        return ops_dead_letters(*system_, "group=" + group("notification-service") + "&key=" + key)
                   .size() == n;
      },
      10000ms, 100ms));
  auto replay = system_->call(
      "ops-service", "POST", "/api/dlq/replay",
      R"({"group":")" + group("notification-service") + R"(","key":")" + key + R"("})");
  ASSERT_EQ(replay.status, 200) << replay.raw;
  EXPECT_GE(replay.body["done"].size(), 1u) << replay.raw;
  expect_invariants(*system_, {o}, before);

  auto restored = system_->call("notification-service", "POST", "/admin/faults",
                                R"({"failUserPrefix":"fail-"})");
  EXPECT_EQ(restored.status, 200) << restored.raw;
  EXPECT_EQ(restored.body["failUserPrefix"], "fail-");
}

// c. A record that is not JSON dead-letters at once in every consuming group; the partition
// keeps flowing.
TEST_P(DeadLetterTest, MalformedRecordIsDeadLetteredPerGroupAndThePartitionKeepsFlowing) {
  const std::string key = "999999";
  int rc = -1;
  run_command("echo 'not json' | kcat -b " + system_->bootstrap_servers() + " -P -t " +
                  topic("orders.v1") + " -k " + key + " -p 0 2>&1",
              &rc);
  ASSERT_EQ(rc, 0);

  const std::set<std::string> groups{group("inventory-service"), group("payment-service"),
                                     group("notification-service")};
  std::map<std::string, std::vector<Record>> by_group;
  ASSERT_TRUE(eventually(
      [&] {
        by_group.clear();
        for (auto& r : read_topic(*system_, system_->dlt("orders.v1"))) {
          if (r.key == key) by_group[header(r, "dlq.consumer.group")].push_back(r);
        }
        return by_group.size() >= groups.size();
      },
      15000ms, 100ms))
      << "dead letters by " << by_group.size() << " group(s)";
  for (const auto& [group, records] : by_group) {
    EXPECT_EQ(groups.count(group), 1u) << group << " does not consume orders.v1";
    ASSERT_EQ(records.size(), 1u) << group << "\n" << describe(records);
    EXPECT_EQ(header(records[0], "dlq.reason"), "MALFORMED");
    EXPECT_EQ(records[0].value, "not json");
    EXPECT_EQ(header(records[0], "dlq.original.topic"), topic("orders.v1"));
    EXPECT_EQ(header(records[0], "dlq.original.partition"), "0");
  }

  // Later orders — at least one on partition 0 — still complete.
  auto before = stock_totals(*system_);
  std::vector<PlacedOrder> orders;
  bool on_partition_0 = false;
  for (int i = 0; i < 12 && !on_partition_0; ++i) {
    auto o = place(*system_, R"({"userId":"after-malformed","items":[{"sku":"ABC-001","qty":1}]})");
    ASSERT_GT(o.id, 0);
    orders.push_back(o);
    ASSERT_TRUE(eventually(
        [&] {
          for (const auto& r : read_topic(*system_, topic("orders.v1"))) {
            if (r.key == std::to_string(o.id)) {
              on_partition_0 = r.partition == 0;
              return true;
            }
          }
          return false;
        },
        10000ms, 100ms));
  }
  ASSERT_TRUE(on_partition_0) << "no order landed on partition 0";
  auto done = wait_terminal(*system_, orders);
  ASSERT_EQ(done.size(), orders.size());
  for (const auto& [id, o] : done) EXPECT_EQ(o["status"], "COMPLETED") << id;
  expect_invariants(*system_, orders, before);
}

// d. Parking keeps a key's order; replay after clearing the fault does the work in the failing
// group and counts a duplicate elsewhere.
TEST_P(DeadLetterTest, ParkedKeyIsReplayedInOrderAfterTheFaultIsCleared) {
  auto set_fault = [&](const std::string& prefix) {
    auto r = system_->call("inventory-service", "POST", "/admin/faults",
                           R"({"failSkuPrefix":")" + prefix + R"("})");
    EXPECT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(r.body["failSkuPrefix"], prefix);
  };
  set_fault("FAIL");  // the dev default, in case an earlier test changed it
  auto before = stock_totals(*system_);
  auto initial = product(*system_, "FAIL");
  const auto available = initial["available"].get<std::int64_t>();
  const auto reserved = initial["reserved"].get<std::int64_t>();

  auto o = place(*system_, R"({"userId":"parker","items":[{"sku":"FAIL","qty":2}]})");
  ASSERT_GT(o.id, 0);
  const auto key = std::to_string(o.id);
  ASSERT_TRUE(
      eventually([&] { return !dead_letters_on_topic(*system_, key, "inventory-service").empty(); },
                 20000ms, 100ms));

  auto cancel = system_->call("order-service", "POST", "/api/orders/" + key + "/cancel");
  ASSERT_EQ(cancel.status, 200) << cancel.raw;
  EXPECT_EQ(cancel.body["status"], "CANCELLED");

  std::vector<Record> dlt;
  ASSERT_TRUE(eventually(
      [&] {
        dlt = dead_letters_on_topic(*system_, key, "inventory-service");
        return dlt.size() >= 2;
      },
      15000ms, 100ms));
  ASSERT_EQ(dlt.size(), 2u) << describe(dlt);
  EXPECT_EQ(header(dlt[0], "eventType"), "ORDER_CREATED");
  EXPECT_EQ(header(dlt[0], "dlq.reason"), "RETRIES_EXHAUSTED");
  EXPECT_EQ(header(dlt[1], "eventType"), "ORDER_CANCELLED");
  EXPECT_EQ(header(dlt[1], "dlq.reason"), "KEY_PARKED");

  // Both stored by ops.
  nlohmann::json letters;
  ASSERT_TRUE(eventually(
      [&] {
        letters = ops_dead_letters(*system_, "group=" + group("inventory-service") + "&key=" + key);
        return letters.size() == 2;
      },
      10000ms, 100ms));
  std::int64_t created_id = 0;
  std::int64_t cancelled_id = 0;
  for (const auto& l : letters) {
    EXPECT_EQ(l["status"], "NEW");
    if (l["eventType"] == "ORDER_CREATED") created_id = l["id"].get<std::int64_t>();
    if (l["eventType"] == "ORDER_CANCELLED") cancelled_id = l["id"].get<std::int64_t>();
  }
  ASSERT_GT(created_id, 0);
  ASSERT_GT(cancelled_id, 0);

  // The other groups handled both events already (they were not parked there).
  for (const std::string service : {"payment-service", "notification-service"}) {
    EXPECT_TRUE(dead_letters_on_topic(*system_, key, service).empty()) << service;
  }
  // The events each other group acts on (inbox): payment-service acts on ORDER_CANCELLED
  // only (it charges on STOCK_RESERVED; ORDER_CREATED is an ignored type, counted
  // `processed` with no inbox entry), notification-service on both.
  const std::vector<std::pair<std::string, std::string>> acted_on{
      {"payment-service", "ORDER_CANCELLED"},
      {"notification-service", "ORDER_CREATED"},
      {"notification-service", "ORDER_CANCELLED"}};
  std::map<std::pair<std::string, std::string>, double> dup_before;
  for (const auto& [service, type] : acted_on) {
    dup_before[{service, type}] =
        messages(*system_, service, topic("orders.v1"), type, "duplicate");
  }
  const auto payments_before =
      system_->call("payment-service", "GET", "/api/payments?orderId=" + key).body;

  set_fault("");
  auto replay =
      system_->call("ops-service", "POST", "/api/dlq/" + std::to_string(created_id) + "/replay");
  ASSERT_EQ(replay.status, 200) << replay.raw;
  EXPECT_EQ(replay.body["status"], "REPLAYED");

  // Inventory reserved, then released.
  nlohmann::json reservation;
  EXPECT_TRUE(eventually(
      [&] {
        auto r = system_->call("inventory-service", "GET", "/api/reservations?orderId=" + key);
        if (r.status != 200 || r.body["items"].empty()) return false;
        reservation = r.body["items"][0];
        return reservation["status"] == "RELEASED";
      },
      15000ms, 100ms))
      << "reservation " << reservation.dump();
  EXPECT_TRUE(eventually(
      [&] {
        auto p = product(*system_, "FAIL");
        return p["available"].get<std::int64_t>() == available &&
               p["reserved"].get<std::int64_t>() == reserved;
      },
      10000ms, 100ms))
      << product(*system_, "FAIL").dump();
  EXPECT_EQ(reserved, 0);
  EXPECT_EQ(order(*system_, o.id)["status"], "CANCELLED");

  // The other groups counted the replayed records as duplicates.
  EXPECT_TRUE(eventually(
      [&] {
        for (const auto& [what, n] : dup_before) {
          if (messages(*system_, what.first, topic("orders.v1"), what.second, "duplicate") <
              n + 1) {
            return false;
          }
        }
        return true;
      },
      10000ms, 100ms))
      << "payment-service and notification-service must count the replay as duplicate\n"
      << orders_v1_metrics(*system_, "payment-service")
      << orders_v1_metrics(*system_, "notification-service");

  EXPECT_EQ(system_->call("payment-service", "GET", "/api/payments?orderId=" + key).body,
            payments_before)
      << "the replay changed nothing in payment-service";

  // Both dead letters of the key are resolved.
  EXPECT_TRUE(eventually(
      [&] {
        for (const auto& l :
             ops_dead_letters(*system_, "group=" + group("inventory-service") + "&key=" + key)) {
          if (l["status"] != "REPLAYED") return false;
        }
        return true;
      },
      5000ms, 100ms));
  auto created = system_->call("ops-service", "GET", "/api/dlq/" + std::to_string(created_id));
  EXPECT_EQ(created.body["status"], "REPLAYED");
  EXPECT_GE(created.body["replayCount"].get<int>(), 1);
  auto cancelled = system_->call("ops-service", "GET", "/api/dlq/" + std::to_string(cancelled_id));
  EXPECT_EQ(cancelled.body["status"], "REPLAYED");

  // The replayed records were handled, not dead-lettered again (the key was unparked).
  EXPECT_EQ(dead_letters_on_topic(*system_, key, "inventory-service").size(), 2u);

  expect_invariants(*system_, {o}, before);
  set_fault("FAIL");

  // Error answers: replay of a discarded dead letter → 409, unknown → 404, bulk without a
  // filter → 400. A malformed record gives a fresh dead letter to discard.
  const std::string bad_key = "malformed-" + key;
  int rc = -1;
  run_command("echo 'not json' | kcat -b " + system_->bootstrap_servers() + " -P -t " +
                  topic("orders.v1") + " -k " + bad_key + " 2>&1",
              &rc);
  ASSERT_EQ(rc, 0);
  nlohmann::json fresh;
  ASSERT_TRUE(eventually(
      [&] {
        fresh = ops_dead_letters(*system_, "group=" + group("payment-service") + "&key=" + bad_key);
        return !fresh.empty();
      },
      10000ms, 100ms));
  auto fresh_id = std::to_string(fresh[0]["id"].get<std::int64_t>());
  auto discarded = system_->call("ops-service", "POST", "/api/dlq/" + fresh_id + "/discard");
  ASSERT_EQ(discarded.status, 200) << discarded.raw;
  EXPECT_EQ(discarded.body["status"], "DISCARDED");
  auto again = system_->call("ops-service", "POST", "/api/dlq/" + fresh_id + "/replay");
  EXPECT_EQ(again.status, 409) << again.raw;
  EXPECT_EQ(system_->call("ops-service", "POST", "/api/dlq/987654321/replay").status, 404);
  EXPECT_EQ(system_->call("ops-service", "POST", "/api/dlq/replay", "{}").status, 400);
  EXPECT_EQ(system_->call("ops-service", "POST", "/api/dlq/replay", "").status, 400);
}

// 0. The fault switch rejects malformed bodies.
TEST_P(DeadLetterTest, FaultSwitchRejectsMalformedBodies) {
  for (const auto& [service, field] : std::vector<std::pair<std::string, std::string>>{
           {"inventory-service", "failSkuPrefix"}, {"notification-service", "failUserPrefix"}}) {
    EXPECT_EQ(system_->call(service, "POST", "/admin/faults", "not json").status, 400) << service;
    EXPECT_EQ(system_->call(service, "POST", "/admin/faults", "{}").status, 400) << service;
    EXPECT_EQ(system_->call(service, "POST", "/admin/faults", "{\"" + field + "\":1}").status, 400)
        << service;
  }
}

// ------------------------------------------------------------- outbound effects (issue 13)
// notification-service with the webhook, discord and slack channels and the data-platform sink on a
// local HTTP receiver, and the Redis idempotency store on a private redis-server: one sink call
// per completed order with its Idempotency-Key, a sink answering 500 dead-letters the record in
// the data-platform-sink group after 3 attempts (listed by ops), a replay after the sink
// recovered delivers it once, the same event produced again with kcat is not sent again, and
// every notification reaches each channel once. On both brokers (on the shared cluster the
// sink's group is data-platform-sink.<id>, sink.group_id, like every group of the system).

// The receiver's requests to /hooks/sink for `order_id`.
std::vector<ReceivedRequest> sink_calls(const HttpReceiver& receiver, std::int64_t order_id) {
  std::vector<ReceivedRequest> out;
  for (auto& r : receiver.requests("sink")) {
    auto body = nlohmann::json::parse(r.body, nullptr, false);
    if (body.is_object() && body.value("orderId", std::int64_t{0}) == order_id) out.push_back(r);
  }
  return out;
}

// The eventId of the ORDER_COMPLETED record of `key` on orders.v1 ("" when not there yet).
Record completed_record(const RunningSystem& system, const std::string& key) {
  for (auto& r : read_topic(system, system.topic("orders.v1"))) {
    if (r.key == key && header(r, "eventType") == "ORDER_COMPLETED") return r;
  }
  return {};
}

class OutboundEffectsTest : public ::testing::TestWithParam<BrokerKind> {};
ORDERFLOW_ON_BOTH_BROKERS(OutboundEffectsTest);

TEST_P(OutboundEffectsTest, SinkChannelsDeadLetterReplayAndRedisIdempotency) {
  RedisServer redis;
  HttpReceiver receiver;
  Overrides overrides{
      {"notification-service",
       {"consumer.retry.backoff_ms=200", "notification.channels=log,webhook,discord,slack",
        "notification.webhook.url=" + receiver.url("webhook"),
        "notification.discord.url=" + receiver.url("discord"),
        "notification.slack.url=" + receiver.url("slack"), "sink.enabled=true",
        "sink.url=" + receiver.url("sink"), "idempotency.store=redis", "redis.url=" + redis.url(),
        "redis.key_prefix=e2e:processed:"}}};
  RunningSystem system(overrides, {.broker = GetParam()});
  const std::string sink_group = system.group("data-platform-sink");
  const std::string seed003 = R"({"userId":42,"items":[{"sku":"ABC-001","qty":1}]})";

  // 1. An order completes: one sink call with its orderId and the event's Idempotency-Key.
  auto first = place(system, seed003);
  ASSERT_GT(first.id, 0);
  ASSERT_EQ(wait_terminal(system, {first})[first.id]["status"], "COMPLETED");
  ASSERT_TRUE(
      eventually([&] { return sink_calls(receiver, first.id).size() == 1; }, 20000ms, 100ms));
  auto completed = completed_record(system, std::to_string(first.id));
  const auto completed_id = header(completed, "eventId");
  ASSERT_FALSE(completed_id.empty());
  auto call = sink_calls(receiver, first.id)[0];
  EXPECT_EQ(call.header("Idempotency-Key"), completed_id);
  auto body = nlohmann::json::parse(call.body);
  EXPECT_EQ(body["eventType"], "ORDER_COMPLETED");
  EXPECT_EQ(body["eventId"], completed_id);
  EXPECT_EQ(body["userId"], "42");

  // 2. The sink answers 500: 3 attempts, then the record is in the DLT of data-platform-sink
  // and listed by ops.
  receiver.answer(500, "platform down", 0, "sink");
  auto second = place(system, seed003);
  ASSERT_GT(second.id, 0);
  const auto key = std::to_string(second.id);
  ASSERT_EQ(wait_terminal(system, {second})[second.id]["status"], "COMPLETED");
  nlohmann::json letter;
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& item : ops_dead_letters(system, "group=" + sink_group + "&key=" + key)) {
          letter = item;
        }
        return !letter.is_null();
      },
      30000ms, 200ms))
      << "ops lists no " << sink_group << " dead letter for order " << key;
  EXPECT_EQ(sink_calls(receiver, second.id).size(), 3u);
  EXPECT_EQ(letter["reason"], "RETRIES_EXHAUSTED");
  EXPECT_EQ(letter["attempts"], 3);
  EXPECT_EQ(letter["eventType"], "ORDER_COMPLETED");
  EXPECT_EQ(letter["status"], "NEW");

  // 3. The sink recovers; replayed from ops, the record is delivered once.
  receiver.answer(200, "ok", 0, "sink");
  auto duplicates = [&] {
    return messages(system, "notification-service", system.topic("orders.v1"), "ORDER_COMPLETED",
                    "duplicate");
  };
  const double before_replay = duplicates();
  auto replay =
      system.call("ops-service", "POST",
                  "/api/dlq/" + std::to_string(letter["id"].get<std::int64_t>()) + "/replay");
  ASSERT_EQ(replay.status, 200) << replay.raw;
  ASSERT_TRUE(
      eventually([&] { return sink_calls(receiver, second.id).size() == 4; }, 20000ms, 100ms));
  auto replayed = sink_calls(receiver, second.id).back();
  EXPECT_EQ(replayed.header("Idempotency-Key"), header(completed_record(system, key), "eventId"));
  // The notification group got the replayed record too, and dropped it (already done).
  ASSERT_TRUE(eventually([&] { return duplicates() >= before_replay + 1; }, 20000ms, 100ms));

  // 4. The same ORDER_COMPLETED produced again with kcat: the Redis key stops a second call.
  auto value_file = std::string(system.data_dir()) + "/completed-again.json";
  {
    std::ofstream out(value_file);
    out << completed.value;
  }
  std::string headers_args;
  for (const auto& [name, value] : completed.headers) {
    headers_args += " -H '" + name + "=" + value + "'";
  }
  const double duplicates_before = duplicates();
  int rc = -1;
  auto produced =
      run_command("kcat -b " + system.bootstrap_servers() + " -P -t " + system.topic("orders.v1") +
                      " -k " + completed.key + headers_args + " " + value_file + " 2>&1",
                  &rc);
  ASSERT_EQ(rc, 0) << produced;
  // Both groups of notification-service (notifications, sink) see it as a duplicate.
  ASSERT_TRUE(eventually([&] { return duplicates() >= duplicates_before + 2; }, 20000ms, 100ms));
  EXPECT_EQ(sink_calls(receiver, first.id).size(), 1u);
  EXPECT_EQ(sink_calls(receiver, second.id).size(), 4u) << "delivered once after the replay";
  messaging::RedisOptions redis_options;
  redis_options.url = redis.url();
  redis_options.key_prefix = "e2e:processed:";
  auto keys = messaging::make_redis_idempotency_store(redis_options);
  auto marked = keys->seen(sink_group, completed_id);
  ASSERT_TRUE(marked.ok()) << marked.error().message;
  EXPECT_TRUE(marked.value()) << "e2e:processed:" << sink_group << ":" << completed_id;

  // 5. Each notification reached webhook, discord and slack once (Idempotency-Key
  // <sourceEventId>:<userId>), the replay and the repeat included.
  std::multiset<std::string> expected;
  std::map<std::string, std::multiset<std::string>> got;
  bool delivered = eventually(
      [&] {
        auto notifications =
            system.call("notification-service", "GET", "/api/notifications?userId=42&size=100");
        expected.clear();
        got.clear();
        bool all = notifications.status == 200;
        for (const auto& n : notifications.body["items"]) {
          expected.insert(n["sourceEventId"].get<std::string>() + ":42");
          for (const auto& d : n["deliveries"]) all = all && d["status"] == "DELIVERED";
        }
        for (const std::string channel : {"webhook", "discord", "slack"}) {
          for (const auto& r : receiver.requests(channel)) {
            got[channel].insert(r.header("Idempotency-Key"));
          }
        }
        return all && got["webhook"] == expected && got["discord"] == expected &&
               got["slack"] == expected;
      },
      20000ms, 200ms);
  EXPECT_TRUE(delivered) << "notifications " << expected.size() << ", webhook "
                         << got["webhook"].size() << ", discord " << got["discord"].size()
                         << ", slack " << got["slack"].size();
  EXPECT_GE(expected.size(), 8u) << "four statuses of two orders";
  EXPECT_EQ(system.stop(), 0);
}

}  // namespace
}  // namespace orderflow::testing
