#pragma once

#include <vector>

#include "../../app/notification_service.h"
#include "../notifier/log_notifier.h"
#include "orderflow/http/router.h"

namespace orderflow::notification {

/// GET /api/notifications?userId=&page=&size= (the token's user; without one userId, else
/// X-User-Id: http::require_user_id), newest first:
/// {"items":[{id,userId,type,message,orderId,sourceEventId,createdAt,deliveries}],"page","size","total"}.
void add_notification_routes(http::Router& router, NotificationService& service);

/// POST /admin/faults {"failUserPrefix": string} sets the fault prefix of every channel in
/// `faults` live → 200 {"failUserPrefix"}; 400 for a malformed body. http::Access::kAdmin.
void add_fault_routes(http::Router& router, std::vector<FaultInjectingNotifier*> faults);

}  // namespace orderflow::notification
