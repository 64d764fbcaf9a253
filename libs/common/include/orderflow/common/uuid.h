#pragma once

#include <string>

namespace orderflow {

/// A random (version 4) UUID in canonical lower-case text form. Thread-safe.
std::string new_uuid();

}  // namespace orderflow
