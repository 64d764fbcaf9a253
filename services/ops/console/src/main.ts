// The ops console: a hash router over four pages, the token form and the auth banner.
import "./style.css";
import { type ApiError, onAuth, setToken, token } from "./api/client";
import { h, replace } from "./dom";
import { dlqPage } from "./pages/dlq";
import { healthPage } from "./pages/health";
import { ordersPage } from "./pages/orders";
import { topicsPage } from "./pages/topics";

/** A page renders into `root`; what it returns is called when another page replaces it. */
export type Page = (root: HTMLElement, params: URLSearchParams) => (() => void) | void;

const pages: { path: string; title: string; page: Page }[] = [
  { path: "health", title: "Health", page: healthPage },
  { path: "orders", title: "Orders", page: ordersPage },
  { path: "topics", title: "Topics", page: topicsPage },
  { path: "dlq", title: "Dead letters", page: dlqPage },
];

const root = document.getElementById("page") as HTMLElement;
const nav = document.getElementById("nav") as HTMLElement;
const banner = document.getElementById("auth-error") as HTMLElement;
let leave: (() => void) | void;

function route(): void {
  const hash = window.location.hash.replace(/^#\/?/, "");
  const [path = "", query = ""] = hash.split("?", 2);
  const current = pages.find((p) => p.path === path) ?? pages[0]!;
  replace(
    nav,
    pages.map((p) =>
      h(
        "a",
        { href: `#/${p.path}`, class: p === current ? "active" : "", "data-testid": `nav-${p.path}` },
        p.title,
      ),
    ),
  );
  if (leave) leave();
  replace(root);
  document.title = `${current.title} · orderflow ops`;
  root.dataset.page = current.path;
  root.dataset.route = window.location.hash; // which route the page shows (for the browser test)
  leave = current.page(root, new URLSearchParams(query));
}

function showAuth(error: ApiError | null): void {
  if (error === null) {
    banner.hidden = true;
    return;
  }
  const hint =
    error.status === 401
      ? token() === ""
        ? "This API needs a bearer token: paste an admin token above."
        : "The token was refused: paste a valid admin token above."
      : "The token is valid but not an admin's: these pages need the admin role.";
  replace(
    banner,
    h("strong", {}, `${error.status} ${error.status === 401 ? "Unauthorized" : "Forbidden"}`),
    ` (${error.code}: ${error.message}). ${hint}`,
  );
  banner.hidden = false;
}

function tokenForm(): void {
  const form = document.getElementById("token-form") as HTMLFormElement;
  const input = document.getElementById("token") as HTMLInputElement;
  const state = document.getElementById("token-state") as HTMLElement;
  const show = () => {
    state.textContent = token() === "" ? "no token" : "token set";
  };
  input.value = token();
  show();
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    setToken(input.value);
    show();
    route();
  });
  document.getElementById("token-clear")?.addEventListener("click", () => {
    input.value = "";
    setToken("");
    show();
    route();
  });
}

onAuth(showAuth);
tokenForm();
window.addEventListener("hashchange", route);
route();
