#pragma once

#include <filesystem>

#include "orderflow/http/router.h"

namespace orderflow::ops {

/// Serves the web ops console's build (Vite's output: index.html and assets/) from `dir`:
/// GET / → dir/index.html (text/html, Cache-Control: no-cache) and GET /assets/{file} →
/// dir/assets/<file> (Content-Type by extension, Cache-Control: public, max-age=31536000,
/// immutable: the names carry a content hash). Both are http::Access::kOpen: the page holds no
/// data, the API calls it makes carry the token. Files are read on each request, so a rebuild
/// is served without a restart. A file name with anything but [A-Za-z0-9._-], or starting with
/// '.', is 404 NOT_FOUND (no path leaves dir/assets). Without dir/index.html, GET / answers 503
/// with a short HTML page saying how to build the console. Thread-safe.
void add_console_static_routes(http::Router& router, std::filesystem::path dir);

}  // namespace orderflow::ops
