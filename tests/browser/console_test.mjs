// Browser test of the web ops console (ctest label browser): starts the real system
// (`orderflow up`, embedded broker, free ports, a temp data dir), drives Debian's Chromium
// (/usr/bin/chromium, headless) with playwright-core from the console's node_modules, and checks
// what an operator does: the console loads with every service ready; an order posted through the
// order API shows up with its saga timeline and events; an order of the FAIL sku lands in the
// dead letters; after the fault is cleared, a replay from the console (dry run, then confirm)
// completes it and the audit trail shows the replay; a topic browse out of range shows the valid
// range; a bad token shows 401 on the page. Every wait polls a condition until a deadline.
// Screenshots of each page go to <temp dir>/screenshots (and to $ORDERFLOW_SCREENSHOTS_OUT when
// set: `make screenshots` copies them into docs/console/).
//
// Usage: node console_test.mjs --bin <build>/bin --source <repo>
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHmac } from "node:crypto";
import http from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

const arg = (name) => {
  const i = process.argv.indexOf(name);
  if (i < 0 || i + 1 >= process.argv.length) throw new Error(`missing ${name}`);
  return process.argv[i + 1];
};
const binDir = arg("--bin");
const sourceDir = arg("--source");
const consoleDir = join(sourceDir, "services/ops/console");
const { chromium } = createRequire(join(consoleDir, "package.json"))("playwright-core");

const SECRET = "browser-test-secret-0123456789abcdefghij";
const dir = mkdtempSync(join(tmpdir(), "orderflow-browser-"));
const dataDir = join(dir, "data");
const shots = join(dir, "screenshots");
mkdirSync(shots, { recursive: true });

/** Polls `check` (a value, or a falsy result for "not yet") until `ms` pass; throws with `what`. */
async function eventually(what, check, ms = 20000, every = 200) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms: ${what}${last ? ` (${last})` : ""}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

let up;
let endpoints;
let browser;
let page;
const pageErrors = [];

function url(service, path) {
  const ep = endpoints[service];
  return `http://${ep.host}:${ep.port}${path}`;
}

async function api(service, method, path, body, headers = {}) {
  const r = await fetch(url(service, path), {
    method,
    headers: { "Content-Type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, json, text };
}

/** An HS256 token signed with the test system's auth.secret. */
function jwt(sub, roles) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub, roles, iat: now, exp: now + 600 })}`;
  return `${body}.${createHmac("sha256", SECRET).update(body).digest("base64url")}`;
}

/** The status of a GET of `path` sent as it is (fetch would resolve ".." segments first). */
function rawStatus(path) {
  const ep = endpoints["ops-service"];
  return new Promise((resolve, reject) => {
    http.get({ host: ep.host, port: ep.port, path }, (res) => {
      res.resume();
      resolve(res.statusCode);
    }).on("error", reject);
  });
}

async function shot(name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

/** Opens a console route (#/...) and waits until the page rendered it. */
async function open(hash) {
  const target = url("ops-service", `/${hash}`);
  // The same URL again is no navigation at all: reload to render the page afresh.
  if (page.url() === target) await page.reload();
  else await page.goto(target);
  // A hash change renders after goto returns: wait for this route's render, not the last one's.
  await page.waitForFunction((h) => document.getElementById("page")?.dataset.route === h, new URL(target).hash);
}

before(async () => {
  const services = ["order-service", "inventory-service", "payment-service", "notification-service", "ops-service"];
  let yaml =
    `data_dir: ${dataDir}\n` +
    `auth:\n  mode: optional\n  algorithm: HS256\n  secret: ${SECRET}\n` +
    "services:\n";
  for (const s of services) {
    yaml += `  ${s}:\n    config: ${join(sourceDir, "config", `${s}.yaml`)}\n    port: 0\n`;
  }
  const config = join(dir, "orderflow.yaml");
  writeFileSync(config, yaml);
  const log = join(dir, "orderflow-up.log");
  const { openSync } = await import("node:fs");
  const fd = openSync(log, "w");
  up = spawn(join(binDir, "orderflow"), ["up", "--config", config, "--data-dir", dataDir], {
    stdio: ["ignore", fd, fd],
    detached: true,
  });
  const file = join(dataDir, "endpoints.json");
  try {
    await eventually("orderflow up writes endpoints.json", () => up.exitCode === null && existsSync(file), 90000);
  } catch (e) {
    throw new Error(`${e.message}\n${readFileSync(log, "utf8").slice(-4000)}`);
  }
  endpoints = JSON.parse(readFileSync(file, "utf8")).services;
  for (const s of services) {
    await eventually(`${s} ready`, async () => (await api(s, "GET", "/health/ready")).status === 200, 60000);
  }
  browser = await chromium.launch({
    executablePath: process.env.ORDERFLOW_CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    // Root in a container: no sandbox. The rest keeps Chromium off the (closed) network.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(20000);
  page.on("pageerror", (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    // A refused token or a 404 is logged by Chromium as a failed resource; only script errors count.
    if (m.type() === "error" && !/Failed to load resource/.test(m.text())) pageErrors.push(`console: ${m.text()}`);
  });
});

after(async () => {
  await browser?.close();
  if (up && up.exitCode === null) {
    process.kill(up.pid, "SIGTERM");
    try {
      await eventually("orderflow up stops", () => up.exitCode !== null || up.signalCode !== null, 40000);
    } catch {
      process.kill(-up.pid, "SIGKILL");
    }
  }
  const out = process.env.ORDERFLOW_SCREENSHOTS_OUT;
  if (out) {
    mkdirSync(out, { recursive: true });
    for (const f of readdirSync(shots)) copyFileSync(join(shots, f), join(out, f));
    console.log(`screenshots copied to ${out}`);
  }
  // The screenshots and orderflow-up.log stay (small); the system's data goes.
  rmSync(dataDir, { recursive: true, force: true });
  console.log(`screenshots and orderflow-up.log in ${dir}`);
});

test("the console loads and shows every service ready", async () => {
  const index = await fetch(url("ops-service", "/"));
  assert.equal(index.status, 200);
  assert.match(index.headers.get("content-type"), /text\/html/);
  assert.equal(index.headers.get("cache-control"), "no-cache");
  const asset = (await index.text()).match(/\/assets\/[A-Za-z0-9._-]+\.js/)?.[0];
  assert.ok(asset, "index.html names its script");
  const js = await fetch(url("ops-service", asset));
  assert.equal(js.status, 200);
  assert.match(js.headers.get("content-type"), /javascript/);
  assert.match(js.headers.get("cache-control"), /immutable/);
  for (const path of ["/assets/..%2F..%2Fetc%2Fpasswd", "/assets/..", "/assets/.%2e", "/assets/%2e%2e%2Findex.html"]) {
    assert.equal(await rawStatus(path), 404, path);
  }

  await open("#/health");
  await eventually("every service is listed and ready", async () => {
    const states = await page.locator("[data-testid^=ready-] [data-status]").evaluateAll((els) =>
      els.map((e) => e.getAttribute("data-status")),
    );
    return states.length === 5 && states.every((s) => s === "UP");
  });
  await page.locator("[data-testid=lag-group]").first().waitFor();
  assert.deepEqual(pageErrors, []);
});

test("an order posted through the API shows up with its timeline and events", async () => {
  const r = await api("order-service", "POST", "/api/orders", { userId: "browser-1", items: [{ sku: "ABC-001", qty: 1 }] });
  assert.equal(r.status, 201, r.text);
  const id = r.json.orderId;
  await eventually(
    "the order page shows it COMPLETED with its timeline",
    async () => {
      await open(`#/orders?id=${id}`);
      await page.locator("[data-testid=order-status]").waitFor();
      const status = await page.locator("[data-testid=order-status] [data-status]").getAttribute("data-status");
      return status === "COMPLETED" && (await page.locator("[data-testid=timeline] tbody tr").count()) === 3;
    },
    30000,
    500,
  );
  // Rows: at, from, to, event, reason, event id. order-service reads inventory.v1 and payments.v1
  // independently, so an event may overtake its predecessor (STOCK_DEDUCTED before PAYMENT_COMPLETED):
  // the saga then takes the skipped step on the later event. The statuses are fixed; the event of a
  // step is the one that caused it or a later one of the saga.
  const rows = (await page.locator("[data-testid=timeline] tbody tr").allInnerTexts()).map((r) => r.split("\t"));
  const saga = ["STOCK_RESERVED", "PAYMENT_COMPLETED", "STOCK_DEDUCTED"];
  assert.deepEqual(
    rows.map((r) => [r[1], r[2]]),
    [
      ["PENDING", "CONFIRMED"],
      ["CONFIRMED", "PAID"],
      ["PAID", "COMPLETED"],
    ],
    JSON.stringify(rows),
  );
  rows.forEach((r, i) => assert.ok(saga.indexOf(r[3]) >= i, `step ${i} caused by ${r[3]}: ${JSON.stringify(rows)}`));
  assert.equal(rows[2][3], "STOCK_DEDUCTED", JSON.stringify(rows));
  // The outbox relays ORDER_COMPLETED after the status is stored, so the events may lag the status.
  const wanted = ["ORDER_CREATED", "STOCK_RESERVED", "PAYMENT_COMPLETED", "STOCK_DEDUCTED", "ORDER_COMPLETED"];
  let events = "";
  await eventually(
    "the order's events across topics",
    async () => {
      await open(`#/orders?id=${id}`);
      await page.locator("[data-testid=events-table]").waitFor();
      events = await page.locator("[data-testid=events-table]").innerText();
      return wanted.every((t) => events.includes(t));
    },
    15000,
    500,
  ).catch((e) => assert.fail(`${e.message}; the page showed: ${events}`));
  await page.locator("[data-testid=trace-ids]").waitFor();
  await shot("orders");

  // The user's list links to the order.
  await open("#/orders?userId=browser-1");
  await page.locator(`[data-testid=user-orders] a[href="#/orders?id=${id}"]`).waitFor();

  // Values are untrusted: a user id that is HTML is shown as text, in the list and in the events.
  const hostile = "<img src=x onerror=window.__xss=1>";
  const h = await api("order-service", "POST", "/api/orders", { userId: hostile, items: [{ sku: "ABC-001", qty: 1 }] });
  assert.equal(h.status, 201, h.text);
  await open(`#/orders?userId=${encodeURIComponent(hostile)}`);
  await page.locator("[data-testid=user-orders]").waitFor();
  assert.ok((await page.locator("[data-testid=orders-result] h2").innerText()).includes(hostile));
  await open(`#/orders?id=${h.json.orderId}`);
  await page.locator("[data-testid=events-table]").waitFor();
  await page.locator("[data-testid=events-table] details").first().evaluate((d) => (d.open = true));
  assert.ok((await page.locator("[data-testid=events-table]").innerText()).includes(hostile));
  assert.equal(await page.locator("main img").count(), 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
});

test("a FAIL order lands in the dead letters; replayed from the console it completes", async () => {
  const fault = await api("inventory-service", "POST", "/admin/faults", { failSkuPrefix: "FAIL" });
  assert.equal(fault.status, 200, fault.text);
  const r = await api("order-service", "POST", "/api/orders", { userId: "browser-2", items: [{ sku: "FAIL", qty: 1 }] });
  assert.equal(r.status, 201, r.text);
  const key = String(r.json.orderId);

  const filter = `#/dlq?key=${key}&group=inventory-service`;
  await eventually(
    "the dead letter is listed",
    async () => {
      await open(filter);
      await page.locator("[data-testid=dlq-total]").waitFor();
      return (await page.locator("[data-testid=dlq-table] tbody tr").count()) === 1;
    },
    40000,
    500,
  );
  const row = await page.locator("[data-testid=dlq-table] tbody tr").innerText();
  assert.match(row, /NEW/);
  assert.match(row, /ORDER_CREATED/);
  const id = (await page.locator("[data-testid=dlq-table] tbody tr a").innerText()).replace("#", "");
  await page.locator(`[data-testid=open-${id}]`).click();
  await page.locator("[data-testid=dlq-headers]").waitFor();
  assert.match(await page.locator("[data-testid=dlq-headers]").innerText(), /dlq\.reason/);
  assert.match(await page.locator("[data-testid=dlq-stacktrace]").innerText(), /\S/);
  assert.match(await page.locator("[data-testid=dlq-value]").innerText(), /FAIL/);
  await page.locator("[data-testid=no-audit]").waitFor();
  await shot("dead-letters");

  const cleared = await api("inventory-service", "POST", "/admin/faults", { failSkuPrefix: "" });
  assert.equal(cleared.status, 200, cleared.text);

  // Replay every dead letter that matches the filter: the dry run first, then confirm.
  await page.locator("[data-testid=replay-matching]").click();
  await page.locator("[data-testid=dry-run]").waitFor();
  assert.match(await page.locator("[data-testid=dry-run]").innerText(), /Dry run: 1 dead letter match/);
  await shot("dead-letters-dry-run");
  await page.locator("[data-testid=confirm]").click();
  await page.locator("[data-testid=action-result]").waitFor();
  assert.match(await page.locator("[data-testid=action-result]").innerText(), new RegExp(`Replayed 1 of 1 \\(ids ${id}\\)`));
  await page.locator("[data-testid=audit]").waitFor();
  assert.match(await page.locator("[data-testid=audit]").innerText(), /REPLAY/i);
  assert.equal(await page.locator("[data-dlq-id]").getAttribute("data-status"), "REPLAYED");
  await shot("dead-letter-replayed");

  await eventually(
    "the replayed order completes",
    async () => {
      await open(`#/orders?id=${key}`);
      await page.locator("[data-testid=order-status] [data-status]").waitFor();
      return (await page.locator("[data-testid=order-status] [data-status]").getAttribute("data-status")) === "COMPLETED";
    },
    30000,
    500,
  );
  const restored = await api("inventory-service", "POST", "/admin/faults", { failSkuPrefix: "FAIL" });
  assert.equal(restored.status, 200, restored.text);
});

test("dead letters selected in the list are discarded after a preview", async () => {
  const r = await api("order-service", "POST", "/api/orders", { userId: "browser-3", items: [{ sku: "FAIL", qty: 1 }] });
  assert.equal(r.status, 201, r.text);
  const key = String(r.json.orderId);
  await eventually(
    "the dead letter is listed",
    async () => {
      await open(`#/dlq?key=${key}&status=NEW`);
      await page.locator("[data-testid=dlq-total]").waitFor();
      return (await page.locator("[data-testid=dlq-table] tbody tr").count()) === 1;
    },
    40000,
    500,
  );
  const id = (await page.locator("[data-testid=dlq-table] tbody tr a").innerText()).replace("#", "");
  await page.locator(`[data-testid=select-${id}]`).check();
  assert.equal(await page.locator("[data-testid=selected-count]").innerText(), "1 selected");
  await page.locator("[data-testid=discard-selected]").click();
  assert.match(await page.locator("[data-testid=preview]").innerText(), new RegExp(`Discard 1 dead letter: #${id}\\?`));
  // Cancel does nothing; the second time is confirmed.
  await page.locator("[data-testid=cancel]").click();
  await page.locator("[data-testid=preview]").waitFor({ state: "hidden" });
  assert.equal((await api("ops-service", "GET", `/api/dlq/${id}`)).json.status, "NEW");
  await page.locator("[data-testid=discard-selected]").click();
  await page.locator("[data-testid=confirm]").click();
  await page.locator("[data-testid=action-result]").waitFor();
  assert.match(await page.locator("[data-testid=action-result]").innerText(), new RegExp(`Discarded 1 of 1 \\(ids ${id}\\)`));
  await page.locator("[data-testid=dlq-empty]").waitFor(); // the NEW filter no longer matches it
  const letter = (await api("ops-service", "GET", `/api/dlq/${id}`)).json;
  assert.equal(letter.status, "DISCARDED");
  assert.equal(letter.audit.at(-1).action, "DISCARD");
});

test("topics list their partitions, records browse, and an offset out of range shows the valid range", async () => {
  await open("#/topics");
  await page.locator("[data-testid=topics-table]").waitFor();
  assert.match(await page.locator("[data-testid=topics-table]").innerText(), /orders\.v1/);
  const parts = await (await api("ops-service", "GET", "/api/topics")).json.topics.find((t) => t.name === "orders.v1").partitions;
  const p = parts.find((x) => x.endOffset > x.beginOffset);
  assert.ok(p, "orders.v1 has records");
  await open(`#/topics?topic=orders.v1&partition=${p.partition}&limit=5`);
  await page.locator("[data-testid=records] tbody tr").first().waitFor();
  assert.match(await page.locator("[data-testid=records]").innerText(), /eventType/);
  await shot("topics");

  await open(`#/topics?topic=orders.v1&partition=${p.partition}&offset=${p.endOffset + 1000}`);
  await page.locator("[data-testid=valid-range]").waitFor();
  assert.match(await page.locator("[data-testid=error]").innerText(), /416 OFFSET_OUT_OF_RANGE/);
  assert.match(await page.locator("[data-testid=valid-range]").innerText(), new RegExp(`${p.beginOffset}\\.\\.${p.endOffset}`));
});

test("after the orders, health shows each group's lag per topic and partition", async () => {
  // As ops-service last read it (lag.interval_ms, 5 s); the page refreshes itself every 5 s.
  await open("#/health");
  await eventually(
    "the lag of every group is shown per partition",
    async () => {
      // The four services' groups, not the data-platform sink's: it is not enabled
      // (sink.enabled), orderflow up has ops-service drop its group.
      const groups = await page.locator("[data-testid=lag-group]").count();
      if (groups !== 4 || (await page.locator("[data-group=data-platform-sink]").count()) !== 0) return false;
      for (const g of ["inventory-service", "notification-service", "order-service", "payment-service"]) {
        if ((await page.locator(`[data-group=${g}] [data-testid=lag-table]`).count()) !== 1) return false;
      }
      return true;
    },
    30000,
    500,
  );
  assert.match(await page.locator("[data-group=inventory-service] [data-testid=lag-table]").innerText(), /orders\.v1/);
  await shot("health");
});

test("a bad token gets 401 and the page says so", async () => {
  await open("#/dlq");
  await page.locator("#token").fill("not-a-valid-token");
  await page.locator("#token-form button[type=submit]").click();
  await page.locator("#auth-error").waitFor({ state: "visible" });
  const text = await page.locator("#auth-error").innerText();
  assert.match(text, /401 Unauthorized/);
  assert.match(text, /INVALID_TOKEN/);
  await shot("bad-token");

  // A valid token without the admin role: 403, said as such.
  await page.locator("#token").fill(jwt("browser-user", ["user"]));
  await page.locator("#token-form button[type=submit]").click();
  await eventually("the 403 banner", async () => /403 Forbidden/.test(await page.locator("#auth-error").innerText()));
  assert.match(await page.locator("#auth-error").innerText(), /ADMIN_REQUIRED/);

  // An admin's token: the page works, the banner goes, the token stays for the tab only.
  await page.locator("#token").fill(jwt("browser-admin", ["admin"]));
  await page.locator("#token-form button[type=submit]").click();
  await page.locator("#auth-error").waitFor({ state: "hidden" });
  await page.locator("[data-testid=dlq-table]").waitFor();
  assert.ok(await page.evaluate(() => sessionStorage.getItem("orderflow.console.token")));
  assert.equal(await page.evaluate(() => localStorage.length), 0);

  await page.locator("#token-clear").click();
  await page.locator("[data-testid=dlq-table]").waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem("orderflow.console.token")), null);
  assert.deepEqual(pageErrors, []);
});
