/**
 * A node for `npm run bench:actors`: the test `counter` actor kind plus routes that run
 * measurements inside the node (so HTTP overhead does not pollute runtime latencies).
 */

import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { type Express, json } from "express";
import type { ActorRuntime } from "../../server/actors/runtime/ActorRuntime.js";
import { loadSigningKey } from "../../server/auth/signingKey.js";
import { TokenService } from "../../server/auth/TokenService.js";
import { loadConfig } from "../../server/config.js";
import { createLogger } from "../../server/logger.js";
import { type RunningNode, startNode } from "../../server/node.js";
import { sharedKeySlot } from "../../server/persistence/stores/SharedKeyStore.js";
import { counterActor } from "../../test/support/counterActor.js";
import { summarize } from "./stats.js";

/** Runs `count` tasks with at most `concurrency` in flight; returns each task's latency (ms). */
async function timedPool(count: number, concurrency: number, task: (i: number) => Promise<boolean>) {
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        if (await task(i)) latencies.push(performance.now() - t0);
        else failed++;
      }
    }),
  );
  const ms = performance.now() - started;
  return { ms, perSecond: (latencies.length / ms) * 1000, failed, latency: summarize(latencies) };
}

function routes(app: Express, actors: ActorRuntime): void {
  const ref = (id: string) => ({ kind: "counter", id });
  const num = (v: unknown, d: number) => (v === undefined ? d : Number(v));

  /** Activates `count` actors `<prefix>-<i>` with a `get` each. */
  app.post("/bench/activate", json(), async (req, res) => {
    const { prefix, count, concurrency } = req.body as { prefix: string; count: number; concurrency: number };
    res.json(
      await timedPool(
        count,
        concurrency,
        async (i) => (await actors.call(ref(`${prefix}-${i}`), { type: "get" })).ok,
      ),
    );
  });

  /** `n` adds per actor on `actorCount` actors, `inflight` at a time per actor. */
  app.post("/bench/appends", json(), async (req, res) => {
    const { prefix, actorCount, n, inflight } = req.body as Record<string, never>;
    const perActor = await Promise.all(
      Array.from({ length: num(actorCount, 1) }, (_, a) =>
        timedPool(
          num(n, 1000),
          num(inflight, 64),
          async () => (await actors.call(ref(`${prefix}-${a}`), { type: "add", amount: 1 })).ok,
        ),
      ),
    );
    const total = perActor.reduce((s, r) => s + r.latency.count, 0);
    const ms = Math.max(...perActor.map((r) => r.ms));
    res.json({
      total,
      ms,
      perSecond: (total / ms) * 1000,
      latency: perActor[0]?.latency,
      failed: perActor.reduce((s, r) => s + r.failed, 0),
    });
  });

  /** `n` sequential `get` calls to one actor: call latency from this node. */
  app.post("/bench/calls", json(), async (req, res) => {
    const { id, n } = req.body as { id: string; n: number };
    res.json(await timedPool(n, 1, async () => (await actors.call(ref(id), { type: "get" })).ok));
  });

  /**
   * CPU profile of this process for `seconds`: the functions with the most self time. With
   * `path`, the whole profile is also written there (open it in Chrome DevTools, or sum inclusive
   * time per function) — for call trees, not just the hottest leaves.
   */
  app.get("/bench/profile", async (req, res) => {
    const { Session } = await import("node:inspector/promises");
    const session = new Session();
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
    await new Promise((r) => setTimeout(r, num(req.query.seconds, 10) * 1000));
    const { profile } = await session.post("Profiler.stop");
    session.disconnect();
    if (typeof req.query.path === "string") await writeFile(req.query.path, JSON.stringify(profile));
    const self = new Map<string, number>();
    const interval = (profile.endTime - profile.startTime) / Math.max(1, profile.samples?.length ?? 1);
    const counts = new Map<number, number>();
    for (const id of profile.samples ?? []) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const node of profile.nodes) {
      const f = node.callFrame;
      const key = `${f.functionName || "(anonymous)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber}`;
      self.set(key, (self.get(key) ?? 0) + ((counts.get(node.id) ?? 0) * interval) / 1000);
    }
    res.json([...self].sort((a, b) => b[1] - a[1]).slice(0, 25));
  });

  /**
   * `count` accounts with sessions and access tokens, without password hashing (argon2 would
   * dominate a large run; see shared/notes/security.md). For load tests on loopback only.
   */
  app.post("/bench/sessions", json(), async (req, res) => {
    const { count, prefix } = req.body as { count: number; prefix: string };
    const stores = running().stores;
    const tokens = await tokenService();
    const sessions = [];
    for (let i = 0; i < count; i++) {
      const now = new Date().toISOString();
      const account = {
        id: randomUUID(),
        email: `${prefix}-${i}@bench.invalid`,
        passwordHash: "unusable",
        displayName: `${prefix} ${i}`,
        createdAt: now,
        tokenVersion: 0,
      };
      await stores.accounts.create(account);
      const refresh = tokens.newRefreshToken();
      await stores.refreshTokens.createFamily(
        { familyId: refresh.familyId, userId: account.id, createdAt: now, tokenVersion: 0 },
        { hash: refresh.hash, issuedAt: now, expiresAt: new Date(Date.now() + 86_400_000).toISOString() },
      );
      const accessToken = await tokens.issueAccess({
        userId: account.id,
        tokenVersion: 0,
        familyId: refresh.familyId,
      });
      sessions.push({
        user: { id: account.id, email: account.email, displayName: account.displayName },
        accessToken,
        refreshToken: refresh.token,
      });
    }
    res.json(sessions);
  });

  /** Makes two users match through their actors (as two likes would). */
  app.post("/bench/match", json(), async (req, res) => {
    const { a, b } = req.body as { a: string; b: string };
    await actors.call({ kind: "user", id: a }, { type: "like", userId: b });
    const second = await actors.call({ kind: "user", id: b }, { type: "like", userId: a });
    res.json(second);
  });

  /** Room ids of the actors activated on this node. */
  app.get("/bench/actors", (_req, res) => {
    res.json([...actors.localActors()].map((r) => r.roomId));
  });

  /**
   * Where this process allocates, for `seconds`: a sampling heap profile that keeps the samples
   * of objects already collected (what drives GC), written to `path` (open in Chrome DevTools'
   * Memory tab); answers the functions with the most bytes allocated.
   */
  app.get("/bench/allocations", async (req, res) => {
    const { Session } = await import("node:inspector/promises");
    const session = new Session();
    session.connect();
    await session.post("HeapProfiler.startSampling", {
      samplingInterval: 16_384,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    await new Promise((r) => setTimeout(r, num(req.query.seconds, 10) * 1000));
    const { profile } = await session.post("HeapProfiler.stopSampling");
    session.disconnect();
    if (typeof req.query.path === "string") await writeFile(req.query.path, JSON.stringify(profile));
    const bytes = new Map<string, number>();
    const visit = (node: (typeof profile)["head"]) => {
      const f = node.callFrame;
      const key = `${f.functionName || "(anonymous)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber}`;
      bytes.set(key, (bytes.get(key) ?? 0) + node.selfSize);
      for (const child of node.children) visit(child);
    };
    visit(profile.head);
    res.json([...bytes].sort((a, b) => b[1] - a[1]).slice(0, 30));
  });

  /** Writes a heap snapshot (after the full GC it implies) to `?path=` for offline analysis. */
  app.post("/bench/heap", async (req, res) => {
    const { writeHeapSnapshot } = await import("node:v8");
    res.json({ file: writeHeapSnapshot(String(req.query.path)) });
  });

  app.get("/bench/memory", (_req, res) => {
    res.json({ ...process.memoryUsage(), actors: Object.fromEntries(actors.countByKind()) });
  });
}

const config = loadConfig(process.env);
let node: RunningNode | undefined;
const running = (): RunningNode => {
  if (!node) throw new Error("node not started");
  return node;
};
/** The node's own signing key (same file or configured key), so issued tokens verify there. */
let tokens: TokenService | undefined;
async function tokenService(): Promise<TokenService> {
  tokens ??= new TokenService(
    await loadSigningKey({
      pem: config.jwt.privateKeyPem,
      dataDir: config.dataDir,
      ...(config.storage.kind === "azure" ? { shared: sharedKeySlot(running().stores.storage.tables) } : {}),
    }),
    config.jwt.issuer,
    config.jwt.audience,
  );
  return tokens;
}
node = await startNode(config, createLogger({ level: config.logLevel }), {
  // The benchmark's clients join counter rooms without accounts: the one kind that allows that.
  actorDefinitions: [{ ...counterActor, authorizeClient: () => true }],
  routes,
});
process.once("SIGTERM", () => void node.stop("SIGTERM").then(() => process.exit(0)));
process.once("SIGINT", () => void node.stop("SIGINT").then(() => process.exit(0)));
