#include "notification.h"

namespace orderflow::notification {

std::string render_template(const std::string& text,
                            const std::map<std::string, std::string>& vars) {
  std::string out;
  out.reserve(text.size() + 32);
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '{') {
      auto close = text.find('}', i + 1);
      if (close != std::string::npos) {
        auto it = vars.find(text.substr(i + 1, close - i - 1));
        if (it != vars.end()) {
          out += it->second;
          i = close + 1;
          continue;
        }
      }
    }
    out += text[i++];
  }
  return out;
}

std::optional<std::string> Templates::render(const IncomingEvent& event) const {
  auto it = by_event_type_.find(event.event_type);
  if (it == by_event_type_.end()) return std::nullopt;
  return render_template(it->second, event.fields);
}

}  // namespace orderflow::notification
