import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { getJson } from "../support/http.js";
import { type ServerProcess, startServerProcess } from "../support/serverProcess.js";

const dirs: string[] = [];
const servers: ServerProcess[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) if (s.child.exitCode === null) await s.stop("SIGKILL");
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function start(cwd: string): Promise<ServerProcess> {
  const server = await startServerProcess({ cwd });
  servers.push(server);
  return server;
}

/**
 * "Acknowledged means durable", end to end: everything the server answered 2xx for before a
 * `kill -9` is there after a restart on the same data directory.
 */
describe("kill -9 of a node on the embedded store", () => {
  it("loses no acknowledged registration, forum reply or event registration", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "lovecraft-kill-"));
    dirs.push(cwd);
    const first = await start(cwd);
    const api = (server: ServerProcess, method: string, path: string, body?: unknown, token?: string) =>
      getJson(`${server.baseUrl}/api/v1${path}`, {
        method,
        headers: {
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });

    const session = await api(first, "POST", "/auth/register", {
      email: "crash@example.com",
      password: "survives a crash",
      displayName: "Crash",
    });
    expect(session.status).toBe(201);
    const token = session.body.data.accessToken as string;
    const sections = await api(first, "GET", "/forum/sections");
    const section = sections.body.data.items[0].id as string;
    const topic = await api(
      first,
      "POST",
      `/forum/sections/${section}/topics`,
      { title: "Crash test", body: "0" },
      token,
    );
    expect(topic.status).toBe(201);
    const topicId = topic.body.data.topic.id as string;

    // Fire replies and an event registration concurrently; kill -9 the moment the last is acked.
    const acked: string[] = [];
    await Promise.all(
      Array.from({ length: 25 }, async (_, i) => {
        const res = await api(
          first,
          "POST",
          `/forum/topics/${topicId}/replies`,
          { body: `reply ${i}` },
          token,
        );
        if (res.status === 201) acked.push(res.body.data.id as string);
      }),
    );
    const registration = await api(
      first,
      "PUT",
      "/events/kazan-fan-meetup-tea-and-songs/registration",
      undefined,
      token,
    );
    expect(registration.body.data.status).toBe("registered");
    expect(await first.stop("SIGKILL")).toBe("SIGKILL");
    expect(acked).toHaveLength(25);

    const second = await start(cwd);
    const login = await api(second, "POST", "/auth/login", {
      email: "crash@example.com",
      password: "survives a crash",
    });
    expect(login.status).toBe(200);
    const replies = await api(second, "GET", `/forum/topics/${topicId}/replies?limit=100`);
    const stored = new Set((replies.body.data.items as { id: string }[]).map((r) => r.id));
    expect(acked.filter((id) => !stored.has(id))).toEqual([]);
    const status = await api(
      second,
      "GET",
      "/events/kazan-fan-meetup-tea-and-songs/registration",
      undefined,
      login.body.data.accessToken,
    );
    expect(status.body.data.registered).toBe(true);
  });
});
