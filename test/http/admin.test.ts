import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countSockets, createActorMetrics } from "../../server/actors/runtime/metrics.js";
import { ConfigError, loadConfig } from "../../server/config.js";
import { type AdminOptions, sameSecret } from "../../server/http/adminRoutes.js";
import { createHttpApp } from "../../server/http/createHttpApp.js";
import { createLogger } from "../../server/logger.js";
import { createMetrics, type Metrics } from "../../server/metrics.js";
import { instrumentStorage } from "../../server/persistence/instrumented.js";
import type { Storage } from "../../server/persistence/ports.js";
import { openEmbeddedStorage } from "../../server/persistence/sqlite/openEmbeddedStorage.js";
import { createStores, type Stores } from "../../server/persistence/stores/index.js";
import { buildAuth, noActors } from "../support/authDeps.js";

const logger = createLogger({ level: "silent" });
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const TOKEN = randomBytes(32).toString("base64url");

let dir: string;
let storage: Storage;
let stores: Stores;
let metrics: Metrics;
let auth: Awaited<ReturnType<typeof buildAuth>>;

/** A node's state as the stubbed runtime reports it. */
const source = {
  publicAddress: "lb.example/2567",
  isDraining: () => false,
  actorsByKind: () =>
    new Map([
      ["user", 2],
      ["chat", 1],
    ]),
  sockets: () => countSockets([{ clients: [1, 2, 3] }, { clients: [] }]),
  processId: () => "proc-a",
  cluster: async () => [
    { processId: "proc-b", roomCount: 4, ccu: 7 },
    { processId: "proc-a", roomCount: 3, ccu: 3 },
  ],
};

function buildApp(admin?: AdminOptions, appMetrics: Metrics = metrics, appStores: Stores = stores) {
  return createHttpApp({
    logger,
    metrics: appMetrics,
    stores: appStores,
    auth,
    actors: noActors,
    health: { checks: [], isDraining: () => false },
    corsOrigins: ["*"],
    trustProxy: "loopback",
    ...(admin ? { admin } : {}),
  });
}

const basic = (password: string, user = "admin") =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lovecraft-admin-"));
  metrics = createMetrics();
  storage = instrumentStorage(openEmbeddedStorage(join(dir, "main")), (op) =>
    metrics.storageErrors.inc({ op }),
  );
  stores = createStores(storage);
  auth = await buildAuth(stores);
});

afterAll(async () => {
  await storage?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("ADMIN_TOKEN configuration", () => {
  it("is optional, at least 32 characters, without whitespace, and never echoed", () => {
    expect(loadConfig({}).adminToken).toBeUndefined();
    expect(loadConfig({ ADMIN_TOKEN: "" }).adminToken).toBeUndefined();
    expect(loadConfig({ ADMIN_TOKEN: TOKEN }).adminToken).toBe(TOKEN);
    for (const bad of ["short-secret-value", `${"x".repeat(20)} ${"y".repeat(20)}`]) {
      let error: unknown;
      try {
        loadConfig({ ADMIN_TOKEN: bad });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/^Invalid configuration: ADMIN_TOKEN /);
      expect((error as Error).message).not.toContain(bad);
      expect((error as Error).message).not.toContain("short-secret");
    }
  });

  it("is redacted from logs by key", () => {
    // pino writes to fd 1 directly: log from a child process and read what it printed.
    const code = `import { createLogger } from "./server/logger.ts";
      const t = process.env.T;
      createLogger({ level: "info" }).info({ adminToken: t, config: { adminToken: t } }, "config");`;
    const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", T: TOKEN },
      encoding: "utf8",
    });
    expect(run.stderr).toBe("");
    expect(run.stdout).toContain('"msg":"config"');
    expect(run.stdout).not.toContain(TOKEN);
    expect(JSON.parse(run.stdout)).toMatchObject({
      adminToken: "[redacted]",
      config: { adminToken: "[redacted]" },
    });
  });
});

describe("admin routes without ADMIN_TOKEN", () => {
  it("do not exist: 404 like any unknown path, with or without credentials", async () => {
    for (const app of [buildApp(), buildApp({ ...source, token: undefined })]) {
      for (const path of ["/admin/cluster", "/admin/monitor/", "/admin/monitor/api"]) {
        const res = await request(app).get(path).set("Authorization", `Bearer ${TOKEN}`);
        expect(res.status, path).toBe(404);
        expect(res.body.error.code).toBe("NOT_FOUND");
      }
    }
  });
});

describe("GET /admin/cluster", () => {
  const app = () => buildApp({ ...source, token: TOKEN });

  it("answers 401 without a token, with a wrong one, or with another scheme", async () => {
    const attempts: [string, string | undefined][] = [
      ["missing", undefined],
      ["wrong", `Bearer ${TOKEN.slice(0, -1)}x`],
      ["prefix", `Bearer ${TOKEN.slice(0, 10)}`],
      ["longer", `Bearer ${TOKEN}x`],
      ["empty", "Bearer "],
      ["no scheme", TOKEN],
      ["basic", basic(TOKEN)],
    ];
    for (const [what, header] of attempts) {
      const req = request(app()).get("/admin/cluster");
      const res = await (header === undefined ? req : req.set("Authorization", header));
      expect(res.status, what).toBe(401);
      expect(res.body.error.code).toBe("UNAUTHORIZED");
      expect(res.headers["www-authenticate"]).toMatch(/^Bearer /);
      expect(JSON.stringify(res.body)).not.toContain(TOKEN);
    }
    // Unknown admin paths give nothing away either.
    expect((await request(app()).get("/admin/anything")).status).toBe(401);
    expect((await request(app()).get("/admin/anything").set("Authorization", `Bearer ${TOKEN}`)).status).toBe(
      404,
    );
  });

  it("answers 200 with the node and cluster view for the right bearer token", async () => {
    const res = await request(app()).get("/admin/cluster").set("Authorization", `Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.headers["cache-control"]).toBe("no-store");
    const data = res.body.data;
    expect(data).toMatchObject({
      processId: "proc-a",
      publicAddress: "lb.example/2567",
      draining: false,
      actors: { user: 2, chat: 1 },
      sockets: 3,
      cluster: {
        processes: [
          { processId: "proc-a", roomCount: 3, ccu: 3, self: true },
          { processId: "proc-b", roomCount: 4, ccu: 7, self: false },
        ],
      },
    });
    expect(data.uptimeSeconds).toBeGreaterThanOrEqual(0);
    for (const key of ["rssBytes", "heapUsedBytes", "heapTotalBytes", "externalBytes"]) {
      expect(data.memory[key], key).toBeGreaterThan(0);
    }
    // The scheme is case-insensitive.
    expect((await request(app()).get("/admin/cluster").set("Authorization", `bearer ${TOKEN}`)).status).toBe(
      200,
    );
  });

  it("still answers with this node's view when the room directory does not", async () => {
    const slow = buildApp({
      ...source,
      token: TOKEN,
      isDraining: () => true,
      cluster: () => new Promise(() => undefined),
      clusterTimeoutMs: 50,
    });
    const failing = buildApp({
      ...source,
      token: TOKEN,
      cluster: () => Promise.reject(new Error("ECONNREFUSED")),
    });
    for (const app of [slow, failing]) {
      const res = await request(app).get("/admin/cluster").set("Authorization", `Bearer ${TOKEN}`);
      expect(res.status).toBe(200);
      expect(res.body.data.cluster).toEqual({ error: "the room directory did not answer" });
      expect(res.body.data.sockets).toBe(3);
    }
    const drained = await request(slow).get("/admin/cluster").set("Authorization", `Bearer ${TOKEN}`);
    expect(drained.body.data.draining).toBe(true);
  });

  it("compares secrets of any length without throwing", () => {
    expect(sameSecret(TOKEN, TOKEN)).toBe(true);
    expect(sameSecret("", TOKEN)).toBe(false);
    expect(sameSecret(`${TOKEN}${TOKEN}`, TOKEN)).toBe(false);
  });
});

describe("/admin/monitor (@colyseus/monitor)", () => {
  const app = () => buildApp({ ...source, token: TOKEN });

  it("asks browsers for credentials and refuses wrong ones", async () => {
    for (const header of [undefined, basic("wrong"), `Bearer wrong`]) {
      const req = request(app()).get("/admin/monitor/");
      const res = await (header === undefined ? req : req.set("Authorization", header));
      expect(res.status).toBe(401);
      expect(res.headers["www-authenticate"]).toMatch(/^Basic realm="lovecraft-admin"/);
    }
  });

  it("serves the panel and its assets with the token (Basic password or Bearer)", async () => {
    const redirect = await request(app()).get("/admin/monitor").set("Authorization", basic(TOKEN));
    expect(redirect.status).toBe(302);
    expect(redirect.headers.location).toBe("/admin/monitor/");
    for (const header of [basic(TOKEN), basic(TOKEN, ""), `Bearer ${TOKEN}`]) {
      const res = await request(app()).get("/admin/monitor/").set("Authorization", header);
      expect(res.status).toBe(200);
      expect(res.headers["content-type"]).toMatch(/text\/html/);
      const asset = /src="\.\/(assets\/[^"]+\.js)"/.exec(res.text)?.[1];
      expect(asset).toBeDefined();
      const js = await request(app()).get(`/admin/monitor/${asset}`).set("Authorization", header);
      expect(js.status).toBe(200);
    }
    expect((await request(app()).get("/admin/monitor/assets/x.js")).status).toBe(401);
  });

  it("lets the panel dispose rooms and disconnect clients, and nothing else", async () => {
    const call = (query: string) =>
      request(app()).get(`/admin/monitor/api/room/call?${query}`).set("Authorization", basic(TOKEN));
    for (const query of [
      "roomId=user_1&method=actorCall&args=[]",
      "roomId=user_1&method=_sendMessageToClient&args=[]",
      "roomId=user_1&method=_editStateProperty&args=[]",
      "roomId=user_1&method=disconnect&method=actorCall&args=[]",
      "roomId=user_1&args=[]",
    ]) {
      const res = await call(query);
      expect(res.status, query).toBe(403);
      expect(res.body.error.code).toBe("FORBIDDEN");
    }
    // Other paths and methods never reach the monitor.
    for (const path of [
      "/admin/monitor/api/room/call/",
      "/admin/monitor/api//room/call",
      "/admin/monitor/x",
    ]) {
      const res = await request(app())
        .get(`${path}?roomId=r&method=actorCall&args=[]`)
        .set("Authorization", basic(TOKEN));
      expect(res.status, path).toBe(404);
    }
    const post = await request(app()).post("/admin/monitor/api").set("Authorization", basic(TOKEN));
    expect(post.status).toBe(404);
  });

  it("is not mounted when disabled", async () => {
    const res = await request(buildApp({ ...source, token: TOKEN, monitor: false }))
      .get("/admin/monitor/")
      .set("Authorization", `Bearer ${TOKEN}`);
    expect(res.status).toBe(404);
  });
});

describe("GET /metrics", () => {
  it("exposes sockets, Redis errors and storage errors (after a storage failure)", async () => {
    const fresh = createMetrics();
    const failing = instrumentStorage(openEmbeddedStorage(join(dir, "failing")), (op) =>
      fresh.storageErrors.inc({ op }),
    );
    createActorMetrics(fresh.registry, source.actorsByKind, source.sockets);
    const app = buildApp(undefined, fresh, createStores(failing));

    const before = await request(app).get("/metrics");
    expect(before.text).toContain("# TYPE lovecraft_sockets gauge");
    expect(before.text).toMatch(/^lovecraft_sockets 3$/m);
    expect(before.text).toMatch(/^lovecraft_redis_errors_total 0$/m);
    expect(before.text).toContain("# TYPE lovecraft_storage_errors_total counter");
    expect(before.text).not.toMatch(/^lovecraft_storage_errors_total\{/m);
    expect(before.text).toMatch(/^lovecraft_actors_active\{kind="user"\} 2$/m);

    await failing.close();
    const broken = await request(app).get("/api/v1/store/items");
    expect(broken.status).toBeGreaterThanOrEqual(500);
    const after = await request(app).get("/metrics");
    expect(after.text).toMatch(/^lovecraft_storage_errors_total\{op="table\.query"\} [1-9]\d*$/m);
  });

  it("includes the default process metrics under the lovecraft_ prefix (event-loop lag, heap)", async () => {
    const text = (await request(buildApp(undefined, createMetrics())).get("/metrics")).text;
    expect(text).toMatch(/^lovecraft_nodejs_eventloop_lag_p99_seconds /m);
    expect(text).toMatch(/^lovecraft_nodejs_heap_size_used_bytes /m);
    expect(text).toMatch(/^lovecraft_process_resident_memory_bytes /m);
  });
});
