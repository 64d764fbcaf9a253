#!/usr/bin/env python3
"""Writes services/<svc>/adapters/http/openapi.json (OpenAPI 3.0) for every service.

The committed JSON files are what the services serve at GET /openapi.json (embedded at build
time) and what the console's TypeScript types are generated from; this script is how they are
kept alike: the parts every service shares (error body, bearer scheme, health, metrics, admin
routes) are written once here. Edit this file, run `python3 scripts/generate-openapi.py`, commit
both; `--check` only compares (the unit test openapi_descriptions_generated runs it). The
schemathesis e2e test (tests/e2e/openapi_test.cpp) checks the services against them.
"""
import copy
import json
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
VERSION = "1.0.0"

# ---------------------------------------------------------------- shared building blocks


def ref(name):
    return {"$ref": "#/components/schemas/" + name}


def resp(name):
    return {"$ref": "#/components/responses/" + name}


def obj(properties, required=None, **extra):
    out = {"type": "object", "properties": properties}
    out["required"] = list(properties) if required is None else required
    out.update(extra)
    return out


def array(items):
    return {"type": "array", "items": items}


def nullable(schema):
    out = copy.deepcopy(schema)
    out["nullable"] = True
    return out


STRING = {"type": "string"}
INT64 = {"type": "integer", "format": "int64"}
INT32 = {"type": "integer", "format": "int32"}
BOOL = {"type": "boolean"}
TIMESTAMP = {"type": "string", "description": "ISO 8601 UTC, e.g. 2024-01-31T12:00:00.123Z"}
DECIMAL_TEXT = {
    "type": "string",
    "pattern": r"^-?[0-9]+(\.[0-9]{1,4})?$",
    "description": "An exact decimal as text (at most 4 fractional digits), e.g. \"19.99\"",
}
MAX_INT64 = 9223372036854775807
POSITIVE_ID = {"type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_INT64}

ERROR_CODES_NOTE = (
    "Every error answers `{\"error\":{\"code\":\"…\",\"message\":\"…\"}}` (some add fields, "
    "e.g. `currentStatus` or `validRange`)."
)

COMMON_SCHEMAS = {
    "Error": obj(
        {
            "error": obj(
                {"code": {"type": "string", "example": "INVALID_FIELD"}, "message": STRING},
                additionalProperties=True,
            )
        },
        description="The error body of every 4xx and 5xx response.",
    ),
    "Health": obj({"status": {"type": "string", "enum": ["UP"]}}),
    "Readiness": obj(
        {
            "status": {"type": "string", "enum": ["UP", "DOWN"]},
            "details": {"type": "object", "additionalProperties": True},
            "reason": {"type": "string", "description": "Why the service is not ready (DOWN only)"},
        },
        required=["status", "details"],
    ),
    "DrainStatus": obj(
        {
            "intake": {"type": "string", "enum": ["open", "closed"]},
            "outboxPending": INT64,
            "consumerLag": INT64,
            "inFlight": INT64,
        }
    ),
}


def error_response(description, extra_headers=None):
    out = {"description": description, "content": {"application/json": {"schema": ref("Error")}}}
    if extra_headers:
        out["headers"] = extra_headers
    return out


COMMON_RESPONSES = {
    "BadRequest": error_response("Invalid input (malformed JSON, a field of the wrong type, a bad "
                                 "query or path parameter)"),
    "Unauthorized": error_response(
        "MISSING_TOKEN or INVALID_TOKEN (auth.mode required, or a token that does not verify)",
        {"WWW-Authenticate": {"schema": STRING, "description": "Bearer error=\"invalid_token\""}},
    ),
    "Forbidden": error_response(
        "ADMIN_REQUIRED (an admin route with a user's token) or USER_MISMATCH (a user id that is "
        "not the token's subject)",
        {"WWW-Authenticate": {"schema": STRING}},
    ),
    "NotFound": error_response("The resource does not exist (or belongs to another user)"),
    "Conflict": error_response("The resource is not in a state that allows this"),
    "Unprocessable": error_response("Well-formed but refused by the business rules"),
    "PayloadTooLarge": error_response("PAYLOAD_TOO_LARGE: the body exceeds http.body_limit_bytes"),
    "Unavailable": error_response(
        "DRAINING (intake closed before a stop), OVERLOADED (a capacity limit), or a storage or "
        "broker failure; retry after Retry-After",
        {"Retry-After": {"schema": STRING, "description": "Seconds"}},
    ),
}

BEARER = [{"bearerAuth": []}]


def operation(summary, responses, *, op_id, tags, security=True, parameters=None, body=None,
              description=None):
    out = {"operationId": op_id, "summary": summary, "tags": tags}
    if description:
        out["description"] = description
    if parameters:
        out["parameters"] = parameters
    if body is not None:
        out["requestBody"] = body
        # The server's limit (http.body_limit_bytes), before any route runs.
        responses = {**responses, "413": resp("PayloadTooLarge")}
    out["responses"] = responses
    out["security"] = BEARER if security else []
    return out


def ok(schema, description="OK", status="200", headers=None, links=None):
    out = {status: {"description": description, "content": {"application/json": {"schema": schema}}}}
    if headers:
        out[status]["headers"] = headers
    if links:
        out[status]["links"] = links
    return out


def order_link(operation_id):
    return {"operationId": operation_id, "parameters": {"id": "$response.body#/orderId"}}


def errors(*codes):
    names = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
             409: "Conflict", 422: "Unprocessable", 503: "Unavailable"}
    return {str(c): resp(names[c]) for c in codes}


def query(name, schema, description, required=False, example=None):
    out = {"name": name, "in": "query", "required": required, "schema": schema,
           "description": description}
    if example is not None:
        out["example"] = example
    return out


def path_param(name, schema, description, example=None):
    out = {"name": name, "in": "path", "required": True, "schema": schema,
           "description": description}
    if example is not None:
        out["example"] = example
    return out


# A user id a client names (http::check_identifier): 1 to 128 bytes of UTF-8 text without
# control characters, else 400 INVALID_FIELD.
USER_ID = {"type": "string", "maxLength": 128}

def identifier_header(name, what, then):
    """A header naming who acts, read only without a token and then checked as
    http::check_identifier does. No maxLength: with a token a longer one is not refused."""
    return {
        "name": name, "in": "header", "required": False, "schema": STRING,
        "description": what + "; ignored when a token names the caller. Without one it must be "
                       "1 to 128 bytes of UTF-8 text without control characters (else 400 "
                       "INVALID_FIELD)" + then,
    }


USER_HEADER = identifier_header("X-User-Id",
                                "The acting user without a token (auth.mode none or optional)",
                                ", even when the body names the user")



def user_page_params(what):
    """The parameters of a user's list (http::require_user_id and http::parse_page)."""
    return [
        query("userId", USER_ID, "Whose " + what + " (an admin may name anyone); default: the "
              "token's subject, else X-User-Id"),
        query("page", {"type": "integer", "minimum": 0, "maximum": 1000000, "default": 0},
              "Page number from 0"),
        query("size", {"type": "integer", "minimum": 1, "maximum": MAX_INT64, "default": 20},
              "Page size (more than 100 reads as 100)"),
        USER_HEADER,
    ]


# Every user route answers 401/403 with auth.mode required, and 503 when its storage fails.
USER_ERRORS = (401, 403, 503)
ADMIN_ERRORS = (401, 403, 503)


def standard_paths(service):
    """The routes of http::add_standard_routes, runtime::add_admin_routes, the spec itself."""
    tag = ["operations"]
    return {
        "/health/live": {"get": operation(
            "Liveness: the process answers", ok(ref("Health")), op_id="liveness", tags=tag,
            security=False)},
        "/health/ready": {"get": operation(
            "Readiness: storage, broker and consumers are usable",
            {**ok(ref("Readiness"), "Ready"),
             "503": {"description": "Not ready (reason says why)",
                     "content": {"application/json": {"schema": ref("Readiness")}}}},
            op_id="readiness", tags=tag, security=False)},
        "/metrics": {"get": operation(
            "Prometheus metrics (text exposition format 0.0.4)",
            {"200": {"description": "OK", "content": {"text/plain": {"schema": STRING}}}},
            op_id="metrics", tags=tag, security=False)},
        "/openapi.json": {"get": operation(
            "This description (OpenAPI 3.0)",
            ok({"type": "object", "additionalProperties": True}),
            op_id="openapi", tags=tag, security=False)},
        "/admin/status": {"get": operation(
            "Intake state and what is still in flight (outbox, consumer lag)",
            {**ok(ref("DrainStatus")), **errors(*ADMIN_ERRORS)},
            op_id="adminStatus", tags=tag)},
        "/admin/drain": {"post": operation(
            "Close intake before a stop: writes answer 503 DRAINING from then on",
            {**ok(ref("DrainStatus")), **errors(*ADMIN_ERRORS)},
            op_id="adminDrain", tags=tag,
            description="Irreversible for the running process: new orders, cancels and "
                        "product updates are refused until it restarts.")},
    }


def document(service, title, description, paths, schemas):
    all_paths = standard_paths(service)
    all_paths.update(paths)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": title,
            "version": VERSION,
            "description": description + "\n\n" + ERROR_CODES_NOTE + " Routes with the "
            "bearer scheme need a JWT (an admin role for the admin routes) when auth.mode is "
            "required; with optional or none they also take anonymous calls "
            "(docs/security.md).",
        },
        "servers": [{"url": "/"}],
        "paths": all_paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
            "schemas": {**COMMON_SCHEMAS, **schemas},
            "responses": COMMON_RESPONSES,
        },
    }


def json_body(schema, required=True):
    return {"required": required, "content": {"application/json": {"schema": schema}}}


# ---------------------------------------------------------------- order-service

ID_OR_TEXT = {"oneOf": [{"type": "string", "minLength": 1, "maxLength": 128}, {"type": "integer"}]}
MONEY_IN = {"oneOf": [{"type": "number"}, {"type": "string"}],
            "description": "A number or a decimal string, at most 4 fractional digits"}
ORDER_STATUS = {"type": "string", "enum": ["PENDING", "CONFIRMED", "PAID", "COMPLETED", "CANCELLED"]}


def order_doc():
    item_in = {
        "type": "object",
        "description": "sku (alias productId) and quantity (alias qty) are required; unitPrice "
                       "(alias price) must match the catalog's, or prices an unknown sku",
        "properties": {
            "sku": ID_OR_TEXT, "productId": ID_OR_TEXT,
            "quantity": {"type": "integer"}, "qty": {"type": "integer"},
            "unitPrice": nullable(MONEY_IN), "price": nullable(MONEY_IN),
        },
    }
    create = {
        "type": "object",
        "description": "userId (alias customerId) defaults to the token's subject or X-User-Id. "
                       "items, or a totalAmount alone; totalAmount must match the items' total",
        "properties": {
            "userId": nullable(ID_OR_TEXT), "customerId": nullable(ID_OR_TEXT),
            "customerEmail": nullable(STRING), "currency": nullable(STRING),
            "totalAmount": nullable(MONEY_IN),
            "items": {"type": "array", "items": item_in, "nullable": True},
        },
        "example": {"items": [{"sku": "ABC-001", "quantity": 2}]},
    }
    order = obj(
        {
            "orderId": INT64, "status": ORDER_STATUS, "userId": STRING,
            "totalAmount": DECIMAL_TEXT, "currency": STRING,
            "items": array(obj({"sku": STRING, "quantity": INT64, "unitPrice": DECIMAL_TEXT})),
            "createdAt": TIMESTAMP, "updatedAt": TIMESTAMP,
            "customerEmail": STRING,
            "cancelReason": {"type": "string", "description": "CANCELLED only"},
            "timeline": array(obj({"from": ORDER_STATUS, "to": ORDER_STATUS, "eventType": STRING,
                                   "eventId": STRING, "reason": STRING, "at": TIMESTAMP})),
        },
        required=["orderId", "status", "userId", "totalAmount", "currency", "items", "createdAt",
                  "updatedAt", "timeline"],
    )
    page = obj({"items": array(ref("Order")), "page": INT32, "size": INT32, "total": INT64})
    id_param = path_param("id", POSITIVE_ID, "The order id", 1)
    tag = ["orders"]
    paths = {
        "/api/orders": {
            "post": operation(
                "Place an order (the saga starts: stock, payment, notification)",
                {**ok(ref("Order"), "Created", "201",
                      {"Location": {"schema": STRING, "description": "/api/orders/{id}"}},
                      links={"GetOrder": order_link("getOrder"),
                             "CancelOrder": order_link("cancelOrder")}),
                 **errors(400, 401, 403, 422, 503)},
                op_id="createOrder", tags=tag, parameters=[USER_HEADER],
                body=json_body(ref("CreateOrderRequest"))),
            "get": operation(
                "A user's orders, newest first",
                {**ok(ref("OrderPage")), **errors(400, *USER_ERRORS)},
                op_id="listOrders", tags=tag,
                parameters=user_page_params("orders")),
        },
        "/api/orders/{id}": {
            "get": operation("One order with its saga timeline",
                             {**ok(ref("Order")), **errors(400, 404, *USER_ERRORS)},
                             op_id="getOrder", tags=tag, parameters=[id_param]),
        },
        "/api/orders/{id}/cancel": {
            "post": operation(
                "Cancel an order not yet completed (409 with currentStatus otherwise)",
                {**ok(ref("Order")), **errors(400, 404, 409, *USER_ERRORS)},
                op_id="cancelOrder", tags=tag, parameters=[id_param]),
        },
    }
    return document("order", "orderflow order-service",
                    "Orders and their saga (ARCHITECTURE.md).", paths,
                    {"CreateOrderRequest": create, "Order": order, "OrderPage": page})


# ---------------------------------------------------------------- inventory-service


def inventory_doc():
    product = obj({"sku": STRING, "name": STRING, "unitPrice": DECIMAL_TEXT, "available": INT64,
                   "reserved": INT64, "sold": INT64})
    update = {
        "type": "object",
        "description": "Fields to set; a new product needs unitPrice. stock is the available "
                       "quantity (0..1000000000)",
        "properties": {"name": nullable(STRING), "unitPrice": nullable(MONEY_IN),
                       "stock": {"type": "integer", "nullable": True}},
        "example": {"name": "Wireless Mouse", "unitPrice": "12900", "stock": 1000},
    }
    reservation = obj({
        "orderId": INT64, "userId": STRING,
        "status": {"type": "string", "enum": ["RESERVED", "DEDUCTED", "RELEASED", "EXPIRED"]},
        "totalAmount": DECIMAL_TEXT, "currency": STRING,
        "items": array(obj({"sku": STRING, "quantity": INT64})),
        "expiresAt": TIMESTAMP, "createdAt": TIMESTAMP, "updatedAt": TIMESTAMP,
    })
    sku = path_param("sku", {"type": "string", "minLength": 1}, "The product's sku", "ABC-001")
    tag = ["inventory"]
    paths = {
        "/api/products": {"get": operation(
            "Every product with its stock", {**ok(array(ref("Product"))), **errors(*USER_ERRORS)},
            op_id="listProducts", tags=tag)},
        "/api/products/{sku}": {
            "get": operation("One product", {**ok(ref("Product")), **errors(404, *USER_ERRORS)},
                             op_id="getProduct", tags=tag, parameters=[sku]),
            "put": operation(
                "Create a product (201) or change its name, price or stock (200) [admin]",
                {**ok(ref("Product")), **ok(ref("Product"), "Created", "201"),
                 **errors(400, 422, *ADMIN_ERRORS)},
                op_id="putProduct", tags=tag, parameters=[sku],
                body=json_body(ref("ProductUpdate"))),
        },
        "/api/reservations": {"get": operation(
            "The stock reservation of an order (an empty list when there is none)",
            {**ok(obj({"items": array(ref("Reservation"))})), **errors(400, *USER_ERRORS)},
            op_id="listReservations", tags=tag,
            parameters=[query("orderId", POSITIVE_ID, "The order", required=True, example=1)])},
        "/admin/faults": faults_path("reservations of skus", "failSkuPrefix",
                                     "setInventoryFaults"),
    }
    return document("inventory", "orderflow inventory-service",
                    "Products, stock and the reservations of the saga.", paths,
                    {"Product": product, "ProductUpdate": update, "Reservation": reservation})


def faults_path(subject, field, op_id):
    """POST /admin/faults of a service whose fault is one prefix field (inventory, notification)."""
    return {"post": operation(
        f"Fault injection: {subject} starting with {field} fail (\"\" clears it) [admin]",
        {**ok(obj({field: STRING})), **errors(400, *ADMIN_ERRORS)},
        op_id=op_id, tags=["operations"], body=json_body(obj({field: STRING})))}


# ---------------------------------------------------------------- payment-service


def payment_doc():
    payment = obj({
        "paymentId": STRING, "orderId": INT64, "userId": STRING, "amount": DECIMAL_TEXT,
        "currency": STRING,
        "status": {"type": "string", "enum": ["CAPTURED", "FAILED", "REFUNDED", "REFUND_FAILED"]},
        "reason": nullable(STRING), "createdAt": TIMESTAMP, "updatedAt": TIMESTAMP,
    })
    tag = ["payments"]
    paths = {
        "/api/payments": {"get": operation(
            "The payments of an order",
            {**ok(obj({"items": array(ref("Payment"))})), **errors(400, *USER_ERRORS)},
            op_id="listPayments", tags=tag,
            parameters=[query("orderId", {"type": "integer", "format": "int64",
                                          "minimum": -MAX_INT64 - 1, "maximum": MAX_INT64},
                              "The order", required=True, example=1)])},
        "/api/payments/{paymentId}": {"get": operation(
            "One payment", {**ok(ref("Payment")), **errors(404, *USER_ERRORS)},
            op_id="getPayment", tags=tag,
            parameters=[path_param("paymentId", {"type": "string", "minLength": 1},
                                   "The payment id")])},
    }
    return document("payment", "orderflow payment-service", "Payments of the saga.", paths,
                    {"Payment": payment})


# ---------------------------------------------------------------- notification-service


def notification_doc():
    delivery = obj({"channel": STRING, "status": STRING, "deliveredAt": TIMESTAMP,
                    "attempts": INT64, "lastError": STRING, "httpStatus": INT64})
    notification = obj({
        "id": INT64, "userId": STRING, "type": STRING, "message": STRING, "orderId": INT64,
        "sourceEventId": STRING, "createdAt": TIMESTAMP, "deliveries": array(delivery),
    })
    page = obj({"items": array(ref("Notification")), "page": INT32, "size": INT32,
                "total": INT64})
    paths = {
        "/api/notifications": {"get": operation(
            "A user's notifications, newest first",
            {**ok(ref("NotificationPage")), **errors(400, *USER_ERRORS)},
            op_id="listNotifications", tags=["notifications"],
            parameters=user_page_params("notifications"))},
        "/admin/faults": faults_path("deliveries to users", "failUserPrefix",
                                     "setNotificationFaults"),
    }
    return document("notification", "orderflow notification-service",
                    "Notifications sent for order events, with their delivery attempts.", paths,
                    {"Notification": notification, "NotificationPage": page})


# ---------------------------------------------------------------- ops-service

DLQ_STATUS = {"type": "string", "enum": ["NEW", "REPLAYED", "DISCARDED"]}


def ops_doc():
    header = obj({"key": STRING, "value": STRING})
    dead_letter = obj({
        "id": INT64, "status": DLQ_STATUS, "dltTopic": STRING, "dltPartition": INT32,
        "dltOffset": INT64, "key": STRING, "value": STRING, "headers": array(header),
        "service": STRING, "consumerGroup": STRING, "originalTopic": STRING,
        "originalPartition": nullable(INT32), "originalOffset": nullable(INT64),
        "errorTimestamp": TIMESTAMP, "errorClass": STRING, "errorMessage": STRING,
        "errorStacktrace": STRING, "attempts": nullable(INT64), "reason": STRING,
        "eventId": STRING, "eventType": STRING, "replayCount": INT64,
        "firstSeen": TIMESTAMP, "lastSeen": TIMESTAMP,
    })
    audit = obj({"action": STRING, "actor": STRING, "at": TIMESTAMP, "details": STRING})
    detail = {"allOf": [ref("DeadLetter"), obj({"audit": array(audit)})]}
    replayed = {"allOf": [ref("DeadLetter"), obj({"replayedIds": array(INT64)})]}
    dlq_page = obj({"items": array(ref("DeadLetter")), "total": INT64, "limit": INT64,
                    "offset": INT64})
    bulk_in = {
        "type": "object",
        "description": "Which dead letters (every field optional; none = all) and whether to "
                       "only count them (dryRun)",
        "properties": {"topic": nullable(STRING), "group": nullable(STRING),
                       "key": nullable(STRING),
                       "status": {"type": "string", "enum": ["NEW", "REPLAYED", "DISCARDED", ""],
                                  "nullable": True},
                       "dryRun": BOOL},
        "example": {"status": "NEW", "dryRun": True},
    }
    bulk_out = obj({
        "dryRun": BOOL, "matched": array(INT64), "done": array(INT64),
        "failed": array(obj({"id": INT64, "error": obj({"code": STRING, "message": STRING})})),
    })
    record_header = obj({"key": STRING, "value": STRING})
    record = obj({"offset": INT64, "timestamp": INT64, "key": nullable(STRING),
                  "headers": array(record_header), "value": nullable(STRING)})
    event = obj({"topic": STRING, "partition": INT32, "offset": INT64, "timestamp": INT64,
                 "key": nullable(STRING), "headers": array(record_header),
                 "value": nullable(STRING), "eventType": nullable(STRING),
                 "eventId": nullable(STRING), "traceId": nullable(STRING)})
    partition = obj({"partition": INT32, "beginOffset": INT64, "endOffset": INT64})
    lag_group = obj(
        {"group": STRING, "totalLag": INT64,
         "partitions": array(obj({"topic": STRING, "partition": INT32, "committed": INT64,
                                  "endOffset": INT64, "lag": INT64})),
         "error": obj({"code": STRING, "message": STRING}, additionalProperties=True)},
        required=["group"],
        description="partitions and totalLag, or error when the group could not be read")
    dlq_filter = [
        query("topic", STRING, "The original topic"),
        query("group", STRING, "The consumer group that gave up"),
        query("key", STRING, "The record key (e.g. an order id)"),
        query("status", {"type": "string", "enum": ["NEW", "REPLAYED", "DISCARDED", ""]},
              "NEW, REPLAYED or DISCARDED"),
    ]
    dlq_id = path_param("id", {"type": "integer", "format": "int64", "minimum": -MAX_INT64 - 1,
                                "maximum": MAX_INT64}, "The dead letter's id", 1)
    actor = identifier_header(  # dlq_routes' actor_of
        "X-Actor", "Who acts, for the audit trail's actor, without a token (default \"api\"; "
        "with a token \"user:<sub>\")", " and nothing is done")
    dlq = ["dead letters"]
    kafka = ["topics"]
    admin = (400, *ADMIN_ERRORS)
    paths = {
        "/api/dlq": {"get": operation(
            "Dead letters, newest first [admin]", {**ok(ref("DeadLetterPage")), **errors(*admin)},
            op_id="listDeadLetters", tags=dlq,
            parameters=dlq_filter + [
                query("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50},
                      "Page size"),
                query("offset", {"type": "integer", "minimum": 0, "maximum": MAX_INT64,
                                 "default": 0}, "Rows to skip")])},
        "/api/dlq/{id}": {"get": operation(
            "One dead letter with its audit trail [admin]",
            {**ok(ref("DeadLetterDetail")), **errors(404, *admin)},
            op_id="getDeadLetter", tags=dlq, parameters=[dlq_id])},
        "/api/dlq/{id}/replay": {"post": operation(
            "Send the record back to its original topic [admin]",
            {**ok(ref("ReplayedDeadLetter")), **errors(404, 409, 422, *admin)},
            op_id="replayDeadLetter", tags=dlq, parameters=[dlq_id, actor])},
        "/api/dlq/{id}/discard": {"post": operation(
            "Mark a dead letter as handled without replaying it [admin]",
            {**ok(ref("DeadLetter")), **errors(404, 409, *admin)},
            op_id="discardDeadLetter", tags=dlq, parameters=[dlq_id, actor])},
        "/api/dlq/replay": {"post": operation(
            "Replay every dead letter matching the filter (dryRun: only count) [admin]",
            {**ok(ref("BulkResult")), **errors(*admin)},
            op_id="replayDeadLetters", tags=dlq, parameters=[actor],
            body=json_body(ref("BulkRequest"), False))},
        "/api/dlq/discard": {"post": operation(
            "Discard every dead letter matching the filter (dryRun: only count) [admin]",
            {**ok(ref("BulkResult")), **errors(*admin)},
            op_id="discardDeadLetters", tags=dlq, parameters=[actor],
            body=json_body(ref("BulkRequest"), False))},
        "/api/services": {"get": operation(
            "The running service instances and their URLs (endpoints.json of orderflow up) "
            "[admin]",
            {**ok(obj({"services": array(obj({"name": STRING, "url": STRING}))})),
             **errors(*ADMIN_ERRORS)},
            op_id="listServices", tags=["console"])},
        "/api/topics": {"get": operation(
            "Every topic (no internal ones) with its partitions' offsets [admin]",
            {**ok(obj({"topics": array(obj({"name": STRING, "partitions": array(partition)}))})),
             **errors(*ADMIN_ERRORS)},
            op_id="listTopics", tags=kafka)},
        "/api/topics/{topic}/records": {"get": operation(
            "Records of one partition from an offset [admin]",
            {**ok(obj({"topic": STRING, "partition": INT32, "beginOffset": INT64,
                       "endOffset": INT64, "records": array(ref("Record"))})),
             "416": {"description": "OFFSET_OUT_OF_RANGE, with the valid range",
                     "content": {"application/json": {"schema": ref("OffsetOutOfRange")}}},
             **errors(404, *admin)},
            op_id="listTopicRecords", tags=kafka,
            parameters=[
                path_param("topic", {"type": "string", "minLength": 1}, "The topic", "orders.v1"),
                query("partition", {"type": "integer", "format": "int32", "minimum": 0,
                                    "maximum": 2147483647}, "The partition", required=True, example=0),
                query("offset", {"type": "integer", "format": "int64", "minimum": -MAX_INT64 - 1,
                                 "maximum": MAX_INT64},
                      "The first offset; default max(beginOffset, endOffset - limit). Outside "
                      "beginOffset..endOffset: 416 with the valid range"),
                query("limit", {"type": "integer", "minimum": 1, "maximum": 200, "default": 20},
                      "At most this many records")])},
        "/api/events": {"get": operation(
            "The events with this key across the event topics and their DLTs, oldest first "
            "[admin]",
            {**ok(obj({"key": STRING, "events": array(ref("Event"))})), **errors(*admin)},
            op_id="listEventsByKey", tags=kafka,
            parameters=[query("key", {"type": "string", "minLength": 1},
                              "The record key (an order id)", required=True, example="1")])},
        "/api/lag": {"get": operation(
            "Consumer lag per group and partition (the groups of lag.groups) [admin]",
            {**ok(obj({"groups": array(ref("GroupLag"))})), **errors(*ADMIN_ERRORS)},
            op_id="listLag", tags=kafka)},
        "/": {"get": operation(
            "The web ops console (index.html)",
            {"200": {"description": "The console", "content": {"text/html": {"schema": STRING}}},
             "503": {"description": "The console is not built",
                     "content": {"text/html": {"schema": STRING}}}},
            op_id="console", tags=["console"], security=False)},
        "/assets/{file}": {"get": operation(
            "A file of the console's build (hashed name, cached immutable)",
            {"200": {"description": "The file", "content": {"*/*": {"schema": STRING}}},
             "404": resp("NotFound")},
            op_id="consoleAsset", tags=["console"], security=False,
            parameters=[path_param("file", {"type": "string", "pattern": "^[A-Za-z0-9_-][A-Za-z0-9._-]*$"},
                                   "The file name")])},
    }
    schemas = {
        "DeadLetter": dead_letter, "DeadLetterDetail": detail, "ReplayedDeadLetter": replayed,
        "DeadLetterPage": dlq_page, "BulkRequest": bulk_in, "BulkResult": bulk_out,
        "Record": record, "Event": event, "GroupLag": lag_group,
        "OffsetOutOfRange": obj({"error": obj(
            {"code": {"type": "string", "enum": ["OFFSET_OUT_OF_RANGE"]}, "message": STRING,
             "validRange": obj({"begin": INT64, "end": INT64})}, additionalProperties=True)}),
    }
    return document(
        "ops", "orderflow ops-service",
        "Dead letters (replay, discard, audit trail), Kafka topics and consumer lag, and the "
        "web ops console. Its read-only proxy GET /svc/{service}/{path} (forwards to another "
        "service's API) is not described here: see that service's own description.",
        paths, schemas)


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for service, build in [("order", order_doc), ("inventory", inventory_doc),
                           ("payment", payment_doc), ("notification", notification_doc),
                           ("ops", ops_doc)]:
        target = REPO / "services" / service / "adapters" / "http" / "openapi.json"
        text = json.dumps(build(), indent=2, ensure_ascii=False) + "\n"
        if check:
            if not target.exists() or target.read_text() != text:
                stale.append(str(target.relative_to(REPO)))
            continue
        target.write_text(text)
        print("wrote", target.relative_to(REPO))
    if stale:
        print("not what scripts/generate-openapi.py writes (run it):", " ".join(stale))
        sys.exit(1)


if __name__ == "__main__":
    main()
