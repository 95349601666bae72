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
const section = seedContent(new Date()).forumSections[0]?.id as string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lovecraft-rights-"));
  storage = openEmbeddedStorage(dir);
  stores = createStores(storage);
  await seedIfEmpty(stores, logger);
  ({ app } = await buildTestApp(stores));
});

afterAll(async () => {
  await storage?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function register(email: string, password: string) {
  const res = await request(app).post("/api/v1/auth/register").send({ email, password, displayName: "Rita" });
  expect(res.status).toBe(201);
  return res.body.data as { accessToken: string; refreshToken: string; user: { id: string } };
}

describe("account data rights", () => {
  it("exports everything held about the caller, and only theirs", async () => {
    const me = await register(`rita-${randomUUID()}@example.com`, "rita's long password");
    const other = await register(`otto-${randomUUID()}@example.com`, "otto's long password");
    await stores.photos.put(me.user.id, randomUUID(), Buffer.from("jpeg"), "image/jpeg");
    await request(app)
      .post(`/api/v1/forum/sections/${section}/topics`)
      .set("authorization", `Bearer ${me.accessToken}`)
      .send({ title: "My topic", body: "My words" });
    const res = await request(app)
      .get("/api/v1/users/me/export")
      .set("authorization", `Bearer ${me.accessToken}`);
    expect(res.status).toBe(200);
    expect(res.headers["content-disposition"]).toContain("attachment");
    const data = res.body.data;
    expect(data.account.id).toBe(me.user.id);
    expect(data.account.passwordHash).toBeUndefined();
    expect(data.sessions).toHaveLength(1);
    expect(data.photos).toHaveLength(1);
    expect(data.forum.topics.map((t: { title: string }) => t.title)).toEqual(["My topic"]);
    expect(data.forum.replies.map((r: { body: string }) => r.body)).toEqual(["My words"]);
    const theirs = await request(app)
      .get("/api/v1/users/me/export")
      .set("authorization", `Bearer ${other.accessToken}`);
    expect(theirs.body.data.forum.topics).toEqual([]);
  });

  it("erases the account after password confirmation", async () => {
    const email = `erase-${randomUUID()}@example.com`;
    const me = await register(email, "erase me correctly");
    await stores.photos.put(me.user.id, randomUUID(), Buffer.from("jpeg"), "image/jpeg");
    const topic = await request(app)
      .post(`/api/v1/forum/sections/${section}/topics`)
      .set("authorization", `Bearer ${me.accessToken}`)
      .send({ title: "Going away", body: "bye" });
    const auth = { authorization: `Bearer ${me.accessToken}` };

    const wrong = await request(app)
      .delete("/api/v1/users/me")
      .set(auth)
      .send({ password: "not my password" });
    expect(wrong.status).toBe(401);
    const erased = await request(app)
      .delete("/api/v1/users/me")
      .set(auth)
      .send({ password: "erase me correctly" });
    expect(erased.body.data).toEqual({ deleted: true, photos: 1, forumPosts: 2, chats: 0, matches: 0 });

    expect(await stores.photos.list(me.user.id)).toEqual([]);
    expect(
      (await request(app).post("/api/v1/auth/refresh").send({ refreshToken: me.refreshToken })).status,
    ).toBe(401);
    expect((await request(app).get("/api/v1/auth/me").set(auth)).status).toBe(401);
    const login = await request(app)
      .post("/api/v1/auth/login")
      .send({ email, password: "erase me correctly" });
    expect(login.status).toBe(401);
    const thread = await request(app).get(`/api/v1/forum/topics/${topic.body.data.topic.id}/replies`);
    expect(thread.body.data.items[0]).toMatchObject({ body: "bye", authorName: "Deleted user" });
    await register(email, "a new life begins"); // the email is free again
  });
});
