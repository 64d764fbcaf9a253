#include "orderflow/messaging/idempotency_store.h"

#include <charconv>
#include <mutex>
#include <stdexcept>

#include <hiredis/hiredis.h>

#include "orderflow/messaging/inbox.h"

namespace orderflow::messaging {
namespace {

class DatabaseIdempotencyStore final : public IdempotencyStore {
 public:
  explicit DatabaseIdempotencyStore(storage::Database& db) : db_(db) {}
  Result<bool> seen(std::string_view group, std::string_view event_id) override {
    return Inbox::contains(db_, group, event_id);
  }
  Result<void> mark(std::string_view group, std::string_view event_id) override {
    return db_.write([&](storage::Tx& tx) -> Result<void> {
      auto recorded = Inbox::record(tx, group, event_id);
      if (!recorded) return recorded.error();
      return {};
    });
  }
  [[nodiscard]] std::string kind() const override { return "db"; }

 private:
  storage::Database& db_;
};

std::optional<int> to_int(std::string_view text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

class RedisIdempotencyStore final : public IdempotencyStore {
 public:
  RedisIdempotencyStore(RedisOptions options, RedisAddress address)
      : options_(std::move(options)), address_(std::move(address)) {}
  ~RedisIdempotencyStore() override {
    if (context_ != nullptr) redisFree(context_);
  }

  Result<bool> seen(std::string_view group, std::string_view event_id) override {
    auto key = key_of(group, event_id);
    auto reply = command({"EXISTS", key});
    if (!reply) return reply.error();
    return reply.value()->type == REDIS_REPLY_INTEGER && reply.value()->integer > 0;
  }

  Result<void> mark(std::string_view group, std::string_view event_id) override {
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    // NX: an existing mark (another instance got there first) stays as it is; a nil reply is
    // then no error.
    auto reply = command({"SET", key_of(group, event_id), std::to_string(now), "NX", "PX",
                          std::to_string(options_.ttl.count())});
    if (!reply) return reply.error();
    return {};
  }
  [[nodiscard]] std::string kind() const override { return "redis"; }

 private:
  std::string key_of(std::string_view group, std::string_view event_id) const {
    std::string key = options_.key_prefix;
    key.append(group).append(":").append(event_id);
    return key;
  }

  Error down(const std::string& why) {
    return unavailable("REDIS_UNAVAILABLE",
                       "redis " + address_.host + ":" + std::to_string(address_.port) + ": " + why);
  }

  // Under mutex_: a connection that answers, or kUnavailable.
  Result<void> connect() {
    if (context_ != nullptr) return {};
    timeval tv{};
    tv.tv_sec = options_.timeout.count() / 1000;
    tv.tv_usec = (options_.timeout.count() % 1000) * 1000;
    redisContext* c = redisConnectWithTimeout(address_.host.c_str(), address_.port, tv);
    if (c == nullptr) return down("cannot allocate a connection");
    if (c->err != 0) {
      std::string why = c->errstr;
      redisFree(c);
      return down(why);
    }
    redisSetTimeout(c, tv);
    context_ = c;
    if (address_.db != 0) {
      auto selected = run({"SELECT", std::to_string(address_.db)});
      if (!selected) return selected.error();
    }
    return {};
  }

  // Under mutex_, connected: one command; drops the connection on any error.
  Result<Reply> run(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    Reply reply(static_cast<redisReply*>(
        redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data())));
    if (!reply) {
      std::string why = context_->errstr;
      redisFree(context_);
      context_ = nullptr;
      return down(why.empty() ? "no reply" : why);
    }
    if (reply->type == REDIS_REPLY_ERROR) {
      std::string why(reply->str, reply->len);
      redisFree(context_);
      context_ = nullptr;
      return down(args[0] + ": " + why);
    }
    return reply;
  }

  Result<Reply> command(const std::vector<std::string>& args) {
    std::lock_guard lock(mutex_);
    if (auto connected = connect(); !connected) return connected.error();
    return run(args);
  }

  RedisOptions options_;
  RedisAddress address_;
  std::mutex mutex_;
  redisContext* context_ = nullptr;
};

}  // namespace

std::unique_ptr<IdempotencyStore> make_database_idempotency_store(storage::Database& db) {
  return std::make_unique<DatabaseIdempotencyStore>(db);
}

Result<RedisAddress> parse_redis_url(const std::string& url) {
  auto invalid = [&](const std::string& why) {
    return invalid_input("INVALID_REDIS_URL",
                         "invalid Redis URL '" + url + "' (redis://host:port/db): " + why);
  };
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme)) return invalid("the scheme must be redis://");
  std::string_view rest = std::string_view(url).substr(kScheme.size());
  RedisAddress address;
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    auto db_text = rest.substr(slash + 1);
    if (!db_text.empty()) {
      auto db = to_int(db_text);
      if (!db || *db < 0) return invalid("the database must be a number");
      address.db = *db;
    }
  }
  if (authority.find('@') != std::string_view::npos)
    return invalid("credentials are not supported");
  auto colon = authority.rfind(':');
  if (colon != std::string_view::npos) {
    auto port = to_int(authority.substr(colon + 1));
    if (!port || *port <= 0 || *port > 65535) return invalid("the port must be 1-65535");
    address.port = *port;
    authority = authority.substr(0, colon);
  }
  if (authority.empty()) return invalid("no host");
  address.host = std::string(authority);
  return address;
}

std::unique_ptr<IdempotencyStore> make_redis_idempotency_store(RedisOptions options) {
  auto address = parse_redis_url(options.url);
  if (!address) throw std::invalid_argument(address.error().message);
  return std::make_unique<RedisIdempotencyStore>(std::move(options), std::move(address.value()));
}

}  // namespace orderflow::messaging
