import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Express } from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpApp } from "../../server/http/createHttpApp.js";
import type { HealthOptions } from "../../server/http/healthRoutes.js";
import { createLogger } from "../../server/logger.js";
import { createMetrics, type Metrics } from "../../server/metrics.js";
import type { Storage } from "../../server/persistence/ports.js";
import { seedIfEmpty } from "../../server/persistence/seed/seed.js";
import { type SeedContent, seedContent } from "../../server/persistence/seed/seedContent.js";
import { openEmbeddedStorage } from "../../server/persistence/sqlite/openEmbeddedStorage.js";
import { keySlug } from "../../server/persistence/stores/DocumentCollection.js";
import { createStores, type Stores } from "../../server/persistence/stores/index.js";
import { buildAuth, noActors } from "../support/authDeps.js";

const logger = createLogger({ level: "silent" });

let dir: string;
let storage: Storage;
let stores: Stores;
let seed: SeedContent;
let metrics: Metrics;
let app: Express;
let auth: Awaited<ReturnType<typeof buildAuth>>;

function buildApp(health: HealthOptions, appMetrics: Metrics = createMetrics()): Express {
  return createHttpApp({
    logger,
    metrics: appMetrics,
    stores,
    auth,
    actors: noActors,
    health,
    corsOrigins: ["*"],
    trustProxy: "loopback",
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lovecraft-http-"));
  storage = openEmbeddedStorage(dir);
  stores = createStores(storage);
  auth = await buildAuth(stores);
  const now = new Date();
  expect(await seedIfEmpty(stores, logger, now)).toBe(true);
  seed = seedContent(now);
  metrics = createMetrics();
  app = buildApp(
    { checks: [{ name: "storage", check: () => storage.ping() }], isDraining: () => false },
    metrics,
  );
});

afterAll(async () => {
  await storage?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

type Item = { id: string } & Record<string, unknown>;

/** Asserts the success envelope and returns its data. */
function okData<T>(res: request.Response): T {
  expect(res.status).toBe(200);
  expect(res.headers["content-type"]).toMatch(/^application\/json/);
  expect(Object.keys(res.body).sort()).toEqual(["data", "success", "timestamp"]);
  expect(res.body.success).toBe(true);
  expect(new Date(res.body.timestamp).toISOString()).toBe(res.body.timestamp);
  return res.body.data as T;
}

/** Asserts the error envelope and returns its `error`. */
function errorBody(res: request.Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers["content-type"]).toMatch(/^application\/json/);
  expect(Object.keys(res.body).sort()).toEqual(["error", "success", "timestamp"]);
  expect(res.body.success).toBe(false);
  expect(typeof res.body.timestamp).toBe("string");
  expect(res.body.error.code).toBe(code);
  expect(typeof res.body.error.message).toBe("string");
  return res.body.error as { code: string; message: string; details?: unknown; retryable?: boolean };
}

async function getPage(path: string): Promise<Page<Item>> {
  return okData<Page<Item>>(await request(app).get(path));
}

/** Follows `nextCursor` until the last page; returns the pages in order. */
async function walk(path: string, limit: number): Promise<Page<Item>[]> {
  const pages: Page<Item>[] = [];
  const sep = path.includes("?") ? "&" : "?";
  let cursor: string | null = null;
  do {
    const query: string = `${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
    const page = await getPage(`${path}${query}`);
    expect(page.items.length).toBeLessThanOrEqual(limit);
    pages.push(page);
    cursor = page.nextCursor;
    expect(pages.length).toBeLessThan(50);
  } while (cursor !== null);
  return pages;
}

const ids = (items: readonly { id: string }[]) => items.map((i) => i.id);

describe("store items", () => {
  it("lists items in the envelope, sorted by title", async () => {
    const page = await getPage("/api/v1/store/items?limit=100");
    expect(page.nextCursor).toBeNull();
    expect(ids(page.items).sort()).toEqual(ids(seed.storeItems).sort());
    // Ordered by the title's key slug (ties broken by id), as the catalogue indexes them.
    const sortKey = (i: { id: string; title: string }) => `${keySlug(i.title)}~${i.id}`;
    const expected = [...seed.storeItems].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1));
    expect(ids(page.items)).toEqual(ids(expected));
    const first = page.items[0] as Item;
    expect(seed.storeItems.find((s) => s.id === first.id)).toEqual(first);
  });

  it("walks every page with a cursor, without duplicates", async () => {
    expect(seed.storeItems.length).toBeGreaterThan(6);
    const pages = await walk("/api/v1/store/items", 3);
    expect(pages.length).toBe(Math.ceil(seed.storeItems.length / 3));
    for (const page of pages.slice(0, -1)) {
      expect(page.items).toHaveLength(3);
      expect(page.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/);
    }
    expect(pages.at(-1)?.nextCursor).toBeNull();
    const walked = pages.flatMap((p) => ids(p.items));
    expect(new Set(walked).size).toBe(walked.length);
    const full = await getPage("/api/v1/store/items?limit=100");
    expect(walked).toEqual(ids(full.items));
  });

  it("filters by category", async () => {
    const merch = seed.storeItems.filter((i) => i.category === "merch");
    expect(merch.length).toBeGreaterThan(0);
    const page = await getPage("/api/v1/store/items?category=merch&limit=100");
    expect(ids(page.items).sort()).toEqual(ids(merch).sort());
    expect(page.items.every((i) => i.category === "merch")).toBe(true);

    const none = await getPage("/api/v1/store/items?category=no-such-category");
    expect(none).toEqual({ items: [], nextCursor: null });
  });

  it("returns one item by id", async () => {
    const item = seed.storeItems[0]!;
    const data = okData<Item>(await request(app).get(`/api/v1/store/items/${item.id}`));
    expect(data).toEqual(item);
  });
});

describe("blog posts", () => {
  it("lists posts newest first and returns one by id", async () => {
    const page = await getPage("/api/v1/blog/posts?limit=100");
    expect(ids(page.items).sort()).toEqual(ids(seed.blogPosts).sort());
    const dates = page.items.map((p) => Date.parse(String(p.publishedAt)));
    expect(dates).toEqual([...dates].sort((a, b) => b - a));

    const post = seed.blogPosts[0]!;
    expect(okData<Item>(await request(app).get(`/api/v1/blog/posts/${post.id}`))).toEqual(post);
  });

  it("filters by tag", async () => {
    const tagged = seed.blogPosts.filter((p) => p.tags.includes("community"));
    expect(tagged.length).toBeGreaterThan(1);
    expect(tagged.length).toBeLessThan(seed.blogPosts.length);
    const page = await getPage("/api/v1/blog/posts?tag=community");
    expect(ids(page.items).sort()).toEqual(ids(tagged).sort());
  });
});

describe("events", () => {
  it("lists only upcoming events by default, in start order", async () => {
    const past = seed.events.filter((e) => Date.parse(e.startsAt) < Date.now());
    expect(past.length).toBeGreaterThan(0);
    const before = Date.now();
    const page = await getPage("/api/v1/events?limit=100");
    expect(page.items.length).toBeGreaterThan(0);
    const starts = page.items.map((e) => Date.parse(String(e.startsAt)));
    for (const start of starts) expect(start).toBeGreaterThanOrEqual(before);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    const upcoming = seed.events.filter((e) => Date.parse(e.startsAt) >= before);
    expect(ids(page.items).sort()).toEqual(ids(upcoming).sort());
  });

  it("honours `from`, with or without an offset", async () => {
    const all = await getPage("/api/v1/events?limit=100&from=2000-01-01T00:00:00Z");
    expect(ids(all.items).sort()).toEqual(ids(seed.events).sort());

    const sorted = [...seed.events].sort((a, b) => Date.parse(a.startsAt) - Date.parse(b.startsAt));
    const pivot = sorted[3]!;
    const fromPivot = await getPage(`/api/v1/events?limit=100&from=${encodeURIComponent(pivot.startsAt)}`);
    expect(ids(fromPivot.items)).toEqual(ids(sorted.slice(3)));

    // The same instant written as +03:00 local time.
    const local = new Date(Date.parse(pivot.startsAt) + 3 * 3600_000).toISOString().replace("Z", "+03:00");
    const fromLocal = await getPage(`/api/v1/events?limit=100&from=${encodeURIComponent(local)}`);
    expect(ids(fromLocal.items)).toEqual(ids(sorted.slice(3)));
  });

  it("pages through events from a start date", async () => {
    const pages = await walk("/api/v1/events?from=2000-01-01T00:00:00Z", 4);
    const walked = pages.flatMap((p) => ids(p.items));
    const sorted = [...seed.events].sort((a, b) => Date.parse(a.startsAt) - Date.parse(b.startsAt));
    expect(walked).toEqual(ids(sorted));
  });

  it("filters by city", async () => {
    const inCity = seed.events.filter((e) => e.city === "Saint Petersburg");
    expect(inCity.length).toBeGreaterThan(1);
    const all = await getPage("/api/v1/events?city=Saint%20Petersburg&from=2000-01-01T00:00:00Z");
    expect(ids(all.items).sort()).toEqual(ids(inCity).sort());
    const upcoming = await getPage("/api/v1/events?city=Saint%20Petersburg");
    expect(upcoming.items.every((e) => e.city === "Saint Petersburg")).toBe(true);
    expect(ids(upcoming.items).sort()).toEqual(
      ids(inCity.filter((e) => Date.parse(e.startsAt) >= Date.now())).sort(),
    );
  });

  it("returns one event by id", async () => {
    const event = seed.events[0]!;
    expect(okData<Item>(await request(app).get(`/api/v1/events/${event.id}`))).toEqual(event);
  });
});

describe("forum", () => {
  it("lists sections in order", async () => {
    const page = await getPage("/api/v1/forum/sections");
    const expected = [...seed.forumSections].sort((a, b) => a.order - b.order);
    expect(ids(page.items)).toEqual(ids(expected));
  });

  it("lists a section's topics, pinned first then latest activity", async () => {
    const section = "introductions";
    const topics = seed.forumTopics.filter((t) => t.sectionId === section);
    expect(topics.length).toBeGreaterThan(2);
    const page = await getPage(`/api/v1/forum/sections/${section}/topics`);
    const expected = [...topics].sort(
      (a, b) =>
        Number(b.pinned) - Number(a.pinned) || Date.parse(b.lastActivityAt) - Date.parse(a.lastActivityAt),
    );
    expect(ids(page.items)).toEqual(ids(expected));
  });

  it("returns a topic and walks its replies in creation order", async () => {
    const topic = seed.forumTopics[0]!;
    expect(okData<Item>(await request(app).get(`/api/v1/forum/topics/${topic.id}`))).toEqual(topic);
    const replies = seed.forumReplies
      .filter((r) => r.topicId === topic.id)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    expect(replies.length).toBeGreaterThan(2);
    const pages = await walk(`/api/v1/forum/topics/${topic.id}/replies`, 2);
    expect(pages.flatMap((p) => ids(p.items))).toEqual(ids(replies));
  });

  it("pages 20 replies at a time by default", async () => {
    // A topic of its own (in a section no listing shows) so the seeded lists stay unchanged.
    const at = (minute: number) => new Date(Date.UTC(2024, 0, 1, 0, minute)).toISOString();
    await stores.forum.putTopic({
      id: "paging-topic",
      sectionId: "paging-section",
      title: "Paging",
      authorId: "u1",
      authorName: "tester",
      createdAt: at(0),
      lastActivityAt: at(30),
      replyCount: 25,
      pinned: false,
      locked: false,
    });
    for (let i = 0; i < 25; i++) {
      await stores.forum.putReply({
        id: `paging-reply-${String(i).padStart(2, "0")}`,
        topicId: "paging-topic",
        authorId: "u1",
        authorName: "tester",
        body: `reply ${i}`,
        createdAt: at(i + 1),
      });
    }
    const first = await getPage("/api/v1/forum/topics/paging-topic/replies");
    expect(first.items).toHaveLength(20);
    expect(first.nextCursor).not.toBeNull();
    const second = await getPage(
      `/api/v1/forum/topics/paging-topic/replies?cursor=${encodeURIComponent(first.nextCursor!)}`,
    );
    expect(second.items).toHaveLength(5);
    expect(second.nextCursor).toBeNull();
    expect([...ids(first.items), ...ids(second.items)]).toEqual(
      Array.from({ length: 25 }, (_, i) => `paging-reply-${String(i).padStart(2, "0")}`),
    );
  });

  it("answers 404 for the children of an unknown section or topic", async () => {
    errorBody(await request(app).get("/api/v1/forum/sections/no-such-section/topics"), 404, "NOT_FOUND");
    errorBody(await request(app).get("/api/v1/forum/topics/no-such-topic/replies"), 404, "NOT_FOUND");
    errorBody(await request(app).get("/api/v1/forum/topics/no-such-topic"), 404, "NOT_FOUND");
  });
});

describe("errors", () => {
  it.each([
    ["/api/v1/store/items/no-such-item", "store item not found"],
    ["/api/v1/blog/posts/no-such-post", "blog post not found"],
    ["/api/v1/events/no-such-event", "event not found"],
  ])("answers 404 NOT_FOUND for %s", async (path, message) => {
    const error = errorBody(await request(app).get(path), 404, "NOT_FOUND");
    expect(error.message).toBe(message);
    expect(error.retryable).toBeUndefined();
  });

  it.each(["/api/v1/no-such-route", "/no-such-route", "/api/v2/store/items"])(
    "answers 404 NOT_FOUND for the unknown route %s",
    async (path) => {
      const error = errorBody(await request(app).get(path), 404, "NOT_FOUND");
      expect(error.message).toContain(path);
    },
  );

  it.each(
    [
      "/api/v1/store/items?limit=0",
      "/api/v1/store/items?limit=abc",
      "/api/v1/store/items?limit=101",
      "/api/v1/store/items?limit=2.5",
      "/api/v1/store/items?limit=3&limit=4",
      "/api/v1/store/items?cursor=not!base64",
      `/api/v1/store/items?cursor=${"A".repeat(1501)}`,
      "/api/v1/store/items?category=Not%20A%20Slug",
      "/api/v1/blog/posts?tag=UPPER",
      "/api/v1/events?from=yesterday",
      "/api/v1/events?from=2030-01-01",
      "/api/v1/forum/sections?limit=-1",
      "/api/v1/store/items/Bad_Id",
      "/api/v1/blog/posts/-leading-dash",
      `/api/v1/events/${"a".repeat(81)}`,
      "/api/v1/forum/sections/Intro/topics",
      "/api/v1/forum/topics/a.b/replies",
    ].map((path) => [path.length > 80 ? `${path.slice(0, 60)}…` : path, path]),
  )("answers 400 VALIDATION_FAILED for %s", async (_label, path) => {
    const error = errorBody(await request(app).get(path), 400, "VALIDATION_FAILED");
    expect(Array.isArray(error.details)).toBe(true);
    expect((error.details as unknown[]).length).toBeGreaterThan(0);
  });

  it("names the failing query parameter in the details", async () => {
    const error = errorBody(await request(app).get("/api/v1/store/items?limit=0"), 400, "VALIDATION_FAILED");
    expect(error.details).toEqual([{ path: "limit", message: expect.any(String) }]);
  });

  it("answers 415 for a body that is not JSON", async () => {
    const res = await request(app)
      .post("/api/v1/store/items")
      .set("Content-Type", "text/plain")
      .send("hello");
    errorBody(res, 415, "UNSUPPORTED_MEDIA_TYPE");
    const form = await request(app)
      .put("/api/v1/anything")
      .set("Content-Type", "application/x-www-form-urlencoded")
      .send("a=1");
    errorBody(form, 415, "UNSUPPORTED_MEDIA_TYPE");
  });

  it("routes a JSON body to the 404 handler when no route matches", async () => {
    const res = await request(app)
      .post("/api/v1/store/items")
      .set("Content-Type", "application/json; charset=utf-8")
      .send(JSON.stringify({ ok: true }));
    errorBody(res, 404, "NOT_FOUND");
  });

  it("answers 400 BAD_REQUEST for malformed JSON", async () => {
    const res = await request(app)
      .post("/api/v1/anything")
      .set("Content-Type", "application/json")
      .send('{"unterminated": ');
    const error = errorBody(res, 400, "BAD_REQUEST");
    expect(error.message).toBe("malformed JSON body");
  });

  it("answers 413 PAYLOAD_TOO_LARGE for a JSON body over 100 kB", async () => {
    const body = JSON.stringify({ blob: "x".repeat(110 * 1024) });
    const res = await request(app)
      .post("/api/v1/anything")
      .set("Content-Type", "application/json")
      .send(body);
    errorBody(res, 413, "PAYLOAD_TOO_LARGE");

    // Just under the limit passes the parser and reaches the 404 handler.
    const small = JSON.stringify({ blob: "x".repeat(90 * 1024) });
    const ok = await request(app)
      .post("/api/v1/anything")
      .set("Content-Type", "application/json")
      .send(small);
    errorBody(ok, 404, "NOT_FOUND");
  });
});

describe("caching", () => {
  it.each([
    "/api/v1/store/items?limit=3",
    "/api/v1/blog/posts",
    "/api/v1/events?from=2000-01-01T00:00:00Z",
    "/api/v1/forum/sections",
  ])("serves %s with an ETag and answers 304 when it matches", async (path) => {
    const first = await request(app).get(path);
    expect(first.status).toBe(200);
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^W\/".+"$/);
    expect(first.headers["cache-control"]).toMatch(/\bpublic\b/);
    expect(first.headers["cache-control"]).toMatch(/max-age=\d+/);

    const again = await request(app).get(path);
    expect(again.headers.etag).toBe(etag);

    const revalidated = await request(app).get(path).set("If-None-Match", etag);
    expect(revalidated.status).toBe(304);
    expect(revalidated.text).toBe("");

    const stale = await request(app).get(path).set("If-None-Match", 'W/"something-else"');
    expect(stale.status).toBe(200);
  });

  it("gives different data different ETags", async () => {
    const a = await request(app).get("/api/v1/store/items?limit=3");
    const b = await request(app).get("/api/v1/store/items?limit=4");
    expect(a.headers.etag).not.toBe(b.headers.etag);
    const item = seed.storeItems[0]!;
    const detail = await request(app).get(`/api/v1/store/items/${item.id}`);
    expect(detail.headers.etag).toMatch(/^W\/".+"$/);
    expect(detail.headers["cache-control"]).toMatch(/\bpublic\b/);
    const revalidated = await request(app)
      .get(`/api/v1/store/items/${item.id}`)
      .set("If-None-Match", detail.headers.etag as string);
    expect(revalidated.status).toBe(304);
  });

  it("does not mark errors as publicly cacheable", async () => {
    const res = await request(app).get("/api/v1/store/items/no-such-item");
    expect(res.status).toBe(404);
    expect(res.headers["cache-control"] ?? "").not.toMatch(/\bpublic\b/);
  });
});

describe("health", () => {
  it("answers /health/live", async () => {
    expect(okData(await request(app).get("/health/live"))).toEqual({ status: "live" });
  });

  it("answers /health/ready with every check", async () => {
    const res = await request(app).get("/health/ready");
    expect(okData(res)).toEqual({ status: "ready", checks: { storage: "ok" } });
    expect(res.headers["cache-control"]).toBe("no-store");
  });

  it("answers 503 NOT_READY when a check fails", async () => {
    const failing = buildApp({
      checks: [
        { name: "storage", check: () => storage.ping() },
        {
          name: "redis",
          check: async () => {
            throw new Error("connection refused");
          },
        },
      ],
      isDraining: () => false,
    });
    const res = await request(failing).get("/health/ready");
    const error = errorBody(res, 503, "NOT_READY");
    expect(error.details).toEqual({ storage: "ok", redis: "connection refused" });
    expect(error.retryable).toBe(true);
    expect(res.headers["retry-after"]).toBe("1");
    expect(res.headers["cache-control"]).toBe("no-store");
    // Liveness does not depend on the checks.
    expect((await request(failing).get("/health/live")).status).toBe(200);
  });

  it("answers 503 NOT_READY when a check does not answer in time", async () => {
    const hanging = buildApp({
      checks: [{ name: "storage", check: () => new Promise<void>(() => undefined) }],
      isDraining: () => false,
      timeoutMs: 20,
    });
    const error = errorBody(await request(hanging).get("/health/ready"), 503, "NOT_READY");
    expect(error.details).toEqual({ storage: "no answer within 20 ms" });
  });

  it("answers 503 NOT_READY while draining, without running the checks", async () => {
    let checked = 0;
    let draining = false;
    const drainable = buildApp({
      checks: [
        {
          name: "storage",
          check: async () => {
            checked++;
          },
        },
      ],
      isDraining: () => draining,
    });
    expect((await request(drainable).get("/health/ready")).status).toBe(200);
    expect(checked).toBe(1);
    draining = true;
    const error = errorBody(await request(drainable).get("/health/ready"), 503, "NOT_READY");
    expect(error.details).toEqual({ draining: true });
    expect(checked).toBe(1);
    expect((await request(drainable).get("/health/live")).status).toBe(200);
  });
});

describe("metrics", () => {
  it("exposes Prometheus text with request counts by route and status", async () => {
    const fresh = createMetrics();
    const metered = buildApp({ checks: [], isDraining: () => false }, fresh);
    await request(metered).get("/api/v1/store/items?limit=1").expect(200);
    await request(metered).get("/api/v1/store/items?limit=2").expect(200);
    await request(metered).get("/no-such-route").expect(404);

    const res = await request(metered).get("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain/);
    expect(res.text).toContain("# TYPE lovecraft_http_requests_total counter");
    expect(res.text).toContain(
      'lovecraft_http_requests_total{method="GET",route="/api/v1/store/items",status="200"} 2',
    );
    expect(res.text).toContain(
      'lovecraft_http_requests_total{method="GET",route="unmatched",status="404"} 1',
    );
    expect(res.text).toContain("lovecraft_http_request_duration_seconds_bucket");
    expect(res.text).toContain("lovecraft_process_cpu_user_seconds_total");
  });

  it("never turns an unknown path into a label, whatever answers it", async () => {
    const fresh = createMetrics();
    const metered = buildApp({ checks: [], isDraining: () => false }, fresh);
    const token = randomUUID();
    // Answered by the CORS preflight handler, before any route.
    const preflight = await request(metered).options(`/random-${token}`);
    expect(preflight.status).toBe(204);
    // Refused inside the /api/v1 router, before any route.
    const refused = await request(metered)
      .post(`/api/v1/x${token}`)
      .set("Content-Type", "text/plain")
      .send("hello");
    errorBody(refused, 415, "UNSUPPORTED_MEDIA_TYPE");
    errorBody(await request(metered).get(`/api/v1/y${token}`), 404, "NOT_FOUND");
    errorBody(await request(metered).get(`/z${token}`), 404, "NOT_FOUND");

    const res = await request(metered).get("/metrics");
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(token);
    expect(res.text).toContain(
      'lovecraft_http_requests_total{method="OPTIONS",route="unmatched",status="204"} 1',
    );
    expect(res.text).toContain(
      'lovecraft_http_requests_total{method="POST",route="unmatched",status="415"} 1',
    );
    expect(res.text).toContain(
      'lovecraft_http_requests_total{method="GET",route="unmatched",status="404"} 2',
    );
    expect(res.text).toMatch(
      /lovecraft_http_request_duration_seconds_count\{method="OPTIONS",route="unmatched"\} 1/,
    );
    const routes = [...res.text.matchAll(/route="([^"]*)"/g)].map((m) => m[1]);
    expect(routes.length).toBeGreaterThan(0);
    expect(new Set(routes)).toEqual(new Set(["unmatched"]));
  });

  it("keeps the /api/v1 prefix in the route label of an error answered by a route", async () => {
    const fresh = createMetrics();
    const metered = buildApp({ checks: [], isDraining: () => false }, fresh);
    errorBody(await request(metered).get("/api/v1/store/items/does-not-exist"), 404, "NOT_FOUND");
    errorBody(await request(metered).get("/api/v1/store/items/Bad_Id"), 400, "VALIDATION_FAILED");
    const item = seed.storeItems[0]!;
    okData(await request(metered).get(`/api/v1/store/items/${item.id}`));

    const res = await request(metered).get("/metrics");
    expect(res.text).toContain(
      'lovecraft_http_requests_total{method="GET",route="/api/v1/store/items/:id",status="404"} 1',
    );
    expect(res.text).toContain(
      'lovecraft_http_requests_total{method="GET",route="/api/v1/store/items/:id",status="400"} 1',
    );
    expect(res.text).toContain(
      'lovecraft_http_requests_total{method="GET",route="/api/v1/store/items/:id",status="200"} 1',
    );
    expect(res.text).not.toContain('route="/store/items/:id"');
    expect(res.text).not.toContain("does-not-exist");
  });

  it("counts requests of the shared app too", async () => {
    await request(app).get("/health/live");
    const res = await request(app).get("/metrics");
    expect(res.text).toMatch(
      /lovecraft_http_requests_total\{method="GET",route="\/health\/live",status="200"\} \d+/,
    );
  });
});
