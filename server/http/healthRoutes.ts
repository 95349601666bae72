import { Router } from "express";
import { ErrorCode } from "../../protocol/errors.js";
import { AppError } from "../errors.js";
import { sendData } from "./envelope.js";

/** A dependency readiness depends on: storage, Redis. */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<void>;
}

export interface HealthOptions {
  readonly checks: readonly ReadinessCheck[];
  /** True once shutdown began: the load balancer must stop sending new work. */
  readonly isDraining: () => boolean;
  readonly timeoutMs?: number;
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/**
 * `GET /health/live`: the process runs (restart it if this fails).
 * `GET /health/ready`: every dependency answers and the node is not draining (route traffic).
 */
export function healthRoutes(options: HealthOptions): Router {
  const router = Router();
  const timeoutMs = options.timeoutMs ?? 2_000;

  router.get("/health/live", (_req, res) => {
    sendData(res, { status: "live" });
  });

  router.get("/health/ready", async (_req, res, next) => {
    res.setHeader("Cache-Control", "no-store");
    if (options.isDraining()) {
      next(new AppError(ErrorCode.NOT_READY, "node is shutting down", { draining: true }));
      return;
    }
    const results = await Promise.all(
      options.checks.map(async (c) => {
        try {
          await withTimeout(c.check(), timeoutMs);
          return [c.name, "ok"] as const;
        } catch (err) {
          return [c.name, (err as Error).message] as const;
        }
      }),
    );
    const failed = results.filter(([, status]) => status !== "ok");
    if (failed.length > 0) {
      next(new AppError(ErrorCode.NOT_READY, "a dependency is unavailable", Object.fromEntries(results)));
      return;
    }
    sendData(res, { status: "ready", checks: Object.fromEntries(results) });
  });

  return router;
}
