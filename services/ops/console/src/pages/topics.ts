// Topics: every topic's partitions with their offsets, and a record browser by partition and
// offset (key, headers, value). An offset outside the partition answers 416 with the valid range.
// Deep link: #/topics?topic=orders.v1&partition=0&offset=10&limit=20.
import { ApiError, call, ops } from "../api/client";
import { field, h, pre, replace, table, time } from "../dom";
import { errorBox, note } from "./common";

function link(topic: string, partition: number, offset?: number): string {
  const q = new URLSearchParams({ topic, partition: String(partition) });
  if (offset !== undefined) q.set("offset", String(offset));
  return `#/topics?${q.toString()}`;
}

async function browse(out: HTMLElement, topic: string, partition: number, offset: number | undefined, limit: number) {
  replace(out, note("Loading records…"));
  try {
    const page = await call(
      ops.GET("/api/topics/{topic}/records", {
        params: { path: { topic }, query: { partition, offset, limit } },
      }),
    );
    const first = page.records[0]?.offset ?? page.beginOffset;
    const next = (page.records[page.records.length - 1]?.offset ?? first - 1) + 1;
    replace(
      out,
      h(
        "h2",
        {},
        `${page.topic} / partition ${page.partition} `,
        h("span", { class: "muted" }, `(offsets ${page.beginOffset}..${page.endOffset})`),
      ),
      h(
        "p",
        { class: "pager" },
        h("a", { href: link(topic, partition, Math.max(page.beginOffset, first - limit)) }, "← older"),
        " ",
        next < page.endOffset ? h("a", { href: link(topic, partition, next) }, "newer →") : "",
        " ",
        h("a", { href: link(topic, partition) }, "latest"),
      ),
      page.records.length === 0
        ? note("No records at this offset.", "no-records")
        : table(
            "records",
            ["offset", "time", "key", "headers", "value"],
            page.records.map((r) => [
              String(r.offset),
              time(r.timestamp),
              r.key === null ? h("span", { class: "muted" }, "null") : h("code", {}, r.key),
              h(
                "dl",
                { class: "headers" },
                r.headers.map((x) => [h("dt", {}, x.key), h("dd", {}, x.value)]),
              ),
              pre(r.value),
            ]),
          ),
    );
  } catch (e) {
    const range = e instanceof ApiError ? e.body?.error?.validRange : undefined;
    replace(
      out,
      errorBox(e, "records"),
      range
        ? h(
            "p",
            { "data-testid": "valid-range" },
            `Valid offsets of partition ${partition}: ${range.begin}..${range.end}. `,
            h("a", { href: link(topic, partition, range.begin) }, "oldest"),
            " · ",
            h("a", { href: link(topic, partition) }, "latest"),
          )
        : "",
    );
  }
}

export function topicsPage(root: HTMLElement, params: URLSearchParams): void {
  const list = h("div", { "data-testid": "topics" }, note("Loading topics…"));
  const records = h("div", { "data-testid": "records-view" });
  const topic = h("input", { name: "topic", value: params.get("topic") ?? "", list: "topic-names" });
  const partition = h("input", { name: "partition", type: "number", min: "0", value: params.get("partition") ?? "0" });
  const offset = h("input", { name: "offset", type: "number", placeholder: "latest", value: params.get("offset") ?? "" });
  const limit = h("input", { name: "limit", type: "number", min: "1", max: "200", value: params.get("limit") ?? "20" });
  const names = h("datalist", { id: "topic-names" });
  const submit = (ev: Event) => {
    ev.preventDefault();
    const q = new URLSearchParams({ topic: topic.value.trim(), partition: partition.value, limit: limit.value });
    if (offset.value.trim() !== "") q.set("offset", offset.value.trim());
    window.location.hash = `#/topics?${q.toString()}`;
  };
  replace(
    root,
    h("h1", {}, "Topics"),
    list,
    h("h2", {}, "Browse records"),
    h(
      "form",
      { class: "filters", onsubmit: submit, "data-testid": "browse-form" },
      field("Topic", topic),
      field("Partition", partition),
      field("Offset", offset),
      field("Limit", limit),
      h("button", { type: "submit" }, "Browse"),
      names,
    ),
    records,
  );
  void (async () => {
    try {
      const { topics } = await call(ops.GET("/api/topics"));
      replace(names, topics.map((t) => h("option", { value: t.name })));
      replace(
        list,
        topics.length === 0
          ? note("No topics.")
          : table(
              "topics-table",
              ["topic", "records", "partitions: offsets begin..end (browse)"],
              topics.map((t) => [
                t.name,
                String(t.partitions.reduce((n, p) => n + p.endOffset - p.beginOffset, 0)),
                h(
                  "span",
                  { class: "partitions" },
                  t.partitions.map((p) =>
                    h(
                      "a",
                      { href: link(t.name, p.partition), "data-testid": `browse-${t.name}-${p.partition}` },
                      `${p.partition}: ${p.beginOffset}..${p.endOffset}`,
                    ),
                  ),
                ),
              ]),
            ),
      );
    } catch (e) {
      replace(list, errorBox(e, "topics"));
    }
  })();
  const t = params.get("topic");
  if (t) {
    const o = params.get("offset");
    void browse(
      records,
      t,
      Number(params.get("partition") ?? "0"),
      o === null || o === "" ? undefined : Number(o),
      Number(params.get("limit") ?? "20"),
    );
  }
}
