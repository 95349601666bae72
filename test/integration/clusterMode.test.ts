import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningAzurite, startAzurite } from "../support/azurite.js";
import { getJson } from "../support/http.js";
import { type RunningRedis, redisAvailability, startRedis } from "../support/redisServer.js";
import { type ServerProcess, startServerProcess } from "../support/serverProcess.js";

const { run } = redisAvailability();

/** Cluster mode is the same program with REDIS_URL and a storage connection string set. */
describe.runIf(run)("a node in cluster mode (real redis-server, Azurite)", () => {
  let redis: RunningRedis;
  let azurite: RunningAzurite;
  let node: ServerProcess;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lovecraft-cluster-"));
    [redis, azurite] = await Promise.all([startRedis(), startAzurite()]);
    node = await startServerProcess({
      cwd: dir,
      env: {
        REDIS_URL: redis.url,
        STORAGE_CONNECTION_STRING: azurite.connectionString,
        PUBLIC_ADDRESS: "127.0.0.1:9999/node1",
      },
    });
  });

  afterAll(async () => {
    await node?.stop("SIGKILL");
    await Promise.all([redis?.stop(), azurite?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("is ready when Redis and Azure storage answer, and serves seeded content from Azure", async () => {
    const ready = await getJson(`${node.baseUrl}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body.data.checks).toEqual({ storage: "ok", redis: "ok" });
    expect(node.output()).toContain('"storage":"azure","cluster":true');
    const items = await getJson(`${node.baseUrl}/api/v1/store/items`);
    expect(items.body.data.items.length).toBeGreaterThan(0);
  });

  it("serves the REST surface on Azure storage: register, login, me, refresh, event registration, forum, photos", async () => {
    const api = (method: string, path: string, body?: unknown, token?: string, type = "application/json") =>
      getJson(`${node.baseUrl}/api/v1${path}`, {
        method,
        headers: {
          ...(body !== undefined ? { "content-type": type } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        ...(body !== undefined
          ? { body: type === "application/json" ? JSON.stringify(body) : (body as Buffer) }
          : {}),
      });
    const registered = await api("POST", "/auth/register", {
      email: "azure@example.com",
      password: "stored in azure tables",
      displayName: "Azure",
    });
    expect(registered.status).toBe(201);
    const login = await api("POST", "/auth/login", {
      email: "azure@example.com",
      password: "stored in azure tables",
    });
    const token = login.body.data.accessToken as string;
    expect((await api("GET", "/auth/me", undefined, token)).body.data.email).toBe("azure@example.com");
    const refreshed = await api("POST", "/auth/refresh", { refreshToken: login.body.data.refreshToken });
    expect(refreshed.status).toBe(200);
    const registration = await api(
      "PUT",
      "/events/kazan-fan-meetup-tea-and-songs/registration",
      undefined,
      token,
    );
    expect(registration.body.data.status).toBe("registered");
    const section = (await api("GET", "/forum/sections")).body.data.items[0].id as string;
    const topic = await api(
      "POST",
      `/forum/sections/${section}/topics`,
      { title: "On Azure", body: "hello" },
      token,
    );
    expect(topic.status).toBe(201);
    const { default: sharp } = await import("sharp");
    const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: "#7a3" } })
      .jpeg()
      .toBuffer();
    const photo = await api("POST", "/users/me/photos", jpeg, token, "image/jpeg");
    expect(photo.status).toBe(201);
    const image = await fetch(`${node.baseUrl}${photo.body.data.url}`);
    expect(image.headers.get("content-type")).toBe("image/jpeg");
  });

  it("fails readiness while Redis is down and recovers when it returns", async () => {
    const port = redis.port;
    await redis.stop();
    const down = await getJson(`${node.baseUrl}/health/ready`);
    expect(down.status).toBe(503);
    const body = down.body;
    expect(body.error.code).toBe("NOT_READY");
    expect(body.error.details.redis).not.toBe("ok");
    expect((await fetch(`${node.baseUrl}/health/live`)).status).toBe(200);

    redis = await startRedis(port);
    // ioredis reconnects with backoff; poll readiness (bounded) instead of sleeping a fixed time.
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await fetch(`${node.baseUrl}/health/ready`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
  });
});
