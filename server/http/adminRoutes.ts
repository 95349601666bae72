import { createHash, timingSafeEqual } from "node:crypto";
import { matchMaker } from "@colyseus/core";
import { type Request, type RequestHandler, Router } from "express";
import { ErrorCode } from "../../protocol/errors.js";
import { AppError } from "../errors.js";
import { sendData } from "./envelope.js";

/** One process of the cluster as Colyseus' matchmaker stats know it. */
export interface ProcessStats {
  readonly processId: string;
  readonly roomCount: number;
  readonly ccu: number;
}

/** Where `GET /admin/cluster` reads this node's state. */
export interface NodeStatusSource {
  readonly publicAddress: string | undefined;
  readonly isDraining: () => boolean;
  /** Activated actors on this node, by kind. */
  readonly actorsByKind: () => ReadonlyMap<string, number>;
  /** Client websockets on this node. */
  readonly sockets: () => number;
  /** This process's id in the cluster (default: the matchmaker's). */
  readonly processId?: () => string | undefined;
  /** Every process in the room directory with its counts (default: `matchMaker.stats.fetchAll()`). */
  readonly cluster?: () => Promise<readonly ProcessStats[]>;
}

export interface AdminOptions extends NodeStatusSource {
  /** The admin bearer secret (`ADMIN_TOKEN`); absent: no admin route exists (404). */
  readonly token: string | undefined;
  /** Mount `@colyseus/monitor` at `/admin/monitor` (default true; it needs the Colyseus matchmaker). */
  readonly monitor?: boolean;
  /** How long the cluster view may take before the answer goes out without it (default 2,000 ms). */
  readonly clusterTimeoutMs?: number;
}

/** The `GET /admin/cluster` payload. */
export interface ClusterStatus {
  readonly processId: string | null;
  readonly publicAddress: string | null;
  readonly uptimeSeconds: number;
  readonly draining: boolean;
  readonly actors: Record<string, number>;
  readonly sockets: number;
  readonly memory: {
    readonly rssBytes: number;
    readonly heapUsedBytes: number;
    readonly heapTotalBytes: number;
    readonly externalBytes: number;
  };
  readonly cluster:
    | { readonly processes: readonly (ProcessStats & { readonly self: boolean })[] }
    | { readonly error: string };
}

const REALM = 'realm="lovecraft-admin"';

/** Room methods the monitor UI may invoke: dispose a room, disconnect one client. Nothing else. */
const MONITOR_ROOM_CALLS = new Set(["disconnect", "_forceClientDisconnect"]);
/** The monitor's own paths (relative to its mount); anything else is refused before it sees it. */
const MONITOR_PATHS = new Set(["/", "/api", "/api/room", "/api/room/call"]);
const MONITOR_ASSET = /^\/assets\/[A-Za-z0-9._-]+$/;

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/** Constant-time comparison of two secrets of any length (both are hashed first). */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}

/** The secret a request presents: `Bearer <token>`, or (browsers, the monitor only) Basic's password. */
function presented(req: Request, allowBasic: boolean): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const space = header.indexOf(" ");
  if (space < 0) return undefined;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === "bearer") return value;
  if (scheme === "basic" && allowBasic) {
    const decoded = Buffer.from(value, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return colon < 0 ? undefined : decoded.slice(colon + 1);
  }
  return undefined;
}

function requireAdmin(token: string, allowBasic: boolean): RequestHandler {
  return (req, res, next) => {
    const secret = presented(req, allowBasic);
    // Compared even when absent, so a missing header takes the same path as a wrong one.
    const ok = sameSecret(secret ?? "", token) && secret !== undefined;
    if (ok) {
      next();
      return;
    }
    res.setHeader("WWW-Authenticate", allowBasic ? `Basic ${REALM}, charset="UTF-8"` : `Bearer ${REALM}`);
    next(new AppError(ErrorCode.UNAUTHORIZED, "admin credentials required"));
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/** This node's state and the cluster view, as `GET /admin/cluster` answers it. */
export async function clusterStatus(source: NodeStatusSource, timeoutMs = 2_000): Promise<ClusterStatus> {
  const processId = (source.processId ?? (() => matchMaker.processId))() ?? null;
  const fetchCluster = source.cluster ?? (() => matchMaker.stats.fetchAll());
  let cluster: ClusterStatus["cluster"];
  try {
    const processes = await withTimeout(Promise.resolve().then(fetchCluster), timeoutMs);
    cluster = {
      processes: [...processes]
        .map((p) => ({
          processId: p.processId,
          roomCount: p.roomCount,
          ccu: p.ccu,
          self: p.processId === processId,
        }))
        .sort((a, b) => a.processId.localeCompare(b.processId)),
    };
  } catch {
    // The node's own view is most wanted exactly when the directory (Redis) is in trouble.
    cluster = { error: "the room directory did not answer" };
  }
  const memory = process.memoryUsage();
  return {
    processId,
    publicAddress: source.publicAddress ?? null,
    uptimeSeconds: Math.round(process.uptime()),
    draining: source.isDraining(),
    actors: Object.fromEntries(source.actorsByKind()),
    sockets: source.sockets(),
    memory: {
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      heapTotalBytes: memory.heapTotal,
      externalBytes: memory.external,
    },
    cluster,
  };
}

/** Keeps the monitor to its own pages and to the two harmless room actions its UI offers. */
const monitorGuard: RequestHandler = (req, _res, next) => {
  if (
    (req.method !== "GET" && req.method !== "HEAD") ||
    !(MONITOR_PATHS.has(req.path) || MONITOR_ASSET.test(req.path))
  ) {
    next(new AppError(ErrorCode.NOT_FOUND, "no such monitor page"));
    return;
  }
  if (req.path === "/api/room/call") {
    // `remoteRoomCall(roomId, method, args)` would otherwise run any room method, `actorCall`
    // included (any command as any user). The raw query is read so duplicates cannot disagree.
    const query = new URLSearchParams(req.originalUrl.split("?")[1] ?? "");
    const methods = query.getAll("method");
    if (methods.length !== 1 || !MONITOR_ROOM_CALLS.has(methods[0] as string)) {
      next(new AppError(ErrorCode.FORBIDDEN, "this room method is not available from the monitor"));
      return;
    }
  }
  next();
};

/**
 * Operator routes, mounted at the app's root (not under `/api/v1`), all behind `ADMIN_TOKEN`:
 * - `GET /admin/cluster`: this node (process id, address, uptime, draining, actors by kind,
 *   sockets, memory) and every process of the cluster with its room and client counts.
 *   `Authorization: Bearer <ADMIN_TOKEN>` only.
 * - `/admin/monitor/`: `@colyseus/monitor`. Also accepts HTTP Basic with the token as password,
 *   so a browser can open it (it then sends the same credentials with the panel's own requests).
 * Without a token nothing is mounted and `/admin/...` answers 404 like any unknown path.
 */
export function adminRoutes(options: AdminOptions): Router {
  const router = Router();
  const token = options.token;
  if (token === undefined) return router;

  router.get("/admin/cluster", requireAdmin(token, false), async (_req, res, next) => {
    try {
      res.setHeader("Cache-Control", "no-store");
      sendData(res, await clusterStatus(options, options.clusterTimeoutMs));
    } catch (err) {
      next(err);
    }
  });
  if (options.monitor ?? true) {
    // Loaded only when admin routes exist: importing the monitor patches `Room.prototype` with its
    // inspection and action methods.
    const panel = import("@colyseus/monitor").then(({ monitor }) => monitor());
    panel.catch(() => undefined); // surfaced per request below
    router.use("/admin/monitor", requireAdmin(token, true), monitorGuard, (req, res, next) => {
      panel.then((handle) => handle(req, res, next), next);
    });
  }
  // Any other admin path: authenticated first, so unauthenticated callers learn nothing.
  router.use("/admin", requireAdmin(token, false));
  return router;
}
