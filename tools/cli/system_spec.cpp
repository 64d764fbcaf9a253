#include "system_spec.h"

#include <filesystem>
#include <stdexcept>
#include <utility>

namespace orderflow::cli {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr const char* kNotificationService = "notification-service";
constexpr const char* kSinkGroup = "data-platform-sink";  // lag.groups' name of the sink's group

}  // namespace

std::vector<std::string> launch_command(const std::vector<std::string>& launcher,
                                        const std::string& name, std::vector<std::string> command) {
  constexpr std::string_view kName = "{name}";
  std::vector<std::string> out;
  for (auto word : launcher) {
    for (auto at = word.find(kName); at != std::string::npos; at = word.find(kName, at)) {
      word.replace(at, kName.size(), name);
      at += name.size();
    }
    out.push_back(std::move(word));
  }
  out.insert(out.end(), std::make_move_iterator(command.begin()),
             std::make_move_iterator(command.end()));
  return out;
}

std::string instance_name(const std::string& service, int index) {
  return index <= 1 ? service : service + "-" + std::to_string(index);
}

std::string postgres_database(const std::string& prefix, const std::string& service) {
  std::string name = service;
  constexpr std::string_view kSuffix = "-service";
  if (name.size() > kSuffix.size() && name.ends_with(kSuffix)) {
    name.resize(name.size() - kSuffix.size());
  }
  std::replace(name.begin(), name.end(), '-', '_');
  return prefix + name;
}

namespace {

// A libpq URI cut where `orderflow up` edits it: scheme://[user[:password]@]hosts[/db][?params].
struct UriParts {
  std::string scheme;  ///< "postgresql://" or "postgres://"
  std::optional<std::string> user;
  std::optional<std::string> password;  ///< still percent-encoded
  std::string hosts;
  std::string database;
  std::string query;  ///< with its '?', or empty
};

UriParts parse_postgres_uri(const std::string& uri) {
  UriParts parts;
  for (const char* scheme : {"postgresql://", "postgres://"}) {
    if (uri.starts_with(scheme)) parts.scheme = scheme;
  }
  if (parts.scheme.empty()) {
    throw config::ConfigError(
        "storage.postgres.url: not a postgresql:// or postgres:// URI (a libpq connection URI)");
  }
  auto authority_end = uri.find_first_of("/?", parts.scheme.size());
  if (authority_end == std::string::npos) authority_end = uri.size();
  auto authority = uri.substr(parts.scheme.size(), authority_end - parts.scheme.size());
  if (auto at = authority.rfind('@'); at != std::string::npos) {
    auto user_info = authority.substr(0, at);
    auto colon = user_info.find(':');
    parts.user = user_info.substr(0, colon);
    if (colon != std::string::npos) parts.password = user_info.substr(colon + 1);
    authority = authority.substr(at + 1);
  }
  parts.hosts = authority;
  auto query_start = std::min(uri.find('?', authority_end), uri.size());
  if (authority_end < uri.size() && uri[authority_end] == '/') {
    parts.database = uri.substr(authority_end + 1, query_start - authority_end - 1);
  }
  parts.query = uri.substr(query_start);
  return parts;
}

std::string join_uri(const UriParts& parts) {
  std::string user_info;
  if (parts.user) user_info = *parts.user + (parts.password ? ":" + *parts.password : "") + "@";
  return parts.scheme + user_info + parts.hosts + "/" + parts.database + parts.query;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    int high = i + 2 < text.size() && text[i] == '%' ? hex_digit(text[i + 1]) : -1;
    int low = high >= 0 ? hex_digit(text[i + 2]) : -1;
    if (low >= 0) {
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

PostgresUri split_postgres_password(const std::string& uri) {
  auto parts = parse_postgres_uri(uri);
  PostgresUri out;
  out.password = percent_decode(parts.password.value_or(""));
  parts.password.reset();
  out.without_password = join_uri(parts);
  return out;
}

std::string postgres_uri_with_database(const std::string& uri, const std::string& database) {
  auto parts = parse_postgres_uri(uri);
  parts.database = database;
  return join_uri(parts);
}

SystemSpec load_system_spec(const std::string& file, const std::string& data_dir_override,
                            const std::string& bin_dir) {
  auto source = config::Source::load(file, config::Source::process_environment(), {});
  config::Reader reader(source);
  SystemSpec spec;
  spec.bin_dir = bin_dir;
  auto configured_dir = config::resolve_path(source, reader.string("data_dir", ".orderflow"));
  spec.data_dir = fs::absolute(data_dir_override.empty() ? configured_dir : data_dir_override)
                      .lexically_normal()
                      .string();
  spec.bootstrap_servers = reader.string("kafka.bootstrap_servers", "");
  spec.kafka_profile = reader.string("kafka.profile", "");
  spec.brokers = static_cast<int>(reader.integer("broker.brokers", 3, 1, 16));
  spec.partitions = static_cast<int>(reader.integer("broker.partitions", 3, 1, 1000));
  spec.kafka_security =
      *parse_kafka_security(reader.choice("broker.security", "none", {"none", "scram"}));
  spec.ready_timeout = reader.millis("timeouts.ready_ms", 30000ms, 1ms);
  spec.drain_timeout = reader.millis("timeouts.drain_ms", 15000ms, 0ms);
  auto& sup = spec.supervision;
  sup.max_restarts = static_cast<int>(reader.integer("supervision.max_restarts", 5, 0, 1000));
  sup.window = reader.millis("supervision.window_ms", 60000ms, 1ms);
  sup.backoff_initial = reader.millis("supervision.backoff_initial_ms", 500ms, 0ms);
  sup.backoff_max = reader.millis("supervision.backoff_max_ms", 10000ms, 0ms);
  if (sup.backoff_max < sup.backoff_initial) {
    throw config::ConfigError("config " + file +
                              ": key 'supervision.backoff_max_ms' is below backoff_initial_ms");
  }
  spec.storage_backend = reader.choice("storage.backend", SystemSpec::kSqlite,
                                       {SystemSpec::kSqlite, SystemSpec::kPostgres});
  spec.postgres_url = reader.string("storage.postgres.url", "");
  if (!spec.postgres_url.empty()) (void)split_postgres_password(spec.postgres_url);  // checks it
  spec.postgres_database_prefix = reader.string("storage.postgres.database_prefix", "");
  auto bin_dir_setting = reader.string("storage.postgres.bin_dir", "");
  spec.postgres_bin_dir =
      bin_dir_setting.empty() ? "" : config::resolve_path(source, bin_dir_setting);
  spec.auth = config::read_auth_config(reader);
  auto names = source.keys("services");
  if (names.empty()) {
    names = {"order-service", "inventory-service", "payment-service", "notification-service",
             "ops-service"};
  }
  for (const auto& name : names) {
    ServiceSpec s;
    s.name = name;
    auto cfg = reader.string("services." + name + ".config", "");
    s.config_file = cfg.empty() ? "" : fs::absolute(config::resolve_path(source, cfg)).string();
    s.port = static_cast<int>(reader.integer("services." + name + ".port", 0, 0, 65535));
    s.overrides = reader.string_list("services." + name + ".set", {});
    s.replicas = static_cast<int>(reader.integer("services." + name + ".replicas", 1, 1, 64));
    spec.services.push_back(std::move(s));
  }
  reader.finish();
  return spec;
}

std::map<std::string, std::string> service_group_ids(const SystemSpec& spec) {
  std::map<std::string, std::string> out;
  for (const auto& service : spec.services) {
    if (service.name == kOpsService) continue;
    auto source = config::Source::load(service.config_file, config::Source::process_environment(),
                                       service.overrides);
    out[service.name] = source.scalar("consumer.group_id").value_or(service.name);
    // The sink is a second group of notification-service's (on the orders topic), running
    // only when enabled: empty otherwise, so that ops-service does not list it.
    if (service.name == kNotificationService) {
      config::Reader reader(source);
      out[kSinkGroup] = reader.boolean("sink.enabled", false)
                            ? source.scalar("sink.group_id").value_or(kSinkGroup)
                            : "";
    }
  }
  return out;
}

}  // namespace orderflow::cli
