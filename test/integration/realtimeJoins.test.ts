import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  type ClientEvents,
  LovecraftClient,
  LovecraftError,
  PROTOCOL_VERSION,
  type Session,
} from "../../client/index.js";
import { useRealtimeServer } from "../support/realtimeServer.js";
import { matchUsers, record, type TestUser, waitFor } from "../support/realtimeUsers.js";

/** Joining chats while offline or right before traffic, and who may open which room. */
describe("realtime: joins, rooms and limits", () => {
  const rt = useRealtimeServer("lovecraft-joins-");

  const user = (name: string): Promise<TestUser> => rt.user(name);
  const sessionOf = (client: LovecraftClient) => (client as unknown as { session: Session }).session;
  const newClient = (session: Session, options: { lastSeqs?: Record<string, number> } = {}) => {
    const client = new LovecraftClient({ url: rt.baseUrl, commandTimeoutMs: 20_000, ...options });
    client.useSession(session);
    rt.track(client);
    return client;
  };
  const recordOn = <K extends keyof ClientEvents>(client: LovecraftClient, type: K): ClientEvents[K][] => {
    const seen: ClientEvents[K][] = [];
    client.on(type, (e) => seen.push(e));
    return seen;
  };
  /** Polls an async check (bounded) until it returns a value. */
  const poll = async <T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const textOf = (e: ClientEvents["chat"]) => (e.entry.kind === "message" ? e.entry.text : e.entry.kind);

  it("a chat joined while offline is caught up in full on connect", async () => {
    const alice = await user("Alice");
    const bob = await user("Bob");
    expect(await bob.client.send("like", { userId: alice.id })).toEqual({ status: "liked" });
    const session = sessionOf(bob.client);
    await bob.client.close();

    const aliceChats = record(alice, "chat.added");
    expect(await alice.client.send("like", { userId: bob.id })).toEqual({ status: "matched" });
    const { chat } = await waitFor(() => aliceChats[0], "Alice's chat");
    const chatId = chat.chatId;
    expect(chat).toMatchObject({ kind: "direct", peer: bob.id, fromSeq: 0 });
    expect(await alice.client.send("chat.send", { chatId, text: "are you there?" })).toMatchObject({
      seq: 1,
    });
    expect(await alice.client.send("chat.send", { chatId, text: "hello?" })).toMatchObject({ seq: 2 });

    const again = newClient(session); // a fresh install: no lastSeqs
    // Bob's actor joins the chat through the chat's outbox; wait until it has, while he is offline.
    await poll(async () => {
      const data = await again.rest<{ realtime: { chats: Record<string, unknown> } }>(
        "GET",
        "/users/me/export",
      );
      return Object.hasOwn(data.realtime.chats, chatId) ? true : undefined;
    }, "Bob's actor to join the chat");

    const seen = recordOn(again, "chat");
    const synced = await again.connect();
    const summary = synced.chats.find((c) => c.chatId === chatId);
    expect(summary).toMatchObject({ lastSeq: 2, unread: 2 });
    const inChat = () => seen.filter((e) => e.chatId === chatId);
    expect(inChat().map((e) => [e.seq, textOf(e)])).toEqual([
      [1, "are you there?"],
      [2, "hello?"],
    ]);
    expect(again.lastSeqs()[chatId]).toBe(2);
  });

  it("an invited group member receives what was posted right after the invite", async () => {
    const carol = await user("Carol");
    const dave = await user("Dave");
    await matchUsers(carol, dave);
    const daveAdded = record(dave, "chat.added");
    const daveChat = record(dave, "chat");

    const { chatId } = await carol.client.send("group.create", { title: "Picnic", members: [dave.id] });
    expect(chatId).toMatch(/^g-/);
    await waitFor(() => daveAdded.find((a) => a.chat.chatId === chatId), "Dave's chat.added for the group");
    const sent = await carol.client.send("chat.send", { chatId, text: "welcome, Dave" });

    // No later traffic, no reconnect: the entries reach Dave on their own.
    const inGroup = () => daveChat.filter((e) => e.chatId === chatId);
    await waitFor(() => inGroup().some((e) => e.seq === sent.seq), "the message at Dave", 10_000);
    const seqs = inGroup().map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: sent.seq }, (_, i) => i + 1));
    expect(inGroup().at(-1)).toMatchObject({
      seq: sent.seq,
      entry: { kind: "message", by: carol.id, text: "welcome, Dave" },
    });
    for (const e of inGroup().slice(0, -1)) expect(e.entry.kind).toBe("member");
    expect(dave.client.lastSeqs()[chatId]).toBe(sent.seq);
  });

  it("a member invited into an existing group receives the join and the next message live", async () => {
    const gina = await user("Gina");
    const hank = await user("Hank");
    await matchUsers(gina, hank);
    const { chatId } = await gina.client.send("group.create", { title: "Book club", members: [] });
    await gina.client.send("chat.send", { chatId, text: "before Hank" });
    const hankAdded = record(hank, "chat.added");
    const hankChat = record(hank, "chat");

    const invited = await gina.client.send("group.invite", { chatId, userId: hank.id });
    expect(invited.seq).toBe(2);
    const added = await waitFor(() => hankAdded.find((a) => a.chat.chatId === chatId), "Hank's chat.added");
    expect(added.chat.fromSeq).toBe(1);
    const sent = await gina.client.send("chat.send", { chatId, text: "welcome, Hank" });
    expect(sent.seq).toBe(3);

    const inGroup = () => hankChat.filter((e) => e.chatId === chatId);
    await waitFor(() => inGroup().some((e) => e.seq === sent.seq), "the message at Hank", 10_000);
    expect(inGroup().map((e) => [e.seq, e.entry.kind, textOf(e)])).toEqual([
      [2, "member", "member"],
      [3, "message", "welcome, Hank"],
    ]);
    expect(inGroup()[0]?.entry).toMatchObject({ kind: "member", userId: hank.id, change: "joined" });
  });

  it("nobody can create another user's room through matchmaking", async () => {
    const alice = await user("Alicia");
    const mallory = await user("Mallory");
    const token = sessionOf(mallory.client).accessToken;
    const create = (actorId: string) =>
      fetch(`${rt.baseUrl}/matchmake/create/user`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ protocol: PROTOCOL_VERSION, actorId }),
      });

    for (const actorId of [alice.id, "zzz-fake-1"]) {
      const response = await create(actorId);
      const body = await response.text();
      expect(response.ok, `create user room ${actorId}: ${response.status} ${body}`).toBe(false);
      expect(response.status).toBeGreaterThanOrEqual(400);
    }

    // Alice's own room is untouched: her socket still works, and a new device still connects.
    const synced = await alice.client.send("sync", {});
    expect(synced.me.userId).toBe(alice.id);
    const second = newClient(sessionOf(alice.client));
    expect((await second.connect()).me.userId).toBe(alice.id);
    expect((await mallory.client.send("sync", {})).me.userId).toBe(mallory.id);
  });

  it("matchmaking creates no user room without naming one's own actor", async () => {
    const mallory = await user("Mal");
    const response = await fetch(`${rt.baseUrl}/matchmake/create/user`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${sessionOf(mallory.client).accessToken}`,
      },
      // No actorId: the room would be named after no one ("user_undefined").
      body: JSON.stringify({ protocol: PROTOCOL_VERSION }),
    });
    const body = await response.text();
    expect(response.ok, `create without actorId: ${response.status} ${body}`).toBe(false);
  });

  it("a device count is bounded", async () => {
    const owner = new LovecraftClient({ url: rt.baseUrl });
    rt.track(owner);
    const session = await owner.register({
      email: `devices-${randomUUID()}@example.com`,
      password: `correct horse ${randomUUID()}`,
      displayName: "Devices",
    });
    const devices: LovecraftClient[] = [];
    try {
      for (let i = 0; i < 10; i++) {
        const device = newClient(session);
        devices.push(device);
        expect((await device.connect()).me.userId).toBe(session.user.id);
      }
      const eleventh = newClient(session);
      devices.push(eleventh);
      const refused = await eleventh.connect().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(LovecraftError);
      expect((refused as LovecraftError).code).toBe("CONFLICT");
      // The ten connected devices are unaffected.
      expect((await devices[0]?.send("sync", {}))?.me.userId).toBe(session.user.id);
    } finally {
      await Promise.all(devices.map((d) => d.close()));
    }
  });

  it("a command too large for a frame is refused locally", async () => {
    const erin = await user("Erin");
    const frank = await user("Frank");
    const chatId = await matchUsers(erin, frank);
    const statuses = record(erin, "status");

    const tooLarge = erin.client.send("chat.send", { chatId, text: "x".repeat(70_000) });
    await expect(tooLarge).rejects.toBeInstanceOf(LovecraftError);
    await expect(tooLarge).rejects.toMatchObject({ code: "PAYLOAD_TOO_LARGE" });

    expect(erin.client.currentStatus).toBe("online");
    expect(statuses).toEqual([]);
    expect((await erin.client.send("sync", {})).me.userId).toBe(erin.id);
    // Nothing reached the chat.
    expect(await erin.client.send("chat.send", { chatId, text: "small" })).toMatchObject({ seq: 1 });
  });
});
