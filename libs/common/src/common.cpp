#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>
#include <ctime>
#include <limits>
#include <stdexcept>

#include "orderflow/common/clock.h"
#include "orderflow/common/decimal.h"
#include "orderflow/common/result.h"
#include "orderflow/common/uuid.h"

namespace orderflow {

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidInput:
      return "invalid_input";
    case ErrorKind::kNotFound:
      return "not_found";
    case ErrorKind::kConflict:
      return "conflict";
    case ErrorKind::kUnprocessable:
      return "unprocessable";
    case ErrorKind::kUnavailable:
      return "unavailable";
    case ErrorKind::kInternal:
      return "internal";
    case ErrorKind::kUnauthenticated:
      return "unauthenticated";
    case ErrorKind::kForbidden:
      return "forbidden";
  }
  return "internal";
}

std::optional<Decimal> Decimal::parse(std::string_view text) {
  if (text.empty()) return std::nullopt;
  bool negative = false;
  std::size_t i = 0;
  if (text[0] == '-' || text[0] == '+') {
    negative = text[0] == '-';
    i = 1;
  }
  std::int64_t whole = 0;
  std::int64_t frac = 0;
  int frac_digits = 0;
  bool any_digit = false;
  bool in_frac = false;
  constexpr std::int64_t kMaxWhole = std::numeric_limits<std::int64_t>::max() / kUnit - 1;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.') {
      if (in_frac) return std::nullopt;
      in_frac = true;
      continue;
    }
    if (c < '0' || c > '9') return std::nullopt;
    any_digit = true;
    if (in_frac) {
      if (++frac_digits > kScale) return std::nullopt;
      frac = frac * 10 + (c - '0');
    } else {
      whole = whole * 10 + (c - '0');
      if (whole > kMaxWhole) return std::nullopt;
    }
  }
  if (!any_digit || (in_frac && frac_digits == 0)) return std::nullopt;
  for (int d = frac_digits; d < kScale; ++d) frac *= 10;
  std::int64_t scaled = whole * kUnit + frac;
  return Decimal(negative ? -scaled : scaled);
}

bool is_currency_code(std::string_view text) {
  if (text.size() != 3) return false;
  for (char c : text) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

std::string Decimal::to_string() const {
  std::int64_t v = scaled_;
  bool negative = v < 0;
  // Magnitude in unsigned to survive INT64_MIN.
  auto mag = negative ? static_cast<std::uint64_t>(-(v + 1)) + 1 : static_cast<std::uint64_t>(v);
  std::string out = std::to_string(mag / kUnit);
  auto frac = mag % kUnit;
  if (frac != 0) {
    std::string f = std::to_string(frac);
    f.insert(0, kScale - f.size(), '0');
    while (!f.empty() && f.back() == '0') f.pop_back();
    out += '.';
    out += f;
  }
  return negative ? "-" + out : out;
}

Decimal Decimal::operator+(Decimal other) const {
  std::int64_t r = 0;
  if (__builtin_add_overflow(scaled_, other.scaled_, &r)) throw std::overflow_error("Decimal +");
  return Decimal(r);
}
Decimal Decimal::operator-(Decimal other) const {
  std::int64_t r = 0;
  if (__builtin_sub_overflow(scaled_, other.scaled_, &r)) throw std::overflow_error("Decimal -");
  return Decimal(r);
}
Decimal Decimal::operator*(std::int64_t factor) const {
  std::int64_t r = 0;
  if (__builtin_mul_overflow(scaled_, factor, &r)) throw std::overflow_error("Decimal *");
  return Decimal(r);
}

std::string format_iso8601(Clock::TimePoint tp) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

std::int64_t to_epoch_ms(Clock::TimePoint tp) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
}

std::string new_uuid() {
  thread_local boost::uuids::random_generator generator;
  return boost::uuids::to_string(generator());
}

}  // namespace orderflow
