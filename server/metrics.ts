import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

/** One registry per node (no global default registry, so tests can build several). */
export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<"method" | "route" | "status">;
  readonly httpDuration: Histogram<"method" | "route">;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
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
  };
}
