import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

/** One registry per node (no global default registry, so tests can build several). */
export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<"method" | "route" | "status">;
  readonly httpDuration: Histogram<"method" | "route">;
  /** `error` events of the node's Redis client (connection refused, reset, timeouts). */
  readonly redisErrors: Counter;
  /** Failed storage operations (not `ConcurrencyError`, which is normal control flow), by operation. */
  readonly storageErrors: Counter<"op">;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  // Process and runtime metrics under the same prefix: CPU, RSS, heap
  // (`lovecraft_nodejs_heap_size_used_bytes`), event-loop lag (`lovecraft_nodejs_eventloop_lag_*`), GC.
  collectDefaultMetrics({ register: registry, prefix: "lovecraft_" });
  return {
    registry,
    httpRequests: new Counter({
      name: "lovecraft_http_requests_total",
      help: "HTTP requests answered, by route and status",
      labelNames: ["method", "route", "status"],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: "lovecraft_http_request_duration_seconds",
      help: "HTTP request latency by route",
      labelNames: ["method", "route"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    redisErrors: new Counter({
      name: "lovecraft_redis_errors_total",
      help: "Error events of this node's Redis client (each failed connect or reconnect counts)",
      registers: [registry],
    }),
    storageErrors: new Counter({
      name: "lovecraft_storage_errors_total",
      help: "Storage operations that failed (concurrency conflicts excluded), by operation",
      labelNames: ["op"],
      registers: [registry],
    }),
  };
}
