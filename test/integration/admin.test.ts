import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getJson, type Json } from "../support/http.js";
import { connectedUser, type TestUser } from "../support/realtimeUsers.js";
import { type RunningRedis, redisAvailability, startRedis } from "../support/redisServer.js";
import { type ServerProcess, startServerProcess } from "../support/serverProcess.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const DASHBOARD = join(ROOT, "ops/grafana/lovecraft.json");
/** Grafana's data-source variable, literally (not a JS template placeholder). */
const DS_VARIABLE = ["$", "{DS_PROMETHEUS}"].join("");
const TOKEN = randomBytes(32).toString("base64url");
const { run: withRedis } = redisAvailability();

/** `null`: no Authorization header at all. */
const cluster = (node: ServerProcess, token: string | null = TOKEN) =>
  getJson(`${node.baseUrl}/admin/cluster`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
const metricsOf = async (node: ServerProcess) => (await fetch(`${node.baseUrl}/metrics`)).text();

/** The value of an unlabelled (or exactly labelled) sample in a Prometheus text exposition. */
function sample(text: string, series: string): number | undefined {
  const escaped = series.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const m = new RegExp(`^${escaped} ([^\\s]+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Polls an async check until it returns a value (bounded). */
async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Metric names used by a PromQL expression: Lovecraft's own and prom-client's defaults (which we
 * expose under the `lovecraft_` prefix, so an unprefixed `nodejs_…`/`process_…` is an error too).
 */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/(?<![A-Za-z0-9_:])(?:lovecraft|nodejs|process)_[a-z0-9_]+/g)].map((m) => m[0]);
}

/**
 * Series names a `/metrics` answer makes queryable: every sample's name, plus every declared
 * family with the series its type implies (a histogram with no observation yet has no samples).
 */
function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)$/.exec(line);
    if (type) {
      const [, name, kind] = type as unknown as [string, string, string];
      names.add(name);
      if (kind === "histogram") for (const s of ["_bucket", "_sum", "_count"]) names.add(name + s);
      if (kind === "summary") for (const s of ["_sum", "_count"]) names.add(name + s);
      continue;
    }
    const name = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line)?.[1];
    if (name) names.add(name);
  }
  return names;
}

interface Panel {
  readonly type: string;
  readonly title: string;
  readonly datasource?: { readonly type: string; readonly uid: string };
  readonly targets?: readonly { readonly expr: string }[];
}

describe("operator surface of a real node (embedded storage)", () => {
  let withToken: ServerProcess;
  let withoutToken: ServerProcess;
  let dir: string;
  const users: TestUser[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lovecraft-admin-int-"));
    [withToken, withoutToken] = await Promise.all([
      startServerProcess({ cwd: dir, env: { DATA_DIR: join(dir, "a"), ADMIN_TOKEN: TOKEN } }),
      startServerProcess({ cwd: dir, env: { DATA_DIR: join(dir, "b") } }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all(users.map((u) => u.client.close()));
    await Promise.all([withToken?.stop(), withoutToken?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("has no admin routes without ADMIN_TOKEN, and never logs the token", async () => {
    expect((await cluster(withoutToken)).status).toBe(404);
    expect((await getJson(`${withoutToken.baseUrl}/admin/monitor/`)).status).toBe(404);
    expect(withToken.output()).not.toContain(TOKEN);
  });

  it("answers 401 with a wrong or missing token", async () => {
    for (const token of [null, `${TOKEN}x`, "x".repeat(43)]) {
      const res = await cluster(withToken, token);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe("UNAUTHORIZED");
    }
  });

  it("reports this node and the cluster, and counts sockets in /admin/cluster and /metrics", async () => {
    const idle = await cluster(withToken);
    expect(idle.status).toBe(200);
    const data: Json = idle.body.data;
    expect(typeof data.processId).toBe("string");
    expect(data).toMatchObject({ publicAddress: null, draining: false, sockets: 0 });
    expect(data.actors).toHaveProperty("user");
    expect(data.memory.rssBytes).toBeGreaterThan(data.memory.heapUsedBytes);
    expect(data.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(data.cluster.processes).toEqual([
      expect.objectContaining({ processId: data.processId, self: true }),
    ]);

    users.push(await connectedUser(withToken.baseUrl, "Ada"));
    const busy = (await cluster(withToken)).body.data;
    expect(busy.sockets).toBe(1);
    expect(busy.actors.user).toBe(1);
    expect(busy.cluster.processes[0]).toMatchObject({ processId: busy.processId, ccu: 1, self: true });
    expect(busy.cluster.processes[0].roomCount).toBeGreaterThanOrEqual(1);
    const text = await metricsOf(withToken);
    expect(sample(text, "lovecraft_sockets")).toBe(1);
    expect(sample(text, 'lovecraft_actors_active{kind="user"}')).toBe(1);
    expect(sample(text, 'lovecraft_actor_activations_total{kind="user"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, "lovecraft_redis_errors_total")).toBe(0);
    expect(text).toContain("# TYPE lovecraft_storage_errors_total counter");

    await users.pop()?.client.close();
    await eventually(
      async () => (sample(await metricsOf(withToken), "lovecraft_sockets") === 0 ? true : undefined),
      "the socket gauge to drop",
    );
  });

  it("serves @colyseus/monitor behind the token, with the node's rooms", async () => {
    const auth = { authorization: `Basic ${Buffer.from(`admin:${TOKEN}`).toString("base64")}` };
    expect((await fetch(`${withToken.baseUrl}/admin/monitor/`)).status).toBe(401);
    const page = await fetch(`${withToken.baseUrl}/admin/monitor/`, { headers: auth });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');
    const api = await getJson(`${withToken.baseUrl}/admin/monitor/api`, { headers: auth });
    expect(api.status).toBe(200);
    expect(Array.isArray(api.body.rooms)).toBe(true);
  });

  it("exposes every metric the Grafana dashboard queries", async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as Json;
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.templating.list).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: "DS_PROMETHEUS", type: "datasource", query: "prometheus" }),
      ]),
    );
    const panels = (dashboard.panels as Panel[]).filter((p) => p.type !== "row");
    const exprs: string[] = [];
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual({ type: "prometheus", uid: DS_VARIABLE });
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) exprs.push(target.expr);
    }
    const used = new Set(exprs.flatMap(metricNames));
    // The dashboard covers what operators were promised.
    for (const name of [
      "lovecraft_sockets",
      "lovecraft_actors_active",
      "lovecraft_actor_activations_total",
      "lovecraft_actor_call_seconds_bucket",
      "lovecraft_journal_append_seconds_bucket",
      "lovecraft_journal_append_batch_size_bucket",
      "lovecraft_http_requests_total",
      "lovecraft_http_request_duration_seconds_bucket",
      "lovecraft_nodejs_eventloop_lag_p99_seconds",
      "lovecraft_nodejs_heap_size_used_bytes",
      "lovecraft_redis_errors_total",
      "lovecraft_storage_errors_total",
    ]) {
      expect(used, name).toContain(name);
    }

    // At least one request first, so per-route series exist like on any live node.
    expect((await getJson(`${withToken.baseUrl}/api/v1/store/items`)).status).toBe(200);
    const exposed = exposedNames(await metricsOf(withToken));
    const missing = [...used].filter((name) => !exposed.has(name));
    expect(missing).toEqual([]);
  });

  it("the name extraction sees prefixes and suffixes the way the check needs", () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le) (rate(lovecraft_x_seconds_bucket{a="b"}[5m]))) / nodejs_y + process_z',
      ),
    ).toEqual(["lovecraft_x_seconds_bucket", "nodejs_y", "process_z"]);
    expect(metricNames("lovecraft_nodejs_eventloop_lag_p99_seconds")).toEqual([
      "lovecraft_nodejs_eventloop_lag_p99_seconds",
    ]);
    const names = exposedNames('# HELP h x\n# TYPE h histogram\n# TYPE c counter\nc_total 1\ng{k="v"} 2\n');
    expect([...names].sort()).toEqual(["c", "c_total", "g", "h", "h_bucket", "h_count", "h_sum"]);
  });
});

describe.runIf(withRedis)("operator surface in cluster mode (real redis-server)", () => {
  let redis: RunningRedis;
  let node: ServerProcess;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lovecraft-admin-redis-"));
    redis = await startRedis();
    node = await startServerProcess({
      cwd: dir,
      env: {
        DATA_DIR: join(dir, "data"),
        REDIS_URL: redis.url,
        ADMIN_TOKEN: TOKEN,
        PUBLIC_ADDRESS: "lb.example/n1",
      },
    });
  }, 60_000);

  afterAll(async () => {
    // Redis is gone by then: a graceful drain would wait on it.
    await node?.stop("SIGKILL");
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("lists the processes of the room directory, then counts Redis errors once Redis dies", async () => {
    const before = (await cluster(node)).body.data;
    expect(before.publicAddress).toBe("lb.example/n1");
    expect(before.cluster.processes).toEqual(
      expect.arrayContaining([expect.objectContaining({ processId: before.processId, self: true })]),
    );
    expect(sample(await metricsOf(node), "lovecraft_redis_errors_total")).toBe(0);

    await redis.stop();
    const errors = await eventually(async () => {
      const n = sample(await metricsOf(node), "lovecraft_redis_errors_total");
      return n !== undefined && n > 0 ? n : undefined;
    }, "a Redis error to be counted");
    expect(errors).toBeGreaterThan(0);

    // The node still answers for itself; the cluster view says the directory is unreachable.
    const after = await cluster(node);
    expect(after.status).toBe(200);
    expect(after.body.data.processId).toBe(before.processId);
    expect(after.body.data.cluster).toEqual({ error: "the room directory did not answer" });
  });
});
