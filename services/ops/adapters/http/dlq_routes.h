#pragma once

#include "../../app/dlq_service.h"
#include "orderflow/http/router.h"

namespace orderflow::ops {

/// Record headers as the ops API shows them: [{"key","value"}] in order, invalid UTF-8 replaced
/// (http::printable). Dead letters and the console's records share this shape.
nlohmann::json printable_headers_json(const messaging::Headers& headers);

/// Dead letter as JSON (camelCase; the shape of GET /api/dlq items).
nlohmann::json dead_letter_to_json(const DeadLetter& letter);

/// The ops API: GET /api/dlq (filters topic/group/status/key, limit/offset, newest first),
/// GET /api/dlq/{id} (with "audit"), POST /api/dlq/{id}/replay, POST /api/dlq/{id}/discard,
/// POST /api/dlq/replay and POST /api/dlq/discard (bulk by filter, "dryRun"). The actor of an
/// action is "user:<sub>" of the caller's token, else the X-Actor header, else "api"; an X-Actor
/// used that fails http::check_identifier is 400 INVALID_FIELD and the action is not done (not
/// even a dry run). Every route is http::Access::kAdmin (auth.mode required: a token with the admin
/// role). Errors:
/// {"error":{"code","message"}}.
void add_dlq_routes(http::Router& router, DlqService& service);

}  // namespace orderflow::ops
