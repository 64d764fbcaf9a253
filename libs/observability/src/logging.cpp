#include "orderflow/observability/logging.h"

#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
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

// stderr is unbuffered, so spdlog's stderr sink costs one write(2) per line; at thousands of
// records/s that syscall was a visible share of a service's CPU (docs/benchmarks.md). Lines
// are collected and written in blocks instead: when 64 KiB are buffered, on flush() (every
// warn or worse, see flush_on) and by a flusher thread at most 100 ms after a line arrived,
// so a quiet service's last lines still appear promptly. The destructor writes the rest.
class BufferedStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  BufferedStderrSink() {
    flusher_ = std::thread([this] {
      std::unique_lock lock(flusher_mu_);
      while (!stop_) {
        flusher_cv_.wait_for(lock, std::chrono::milliseconds(100));
        lock.unlock();
        flush();
        lock.lock();
      }
    });
  }
  ~BufferedStderrSink() override {
    {
      std::lock_guard lock(flusher_mu_);
      stop_ = true;
    }
    flusher_cv_.notify_all();
    flusher_.join();
    flush();
  }
  BufferedStderrSink(const BufferedStderrSink&) = delete;
  BufferedStderrSink& operator=(const BufferedStderrSink&) = delete;

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    buffer_.append(formatted.data(), formatted.size());
    if (buffer_.size() >= kFlushBytes) flush_();
  }
  void flush_() override {
    std::size_t done = 0;
    while (done < buffer_.size()) {
      auto n = ::write(STDERR_FILENO, buffer_.data() + done, buffer_.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // nowhere to log to: drop rather than block the service
      done += static_cast<std::size_t>(n);
    }
    buffer_.clear();
  }

 private:
  static constexpr std::size_t kFlushBytes = 64 * 1024;
  std::string buffer_;
  std::mutex flusher_mu_;
  std::condition_variable flusher_cv_;
  bool stop_ = false;
  std::thread flusher_;
};

}  // namespace

std::shared_ptr<spdlog::logger> make_logger(const std::string& service, const LogConfig& config) {
  auto level = parse_level(config.level);

  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  formatter->add_flag<JsonMessageFlag>(kJsonMessageFlag);
  formatter->add_flag<LevelFlag>(kLevelFlag);
  const bool instance = !config.instance.empty() && config.instance != service;
  if (config.format == "text") {
    formatter->set_pattern(
        std::string("ts=%Y-%m-%dT%H:%M:%S.%eZ level=%") + kLevelFlag +
        " service=" + pattern_literal(service) +
        (instance ? " instance=" + pattern_literal(config.instance) : std::string()) + " msg=%v");
  } else if (config.format == "json") {
    formatter->set_pattern(
        std::string(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%)") + kLevelFlag +
        R"(","service":")" + json_literal(service) +
        (instance ? R"(","instance":")" + json_literal(config.instance) : std::string()) +
        R"(","msg":"%)" + kJsonMessageFlag + R"("})");
  } else {
    throw std::invalid_argument("unknown log format '" + config.format + "' (expected text|json)");
  }

  auto sink = std::make_shared<BufferedStderrSink>();
  sink->set_formatter(std::move(formatter));
  auto logger = std::make_shared<spdlog::logger>(service, std::move(sink));
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  return logger;
}

}  // namespace orderflow::observability
