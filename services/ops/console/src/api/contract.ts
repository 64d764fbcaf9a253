// The HTTP API shapes the console calls, in openapi-typescript's `paths` form. Written from
// /work/wt/CONSOLE_API.md, services/ops/adapters/http/dlq_routes.cpp, order-service's routes and
// libs/runtime; replaced by the types generated from the services' openapi.json files
// (scripts/generate-types.mjs) where those describe the same routes.

type Json<T> = { headers: { [name: string]: unknown }; content: { "application/json": T } };

export interface ErrorBody {
  error: { code: string; message: string; validRange?: { begin: number; end: number } };
}

export interface Header {
  key: string;
  value: string;
}

export interface DeadLetter {
  id: number;
  status: "NEW" | "REPLAYED" | "DISCARDED";
  dltTopic: string;
  dltPartition: number;
  dltOffset: number;
  key: string;
  value: string;
  headers: Header[];
  service: string;
  consumerGroup: string;
  originalTopic: string;
  originalPartition: number | null;
  originalOffset: number | null;
  errorTimestamp: number;
  errorClass: string;
  errorMessage: string;
  errorStacktrace: string;
  attempts: number | null;
  reason: string;
  eventId: string;
  eventType: string;
  replayCount: number;
  firstSeen: string;
  lastSeen: string;
}

export interface AuditEntry {
  action: string;
  actor: string;
  at: string;
  details: string;
}

export interface BulkFilter {
  topic?: string;
  group?: string;
  key?: string;
  status?: string;
  dryRun?: boolean;
}

export interface BulkResult {
  dryRun: boolean;
  matched: number;
  done: number[];
  failed: { id: number; error: { code: string; message: string } }[];
}

export interface TopicRecord {
  offset: number;
  timestamp: number;
  key: string | null;
  headers: Header[];
  value: string;
}

export interface KeyedEvent extends TopicRecord {
  topic: string;
  partition: number;
  eventType: string | null;
  eventId: string | null;
  traceId: string | null;
}

export interface LagGroup {
  group: string;
  totalLag?: number;
  partitions?: {
    topic: string;
    partition: number;
    committed: number;
    endOffset: number;
    lag: number;
  }[];
  error?: { code: string; message: string };
}

export interface AdminStatus {
  intake: string;
  outboxPending: number;
  consumerLag: number;
  inFlight: number;
}

export interface Readiness {
  status: string;
  details?: { [name: string]: unknown };
}

export interface OrderItem {
  sku: string;
  quantity: number;
  unitPrice: string;
}

export interface TimelineEntry {
  from: string;
  to: string;
  eventType: string;
  eventId: string;
  reason: string;
  at: string;
}

export interface Order {
  orderId: number;
  status: string;
  userId: string;
  totalAmount: string;
  currency: string;
  items: OrderItem[];
  createdAt: string;
  updatedAt: string;
  cancelReason?: string;
  timeline?: TimelineEntry[];
}

type PathParams<Path> = [Path] extends [never] ? { path?: never } : { path: Path };
type Get<Query, Path, Ok> = {
  parameters: { query?: Query; header?: never; cookie?: never } & PathParams<Path>;
  requestBody?: never;
  responses: { 200: Json<Ok>; default: Json<ErrorBody> };
};
type Post<Path, Body, Ok> = {
  parameters: { query?: never; header?: never; cookie?: never } & PathParams<Path>;
  requestBody?: { content: { "application/json": Body } };
  responses: { 200: Json<Ok>; default: Json<ErrorBody> };
};
type Route<Ops> = Ops & { parameters: { query?: never; header?: never; path?: never; cookie?: never } };

export interface OpsPaths {
  "/api/dlq": Route<{
    get: Get<
      { topic?: string; group?: string; key?: string; status?: string; limit?: number; offset?: number },
      never,
      { items: DeadLetter[]; total: number; limit: number; offset: number }
    >;
  }>;
  "/api/dlq/{id}": Route<{ get: Get<never, { id: number }, DeadLetter & { audit: AuditEntry[] }> }>;
  "/api/dlq/{id}/replay": Route<{ post: Post<{ id: number }, never, DeadLetter> }>;
  "/api/dlq/{id}/discard": Route<{ post: Post<{ id: number }, never, DeadLetter> }>;
  "/api/dlq/replay": Route<{ post: Post<never, BulkFilter, BulkResult> }>;
  "/api/dlq/discard": Route<{ post: Post<never, BulkFilter, BulkResult> }>;
  "/api/services": Route<{ get: Get<never, never, { services: { name: string; url: string }[] }> }>;
  "/api/topics": Route<{
    get: Get<
      never,
      never,
      { topics: { name: string; partitions: { partition: number; beginOffset: number; endOffset: number }[] }[] }
    >;
  }>;
  "/api/topics/{topic}/records": Route<{
    get: Get<
      { partition: number; offset?: number; limit?: number },
      { topic: string },
      { topic: string; partition: number; beginOffset: number; endOffset: number; records: TopicRecord[] }
    >;
  }>;
  "/api/events": Route<{ get: Get<{ key: string }, never, { key: string; events: KeyedEvent[] }> }>;
  "/api/lag": Route<{ get: Get<never, never, { groups: LagGroup[] }> }>;
}

/** What every service answers (libs/http standard routes, libs/runtime admin routes). */
export interface ServicePaths {
  "/health/ready": Route<{ get: Get<never, never, Readiness> }>;
  "/admin/status": Route<{ get: Get<never, never, AdminStatus> }>;
}

export interface OrderPaths extends ServicePaths {
  "/api/orders/{id}": Route<{ get: Get<never, { id: number }, Order> }>;
  "/api/orders": Route<{
    get: Get<
      { userId?: string; page?: number; size?: number },
      never,
      { items: Order[]; page: number; size: number; total: number }
    >;
  }>;
}
