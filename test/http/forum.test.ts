import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Express } from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../server/logger.js";
import type { Storage } from "../../server/persistence/ports.js";
import { seedIfEmpty } from "../../server/persistence/seed/seed.js";
import { seedContent } from "../../server/persistence/seed/seedContent.js";
import { openEmbeddedStorage } from "../../server/persistence/sqlite/openEmbeddedStorage.js";
import { createStores, type Stores } from "../../server/persistence/stores/index.js";
import { buildTestApp } from "../support/authDeps.js";

const logger = createLogger({ level: "silent" });
let dir: string;
let storage: Storage;
let stores: Stores;
let app: Express;
let token: string;
let userId: string;
const seed = seedContent(new Date());
const section = seed.forumSections[0]?.id as string;
const lockedTopic = seed.forumTopics.find((t) => t.locked)?.id as string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lovecraft-forum-"));
  storage = openEmbeddedStorage(dir);
  stores = createStores(storage);
  await seedIfEmpty(stores, logger);
  const built = await buildTestApp(stores);
  app = built.app;
  const session = await built.auth.service.register(
    {
      email: `poster-${randomUUID()}@example.com`,
      password: "a long enough password",
      displayName: "Poster",
    },
    "127.0.0.1",
  );
  token = session.accessToken;
  userId = session.user.id;
});

afterAll(async () => {
  await storage?.close();
  rmSync(dir, { recursive: true, force: true });
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  request(app)
    .post(`/api/v1${path}`)
    .set("authorization", `Bearer ${token}`)
    .set(headers)
    .send(body as object);

describe("forum writes", () => {
  it("starts a topic with its opening post, listed in its section", async () => {
    const res = await post(`/forum/sections/${section}/topics`, {
      title: "Hello from tests",
      body: "First!",
    });
    expect(res.status).toBe(201);
    const topic = res.body.data.topic;
    expect(topic).toMatchObject({
      sectionId: section,
      authorId: userId,
      authorName: "Poster",
      replyCount: 1,
    });
    const listed = await request(app).get(`/api/v1/forum/sections/${section}/topics?limit=100`);
    expect(listed.body.data.items.map((t: { id: string }) => t.id)).toContain(topic.id);
    const replies = await request(app).get(`/api/v1/forum/topics/${topic.id}/replies`);
    expect(replies.body.data.items.map((r: { body: string }) => r.body)).toEqual(["First!"]);
  });

  it("counts every one of many concurrent replies exactly once", async () => {
    const topic = (await post(`/forum/sections/${section}/topics`, { title: "Busy thread", body: "go" })).body
      .data.topic;
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post(`/forum/topics/${topic.id}/replies`, { body: `reply ${i}` })),
    );
    expect(answers.every((a) => a.status === 201)).toBe(true);
    const after = await request(app).get(`/api/v1/forum/topics/${topic.id}`);
    expect(after.body.data.replyCount).toBe(21);
    const replies = await request(app).get(`/api/v1/forum/topics/${topic.id}/replies?limit=100`);
    expect(replies.body.data.items).toHaveLength(21);
  });

  it("stores a retried reply with the same Idempotency-Key once", async () => {
    const topic = (await post(`/forum/sections/${section}/topics`, { title: "Retry thread", body: "go" }))
      .body.data.topic;
    const headers = { "idempotency-key": `key-${randomUUID()}` };
    const first = await post(`/forum/topics/${topic.id}/replies`, { body: "once" }, headers);
    const again = await post(`/forum/topics/${topic.id}/replies`, { body: "once" }, headers);
    expect(again.body.data.id).toBe(first.body.data.id);
    expect((await request(app).get(`/api/v1/forum/topics/${topic.id}`)).body.data.replyCount).toBe(2);
  });

  it("answers coded errors", async () => {
    expect((await post(`/forum/topics/${lockedTopic}/replies`, { body: "hi" })).body.error.code).toBe(
      "CONFLICT",
    );
    expect((await post("/forum/sections/no-such-section/topics", { title: "abc", body: "x" })).status).toBe(
      404,
    );
    expect(
      (await post(`/forum/sections/${section}/topics`, { title: "abc", body: "x", pinned: true })).status,
    ).toBe(400);
    expect((await post(`/forum/sections/${section}/topics`, { title: "abc", body: "   " })).status).toBe(400);
    const anonymous = await request(app)
      .post(`/api/v1/forum/sections/${section}/topics`)
      .send({ title: "abc", body: "x" });
    expect(anonymous.status).toBe(401);
  });

  it("anonymizes an author's posts without removing them from threads", async () => {
    const topic = (await post(`/forum/sections/${section}/topics`, { title: "Soon anonymous", body: "mine" }))
      .body.data.topic;
    const mine = await stores.forum.listByAuthor(userId);
    expect(mine.topics.map((t) => t.id)).toContain(topic.id);
    expect(await stores.forum.anonymizeAuthor(userId)).toBeGreaterThan(0);
    const replies = await request(app).get(`/api/v1/forum/topics/${topic.id}/replies`);
    expect(replies.body.data.items[0]).toMatchObject({
      body: "mine",
      authorName: "Deleted user",
      authorId: "deleted-user",
    });
    expect((await stores.forum.listByAuthor(userId)).replies).toEqual([]);
  });
});
