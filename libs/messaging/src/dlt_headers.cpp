#include "orderflow/messaging/dlt_headers.h"

namespace orderflow::messaging::dlt_headers {

namespace {

// Spelled out per enumerator, so reordering or extending ErrorKind cannot shift the names
// already written into dead letters.
const char* kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidInput:
      return "kInvalidInput";
    case ErrorKind::kNotFound:
      return "kNotFound";
    case ErrorKind::kConflict:
      return "kConflict";
    case ErrorKind::kUnprocessable:
      return "kUnprocessable";
    case ErrorKind::kUnavailable:
      return "kUnavailable";
    case ErrorKind::kInternal:
      return "kInternal";
    case ErrorKind::kUnauthenticated:
      return "kUnauthenticated";
    case ErrorKind::kForbidden:
      return "kForbidden";
  }
  return "kUnknown";
}

}  // namespace

std::string error_class(const Error& error) {
  return std::string(kind_name(error.kind)) + ":" + error.code;
}

}  // namespace orderflow::messaging::dlt_headers
