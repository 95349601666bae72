import { mkdtempSync, rmSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { getJson } from "../support/http.js";
import { type ServerProcess, spawnTs, startServerProcess, waitForExit } from "../support/serverProcess.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "lovecraft-life-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function start(cwd: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const server = await startServerProcess({ cwd, env });
  cleanups.push(() => (server.child.exitCode === null ? server.stop("SIGKILL") : undefined));
  return server;
}

describe("a node on embedded defaults", () => {
  it("starts with no configuration, is ready, and serves seeded content", async () => {
    const cwd = tempDir();
    const server = await start(cwd);
    const ready = await getJson(`${server.baseUrl}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ success: true, data: { status: "ready", checks: { storage: "ok" } } });
    const items = await getJson(`${server.baseUrl}/api/v1/store/items?limit=50`);
    expect(items.body.data.items.length).toBeGreaterThanOrEqual(10);
    expect((await getJson(`${server.baseUrl}/api/v1/blog/posts`)).body.data.items.length).toBeGreaterThan(0);
    expect((await getJson(`${server.baseUrl}/api/v1/events`)).body.data.items.length).toBeGreaterThan(0);
    expect((await getJson(`${server.baseUrl}/api/v1/forum/sections`)).body.data.items.length).toBeGreaterThan(
      0,
    );
    expect(await server.stop("SIGTERM")).toBe(0);
    expect(server.output()).toContain('"msg":"shutdown complete"');
  });

  it("keeps its data, signing key and seed across a restart", async () => {
    const cwd = tempDir();
    const first = await start(cwd);
    const before = await getJson(`${first.baseUrl}/api/v1/store/items?limit=50`);
    const kid = /"kid":"([^"]+)"/.exec(first.output())?.[1];
    expect(first.output()).toContain('"msg":"seeded content"');
    expect(await first.stop("SIGTERM")).toBe(0);

    const second = await start(cwd);
    const after = await getJson(`${second.baseUrl}/api/v1/store/items?limit=50`);
    expect(after.body.data).toEqual(before.body.data);
    expect(second.output()).not.toContain('"msg":"seeded content"');
    expect(/"kid":"([^"]+)"/.exec(second.output())?.[1]).toBe(kid);
  });

  it("exits with a clear error when its port is taken", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const port = (taken.address() as AddressInfo).port;
    const child = spawnTs("server/main.ts", {
      cwd: tempDir(),
      env: { PORT: String(port), HOST: "127.0.0.1" },
    });
    let output = "";
    child.stdout?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    // Before, the node logged EADDRINUSE and ran on, listening on nothing.
    expect(await waitForExit(child)).toBe(1);
    expect(output).toContain(`cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
  });

  it("refuses a second process on the same data directory", async () => {
    const cwd = tempDir();
    await start(cwd);
    const child = spawnTs("server/main.ts", { cwd, env: { PORT: "0" } });
    let output = "";
    child.stdout?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    expect(await waitForExit(child)).toBe(1);
    expect(output).toContain("is another Lovecraft process using it?");
  });
});

describe("bad configuration", () => {
  it.each([
    [{ PORT: "abc" }, "PORT"],
    [{ REDIS_URL: "http://localhost" }, "REDIS_URL"],
    [{ NODE_ENV: "production" }, "JWT_PRIVATE_KEY"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
  ])("%o prints one line naming %s and exits 1", async (env, variable) => {
    const child = spawnTs("server/main.ts", { cwd: tempDir(), env });
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    expect(await waitForExit(child)).toBe(1);
    const lines = stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^Invalid configuration: .*${variable}`));
  });
});
