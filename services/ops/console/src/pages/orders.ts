// Orders: find one by id (its saga timeline, its events across topics, the trace id) or list a
// user's orders. Deep links: #/orders?id=12, #/orders?userId=42.
import { call, ops, orders } from "../api/client";
import type { KeyedEvent, Order } from "../api/types";
import { type Child, field, h, pre, replace, table, time } from "../dom";
import { badge, errorBox, note } from "./common";

function headerValue(e: KeyedEvent, key: string): string | undefined {
  return e.headers.find((x) => x.key === key)?.value;
}

function eventsView(events: KeyedEvent[]): Child {
  if (events.length === 0) return note("No events with this key on the event topics.", "no-events");
  const traces = [...new Set(events.map((e) => e.traceId).filter((t): t is string => !!t))];
  return [
    h(
      "p",
      { "data-testid": "trace-ids" },
      "Trace id: ",
      traces.length === 0
        ? h("span", { class: "muted" }, "none (no traceparent header)")
        : traces.map((t, i) => [i > 0 ? ", " : "", h("code", { "data-testid": "trace-id" }, t)]),
    ),
    table(
      "events-table",
      ["time", "topic", "partition", "offset", "event type", "event id", "trace id", "record"],
      events.map((e) => [
        time(e.timestamp),
        e.topic,
        String(e.partition),
        String(e.offset),
        e.eventType ?? headerValue(e, "eventType") ?? "",
        e.eventId ?? "",
        e.traceId ?? "",
        h(
          "details",
          {},
          h("summary", {}, "headers and value"),
          table(
            "event-headers",
            ["header", "value"],
            e.headers.map((x) => [x.key, x.value]),
          ),
          pre(e.value),
        ),
      ]),
    ),
  ];
}

async function showOrder(out: HTMLElement, id: string): Promise<void> {
  replace(out, note(`Loading order ${id}…`));
  let order: Order;
  try {
    order = await call(orders.GET("/api/orders/{id}", { params: { path: { id: Number(id) } } }));
  } catch (e) {
    replace(out, errorBox(e, `order ${id}`));
    return;
  }
  const events = h("div", { "data-testid": "events" }, note("Loading events…"));
  replace(
    out,
    h(
      "section",
      { "data-testid": "order", "data-order-id": String(order.orderId) },
      h("h2", {}, `Order ${order.orderId} `, h("span", { "data-testid": "order-status" }, badge(order.status))),
      table(
        "order-summary",
        ["user", "total", "items", "created", "updated"],
        [
          [
            order.userId,
            `${order.totalAmount} ${order.currency}`,
            order.items.map((i) => h("div", {}, `${i.quantity} × ${i.sku} @ ${i.unitPrice}`)),
            order.createdAt,
            order.updatedAt,
          ],
        ],
      ),
      h("h3", {}, "Saga timeline"),
      (order.timeline ?? []).length === 0
        ? note("No transitions yet.")
        : table(
            "timeline",
            ["at", "from", "to", "event", "reason", "event id"],
            (order.timeline ?? []).map((t) => [t.at, t.from, badge(t.to), t.eventType, t.reason, t.eventId]),
          ),
      h("h3", {}, "Events across topics"),
      events,
    ),
  );
  try {
    const found = await call(ops.GET("/api/events", { params: { query: { key: String(order.orderId) } } }));
    replace(events, eventsView(found.events));
  } catch (e) {
    replace(events, errorBox(e, "events"));
  }
}

async function showUser(out: HTMLElement, userId: string): Promise<void> {
  replace(out, note(`Loading orders of ${userId}…`));
  try {
    const page = await call(orders.GET("/api/orders", { params: { query: { userId, size: 100 } } }));
    replace(
      out,
      h("h2", {}, `Orders of user ${userId} (${page.total})`),
      page.items.length === 0
        ? note("No orders.")
        : table(
            "user-orders",
            ["order", "status", "total", "created"],
            page.items.map((o) => [
              h("a", { href: `#/orders?id=${encodeURIComponent(String(o.orderId))}` }, String(o.orderId)),
              badge(o.status),
              `${o.totalAmount} ${o.currency}`,
              o.createdAt,
            ]),
          ),
    );
  } catch (e) {
    replace(out, errorBox(e, `orders of ${userId}`));
  }
}

export function ordersPage(root: HTMLElement, params: URLSearchParams): void {
  const idInput = h("input", { name: "orderId", inputmode: "numeric", value: params.get("id") ?? "" });
  const userInput = h("input", { name: "userId", value: params.get("userId") ?? "" });
  const out = h("div", { "data-testid": "orders-result" });
  const go = (ev: Event) => {
    ev.preventDefault();
    const id = idInput.value.trim();
    const user = userInput.value.trim();
    const query = id !== "" ? `id=${encodeURIComponent(id)}` : user !== "" ? `userId=${encodeURIComponent(user)}` : "";
    window.location.hash = `#/orders${query ? `?${query}` : ""}`;
  };
  replace(
    root,
    h("h1", {}, "Orders"),
    h(
      "form",
      { class: "filters", onsubmit: go, "data-testid": "order-search" },
      field("Order id", idInput),
      field("or user id", userInput),
      h("button", { type: "submit" }, "Find"),
    ),
    out,
  );
  const id = params.get("id");
  const user = params.get("userId");
  if (id && /^\d+$/.test(id)) void showOrder(out, id);
  else if (id) replace(out, errorBox("an order id is a number", "order id"));
  else if (user) void showUser(out, user);
}
