import { randomBytes, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { BlogPost, Event, StoreItem } from "../../protocol/content.js";
import { ConcurrencyError, FencedError } from "../../server/persistence/errors.js";
import type { Storage } from "../../server/persistence/ports.js";
import { EmailTakenError } from "../../server/persistence/stores/AccountStore.js";
import { StaleEpochError } from "../../server/persistence/stores/ActorJournal.js";
import { createStores } from "../../server/persistence/stores/index.js";

const ev = (text: string) => Buffer.from(text);
const texts = (events: { data: Buffer }[]) => events.map((e) => e.data.toString());

/** The domain stores' contract, run over every storage backend. */
export function describeStoresContract(name: string, storage: () => Storage): void {
  const stores = () => createStores(storage());
  const actor = () => `user_${randomUUID().replaceAll("-", "")}`;

  describe(`${name}: ActorJournal`, () => {
    it("starts empty, appends with gap-free seqs and recovers them", async () => {
      const key = actor();
      const { recovery, writer } = await stores().journal.open(key);
      expect(recovery).toMatchObject({ epoch: 1, seq: 0, events: [] });
      const a = writer.append(ev("a"));
      const b = writer.append(ev("b"));
      const c = writer.append(ev("c"));
      expect([a.seq, b.seq, c.seq]).toEqual([1, 2, 3]);
      await Promise.all([a.durable, b.durable, c.durable]);
      expect(writer.durableSeq).toBe(3);
      const read = await stores().journal.read(key);
      expect(read?.seq).toBe(3);
      expect(texts(read?.events ?? [])).toEqual(["a", "b", "c"]);
    });

    it("commits many concurrent appends in few batches", async () => {
      const key = actor();
      const { writer } = await stores().journal.open(key);
      const batches: number[] = [];
      writer.onCommit = (s) => batches.push(s.events);
      const appends = Array.from({ length: 250 }, (_, i) => writer.append(ev(`m${i}`)));
      await Promise.all(appends.map((a) => a.durable));
      expect(batches.reduce((x, y) => x + y, 0)).toBe(250);
      expect(batches.length).toBeLessThanOrEqual(5);
      expect(Math.max(...batches)).toBeLessThanOrEqual(99);
      const read = await stores().journal.read(key);
      expect(read?.events.map((e) => e.seq)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    });

    it("a newer activation fences the older writer; nothing of the old one lands after", async () => {
      const key = actor();
      const first = await stores().journal.open(key);
      await first.writer.append(ev("one")).durable;
      const second = await stores().journal.open(key);
      expect(second.recovery.epoch).toBe(2);
      expect(texts(second.recovery.events)).toEqual(["one"]);
      const stale = first.writer.append(ev("stale"));
      await expect(stale.durable).rejects.toBeInstanceOf(FencedError);
      expect(first.writer.isFenced).toBe(true);
      expect(() => first.writer.append(ev("again"))).toThrow(ConcurrencyError);
      await second.writer.append(ev("two")).durable;
      const read = await stores().journal.read(key);
      expect(texts(read?.events ?? [])).toEqual(["one", "two"]);
    });

    it("refuses an epoch that is not newer than the stored one", async () => {
      const key = actor();
      await stores().journal.open(key, { epoch: 5 });
      await expect(stores().journal.open(key, { epoch: 5 })).rejects.toBeInstanceOf(StaleEpochError);
      const next = await stores().journal.open(key, { epoch: 9 });
      expect(next.recovery.epoch).toBe(9);
    });

    it("snapshots, replays only the tail and deletes covered log rows", async () => {
      const key = actor();
      const { writer } = await stores().journal.open(key);
      for (const t of ["a", "b", "c"]) writer.append(ev(t));
      await writer.snapshot(ev("state-after-c"), 3);
      await writer.append(ev("d")).durable;
      await writer.flush();
      const { recovery } = await stores().journal.open(key);
      expect(recovery.snapshot).toEqual({ seq: 3, data: ev("state-after-c") });
      expect(recovery.events.map((e) => [e.seq, e.data.toString()])).toEqual([[4, "d"]]);
      const rows = await storage().tables.query("actors", key, { prefix: "log-" });
      expect(rows.items.map((r) => r.rowKey)).toEqual(["log-000000000004"]);
    });

    it("chunks large snapshots and spills very large ones to a blob", async () => {
      const key = actor();
      const { writer } = await stores().journal.open(key);
      writer.append(ev("x"));
      const medium = randomBytes(200_000); // incompressible: 4 chunks inline
      await writer.snapshot(medium, 1);
      let recovered = (await stores().journal.read(key))?.snapshot?.data;
      expect(recovered?.equals(medium)).toBe(true);
      writer.append(ev("y"));
      const large = randomBytes(900_000); // beyond 10 chunks: a blob
      await writer.snapshot(large, 2);
      recovered = (await stores().journal.read(key))?.snapshot?.data;
      expect(recovered?.equals(large)).toBe(true);
      expect(await storage().blobs.list("snapshots", `${key}/`)).toHaveLength(1);
      writer.append(ev("z"));
      await writer.snapshot(ev("small again"), 3);
      await writer.flush();
      expect((await stores().journal.read(key))?.snapshot?.data.toString()).toBe("small again");
      expect(await storage().blobs.list("snapshots", `${key}/`)).toHaveLength(0);
    });

    it("refuses oversized events without consuming a sequence number", async () => {
      const { writer } = await stores().journal.open(actor());
      expect(() => writer.append(Buffer.alloc(240_001))).toThrow();
      expect(writer.append(ev("ok")).seq).toBe(1);
    });
  });

  describe(`${name}: AccountStore`, () => {
    const account = (email: string) => ({
      id: randomUUID(),
      email,
      passwordHash: "$argon2id$stub",
      displayName: "Ann",
      createdAt: new Date().toISOString(),
      tokenVersion: 0,
    });

    it("creates accounts with a unique, case-insensitive email", async () => {
      const email = `Ann+${randomUUID()}@Example.com`;
      const created = await stores().accounts.create(account(email));
      expect(created.account.email).toBe(email.toLowerCase());
      await expect(stores().accounts.create(account(email.toUpperCase()))).rejects.toBeInstanceOf(
        EmailTakenError,
      );
      expect((await stores().accounts.getByEmail(` ${email} `))?.account.id).toBe(created.account.id);
      expect((await stores().accounts.getById(created.account.id))?.account.displayName).toBe("Ann");
    });

    it("lets only one of two racing registrations win", async () => {
      const email = `race-${randomUUID()}@example.com`;
      const results = await Promise.allSettled([
        stores().accounts.create(account(email)),
        stores().accounts.create(account(email)),
      ]);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    });

    it("updates conditionally on the ETag", async () => {
      const created = await stores().accounts.create(account(`u-${randomUUID()}@example.com`));
      const updated = await stores().accounts.update({ ...created.account, displayName: "Bo" }, created.etag);
      await expect(
        stores().accounts.update({ ...created.account, displayName: "Cy" }, created.etag),
      ).rejects.toBeInstanceOf(ConcurrencyError);
      expect((await stores().accounts.getById(created.account.id))?.account.displayName).toBe("Bo");
      expect(updated.etag).not.toBe(created.etag);
    });
  });

  describe(`${name}: RefreshTokenStore`, () => {
    it("rotates a token exactly once and revokes families", async () => {
      const familyId = randomUUID();
      const userId = randomUUID();
      const now = new Date().toISOString();
      const token = (hash: string) => ({ hash, issuedAt: now, expiresAt: now });
      await stores().refreshTokens.createFamily({ familyId, userId, createdAt: now }, token("h1"));
      const current = await stores().refreshTokens.find(familyId, "h1");
      expect(current?.family.userId).toBe(userId);
      const rotations = await Promise.allSettled([
        stores().refreshTokens.rotate(familyId, current!, token("h2"), now),
        stores().refreshTokens.rotate(familyId, current!, token("h3"), now),
      ]);
      expect(rotations.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const used = await stores().refreshTokens.find(familyId, "h1");
      expect(used?.token.usedAt).toBe(now);
      expect(["h2", "h3"]).toContain(used?.token.successorHash);
      await stores().refreshTokens.revokeFamily(familyId, now);
      expect(
        (await stores().refreshTokens.find(familyId, used!.token.successorHash!))?.family.revokedAt,
      ).toBe(now);
      expect(await stores().refreshTokens.listFamilyIds(userId)).toEqual([familyId]);
    });
  });

  describe(`${name}: content stores`, () => {
    const suffix = () => randomUUID().slice(0, 8);

    it("lists catalogue items by title, per category, with cursors", async () => {
      const category = `cat-${suffix()}`;
      const item = (id: string, title: string): StoreItem => ({
        id,
        title,
        description: "",
        category,
        price: { amount: 1990, currency: "RUB" },
        imageUrl: "https://cdn.example/i.jpg",
        purchaseUrl: "https://shop.example/i",
        tags: [],
        available: true,
        createdAt: "2026-01-01T00:00:00.000Z",
      });
      const s = stores();
      for (const [id, title] of [
        ["c-1", "Vinyl"],
        ["c-2", "Album"],
        ["c-3", "Hoodie"],
      ] as const) {
        await s.catalogue.put(item(`${id}-${category}`, title));
      }
      const first = await s.catalogue.list({ category, limit: 2 });
      expect(first.items.map((i) => i.title)).toEqual(["Album", "Hoodie"]);
      const second = await s.catalogue.list({
        category,
        limit: 2,
        ...(first.next ? { after: first.next } : {}),
      });
      expect(second.items.map((i) => i.title)).toEqual(["Vinyl"]);
      expect(second.next).toBeUndefined();
      await s.catalogue.put({ ...item(`c-2-${category}`, "Album"), category: `${category}-moved` });
      expect((await s.catalogue.list({ category, limit: 10 })).items.map((i) => i.title)).toEqual([
        "Hoodie",
        "Vinyl",
      ]);
      expect((await s.catalogue.get(`c-2-${category}`))?.category).toBe(`${category}-moved`);
    });

    it("lists blog posts newest first and events by date and city", async () => {
      const s = stores();
      const tag = `t-${suffix()}`;
      const post = (id: string, publishedAt: string): BlogPost => ({
        id,
        title: id,
        summary: "",
        body: "long ".repeat(20_000),
        author: "Team",
        tags: [tag],
        coverImageUrl: "https://cdn.example/c.jpg",
        publishedAt,
      });
      await s.blog.put(post(`old-${tag}`, "2026-01-01T00:00:00.000Z"));
      await s.blog.put(post(`new-${tag}`, "2026-06-01T00:00:00.000Z"));
      const posts = await s.blog.list({ tag, limit: 10 });
      expect(posts.items.map((p) => p.id)).toEqual([`new-${tag}`, `old-${tag}`]);
      expect(posts.items[0]?.body.length).toBe(100_000);

      const city = `Город ${suffix()}`;
      const event = (id: string, startsAt: string): Event => ({
        id,
        title: id,
        description: "",
        category: "meetup",
        city,
        venue: "Club",
        address: "Street 1",
        startsAt,
        endsAt: startsAt,
        capacity: 50,
        price: null,
        imageUrl: "https://cdn.example/e.jpg",
        externalUrl: null,
      });
      const id = suffix();
      await s.events.put(event(`e2-${id}`, "2026-12-10T18:00:00.000Z"));
      await s.events.put(event(`e1-${id}`, "2026-12-01T18:00:00.000Z"));
      await s.events.put(event(`e0-${id}`, "2026-10-01T18:00:00.000Z"));
      const upcoming = await s.events.list({ city, from: "2026-11-26T00:00:00.000Z", limit: 10 });
      expect(upcoming.items.map((e) => e.id)).toEqual([`e1-${id}`, `e2-${id}`]);
    });

    it("keeps forum sections, topics and replies", async () => {
      const s = stores();
      const id = suffix();
      await s.forum.putSection({ id: `s-${id}`, title: "Intro", description: "", order: 1 });
      const topic = {
        id: `t-${id}`,
        sectionId: `s-${id}`,
        title: "Hi",
        authorId: "u1",
        authorName: "Ann",
        createdAt: "2026-11-01T00:00:00.000Z",
        lastActivityAt: "2026-11-02T00:00:00.000Z",
        replyCount: 1,
        pinned: false,
        locked: false,
      };
      await s.forum.putTopic(topic);
      await s.forum.putReply({
        id: `r-${id}`,
        topicId: `t-${id}`,
        authorId: "u2",
        authorName: "Bo",
        body: "Hello!",
        createdAt: "2026-11-02T00:00:00.000Z",
      });
      expect((await s.forum.listTopics(`s-${id}`, { limit: 5 })).items).toEqual([topic]);
      expect((await s.forum.listReplies(`t-${id}`, { limit: 5 })).items.map((r) => r.body)).toEqual([
        "Hello!",
      ]);
      expect((await s.forum.getSection(`s-${id}`))?.title).toBe("Intro");
    });
  });

  describe(`${name}: PhotoStore`, () => {
    it("stores photos per user", async () => {
      const s = stores();
      const user = randomUUID();
      await s.photos.put(user, "p1", Buffer.from("jpeg-bytes"), "image/jpeg");
      expect(await s.photos.list(user)).toEqual(["p1"]);
      expect((await s.photos.get(user, "p1"))?.contentType).toBe("image/jpeg");
      await s.photos.delete(user, "p1");
      expect(await s.photos.list(user)).toEqual([]);
    });
  });
}
