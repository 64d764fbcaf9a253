#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace orderflow {

/// Exact decimal for money: a signed 64-bit count of 1/10000 units (4 fractional digits,
/// range about ±9.2e14). No binary floating point is involved anywhere.
class Decimal {
 public:
  static constexpr int kScale = 4;
  static constexpr std::int64_t kUnit = 10000;

  constexpr Decimal() = default;
  /// A whole number of units (e.g. Decimal::from_integer(12900) is 12900).
  static constexpr Decimal from_integer(std::int64_t whole) { return Decimal(whole * kUnit); }
  static constexpr Decimal from_scaled(std::int64_t scaled) { return Decimal(scaled); }

  /// Parses "12900", "-3", "100.00", "0.5". Returns nullopt for anything else: exponents, more
  /// than 4 fractional digits, empty text, out of range.
  static std::optional<Decimal> parse(std::string_view text);

  /// Canonical text without trailing fractional zeros: "25800", "100.5", "-0.25".
  [[nodiscard]] std::string to_string() const;

  [[nodiscard]] constexpr std::int64_t scaled() const { return scaled_; }
  [[nodiscard]] constexpr bool is_negative() const { return scaled_ < 0; }

  /// Overflow is a bug (checked, throws std::overflow_error).
  Decimal operator+(Decimal other) const;
  Decimal operator-(Decimal other) const;
  Decimal operator*(std::int64_t factor) const;
  Decimal& operator+=(Decimal other) { return *this = *this + other; }

  constexpr auto operator<=>(const Decimal&) const = default;

 private:
  constexpr explicit Decimal(std::int64_t scaled) : scaled_(scaled) {}
  std::int64_t scaled_ = 0;
};

/// True for a 3-letter upper-case ISO 4217-style currency code ("KRW", "USD"); the one rule for
/// currencies in requests and events.
bool is_currency_code(std::string_view text);

}  // namespace orderflow
