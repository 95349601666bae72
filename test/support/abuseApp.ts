import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Express } from "express";
import type { RouteDoc } from "../../server/http/apiDocs.js";
import { API_ROUTE_DOCS, createHttpApp } from "../../server/http/createHttpApp.js";
import { createLogger } from "../../server/logger.js";
import { createMetrics } from "../../server/metrics.js";
import type { Storage } from "../../server/persistence/ports.js";
import { seedIfEmpty } from "../../server/persistence/seed/seed.js";
import { openEmbeddedStorage } from "../../server/persistence/sqlite/openEmbeddedStorage.js";
import { createStores, type Stores } from "../../server/persistence/stores/index.js";
import type { SeatBroker } from "../../server/rooms/seats.js";
import type { SocketAuth } from "../../server/rooms/UserRoom.js";
import { buildAuth, noActors } from "./authDeps.js";

/**
 * The REST app as `createHttpApp` builds it for production, in-process, for the HTTP abuse
 * tests: real stores (embedded, seeded), real auth, an origin allowlist, and a fake seat broker
 * that records what reached it (so `POST /realtime/connect` and `GET /users/:id` are mounted; a
 * request that must be refused must never reach the broker or an actor).
 */

/** Every documented route, as the app mounts them (the route table of the abuse tests). */
export const ROUTE_TABLE: readonly RouteDoc[] = API_ROUTE_DOCS;

export const routeKey = (r: Pick<RouteDoc, "method" | "path">) => `${r.method.toUpperCase()} ${r.path}`;

/** Names of a route's path parameters, in path order. */
export const paramNames = (r: Pick<RouteDoc, "path">) =>
  [...r.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);

/** The concrete `/api/v1/...` path with each `{param}` replaced by its (already encoded) value. */
export function concretePath(r: Pick<RouteDoc, "path">, values: Record<string, string>): string {
  return `/api/v1${r.path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for {${name}} in ${r.path}`);
    return value;
  })}`;
}

export interface AbuseApp {
  readonly app: Express;
  readonly stores: Stores;
  readonly storage: Storage;
  readonly auth: Awaited<ReturnType<typeof buildAuth>>;
  /** Seat reservations the connect route asked for. */
  readonly seatCalls: SocketAuth[];
  close(): Promise<void>;
}

export async function buildAbuseApp(options: { corsOrigins?: readonly string[] } = {}): Promise<AbuseApp> {
  const dir = mkdtempSync(join(tmpdir(), "lovecraft-abuse-http-"));
  const storage = openEmbeddedStorage(dir);
  const stores = createStores(storage);
  const logger = createLogger({ level: "silent" });
  await seedIfEmpty(stores, logger);
  const auth = await buildAuth(stores);
  const seatCalls: SocketAuth[] = [];
  const seats: SeatBroker = {
    async reserveUserSeat(socketAuth) {
      seatCalls.push(socketAuth);
      return {
        name: "user",
        roomId: `user_${socketAuth.userId}`,
        processId: "fake",
        sessionId: randomUUID(),
      };
    },
  };
  const app = createHttpApp({
    logger,
    metrics: createMetrics(),
    stores,
    auth,
    actors: noActors,
    health: { checks: [], isDraining: () => false },
    corsOrigins: options.corsOrigins ?? ["*"],
    trustProxy: "loopback",
    seats,
  });
  return {
    app,
    stores,
    storage,
    auth,
    seatCalls,
    async close() {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/**
 * One request with the request target sent byte for byte as given (no URL normalization, unlike
 * fetch or supertest, which resolve `..` and re-encode), against a listening server.
 */
export function rawRequest(
  port: number,
  options: { method: string; path: string; headers?: Record<string, string>; body?: Buffer | string },
  timeoutMs = 10_000,
): Promise<RawAnswer> {
  const headers = { ...options.headers };
  if (options.body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === "content-length")) {
    headers["content-length"] = String(Buffer.byteLength(options.body));
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port, method: options.method, path: options.path, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("error", reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** Starts the app on an ephemeral loopback port. */
export async function listen(app: Express): Promise<{ port: number; close(): Promise<void> }> {
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
