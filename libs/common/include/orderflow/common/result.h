#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace orderflow {

/// Class of an expected failure. Decides the HTTP status (see http::status_for) and whether a
/// consumer retries: only kUnavailable is retryable (a technical error: DB busy, broker down).
enum class ErrorKind {
  kInvalidInput,     ///< malformed request or event (HTTP 400; consumer: not retryable)
  kNotFound,         ///< HTTP 404
  kConflict,         ///< state does not allow the action (HTTP 409)
  kUnprocessable,    ///< well-formed but violates a business rule (HTTP 422; consumer: skip)
  kUnavailable,      ///< technical, transient (HTTP 503; consumer: retry)
  kInternal,         ///< a bug or an unexpected state (HTTP 500; consumer: not retryable)
  kUnauthenticated,  ///< no valid credentials (HTTP 401 with WWW-Authenticate)
  kForbidden,        ///< authenticated but not allowed (HTTP 403)
};

/// An expected failure as a value: kind, a stable machine code (e.g. "UNKNOWN_SKU") and a
/// human message.
struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string code;
  std::string message;

  /// True when trying again later may succeed (technical error).
  [[nodiscard]] bool retryable() const { return kind == ErrorKind::kUnavailable; }
};

/// Either a value of T or an Error. Accessing the wrong alternative throws std::logic_error (a
/// bug).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : data_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return data_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    check_value();
    return std::get<0>(data_);
  }
  const T& value() const& {
    check_value();
    return std::get<0>(data_);
  }
  T&& value() && {
    check_value();
    return std::get<0>(std::move(data_));
  }
  const Error& error() const {
    if (ok()) throw std::logic_error("Result::error() on a value");
    return std::get<1>(data_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  void check_value() const {
    if (!ok()) throw std::logic_error("Result::value() on an error: " + std::get<1>(data_).message);
  }
  std::variant<T, Error> data_;
};

/// Success without a value, or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    if (ok()) throw std::logic_error("Result<void>::error() on success");
    return *error_;
  }

 private:
  std::optional<Error> error_;
};

inline Error invalid_input(std::string code, std::string message) {
  return {ErrorKind::kInvalidInput, std::move(code), std::move(message)};
}
inline Error not_found(std::string code, std::string message) {
  return {ErrorKind::kNotFound, std::move(code), std::move(message)};
}
inline Error conflict(std::string code, std::string message) {
  return {ErrorKind::kConflict, std::move(code), std::move(message)};
}
inline Error unprocessable(std::string code, std::string message) {
  return {ErrorKind::kUnprocessable, std::move(code), std::move(message)};
}
inline Error unavailable(std::string code, std::string message) {
  return {ErrorKind::kUnavailable, std::move(code), std::move(message)};
}
inline Error unauthenticated(std::string code, std::string message) {
  return {ErrorKind::kUnauthenticated, std::move(code), std::move(message)};
}
inline Error forbidden(std::string code, std::string message) {
  return {ErrorKind::kForbidden, std::move(code), std::move(message)};
}
inline Error internal_error(std::string code, std::string message) {
  return {ErrorKind::kInternal, std::move(code), std::move(message)};
}

/// Name of an ErrorKind for logs ("invalid_input", "unavailable", ...).
const char* to_string(ErrorKind kind);

}  // namespace orderflow
