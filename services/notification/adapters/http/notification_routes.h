#pragma once

#include "../../app/notification_service.h"
#include "orderflow/http/router.h"

namespace orderflow::notification {

/// GET /api/notifications?userId=&page=&size= (userId falls back to X-User-Id), newest first:
/// {"items":[{id,userId,type,message,orderId,sourceEventId,createdAt,deliveries}],"page","size","total"}.
void add_notification_routes(http::Router& router, NotificationService& service);

}  // namespace orderflow::notification
