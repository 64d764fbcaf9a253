#pragma once

#include <string>

namespace orderflow::http::detail {

/// What the last handler that threw on this thread reported. Router::dispatch sets it and
/// answers 500; the server (same thread, right after dispatch) takes it to log the cause.
std::string& last_handler_error();

}  // namespace orderflow::http::detail
