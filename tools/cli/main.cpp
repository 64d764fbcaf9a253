// `orderflow`: runs the whole system (up) and the seeds' walk-through (demo).
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <thread>

#include "demo.h"
#include "dlq_command.h"
#include "orderflow/config/config.h"
#include "orderflow/http/auth.h"
#include "orderflow/http/client.h"
#include "orderflow/http/types.h"
#include "orderflow/observability/logging.h"
#include "orderflow/runtime/service_host.h"
#include "supervisor.h"
#include "system.h"

using namespace orderflow;
namespace fs = std::filesystem;

namespace {

std::string self_dir() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::current_path().string() : exe.parent_path().string();
}

// Waits for SIGINT/SIGTERM while the supervisor restarts children that exit on their own;
// returns false when it gave up on one.
bool supervise_until_signal(cli::System& system, std::shared_ptr<spdlog::logger> logger) {
  cli::Supervisor supervisor(system, std::move(logger));
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  timespec tick{0, 100'000'000};
  while (true) {
    if (sigtimedwait(&set, nullptr, &tick) > 0) return true;
    if (auto gave_up = supervisor.tick()) {
      std::cerr << "orderflow: " << *gave_up << std::endl;
      return false;
    }
  }
}

void print_endpoints(const cli::System& system) {
  // One column for the values: as wide as the longest name (notification-service-2, …).
  std::size_t width = 22;
  for (const auto& [name, ep] : system.endpoints()) width = std::max(width, name.size() + 1);
  auto label = [&](const std::string& name) {
    return "  " + name + std::string(width - name.size(), ' ');
  };
  std::cout << "orderflow is up (data dir " << system.spec().data_dir << ")\n";
  std::cout << label("kafka") << system.bootstrap_servers()
            << (!system.spec().bootstrap_servers.empty() ? ""
                : system.spec().broker_mode == cli::SystemSpec::kKafkaBroker
                    ? "  (Apache Kafka " + cli::pinned_kafka_version() + ", " +
                          std::to_string(system.spec().brokers) + " brokers" +
                          (system.spec().kafka_security == cli::KafkaSecurity::kScram
                               ? ", SASL/SCRAM + ACLs"
                               : "") +
                          ")"
                    : std::string("  (embedded broker)"))
            << "\n";
  if (auto postgres = system.postgres_server_uri(); !postgres.empty()) {
    std::cout << label("postgres") << postgres
              << (system.spec().postgres_url.empty()
                      ? "  (private server, " + system.spec().data_dir + "/postgres)"
                      : std::string("  (storage.postgres.url)"))
              << "\n";
  }
  for (const auto& [name, ep] : system.endpoints()) std::cout << label(name) << ep.url() << "\n";
  if (auto ops = system.endpoints().find("ops-service"); ops != system.endpoints().end()) {
    std::cout << label("console") << ops->second.url()
              << "/  (web ops console: health, orders, topics, dead letters)\n";
  }
  std::cout << label("logs") << system.spec().data_dir << "/logs/\n";
  std::cout << label("prometheus") << system.spec().data_dir << "/prometheus-targets.json"
            << (system.spec().prometheus_targets.empty() ? std::string()
                                                         : ", " + system.spec().prometheus_targets)
            << "  (file_sd targets, deploy/prometheus/prometheus.yml)\n";
  std::cout << "Try: curl -X POST " << system.endpoints().at("order-service").url()
            << "/api/orders -H 'Content-Type: application/json' "
               "-d '{\"userId\":42,\"items\":[{\"sku\":\"ABC-001\",\"qty\":2}]}'\n";
  std::cout << "Ctrl-C drains and stops everything.\n" << std::flush;
}

// "90", "90s", "15m", "1h", "7d" → seconds; nullopt for anything else or ≤ 0.
std::optional<std::chrono::seconds> parse_ttl(const std::string& text) {
  if (text.empty()) return std::nullopt;
  std::int64_t unit = 1;
  std::string digits = text;
  switch (text.back()) {
    case 's':
      digits.pop_back();
      break;
    case 'm':
      unit = 60;
      digits.pop_back();
      break;
    case 'h':
      unit = 3600;
      digits.pop_back();
      break;
    case 'd':
      unit = 86400;
      digits.pop_back();
      break;
    default:
      break;
  }
  auto value = http::parse_int(digits);
  if (!value || *value <= 0 || *value > 366 * 86400 / unit) return std::nullopt;
  return std::chrono::seconds(*value * unit);
}

int mint_token(const std::string& config_file, const std::string& user,
               const std::vector<std::string>& roles, const std::string& ttl_text) {
  auto ttl = parse_ttl(ttl_text);
  if (!ttl) {
    std::cerr << "orderflow token: --ttl must be N, Ns, Nm, Nh or Nd (at most a year)\n";
    return 1;
  }
  try {
    auto source = config::Source::load(config_file, config::Source::process_environment(), {});
    config::Reader reader(source);
    auto auth = config::read_auth_config(reader);
    auto token = http::mint_hs256(auth, {user, roles, *ttl}, std::chrono::system_clock::now());
    if (!token) {
      std::cerr << "orderflow token: " << token.error().message << " (" << config_file << ")\n";
      return 1;
    }
    std::cout << *token << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "orderflow token: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace

int main(int argc, char** argv) {
  runtime::block_shutdown_signals();
  CLI::App app{"orderflow — event-driven order processing on Kafka"};
  app.require_subcommand(1);
  std::string data_dir;
  std::string config_file = (fs::path(self_dir()) / "../../config/orderflow.yaml").string();
  if (!fs::exists(config_file)) config_file = config::default_config_dir() + "/orderflow.yaml";
  bool foreground_logs = false;
  std::string broker_mode = cli::SystemSpec::kEmbeddedBroker;
  int brokers = 0;
  std::string kafka_security;
  int replicas = 0;
  std::string storage;
  std::string log_level = "info";

  auto* up =
      app.add_subcommand("up", "Start the broker and every service; Ctrl-C drains and stops");
  up->add_option("--data-dir", data_dir, "Data directory (databases, logs, endpoints.json)");
  up->add_option("--config", config_file, "System configuration file")->capture_default_str();
  up->add_flag("--foreground-logs", foreground_logs, "Services log to this terminal");
  std::string prometheus_targets;
  up->add_option("--prometheus-targets", prometheus_targets,
                 "Also write the Prometheus file_sd targets (<data-dir>/prometheus-targets.json) "
                 "to this file");
  up->add_option("--broker", broker_mode,
                 "embedded: orderflow-broker (no JVM); kafka: a local Apache Kafka cluster")
      ->check(CLI::IsMember({cli::SystemSpec::kEmbeddedBroker, cli::SystemSpec::kKafkaBroker}))
      ->capture_default_str();
  up->add_option("--brokers", brokers, "Number of brokers (default: broker.brokers, 3)")
      ->check(CLI::Range(1, 16));
  up->add_option("--kafka-security", kafka_security,
                 "With --broker kafka: none, or scram (a SASL/SCRAM user per service and ACLs; "
                 "default: broker.security, none)")
      ->check(CLI::IsMember({"none", "scram"}));
  up->add_option("--replicas", replicas,
                 "Instances of every service, in one consumer group each (default: "
                 "services.<name>.replicas, 1); more than one needs --storage postgres")
      ->check(CLI::Range(1, 64));
  up->add_option("--storage", storage,
                 "sqlite: each service's own SQLite file; postgres: PostgreSQL, a database per "
                 "service, on a private server under the data dir or storage.postgres.url "
                 "(default: storage.backend, sqlite)")
      ->check(CLI::IsMember({cli::SystemSpec::kSqlite, cli::SystemSpec::kPostgres}));

  auto* demo = app.add_subcommand("demo", "Post the seeds' sample orders and show notifications");
  demo->add_option("--data-dir", data_dir,
                   "Data directory of a running `orderflow up` (default: start a fresh system)");
  demo->add_option("--config", config_file, "System configuration file (when starting one)");

  auto* dlq =
      app.add_subcommand("dlq", "Dead letters of the ops-service: list, show, replay, discard");
  dlq->require_subcommand(1);
  dlq->add_option("--data-dir", data_dir, "Data directory of a running `orderflow up`");
  dlq->add_option("--config", config_file, "System configuration file (for its data_dir)");
  cli::DlqOptions dlq_options;
  auto add_filters = [&](CLI::App* cmd) {
    cmd->fallthrough();  // --data-dir/--config may follow the action
    cmd->add_option("--topic", dlq_options.topic, "Original topic");
    cmd->add_option("--group", dlq_options.group, "Consumer group that dead-lettered it");
    cmd->add_option("--status", dlq_options.status, "NEW | REPLAYED | DISCARDED");
    cmd->add_option("--key", dlq_options.key, "Record key");
  };
  auto* dlq_list = dlq->add_subcommand("list", "List dead letters (newest first)");
  add_filters(dlq_list);
  dlq_list->add_option("--limit", dlq_options.limit, "At most this many rows")
      ->capture_default_str();
  auto* dlq_show = dlq->add_subcommand("show", "Show one dead letter with its audit trail");
  dlq_show->fallthrough();
  dlq_show->add_option("id", dlq_options.id, "Dead letter id")->required();
  for (const char* action : {"replay", "discard"}) {
    auto* cmd = dlq->add_subcommand(
        action, std::string(action == std::string("replay") ? "Replay" : "Discard") +
                    " one dead letter (ID) or every match of the filters");
    cmd->add_option("id", dlq_options.id, "Dead letter id");
    add_filters(cmd);
    cmd->add_flag("--dry-run", dlq_options.dry_run, "Only list the ids that would be affected");
    // ops-service refuses an X-Actor (and a token sub) that is no identifier: say so here.
    cmd->add_option("--actor", dlq_options.actor, "Recorded in the audit trail")
        ->capture_default_str()
        ->check(
            [](const std::string& actor) {
              auto ok = http::check_identifier(actor, "--actor");
              return ok ? std::string() : ok.error().message;
            },
            "IDENTIFIER");
  }

  auto* token = app.add_subcommand(
      "token", "Mint a development bearer token (HS256, auth.secret of the configuration)");
  std::string token_user;
  std::vector<std::string> token_roles;
  std::string token_ttl = "1h";
  token->add_option("--user", token_user, "User id (the token's sub)")->required();
  token->add_option("--role", token_roles, "A role, e.g. admin (repeatable)");
  token->add_option("--ttl", token_ttl, "Lifetime: N, Ns, Nm, Nh or Nd")->capture_default_str();
  token->add_option("--config", config_file, "System configuration file (its auth section)")
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  if (token->parsed()) return mint_token(config_file, token_user, token_roles, token_ttl);

  try {
    auto logger = observability::make_logger("orderflow", {log_level, "text"});
    if (up->parsed()) {
      auto spec = cli::load_system_spec(config_file, data_dir, self_dir());
      spec.inherit_output = foreground_logs;
      spec.prometheus_targets = prometheus_targets;
      spec.broker_mode = broker_mode;
      if (brokers > 0) spec.brokers = brokers;
      if (!kafka_security.empty()) spec.kafka_security = *cli::parse_kafka_security(kafka_security);
      if (!storage.empty()) spec.storage_backend = storage;
      if (replicas > 0) {
        for (auto& service : spec.services) service.replicas = replicas;
      }
      cli::System system(spec, logger);
      system.start();
      print_endpoints(system);
      bool clean = supervise_until_signal(system, logger);
      std::cout << "orderflow: draining (intake stopped, flushing outboxes, consumers catching up)"
                << std::endl;
      system.stop();
      std::cout << "orderflow: stopped" << std::endl;
      return clean ? 0 : 1;
    }
    if (dlq->parsed()) {
      for (auto* sub : dlq->get_subcommands()) dlq_options.action = sub->get_name();
      if ((dlq_options.action == "replay" || dlq_options.action == "discard") && !dlq_options.id &&
          !dlq_options.topic && !dlq_options.group && !dlq_options.status && !dlq_options.key) {
        std::cerr << "orderflow dlq " << dlq_options.action
                  << ": give an ID or at least one of --topic --group --status --key\n";
        return 1;
      }
      std::optional<cli::SystemSpec> spec;
      if (data_dir.empty()) {
        spec = cli::load_system_spec(config_file, "", self_dir());
      } else if (fs::exists(config_file)) {
        // With --data-dir the configuration is read only for its auth section, as before it was
        // not read at all: a file that does not load means no token, not a failure.
        try {
          spec = cli::load_system_spec(config_file, "", self_dir());
        } catch (const std::exception&) {
        }
      }
      auto dir = data_dir.empty() ? spec->data_dir : data_dir;
      if (spec) dlq_options.bearer_token = cli::admin_token(spec->auth, dlq_options.actor);
      auto endpoints = cli::read_endpoints_file(dir);
      if (!endpoints) {
        std::cerr << "orderflow dlq: " << endpoints.error().message << "\n";
        return 2;
      }
      return cli::run_dlq_command(*endpoints, dlq_options, std::cout, std::cerr);
    }
    if (demo->parsed()) {
      if (!data_dir.empty()) {
        auto endpoints = cli::read_endpoints_file(data_dir);
        if (endpoints && !endpoints->empty()) return cli::run_demo(*endpoints, std::cout);
        std::cerr << "orderflow demo: no running system in " << data_dir << " ("
                  << (endpoints ? "endpoints.json missing" : endpoints.error().message)
                  << "); starting a fresh one\n";
      }
      auto temp = fs::temp_directory_path() / ("orderflow-demo-" + std::to_string(getpid()));
      auto spec = cli::load_system_spec(config_file, temp.string(), self_dir());
      for (auto& s : spec.services) s.port = 0;
      cli::System system(spec, logger);
      system.start();
      int rc = cli::run_demo(system.endpoints(), std::cout);
      system.stop();
      std::error_code ec;
      fs::remove_all(temp, ec);
      return rc;
    }
  } catch (const std::exception& e) {
    std::cerr << "orderflow: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
