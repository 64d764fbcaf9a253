#include "orderflow/messaging/record.h"

namespace orderflow::messaging {

std::optional<std::string> find_header(const Headers& headers, std::string_view key) {
  for (const auto& header : headers) {
    if (header.key == key) return header.value;
  }
  return std::nullopt;
}

}  // namespace orderflow::messaging
