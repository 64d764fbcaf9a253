#pragma once

#include <string>

#include "../../domain/notification.h"

namespace orderflow::notification {

/// Loads the templates of `locale` from a YAML file of the shape {locale: {EVENT_TYPE: text}}.
/// Throws config::ConfigError when the file is unreadable or has no such locale.
Templates load_templates(const std::string& path, const std::string& locale);

}  // namespace orderflow::notification
