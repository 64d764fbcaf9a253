#include <stdexcept>
#include <string>

#include "orderflow/storage/database.h"

namespace orderflow::storage {
namespace {

const char* type_name(const Value& v) {
  switch (v.index()) {
    case 0:
      return "null";
    case 1:
      return "integer";
    case 2:
      return "real";
    default:
      return "text";
  }
}

[[noreturn]] void mismatch(std::size_t i, const char* wanted, const Value& v) {
  throw std::logic_error("column " + std::to_string(i) + ": expected " + wanted + ", got " +
                         type_name(v));
}

}  // namespace

bool Row::is_null(std::size_t i) const {
  return std::holds_alternative<std::monostate>(values_.at(i));
}

std::int64_t Row::integer(std::size_t i) const {
  const Value& v = values_.at(i);
  if (const auto* n = std::get_if<std::int64_t>(&v)) return *n;
  mismatch(i, "integer", v);
}

std::string Row::text(std::size_t i) const {
  const Value& v = values_.at(i);
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (std::holds_alternative<std::monostate>(v)) return {};
  mismatch(i, "text", v);
}

std::optional<std::string> Row::optional_text(std::size_t i) const {
  if (is_null(i)) return std::nullopt;
  return text(i);
}

}  // namespace orderflow::storage
