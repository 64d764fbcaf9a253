// Dead letters: filter (topic, group, key, status), one dead letter's headers, value, stack trace
// and audit trail, and replay or discard of one, of the selected ones, or of all that match the
// filter — each after a preview (a dry run for the filter) that has to be confirmed.
// Deep link: #/dlq?group=inventory-service&status=NEW&id=3.
import { call, ops } from "../api/client";
import type { BulkResult, DeadLetterDetail } from "../api/types";
import { type Child, field, h, pre, replace, table } from "../dom";
import { badge, errorBox, note } from "./common";

type Action = "replay" | "discard";
type Status = "NEW" | "REPLAYED" | "DISCARDED";
type Filter = { topic?: string; group?: string; key?: string; status?: Status };
/** What an action did: how many matched, the ids done, the ids that failed and why. */
type Outcome = { matched: number; done: number[]; failed: BulkResult["failed"] };
const FILTERS = ["topic", "group", "key", "status"] as const;
const PAGE = 50;

function filterOf(params: URLSearchParams): Filter {
  const f: Filter = {};
  for (const name of ["topic", "group", "key"] as const) {
    const v = params.get(name);
    if (v) f[name] = v;
  }
  const status = params.get("status");
  if (status === "NEW" || status === "REPLAYED" || status === "DISCARDED") f.status = status;
  return f;
}

function outcome(r: BulkResult): Outcome {
  return { matched: r.matched.length, done: r.done, failed: r.failed };
}

function describeFilter(f: Filter): string {
  const parts = FILTERS.filter((n) => f[n]).map((n) => `${n}=${f[n]}`);
  return parts.length === 0 ? "no filter" : parts.join(", ");
}

function hashWith(params: URLSearchParams, changes: Record<string, string | null>): string {
  const q = new URLSearchParams(params);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === "") q.delete(k);
    else q.set(k, v);
  }
  const s = q.toString();
  return `#/dlq${s ? `?${s}` : ""}`;
}

function bulkSummary(r: Outcome, action: Action): Child {
  return h(
    "div",
    { class: "message ok", "data-testid": "action-result" },
    `${action === "replay" ? "Replayed" : "Discarded"} ${r.done.length} of ${r.matched}` +
      (r.done.length ? ` (ids ${r.done.join(", ")})` : "") +
      ".",
    r.failed.length
      ? h(
          "ul",
          {},
          r.failed.map((f) => h("li", { class: "error" }, `#${f.id}: ${f.error.code}: ${f.error.message}`)),
        )
      : "",
  );
}

async function actOn(ids: number[], action: Action): Promise<Outcome> {
  const out: Outcome = { matched: ids.length, done: [], failed: [] };
  for (const id of ids) {
    try {
      const path = action === "replay" ? "/api/dlq/{id}/replay" : "/api/dlq/{id}/discard";
      await call(ops.POST(path, { params: { path: { id } } }));
      out.done.push(id);
    } catch (e) {
      const err = e as { code?: string; message?: string };
      out.failed.push({ id, error: { code: err.code ?? "ERROR", message: err.message ?? String(e) } });
    }
  }
  return out;
}

function detailView(d: DeadLetterDetail): Child {
  const facts: [string, Child][] = [
    ["status", badge(d.status)],
    ["service / group", `${d.service} / ${d.consumerGroup}`],
    ["original", `${d.originalTopic} [${d.originalPartition ?? "?"}] @ ${d.originalOffset ?? "?"}`],
    ["dead-letter record", `${d.dltTopic} [${d.dltPartition}] @ ${d.dltOffset}`],
    ["key", h("code", {}, d.key)],
    ["event", `${d.eventType} ${d.eventId}`],
    ["reason", d.reason],
    ["error", `${d.errorClass}: ${d.errorMessage}`],
    ["attempts", d.attempts === null ? "" : String(d.attempts)],
    ["replays", String(d.replayCount)],
    ["first / last seen", `${d.firstSeen} / ${d.lastSeen}`],
  ];
  return [
    h("h2", {}, `Dead letter #${d.id}`),
    h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    h("h3", {}, "Headers"),
    table("dlq-headers", ["header", "value"], d.headers.map((x) => [x.key, x.value])),
    h("h3", {}, "Value"),
    pre(d.value, "dlq-value"),
    h("h3", {}, "Stack trace"),
    d.errorStacktrace ? pre(d.errorStacktrace, "dlq-stacktrace") : note("none"),
    h("h3", {}, "Audit trail"),
    d.audit.length === 0
      ? note("No action yet.", "no-audit")
      : table("audit", ["at", "action", "actor", "details"], d.audit.map((a) => [a.at, a.action, a.actor, a.details])),
  ];
}

export function dlqPage(root: HTMLElement, params: URLSearchParams): void {
  const filter = filterOf(params);
  const offset = Number(params.get("offset") ?? "0") || 0;
  const selected = new Set<number>();
  const inputs = {
    topic: h("input", { name: "topic", value: filter.topic ?? "" }),
    group: h("input", { name: "group", value: filter.group ?? "" }),
    key: h("input", { name: "key", value: filter.key ?? "" }),
    status: h(
      "select",
      { name: "status" },
      ["", "NEW", "REPLAYED", "DISCARDED"].map((s) =>
        h("option", { value: s, selected: (filter.status ?? "") === s }, s || "any"),
      ),
    ),
  };
  const list = h("div", { "data-testid": "dlq-list" }, note("Loading…"));
  const preview = h("div", { "data-testid": "preview", class: "preview", hidden: true });
  const result = h("div", {});
  const detail = h("div", { "data-testid": "dlq-detail" });
  const selectedCount = h("span", { "data-testid": "selected-count" }, "0 selected");

  const onSearch = (ev: Event) => {
    ev.preventDefault();
    const changes: Record<string, string | null> = { offset: null, id: null };
    for (const name of FILTERS) changes[name] = inputs[name].value.trim();
    window.location.hash = hashWith(new URLSearchParams(), changes);
  };

  function confirmBox(text: Child, onConfirm: () => Promise<void>): void {
    const confirm = h("button", { type: "button", class: "danger", "data-testid": "confirm" }, "Confirm");
    const cancel = h("button", { type: "button", "data-testid": "cancel" }, "Cancel");
    confirm.addEventListener("click", async () => {
      confirm.disabled = true;
      cancel.disabled = true;
      await onConfirm();
      preview.hidden = true;
      replace(preview);
    });
    cancel.addEventListener("click", () => {
      preview.hidden = true;
      replace(preview);
    });
    replace(preview, h("p", {}, text), confirm, " ", cancel);
    preview.hidden = false;
  }

  async function afterAction(r: Outcome, action: Action): Promise<void> {
    replace(result, bulkSummary(r, action));
    selected.clear();
    await Promise.all([loadList(), loadDetail()]);
  }

  function previewIds(ids: number[], action: Action): void {
    if (ids.length === 0) return;
    confirmBox(
      `${action === "replay" ? "Replay" : "Discard"} ${ids.length} dead letter${ids.length > 1 ? "s" : ""}: #${ids.join(", #")}?`,
      async () => afterAction(await actOn(ids, action), action),
    );
  }

  async function previewMatching(action: Action): Promise<void> {
    const path = action === "replay" ? "/api/dlq/replay" : "/api/dlq/discard";
    try {
      const dry = outcome(await call(ops.POST(path, { body: { ...filter, dryRun: true } })));
      confirmBox(
        h(
          "span",
          { "data-testid": "dry-run" },
          `Dry run: ${dry.matched} dead letter${dry.matched === 1 ? "" : "s"} match (${describeFilter(filter)}). ` +
            `${action === "replay" ? "Replay" : "Discard"} them?`,
        ),
        async () => {
          try {
            await afterAction(outcome(await call(ops.POST(path, { body: { ...filter, dryRun: false } }))), action);
          } catch (e) {
            replace(result, errorBox(e, action));
          }
        },
      );
    } catch (e) {
      replace(result, errorBox(e, `${action} dry run`));
    }
  }

  async function loadList(): Promise<void> {
    try {
      const page = await call(
        ops.GET("/api/dlq", { params: { query: { ...filter, limit: PAGE, offset } } }),
      );
      selectedCount.textContent = `${selected.size} selected`;
      const checkbox = (id: number) =>
        h("input", {
          type: "checkbox",
          "data-testid": `select-${id}`,
          "aria-label": `select dead letter ${id}`,
          onchange: (ev: Event) => {
            if ((ev.target as HTMLInputElement).checked) selected.add(id);
            else selected.delete(id);
            selectedCount.textContent = `${selected.size} selected`;
          },
        });
      replace(
        list,
        h("p", { class: "muted", "data-testid": "dlq-total" }, `${page.total} dead letter${page.total === 1 ? "" : "s"} (${describeFilter(filter)})`),
        page.items.length === 0
          ? note("Nothing matches.", "dlq-empty")
          : table(
              "dlq-table",
              ["", "id", "status", "group", "original topic", "key", "event", "reason", "last seen", "replays"],
              page.items.map((d) => [
                checkbox(d.id),
                h("a", { href: hashWith(params, { id: String(d.id) }), "data-testid": `open-${d.id}` }, `#${d.id}`),
                badge(d.status),
                d.consumerGroup,
                d.originalTopic,
                h("code", {}, d.key),
                d.eventType,
                h("span", { title: `${d.errorClass}: ${d.errorMessage}` }, d.reason),
                d.lastSeen.replace("T", " ").replace(/\.\d+Z$/, "Z"),
                String(d.replayCount),
              ]),
            ),
        h(
          "p",
          { class: "pager" },
          offset > 0 ? h("a", { href: hashWith(params, { offset: String(Math.max(0, offset - PAGE)) }) }, "← newer") : "",
          " ",
          offset + PAGE < page.total ? h("a", { href: hashWith(params, { offset: String(offset + PAGE) }) }, "older →") : "",
        ),
      );
    } catch (e) {
      replace(list, errorBox(e, "dead letters"));
    }
  }

  async function loadDetail(): Promise<void> {
    const raw = params.get("id");
    if (!raw) {
      replace(detail);
      return;
    }
    const id = Number(raw);
    try {
      const d = await call(ops.GET("/api/dlq/{id}", { params: { path: { id } } }));
      replace(
        detail,
        h(
          "section",
          { class: "detail", "data-dlq-id": String(d.id), "data-status": d.status },
          h(
            "p",
            { class: "actions" },
            h("button", { type: "button", "data-testid": "replay-one", disabled: d.status !== "NEW", onclick: () => previewIds([id], "replay") }, "Replay"),
            " ",
            h("button", { type: "button", "data-testid": "discard-one", disabled: d.status !== "NEW", onclick: () => previewIds([id], "discard") }, "Discard"),
            " ",
            h("a", { href: hashWith(params, { id: null }) }, "close"),
          ),
          detailView(d),
        ),
      );
    } catch (e) {
      replace(detail, errorBox(e, `dead letter ${raw}`));
    }
  }

  replace(
    root,
    h("h1", {}, "Dead letters"),
    h(
      "form",
      { class: "filters", onsubmit: onSearch, "data-testid": "dlq-filter" },
      field("Topic", inputs.topic),
      field("Group", inputs.group),
      field("Key", inputs.key),
      field("Status", inputs.status),
      h("button", { type: "submit", "data-testid": "dlq-search" }, "Filter"),
    ),
    h(
      "p",
      { class: "actions" },
      selectedCount,
      " ",
      h("button", { type: "button", "data-testid": "replay-selected", onclick: () => previewIds([...selected], "replay") }, "Replay selected"),
      " ",
      h("button", { type: "button", "data-testid": "discard-selected", onclick: () => previewIds([...selected], "discard") }, "Discard selected"),
      " ",
      h("button", { type: "button", "data-testid": "replay-matching", onclick: () => void previewMatching("replay") }, "Replay all matching…"),
      " ",
      h("button", { type: "button", "data-testid": "discard-matching", onclick: () => void previewMatching("discard") }, "Discard all matching…"),
    ),
    preview,
    result,
    h("div", { class: "split" }, list, detail),
  );
  void loadList();
  void loadDetail();
}
