// Clients of ops-service's API and, through its /svc/{service}/ proxy, of every service's API:
// openapi-fetch typed by the services' OpenAPI descriptions, the token from sessionStorage sent as
// `Authorization: Bearer`, every non-2xx answer turned into an ApiError.
import createClient, { type Middleware } from "openapi-fetch";
import type { ErrorBody, OpsPaths, OrderPaths, ServicePaths } from "./types";

const TOKEN_KEY = "orderflow.console.token";

/** The bearer token of this browser tab ("" when none). */
export function token(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

/** Keeps `value` as the tab's token (empty: forget it). */
export function setToken(value: string): void {
  if (value.trim() === "") sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, value.trim());
}

/** A non-2xx answer, or no answer at all (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Partial<ErrorBody> | undefined,
  ) {
    super(message);
  }

  /** The caller's token was missing, invalid or not an admin's. */
  get isAuth(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

type AuthListener = (error: ApiError | null) => void;
const authListeners: AuthListener[] = [];

/** Called with each 401/403 answer, and with null after a call that was let through. */
export function onAuth(listener: AuthListener): void {
  authListeners.push(listener);
}

const auth: Middleware = {
  onRequest({ request }) {
    const t = token();
    if (t !== "") request.headers.set("Authorization", `Bearer ${t}`);
    return request;
  },
};

const origin = window.location.origin;

/** ops-service's own API (DLQ, services, topics, events, lag). */
export const ops = createClient<OpsPaths>({ baseUrl: origin });
ops.use(auth);

/** order-service's API through ops-service's proxy. */
export const orders = createClient<OrderPaths>({ baseUrl: `${origin}/svc/order-service` });
orders.use(auth);

/** Any service instance's standard routes through the proxy. */
export function service(name: string) {
  const client = createClient<ServicePaths>({
    baseUrl: `${origin}/svc/${encodeURIComponent(name)}`,
  });
  client.use(auth);
  return client;
}

type Answer<T> = { data?: T; error?: unknown; response: Response };

/**
 * The data of a 2xx answer; throws ApiError otherwise (code and message from the error body
 * when there is one). A 401/403 is reported to the onAuth listeners (the page's banner).
 */
export async function call<T>(pending: Promise<Answer<T>>): Promise<T> {
  let answer: Answer<T>;
  try {
    answer = await pending;
  } catch (e) {
    throw new ApiError(0, "NETWORK", `no answer from ops-service: ${String(e)}`, undefined);
  }
  const { data, error, response } = answer;
  if (response.ok && data !== undefined) {
    authListeners.forEach((l) => l(null));
    return data;
  }
  const body = (typeof error === "object" && error !== null ? error : undefined) as
    | Partial<ErrorBody>
    | undefined;
  const code = body?.error?.code ?? `HTTP_${response.status}`;
  const message = body?.error?.message ?? (typeof error === "string" ? error : response.statusText);
  const failure = new ApiError(response.status, code, message, body);
  if (failure.isAuth) authListeners.forEach((l) => l(failure));
  throw failure;
}

/** Like call(), for answers whose non-2xx status is data too (readiness: 503 = not ready). */
export async function callAny<T>(
  pending: Promise<Answer<T>>,
): Promise<{ status: number; body: T | Partial<ErrorBody> | undefined }> {
  try {
    const { data, error, response } = await pending;
    if (response.status === 401 || response.status === 403) {
      await call(Promise.resolve({ data: undefined, error, response }));
    }
    return { status: response.status, body: (data ?? error) as T | Partial<ErrorBody> | undefined };
  } catch (e) {
    if (e instanceof ApiError) throw e;
    return { status: 0, body: undefined };
  }
}
