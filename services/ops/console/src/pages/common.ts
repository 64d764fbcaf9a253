// What the pages share: error and status messages.
import { ApiError } from "../api/client";
import { h } from "../dom";

/** An error as a message element (the auth banner says more for 401/403). */
export function errorBox(error: unknown, what: string): HTMLElement {
  const text =
    error instanceof ApiError
      ? `${what}: ${error.status === 0 ? "" : `${error.status} `}${error.code}: ${error.message}`
      : `${what}: ${String(error)}`;
  return h("div", { class: "message error", role: "alert", "data-testid": "error" }, text);
}

/** A short note (empty results, progress). */
export function note(text: string, testid = "note"): HTMLElement {
  return h("p", { class: "muted", "data-testid": testid }, text);
}

/** A status word as a coloured badge. */
export function badge(status: string): HTMLElement {
  const kind = /^(UP|COMPLETED|REPLAYED|open)$/.test(status)
    ? "ok"
    : /^(DOWN|CANCELLED|FAILED|NEW|closed|UNREACHABLE)/.test(status)
      ? "bad"
      : "neutral";
  return h("span", { class: `badge ${kind}`, "data-status": status }, status);
}
