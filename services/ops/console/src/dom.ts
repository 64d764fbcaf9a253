// DOM building without HTML strings: every value reaches the page as a text node or an
// attribute set through the DOM, so keys, headers and values (untrusted) are never parsed as HTML.

export type Child = Node | string | number | boolean | null | undefined | Child[];

type Props = {
  [name: string]: string | number | boolean | null | undefined | ((ev: Event) => void);
};

/** Creates `<tag>` with attributes, `on<event>` listeners and children (strings become text). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "value" && "value" in el) {
      (el as HTMLInputElement).value = String(value);
    } else if (name === "checked" && el instanceof HTMLInputElement) {
      el.checked = Boolean(value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Appends children (strings as text nodes, nested arrays flattened, null/false skipped). */
export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false || child === true) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces the children of `parent`. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A table with a header row; each row is a list of cells. */
export function table(testid: string, headers: string[], rows: Child[][]): HTMLTableElement {
  return h(
    "table",
    { "data-testid": testid },
    h("thead", {}, h("tr", {}, headers.map((t) => h("th", {}, t)))),
    h(
      "tbody",
      {},
      rows.map((cells) => h("tr", {}, cells.map((c) => h("td", {}, c)))),
    ),
  );
}

/** A value shown as preformatted text; JSON strings are pretty-printed. */
export function pre(text: string | null | undefined, testid?: string): HTMLPreElement {
  let shown = text ?? "";
  try {
    const parsed: unknown = JSON.parse(shown);
    if (parsed !== null && typeof parsed === "object") shown = JSON.stringify(parsed, null, 2);
  } catch {
    // Not JSON: shown as it is.
  }
  return h("pre", { class: "value", "data-testid": testid }, shown);
}

/** Milliseconds since the epoch as local ISO-like text. */
export function time(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "";
  return new Date(ms).toISOString().replace("T", " ").replace("Z", " UTC");
}

/** A labelled input for a form. */
export function field(label: string, input: HTMLElement): HTMLLabelElement {
  return h("label", { class: "field" }, h("span", {}, label), input);
}
