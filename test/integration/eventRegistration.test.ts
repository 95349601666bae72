import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getJson, type Json } from "../support/http.js";
import { type ServerProcess, startServerProcess } from "../support/serverProcess.js";

/** Event registration through the real server: REST → auth → EventActor (one writer per event). */
describe("event registration", () => {
  let server: ServerProcess;
  let dir: string;
  const WORKSHOP = "novosibirsk-songwriting-workshop"; // seeded: capacity 25, 38 days ahead
  const PAST = "saint-petersburg-picnic-meetup"; // seeded: 12 days ago

  async function api(
    method: string,
    path: string,
    token?: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) {
    return getJson(`${server.baseUrl}/api/v1${path}`, {
      method,
      headers: {
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  }

  async function newUser(i: number): Promise<string> {
    const res = await api("POST", "/auth/register", undefined, {
      email: `fan${i}@example.com`,
      password: `correct horse ${i} battery`,
      displayName: `Fan ${i}`,
    });
    expect(res.status).toBe(201);
    return res.body.data.accessToken as string;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lovecraft-events-"));
    server = await startServerProcess({ cwd: dir });
  });

  afterAll(async () => {
    await server?.stop("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  it("never registers more people than the capacity, however they race", async () => {
    const tokens: string[] = [];
    for (let i = 0; i < 30; i++) tokens.push(await newUser(i));
    const answers = await Promise.all(tokens.map((t) => api("PUT", `/events/${WORKSHOP}/registration`, t)));
    const ok = answers.filter((a) => a.status === 200);
    const full = answers.filter((a) => a.status === 409);
    expect(ok).toHaveLength(25);
    expect(full).toHaveLength(5);
    expect(full[0]?.body.error).toMatchObject({ code: "CONFLICT", message: "event is full" });
    const status = await api("GET", `/events/${WORKSHOP}/registration`, tokens[0]);
    expect(status.body.data).toMatchObject({ attendees: 25, capacity: 25, remaining: 0 });

    // One cancels, one of the refused gets in.
    const registeredIndex = answers.findIndex((a) => a.status === 200);
    const refusedIndex = answers.findIndex((a) => a.status === 409);
    const cancel = await api("DELETE", `/events/${WORKSHOP}/registration`, tokens[registeredIndex]);
    expect(cancel.body.data).toMatchObject({ status: "unregistered", remaining: 1 });
    const retry = await api("PUT", `/events/${WORKSHOP}/registration`, tokens[refusedIndex]);
    expect(retry.body.data).toMatchObject({ status: "registered", remaining: 0 });
  });

  it("applies a retried registration with the same Idempotency-Key once", async () => {
    const token = await newUser(100);
    const headers = { "idempotency-key": "retry-key-0001" };
    const event = "kazan-fan-meetup-tea-and-songs";
    const first: Json = await api("PUT", `/events/${event}/registration`, token, undefined, headers);
    const again: Json = await api("PUT", `/events/${event}/registration`, token, undefined, headers);
    expect(first.body.data.status).toBe("registered");
    expect(again.body.data).toEqual(first.body.data);
    const bad = await api("PUT", `/events/${event}/registration`, token, undefined, {
      "idempotency-key": "x",
    });
    expect(bad.body.error.code).toBe("VALIDATION_FAILED");
  });

  it("answers coded errors: no token, unknown event, bad id, event over", async () => {
    const token = await newUser(200);
    expect((await api("PUT", `/events/${WORKSHOP}/registration`)).body.error.code).toBe("UNAUTHORIZED");
    expect((await api("PUT", "/events/no-such-event/registration", token)).status).toBe(404);
    expect((await api("PUT", "/events/Bad%20Id/registration", token)).status).toBe(400);
    const over = await api("PUT", `/events/${PAST}/registration`, token);
    expect(over.status).toBe(409);
    expect(over.body.error.message).toBe("event has ended");
  });

  it("refuses clients that try to create or join actor rooms through matchmaking", async () => {
    const token = await newUser(300);
    const post = (path: string, body: unknown) =>
      fetch(`${server.baseUrl}/matchmake/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
    const create = await post("create/event", { actorId: "junk-room" });
    expect(create.ok).toBe(false);
    expect(await create.text()).toMatch(/auth|failed/i);
    await api("GET", `/events/${WORKSHOP}/registration`, token); // activates event_<workshop>
    const join = await post(`joinById/event_${WORKSHOP}`, {});
    expect(join.ok).toBe(false);
  });

  it("serves the OpenAPI document and the docs page with every route", async () => {
    const doc = await getJson(`${server.baseUrl}/api/v1/openapi.json`);
    expect(doc.body.openapi).toBe("3.1.0");
    for (const path of ["/auth/register", "/auth/me", "/store/items", "/events/{id}/registration"]) {
      expect(doc.body.paths[path], path).toBeDefined();
    }
    const page = await fetch(`${server.baseUrl}/docs`);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain("/events/{id}/registration");
  });
});
