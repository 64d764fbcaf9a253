#include "orderflow/config/config.h"
#include "orderflow/config/kafka_profile.h"
#include "orderflow/messaging/kafka_security.h"

#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace orderflow::config {
namespace {

// PostgreSQL runs a service's writes in parallel (SQLite serialises them on one connection):
// a consumer's lanes, the outbox relay and HTTP requests each hold a connection at a time.
constexpr std::int64_t kPostgresPoolSize = 8;

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream in(path);
  std::string part;
  while (std::getline(in, part, '.')) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

// yaml-cpp nodes are references: walking must rebind with reset(), never assign.
YAML::Node find(const YAML::Node& root, const std::string& path) {
  YAML::Node node;
  node.reset(root);
  for (const auto& part : split_path(path)) {
    if (!node.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    YAML::Node child = node[part];
    if (!child.IsDefined()) return child;
    node.reset(child);
  }
  return node;
}

void set_path(YAML::Node& root, const std::string& path, const std::string& value) {
  auto parts = split_path(path);
  if (parts.empty()) throw ConfigError("empty configuration key in override");
  YAML::Node node;
  node.reset(root);
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    // A key that itself contains dots (librdkafka's linger.ms under kafka.producer) is set in
    // place: a new nested linger → ms section beside it would lose to the file's value.
    std::string rest = parts[i];
    for (std::size_t j = i + 1; j < parts.size(); ++j) rest += "." + parts[j];
    if (node[rest].IsDefined() && !node[rest].IsMap()) {
      node[rest] = value;
      return;
    }
    if (node[parts[i]].IsDefined() && !node[parts[i]].IsMap()) {
      throw ConfigError("override " + path + ": " + parts[i] + " is not a section");
    }
    if (!node[parts[i]].IsDefined()) node[parts[i]] = YAML::Node(YAML::NodeType::Map);
    YAML::Node child = node[parts[i]];
    node.reset(child);
  }
  node[parts.back()] = value;
}

// Keys are read as text everywhere (leaf paths, flat maps, finish()): a key that is itself a
// sequence or a map ("? [a, b]\n: 1") is refused at load, as a ConfigError naming its line,
// instead of a yaml-cpp conversion error escaping a later read. The depth is bounded by
// yaml-cpp's parser (DeepRecursion).
void check_keys(const YAML::Node& node, const std::string& file) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      if (!kv.first.IsScalar() && !kv.first.IsNull()) {
        throw ConfigError(file + ": line " + std::to_string(kv.first.Mark().line + 1) +
                          ": a key must be a single value, not a list or a section");
      }
      check_keys(kv.second, file);
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) check_keys(item, file);
  }
}

void collect_leaves(const YAML::Node& node, const std::string& prefix,
                    std::vector<std::string>& out) {
  if (node.IsMap()) {
    for (const auto& kv : node) {
      auto key = kv.first.as<std::string>();
      collect_leaves(kv.second, prefix.empty() ? key : prefix + "." + key, out);
    }
  } else {
    out.push_back(prefix);
  }
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// One value for how long a record may take to be delivered: outbox.delivery_timeout_ms is
// both the relay's wait for a batch's reports and librdkafka's message.timeout.ms (300 s by
// default). With the relay waiting 30 s and librdkafka trying for 300 s, each round on a
// stalled broker queued another copy of the rows still in flight. A property that says
// otherwise is refused rather than silently overridden.
void align_delivery_timeout(ServiceConfig& c) {
  const auto value = std::to_string(c.outbox.delivery_timeout.count());
  for (const auto* map : {&c.kafka.properties, &c.kafka.producer_properties}) {
    for (const char* name : {"message.timeout.ms", "delivery.timeout.ms"}) {
      auto it = map->find(name);
      if (it != map->end() && it->second != value) {
        throw ConfigError("config " + c.name + ": kafka " + name + " " + it->second +
                          " differs from outbox.delivery_timeout_ms " + value +
                          ": set outbox.delivery_timeout_ms only (it is the producer's " +
                          "message.timeout.ms too)");
      }
    }
  }
  c.kafka.producer_properties["message.timeout.ms"] = value;
}

// The relay queues at most outbox.pipeline_depth batches at a time (each round waits for every
// report of its batch), so they must fit in the producer's bounded queue together, or rounds
// would end in KAFKA_QUEUE_FULL.
void check_batch_fits_queue(const ServiceConfig& c) {
  for (const auto* map : {&c.kafka.producer_properties, &c.kafka.properties}) {
    auto it = map->find("queue.buffering.max.messages");
    if (it == map->end()) continue;
    std::int64_t limit = 0;
    try {
      limit = std::stoll(it->second);
    } catch (const std::exception&) {
      return;  // librdkafka refuses it at start-up, naming the property
    }
    if (std::int64_t{c.outbox.batch_size} * c.outbox.pipeline_depth > limit) {
      throw ConfigError(
          "config " + c.name + ": outbox.batch_size " + std::to_string(c.outbox.batch_size) +
          " × outbox.pipeline_depth " + std::to_string(c.outbox.pipeline_depth) +
          " exceeds the producer queue (queue.buffering.max.messages " + it->second + ")");
    }
    return;  // the producer's own setting wins over the shared one
  }
}

}  // namespace

struct Source::Impl {
  YAML::Node root{YAML::NodeType::Map};
};

Source::Source() : impl_(std::make_unique<Impl>()) {}
Source::~Source() = default;
Source::Source(const Source& other) : impl_(std::make_unique<Impl>()), file_(other.file_) {
  impl_->root = YAML::Clone(other.impl_->root);
}
Source& Source::operator=(const Source& other) {
  if (this != &other) {
    impl_->root = YAML::Clone(other.impl_->root);
    file_ = other.file_;
  }
  return *this;
}
Source::Source(Source&&) noexcept = default;
Source& Source::operator=(Source&&) noexcept = default;

Source Source::load(const std::string& file, const std::map<std::string, std::string>& env,
                    const std::vector<std::string>& overrides) {
  Source source;
  source.file_ = file.empty() ? "<defaults>" : file;
  if (!file.empty()) {
    if (!std::filesystem::exists(file)) throw ConfigError("config file not found: " + file);
    try {
      YAML::Node loaded = YAML::LoadFile(file);
      if (loaded.IsNull()) {
        // an empty file is an empty configuration
      } else if (!loaded.IsMap()) {
        throw ConfigError(file + ": the top level must be a mapping of sections");
      } else {
        check_keys(loaded, file);
        source.impl_->root = loaded;
      }
    } catch (const YAML::Exception& e) {
      throw ConfigError(file + ": " + e.what());
    }
  }
  constexpr std::string_view kPrefix = "ORDERFLOW__";
  for (const auto& [name, value] : env) {
    if (name.rfind(kPrefix, 0) != 0) continue;
    std::string rest = name.substr(kPrefix.size());
    std::string path;
    std::size_t pos = 0;
    while (true) {
      auto next = rest.find("__", pos);
      path += (path.empty() ? "" : ".") + lower(rest.substr(pos, next - pos));
      if (next == std::string::npos) break;
      pos = next + 2;
    }
    set_path(source.impl_->root, path, value);
  }
  for (const auto& override_text : overrides) {
    auto eq = override_text.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw ConfigError("override '" + override_text + "' must look like key.path=value");
    }
    set_path(source.impl_->root, override_text.substr(0, eq), override_text.substr(eq + 1));
  }
  return source;
}

std::map<std::string, std::string> Source::process_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return env;
}

std::optional<std::string> Source::scalar(const std::string& path) const {
  auto node = find(impl_->root, path);
  if (!node.IsDefined() || node.IsNull()) return std::nullopt;
  if (!node.IsScalar()) return std::nullopt;
  return node.Scalar();
}

std::vector<std::string> Source::keys(const std::string& path) const {
  std::vector<std::string> out;
  auto node = path.empty() ? impl_->root : find(impl_->root, path);
  if (node.IsMap()) {
    for (const auto& kv : node) out.push_back(kv.first.as<std::string>());
  }
  return out;
}

std::vector<std::string> Source::leaf_paths() const {
  std::vector<std::string> out;
  collect_leaves(impl_->root, "", out);
  return out;
}

std::map<std::string, std::string> Source::flat_map(const std::string& path) const {
  std::map<std::string, std::string> out;
  auto node = find(impl_->root, path);
  if (!node.IsMap()) return out;
  std::vector<std::string> leaves;
  collect_leaves(node, "", leaves);
  for (const auto& leaf : leaves) {
    // Walk by exact keys: a leaf key may itself contain dots.
    YAML::Node cursor;
    cursor.reset(node);
    std::string rest = leaf;
    while (cursor.IsMap() && !rest.empty()) {
      bool stepped = false;
      for (const auto& kv : cursor) {
        auto key = kv.first.as<std::string>();
        if (rest == key || rest.rfind(key + ".", 0) == 0) {
          rest = rest == key ? "" : rest.substr(key.size() + 1);
          cursor.reset(kv.second);
          stepped = true;
          break;
        }
      }
      if (!stepped) break;
    }
    if (cursor.IsScalar()) out[leaf] = cursor.Scalar();
  }
  return out;
}

bool Source::is_container(const std::string& path) const {
  auto node = find(impl_->root, path);
  return node.IsMap() || node.IsSequence();
}

std::vector<std::string> Source::sequence(const std::string& path) const {
  std::vector<std::string> out;
  auto node = find(impl_->root, path);
  if (node.IsSequence()) {
    for (const auto& item : node) {
      if (!item.IsScalar() && !item.IsNull()) {
        throw ConfigError("config " + file_ + ": key '" + path +
                          "': every item must be a single value");
      }
      out.push_back(item.as<std::string>());
    }
  }
  return out;
}

std::string Reader::where(const std::string& path) const {
  return "config " + source_.file() + ": key '" + path + "'";
}

std::string Reader::string(const std::string& path, const std::string& fallback) {
  known_.insert(path);
  if (source_.is_container(path)) throw ConfigError(where(path) + " must be a single value");
  return source_.scalar(path).value_or(fallback);
}

std::string Reader::choice(const std::string& path, const std::string& fallback,
                           const std::vector<std::string>& allowed) {
  auto value = string(path, fallback);
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    throw ConfigError(where(path) + ": '" + value + "' is not one of " + list);
  }
  return value;
}

std::int64_t Reader::integer(const std::string& path, std::int64_t fallback, std::int64_t min,
                             std::int64_t max) {
  auto text = string(path, "");
  if (text.empty()) return fallback;
  std::int64_t value = 0;
  std::size_t used = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size()) throw ConfigError(where(path) + ": '" + text + "' is not an integer");
  if (value < min || value > max) {
    throw ConfigError(where(path) + ": " + text + " is outside [" + std::to_string(min) + ", " +
                      std::to_string(max) + "]");
  }
  return value;
}

double Reader::number(const std::string& path, double fallback, double min, double max) {
  auto text = string(path, "");
  if (text.empty()) return fallback;
  double value = 0;
  std::size_t used = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size()) throw ConfigError(where(path) + ": '" + text + "' is not a number");
  if (value < min || value > max) {
    throw ConfigError(where(path) + ": " + text + " is out of range");
  }
  return value;
}

bool Reader::boolean(const std::string& path, bool fallback) {
  auto text = lower(string(path, ""));
  if (text.empty()) return fallback;
  if (text == "true" || text == "yes" || text == "on" || text == "1") return true;
  if (text == "false" || text == "no" || text == "off" || text == "0") return false;
  throw ConfigError(where(path) + ": '" + text + "' is not a boolean (true/false)");
}

std::chrono::milliseconds Reader::millis(const std::string& path,
                                         std::chrono::milliseconds fallback,
                                         std::chrono::milliseconds min) {
  return std::chrono::milliseconds{
      integer(path, fallback.count(), min.count(), std::int64_t{24} * 3600 * 1000 * 365)};
}

std::map<std::string, std::string> Reader::string_map(const std::string& path) {
  known_subtrees_.insert(path);
  if (source_.scalar(path).has_value()) throw ConfigError(where(path) + " must be a mapping");
  return source_.flat_map(path);
}

std::vector<std::string> Reader::string_list(const std::string& path,
                                             const std::vector<std::string>& fallback) {
  known_subtrees_.insert(path);
  if (!source_.is_container(path)) {
    auto single = source_.scalar(path);
    if (!single) return fallback;
    // A comma-separated scalar works too, so env vars and --set can set lists; "a, b" is
    // read as a YAML list would be, without the blanks around the items.
    std::vector<std::string> out;
    std::stringstream in(*single);
    std::string item;
    while (std::getline(in, item, ',')) {
      const auto first = item.find_first_not_of(" \t");
      if (first == std::string::npos) continue;
      const auto last = item.find_last_not_of(" \t");
      out.push_back(item.substr(first, last - first + 1));
    }
    return out;
  }
  return source_.sequence(path);
}

void Reader::accept_subtree(const std::string& path) { known_subtrees_.insert(path); }

void Reader::finish() const {
  std::vector<std::string> unknown;
  for (const auto& leaf : source_.leaf_paths()) {
    if (known_.count(leaf) != 0) continue;
    bool under_known = false;
    for (const auto& subtree : known_subtrees_) {
      if (leaf == subtree || leaf.rfind(subtree + ".", 0) == 0) under_known = true;
    }
    if (!under_known) unknown.push_back(leaf);
  }
  if (!unknown.empty()) {
    std::string list;
    for (const auto& u : unknown) list += (list.empty() ? "" : ", ") + u;
    throw ConfigError("config " + source_.file() + ": unknown key(s): " + list);
  }
}

http::AuthConfig read_auth_config(Reader& r) {
  http::AuthConfig a;
  a.mode = *http::parse_auth_mode(r.choice("auth.mode", "none", {"none", "optional", "required"}));
  a.algorithm =
      *http::parse_jwt_algorithm(r.choice("auth.algorithm", "HS256", {"HS256", "RS256", "ES256"}));
  a.secret = r.string("auth.secret", "");
  auto key_file = r.string("auth.public_key_file", "");
  a.public_key_file = key_file.empty() ? "" : resolve_path(r.source(), key_file);
  a.issuer = r.string("auth.issuer", "");
  a.audience = r.string("auth.audience", "");
  a.clock_skew = r.millis("auth.clock_skew_ms", std::chrono::milliseconds{30000});
  if (a.mode == http::AuthMode::kNone) return a;
  // The key file itself is read when the server is built; its absence is caught here already.
  if (a.algorithm == http::JwtAlgorithm::kHS256 && a.secret.size() < 32) {
    throw ConfigError("config " + r.source().file() +
                      ": key 'auth.secret' must be at least 32 bytes for HS256 (auth.mode " +
                      (a.mode == http::AuthMode::kRequired ? "required" : "optional") + ")");
  }
  if (a.algorithm != http::JwtAlgorithm::kHS256 && a.public_key_file.empty()) {
    throw ConfigError("config " + r.source().file() +
                      ": key 'auth.public_key_file' is required for " +
                      http::to_string(a.algorithm));
  }
  return a;
}

ServiceConfig read_service_config(Reader& r, const std::string& default_name,
                                  std::uint16_t default_port, ServiceDefaults defaults) {
  ServiceConfig c;
  c.name = r.string("service.name", default_name);
  c.instance_id = r.string("service.instance_id", c.name);
  c.port_file = r.string("service.port_file", "");
  c.data_dir = r.string("data_dir", ".orderflow");

  c.http.host = r.string("http.host", "0.0.0.0");
  c.http.port = static_cast<std::uint16_t>(r.integer("http.port", default_port, 0, 65535));
  c.http.body_limit_bytes =
      static_cast<std::size_t>(r.integer("http.body_limit_bytes", 1024 * 1024, 1, 1LL << 30));
  c.http.read_timeout_ms = static_cast<int>(r.integer("http.read_timeout_ms", 10000, 1, 3'600'000));
  c.http.idle_timeout_ms = static_cast<int>(r.integer("http.idle_timeout_ms", 60000, 1, 3'600'000));
  c.http.threads = static_cast<int>(r.integer("http.threads", 8, 1, 256));
  c.http.max_connections =
      static_cast<std::size_t>(r.integer("http.max_connections", 1024, 1, 1'000'000));
  c.http.max_in_flight = static_cast<int>(r.integer("http.max_in_flight", 256, 1, 1'000'000));
  c.http.auth = read_auth_config(r);

  c.kafka.bootstrap_servers = r.string("kafka.bootstrap_servers", "");
  c.kafka.client_id = r.string("kafka.client_id", c.instance_id);
  c.kafka.properties = r.string_map("kafka.properties");
  c.kafka.producer_properties = r.string_map("kafka.producer");
  c.kafka.consumer_properties = r.string_map("kafka.consumer");
  // The service's own principal on a cluster with ACLs (docs/security.md). The password comes
  // from the environment (ORDERFLOW__KAFKA__SASL__PASSWORD) or --set, never from a file here.
  auto sasl_username = r.string("kafka.sasl.username", "");
  auto sasl_password = r.string("kafka.sasl.password", "");
  auto sasl_mechanism = r.choice("kafka.sasl.mechanism", "SCRAM-SHA-256",
                                 {"SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"});
  if (!sasl_username.empty()) {
    messaging::set_sasl_credentials(c.kafka, sasl_username, sasl_password, sasl_mechanism);
  } else if (!sasl_password.empty()) {
    throw ConfigError("config " + r.source().file() +
                      ": key 'kafka.sasl.password' is set without kafka.sasl.username");
  }
  c.kafka_profile =
      r.string("kafka.profile", c.kafka.bootstrap_servers.empty() ? "embedded" : "cluster");
  auto profiles_file = r.string("kafka.profiles_file", "");
  if (c.kafka_profile != "none") {
    apply_kafka_profile(
        load_kafka_profile(c.kafka_profile,
                           profiles_file.empty() ? "" : resolve_path(r.source(), profiles_file)),
        c.kafka);
  }
  c.bootstrap_wait = r.millis("kafka.bootstrap_wait_ms", std::chrono::milliseconds{30000});

  c.storage.backend = r.choice("storage.backend", "sqlite", {"sqlite", "postgres"});
  auto db_path = r.string("storage.sqlite.path", c.name + ".db");
  std::filesystem::path p(db_path);
  c.storage.sqlite_path =
      p.is_absolute() ? db_path : (std::filesystem::path(c.data_dir) / p).string();
  c.storage.sqlite_synchronous =
      r.choice("storage.sqlite.synchronous", "FULL", {"FULL", "NORMAL", "EXTRA"});
  c.storage.busy_timeout_ms =
      static_cast<int>(r.integer("storage.sqlite.busy_timeout_ms", 5000, 0, 600'000));
  c.storage.pool_size = static_cast<int>(r.integer("storage.pool_size", 4, 1, 64));
  c.storage.postgres_url = r.string("storage.postgres.url", "");
  if (c.storage.backend == "postgres") {
    c.storage.pool_size =
        static_cast<int>(r.integer("storage.postgres.pool_size", kPostgresPoolSize, 1, 256));
  }
  c.storage.application_name = c.name;
  // On PostgreSQL a batch holds the row locks of every record in it until its commit: a
  // service whose records share rows across keys says so in `defaults` (ServiceDefaults).
  c.consumer.max_batch = static_cast<int>(
      r.integer("consumer.batch_size",
                c.storage.backend == "postgres" ? defaults.postgres_batch_size : 64, 1, 1000));
  if (c.storage.backend == "postgres" && c.storage.postgres_url.empty()) {
    throw ConfigError("config " + r.string("service.name", default_name) +
                      ": storage.backend is postgres but storage.postgres.url is empty");
  }

  c.log.level = r.choice("log.level", "info", {"trace", "debug", "info", "warn", "error", "off"});
  c.log.format = r.choice("log.format", "text", {"text", "json"});
  c.log.instance = c.instance_id;

  c.topics.orders = r.string("topics.orders", c.topics.orders);
  c.topics.inventory = r.string("topics.inventory", c.topics.inventory);
  c.topics.payments = r.string("topics.payments", c.topics.payments);
  c.topics.dlt_suffix = r.string("topics.dlt_suffix", c.topics.dlt_suffix);
  c.topics.partitions = static_cast<int>(r.integer("topics.partitions", 3, 1, 1000));
  c.create_topics = r.boolean("topics.create", !c.kafka.bootstrap_servers.empty());
  c.replication_factor = static_cast<int>(r.integer("topics.replication_factor", 0, 0, 32));
  c.min_insync_replicas = static_cast<int>(r.integer("topics.min_insync_replicas", 0, 0, 32));

  c.consumer.service = c.name;
  c.consumer.concurrency = static_cast<int>(r.integer("consumer.concurrency", 16, 1, 256));
  c.consumer.queue_capacity =
      static_cast<int>(r.integer("consumer.queue_capacity", 1000, 1, 1'000'000));
  c.consumer.hand_off_threads =
      static_cast<int>(r.integer("consumer.hand_off_threads", 64, 1, 4096));
  c.consumer.commit_interval = r.millis(
      "consumer.commit_interval_ms", std::chrono::milliseconds{200}, std::chrono::milliseconds{1});
  c.consumer.retry.max_attempts =
      static_cast<int>(r.integer("consumer.retry.max_attempts", 3, 1, 1000));
  c.consumer.retry.backoff = r.millis("consumer.retry.backoff_ms", std::chrono::milliseconds{2000});
  c.consumer.retry.exponential =
      r.choice("consumer.retry.kind", "fixed", {"fixed", "exponential"}) == "exponential";
  c.consumer.retry.multiplier = r.number("consumer.retry.multiplier", 2.0, 1.0, 100.0);
  c.consumer.retry.max_backoff =
      r.millis("consumer.retry.max_backoff_ms", std::chrono::milliseconds{30000});

  c.outbox.batch_size = static_cast<int>(r.integer("outbox.batch_size", 500, 1, 100'000));
  c.outbox.poll_interval = r.millis("outbox.poll_interval_ms", std::chrono::milliseconds{1000},
                                    std::chrono::milliseconds{1});
  c.outbox.delivery_timeout = r.millis(
      "outbox.delivery_timeout_ms", std::chrono::milliseconds{30000}, std::chrono::milliseconds{1});
  align_delivery_timeout(c);
  c.drain_timeout = r.millis("timeouts.drain_ms", c.drain_timeout, std::chrono::milliseconds{1});
  c.broker_grace = r.millis("health.broker_unreachable_ms", c.broker_grace);
  c.outbox.retention = r.millis("outbox.retention_ms", std::chrono::milliseconds{0});
  c.outbox.republish_rate =
      static_cast<int>(r.integer("outbox.republish_rate", c.outbox.republish_rate, 0, 1'000'000));
  c.outbox.purge_interval =
      r.millis("outbox.purge_interval_ms", c.outbox.purge_interval, std::chrono::milliseconds{1});
  c.outbox.pipeline_depth =
      static_cast<int>(r.integer("outbox.pipeline_depth", c.outbox.pipeline_depth, 1, 8));
  check_batch_fits_queue(c);
  return c;
}

void resolve_bootstrap(ServiceConfig& config) {
  if (!config.kafka.bootstrap_servers.empty()) return;
  auto file = std::filesystem::path(config.data_dir) / "broker.bootstrap";
  auto deadline = std::chrono::steady_clock::now() + config.bootstrap_wait;
  while (true) {
    std::ifstream in(file);
    std::string line;
    if (in && std::getline(in, line) && !line.empty()) {
      config.kafka.bootstrap_servers = line;
      return;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw ConfigError("kafka.bootstrap_servers is empty and " + file.string() +
                        " did not appear within " + std::to_string(config.bootstrap_wait.count()) +
                        " ms: start orderflow-broker (or `orderflow up`) or set "
                        "kafka.bootstrap_servers");
    }
    // Start-up only: the broker writes the file once it is ready.
    std::this_thread::sleep_for(std::chrono::milliseconds{50});
  }
}

std::string resolve_path(const Source& source, const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_absolute() || source.file() == "<defaults>") return path;
  return (std::filesystem::path(source.file()).parent_path() / p).lexically_normal().string();
}

std::string default_config_dir() { return std::string(ORDERFLOW_SOURCE_DIR) + "/config"; }

std::string default_catalog_file() {
  return std::string(ORDERFLOW_SOURCE_DIR) + "/catalog/products.yaml";
}

std::optional<Source> load_from_command_line(int argc, char** argv, const std::string& service,
                                             int& exit_code) {
  CLI::App app{service + " — orderflow service"};
  std::string file;
  std::vector<std::string> overrides;
  std::string data_dir;
  std::string port_file;
  int port = -1;
  app.add_option("--config,-c", file, "YAML configuration file");
  app.add_option("--set", overrides, "Override a key: --set http.port=9000 (repeatable)");
  app.add_option("--data-dir", data_dir, "Directory for databases and broker.bootstrap");
  app.add_option("--port", port, "HTTP port (0 = pick a free one)")->check(CLI::Range(0, 65535));
  app.add_option("--port-file", port_file, "Write the bound host:port to this file");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    exit_code = app.exit(e);
    return std::nullopt;
  }
  if (!data_dir.empty()) overrides.push_back("data_dir=" + data_dir);
  if (port >= 0) overrides.push_back("http.port=" + std::to_string(port));
  if (!port_file.empty()) overrides.push_back("service.port_file=" + port_file);
  return Source::load(file, Source::process_environment(), overrides);
}

}  // namespace orderflow::config
