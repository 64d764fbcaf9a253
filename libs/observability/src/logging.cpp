#include "orderflow/observability/logging.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace orderflow::observability {

namespace {

void append_json_escaped(std::string_view text, spdlog::memory_buf_t& dest) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : text) {
    switch (c) {
      case '"':
        dest.append(std::string_view("\\\""));
        break;
      case '\\':
        dest.append(std::string_view("\\\\"));
        break;
      case '\n':
        dest.append(std::string_view("\\n"));
        break;
      case '\r':
        dest.append(std::string_view("\\r"));
        break;
      case '\t':
        dest.append(std::string_view("\\t"));
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          const char escaped[] = {'\\', 'u', '0', '0', kHex[(c >> 4) & 0xf], kHex[c & 0xf]};
          dest.append(escaped, escaped + sizeof(escaped));
        } else {
          dest.push_back(c);
        }
    }
  }
}

// %v would copy the message verbatim; a quote or newline in it would break the JSON line.
class JsonMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    append_json_escaped(std::string_view(msg.payload.data(), msg.payload.size()), dest);
  }
  [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

// spdlog names the warn level "warning"; the config and log queries use "warn".
class LevelFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    dest.append(std::string_view(level_name(msg.level)));
  }
  [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<LevelFlag>();
  }

 private:
  static const char* level_name(spdlog::level::level_enum level) {
    switch (level) {
      case spdlog::level::trace:
        return "trace";
      case spdlog::level::debug:
        return "debug";
      case spdlog::level::info:
        return "info";
      case spdlog::level::warn:
        return "warn";
      case spdlog::level::err:
        return "error";
      case spdlog::level::critical:
        return "critical";
      default:
        return "off";
    }
  }
};

constexpr char kJsonMessageFlag = '*';
constexpr char kLevelFlag = '~';

spdlog::level::level_enum parse_level(const std::string& level) {
  if (level == "trace") return spdlog::level::trace;
  if (level == "debug") return spdlog::level::debug;
  if (level == "info") return spdlog::level::info;
  if (level == "warn" || level == "warning") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  if (level == "critical") return spdlog::level::critical;
  if (level == "off") return spdlog::level::off;
  throw std::invalid_argument("unknown log level '" + level +
                              "' (expected trace|debug|info|warn|error|off)");
}

// The service name becomes part of the pattern, so '%' must not be read as a flag.
std::string pattern_literal(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '%') out.push_back('%');
    out.push_back(c);
  }
  return out;
}

std::string json_literal(std::string_view text) {
  spdlog::memory_buf_t buf;
  append_json_escaped(text, buf);
  return pattern_literal(std::string_view(buf.data(), buf.size()));
}

}  // namespace

std::shared_ptr<spdlog::logger> make_logger(const std::string& service, const LogConfig& config) {
  auto level = parse_level(config.level);

  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<JsonMessageFlag>(kJsonMessageFlag);
  formatter->add_flag<LevelFlag>(kLevelFlag);
  if (config.format == "text") {
    formatter->set_pattern(std::string("ts=%Y-%m-%dT%H:%M:%S.%eZ level=%") + kLevelFlag +
                           " service=" + pattern_literal(service) + " msg=%v");
  } else if (config.format == "json") {
    formatter->set_pattern(std::string(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%)") + kLevelFlag +
                           R"(","service":")" + json_literal(service) + R"(","msg":"%)" +
                           kJsonMessageFlag + R"("})");
  } else {
    throw std::invalid_argument("unknown log format '" + config.format + "' (expected text|json)");
  }

  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  sink->set_formatter(std::move(formatter));
  auto logger = std::make_shared<spdlog::logger>(service, std::move(sink));
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  return logger;
}

}  // namespace orderflow::observability
