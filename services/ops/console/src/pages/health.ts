// Health: every service instance of /api/services with its readiness and drain status, and the
// consumer groups' lag per partition (/api/lag). Refreshed every 5 s while shown.
import { call, callAny, ops, service } from "../api/client";
import type { AdminStatus, LagGroup, Readiness } from "../api/types";
import { type Child, h, replace, table } from "../dom";
import { badge, errorBox, note } from "./common";

const REFRESH_MS = 5000;

// A check is a word ("UP") or an object of facts ({"status":"UP","lag":0}).
function checkText(value: unknown): string {
  if (value === null || typeof value !== "object") return String(value);
  return Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => (k === "status" ? String(v) : `${k} ${typeof v === "object" ? JSON.stringify(v) : String(v)}`))
    .join(", ");
}

function details(body: Readiness | undefined): Child {
  if (!body?.details) return "";
  return h(
    "ul",
    { class: "details" },
    Object.entries(body.details).map(([name, value]) =>
      h("li", {}, `${name}: ${checkText(value)}`),
    ),
  );
}

async function serviceRow(name: string, url: string): Promise<Child[]> {
  const client = service(name);
  const [ready, status] = await Promise.all([
    callAny(client.GET("/health/ready")),
    callAny(client.GET("/admin/status")),
  ]);
  const readiness = ready.body as Readiness | undefined;
  const readyCell =
    ready.status === 0
      ? badge("UNREACHABLE")
      : readiness?.status
        ? badge(readiness.status)
        : badge(`HTTP ${ready.status}`);
  const s = status.status === 200 ? (status.body as AdminStatus) : undefined;
  return [
    h("span", { "data-testid": "service-name" }, name),
    url,
    h("span", { "data-testid": `ready-${name}` }, readyCell),
    details(readiness),
    s ? badge(s.intake) : "",
    s ? String(s.outboxPending) : "",
    s ? String(s.inFlight) : "",
    s ? String(s.consumerLag) : "",
  ];
}

function lagTable(groups: LagGroup[]): Child {
  if (groups.length === 0) return note("No consumer group has committed offsets yet.");
  return groups.map((g) =>
    h(
      "section",
      { class: "group", "data-testid": "lag-group", "data-group": g.group },
      h("h3", {}, `${g.group}`, g.totalLag !== undefined ? ` — total lag ${g.totalLag}` : ""),
      g.error
        ? errorBox(g.error.message, `cannot read ${g.group} (${g.error.code})`)
        : (g.partitions ?? []).length === 0
          ? note("No committed offsets yet.")
          : table(
            "lag-table",
            ["topic", "partition", "committed", "end offset", "lag"],
            (g.partitions ?? []).map((p) => [
              p.topic,
              String(p.partition),
              String(p.committed),
              String(p.endOffset),
              h("span", { class: p.lag > 0 ? "warn" : "" }, String(p.lag)),
            ]),
          ),
    ),
  );
}

export function healthPage(root: HTMLElement): () => void {
  const services = h("div", { "data-testid": "services" }, note("Loading…"));
  const lag = h("div", { "data-testid": "lag" }, note("Loading…"));
  const stamp = h("span", { class: "muted" });
  let stopped = false;
  let timer: number | undefined;

  async function refresh(): Promise<void> {
    window.clearTimeout(timer);
    await Promise.all([
      (async () => {
        try {
          const list = await call(ops.GET("/api/services"));
          if (list.services.length === 0) {
            replace(services, note("No services listed (endpoints.json is written by orderflow up)."));
            return;
          }
          const rows = await Promise.all(list.services.map((s) => serviceRow(s.name, s.url)));
          replace(
            services,
            table(
              "services-table",
              ["service", "url", "ready", "checks", "intake", "outbox pending", "in flight", "consumer lag"],
              rows,
            ),
          );
        } catch (e) {
          replace(services, errorBox(e, "services"));
        }
      })(),
      (async () => {
        try {
          replace(lag, lagTable((await call(ops.GET("/api/lag"))).groups));
        } catch (e) {
          replace(lag, errorBox(e, "lag"));
        }
      })(),
    ]);
    stamp.textContent = `updated ${new Date().toLocaleTimeString()}`;
    if (!stopped) timer = window.setTimeout(() => void refresh(), REFRESH_MS);
  }

  replace(
    root,
    h("h1", {}, "Health"),
    h("p", {}, h("button", { type: "button", onclick: () => void refresh() }, "Refresh"), " ", stamp),
    h("h2", {}, "Services"),
    h(
      "p",
      { class: "muted" },
      "Readiness (/health/ready) and drain status (/admin/status: outbox rows not yet sent, " +
        "records in flight, the instance's consumer lag) of each instance, through ops-service's proxy.",
    ),
    services,
    h("h2", {}, "Consumer lag"),
    h("p", { class: "muted" }, "Per group and partition, read by ops-service from outside the groups."),
    lag,
  );
  void refresh();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
  };
}
