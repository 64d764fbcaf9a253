#include "load_generator.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <thread>

#include "orderflow/http/client.h"

namespace orderflow::bench {

using Clock = std::chrono::steady_clock;

LoadResult run_load(const LoadOptions& options) {
  struct WorkerTotals {
    std::vector<std::int64_t> latencies_us;
    std::int64_t sent = 0, ok = 0, errors = 0, timeouts = 0;
    std::map<int, std::int64_t> statuses;
    Clock::time_point last_answer{};
  };
  const int workers = std::max(1, options.connections);
  std::vector<WorkerTotals> totals(static_cast<std::size_t>(workers));
  std::atomic<std::int64_t> next{0};
  std::atomic<std::int64_t> unsent{0};
  const auto start = Clock::now() + std::chrono::milliseconds(20);
  const auto end = start + options.duration;
  const auto overrun_limit = end + std::chrono::seconds(10);
  const double period_ns =
      options.mode == LoadMode::kOpen ? 1e9 / std::max(0.001, options.rate) : 0;
  const std::int64_t scheduled =
      options.mode == LoadMode::kOpen
          ? static_cast<std::int64_t>(options.rate * static_cast<double>(options.duration.count()) /
                                      1000.0)
          : 0;

  auto work = [&](WorkerTotals& mine, std::size_t index) {
    const std::size_t server = index % (1 + options.more_servers.size());
    http::Connection connection(
        server == 0 ? options.host : options.more_servers[server - 1].first,
        server == 0 ? options.port : options.more_servers[server - 1].second);
    mine.latencies_us.reserve(4096);
    std::this_thread::sleep_until(start);
    for (;;) {
      std::int64_t i = next.fetch_add(1);
      Clock::time_point intended;
      if (options.mode == LoadMode::kOpen) {
        if (i >= scheduled) break;
        intended = start + std::chrono::nanoseconds(static_cast<std::int64_t>(period_ns * i));
        auto now = Clock::now();
        if (now > overrun_limit) {
          unsent.fetch_add(1);
          continue;
        }
        if (intended > now) std::this_thread::sleep_until(intended);
      } else {
        intended = Clock::now();
        if (intended >= end) break;
      }
      std::string body = options.body ? options.body(i) : std::string{};
      ++mine.sent;
      auto response = connection.request(options.method, options.target, body, options.headers,
                                         options.timeout);
      auto answered = Clock::now();
      mine.last_answer = answered;
      if (!response) {
        ++mine.timeouts;
        continue;
      }
      mine.latencies_us.push_back(micros(answered - intended));
      ++mine.statuses[response->status];
      if (response->status >= 200 && response->status < 300) {
        ++mine.ok;
      } else {
        ++mine.errors;
      }
      if (options.on_response) options.on_response(i, intended, *response);
    }
  };

  std::vector<std::thread> threads;
  threads.reserve(totals.size());
  for (std::size_t i = 0; i < totals.size(); ++i)
    threads.emplace_back(work, std::ref(totals[i]), i);
  for (auto& t : threads) t.join();

  LoadResult result;
  std::vector<std::int64_t> all;
  Clock::time_point last = start;
  for (auto& t : totals) {
    result.sent += t.sent;
    result.ok += t.ok;
    result.errors += t.errors;
    result.timeouts += t.timeouts;
    for (auto [status, n] : t.statuses) result.statuses[status] += n;
    all.insert(all.end(), t.latencies_us.begin(), t.latencies_us.end());
    last = std::max(last, t.last_answer);
  }
  result.unsent = unsent.load();
  result.elapsed_s = std::chrono::duration<double>(last - start).count();
  result.throughput = result.elapsed_s > 0 ? static_cast<double>(result.ok) / result.elapsed_s : 0;
  result.offered_rate = options.mode == LoadMode::kOpen ? options.rate : 0;
  result.latency = summarize(all);
  return result;
}

nlohmann::json to_json(const LoadResult& r) {
  nlohmann::json statuses = nlohmann::json::object();
  for (auto [status, n] : r.statuses) statuses[std::to_string(status)] = n;
  return {{"sent", r.sent},
          {"ok", r.ok},
          {"errors", r.errors},
          {"timeouts", r.timeouts},
          {"unsent", r.unsent},
          {"statuses", statuses},
          {"elapsedS", r.elapsed_s},
          {"throughput", r.throughput},
          {"offeredRate", r.offered_rate},
          {"latency", to_json(r.latency)}};
}

std::string order_body(const std::string& sku, std::int64_t i) {
  return R"({"userId":)" + std::to_string(i % 1000 + 1) + R"(,"items":[{"sku":")" + sku +
         R"(","qty":1}]})";
}

std::string order_id_of(const std::string& body) {
  auto at = body.find("\"orderId\":");
  if (at == std::string::npos) return {};
  at += 10;
  auto end = at;
  while (end < body.size() && std::isdigit(static_cast<unsigned char>(body[end])) != 0) ++end;
  return body.substr(at, end - at);
}

}  // namespace orderflow::bench
