import { Client as ColyseusClient } from "@colyseus/sdk";
import { describe, expect, it } from "vitest";
import {
  CloseCode,
  LovecraftClient,
  LovecraftError,
  MessageType,
  PROTOCOL_VERSION,
  type Session,
} from "../../client/index.js";
import { useRealtimeServer } from "../support/realtimeServer.js";
import { matchUsers, record, type TestUser, waitFor } from "../support/realtimeUsers.js";

/** The realtime product through the SDK against a real server process (embedded storage). */
describe("realtime through the SDK", () => {
  const rt = useRealtimeServer("lovecraft-rt-");

  const user = (name: string): Promise<TestUser> => rt.user(name);

  it("matches two users exactly once and lets them chat, edit, react, read and see typing", async () => {
    const alice = await user("Alice");
    const bob = await user("Bob");
    const aliceMatches = record(alice, "match");
    const bobMatches = record(bob, "match");
    const bobChat = record(bob, "chat");
    const bobTyping = record(bob, "typing");
    const aliceReads = record(alice, "read");
    const bobUnread = record(bob, "unread");

    const chatId = await matchUsers(alice, bob);
    await waitFor(() => aliceMatches.length === 1 && bobMatches.length === 1, "match events");
    expect(aliceMatches[0]?.chatId).toBe(chatId);
    expect(bobMatches[0]?.chatId).toBe(chatId);
    expect(await alice.client.send("like", { userId: bob.id })).toEqual({ status: "matched" });

    await alice.client.send("chat.typing", { chatId });
    await waitFor(() => bobTyping.find((t) => t.userId === alice.id), "typing");

    const first = await alice.client.send("chat.send", { chatId, text: "hello Bob" });
    const second = await alice.client.send("chat.send", { chatId, text: "how are you?", replyTo: first.seq });
    await alice.client.send("chat.edit", { chatId, seq: first.seq, text: "hello, Bob" });
    await bob.client.send("chat.react", { chatId, seq: second.seq, emoji: "❤️", on: true });
    await waitFor(() => bobChat.length >= 4, "four entries at Bob");
    expect(bobChat.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(bobChat.map((e) => e.entry.kind)).toEqual(["message", "message", "edit", "reaction"]);
    await waitFor(() => bobUnread.find((u) => u.chatId === chatId && u.unread === 2), "Bob's unread badge");

    const read = await bob.client.send("chat.read", { chatId, seq: 4 });
    expect(read).toEqual({ readSeq: 4, unread: 0 });
    await waitFor(() => aliceReads.find((r) => r.userId === bob.id && r.seq === 4), "read receipt at Alice");

    const { messages } = await bob.client.send("chat.history", { chatId });
    expect(messages.map((m) => [m.seq, m.text])).toEqual([
      [1, "hello, Bob"],
      [2, "how are you?"],
    ]);
    expect(messages[1]?.reactions).toEqual({ "❤️": [bob.id] });
    expect(messages[1]?.replyTo).toBe(1);

    await alice.client.send("chat.delete", { chatId, seq: second.seq });
    const after = await alice.client.send("chat.history", { chatId });
    expect(after.messages[1]).toMatchObject({ seq: 2, text: null, deleted: true });
    await expect(
      bob.client.send("chat.edit", { chatId, seq: first.seq, text: "mine now" }),
    ).rejects.toMatchObject({
      code: "FORBIDDEN",
    });
  });

  it("shows presence of matches: online while connected, last seen after leaving", async () => {
    const carol = await user("Carol");
    const dave = await user("Dave");
    await matchUsers(carol, dave);
    const seen = record(carol, "presence");
    const synced = await carol.client.send("sync", {});
    expect(synced.presence.find((p) => p.userId === dave.id)?.online).toBe(true);
    await dave.client.close();
    const offline = await waitFor(() => seen.find((p) => p.userId === dave.id && !p.online), "Dave offline");
    expect(offline.lastSeen).toBeGreaterThan(0);
  });

  it("keeps a third user out of a chat and out of another user's room (BOLA over the socket)", async () => {
    const erin = await user("Erin");
    const frank = await user("Frank");
    const mallory = await user("Mallory");
    const chatId = await matchUsers(erin, frank);
    await erin.client.send("chat.send", { chatId, text: "private" });

    for (const attempt of [
      mallory.client.send("chat.send", { chatId, text: "let me in" }),
      mallory.client.send("chat.history", { chatId }),
      mallory.client.send("chat.since", { chatId, after: 0 }),
      mallory.client.send("chat.read", { chatId, seq: 1 }),
      mallory.client.send("group.invite", { chatId, userId: mallory.id }),
    ]) {
      await expect(attempt).rejects.toMatchObject({ code: "NOT_FOUND" });
    }
    // Mallory's own token cannot open a socket in Erin's room, by seat or by id.
    const raw = new ColyseusClient(rt.baseUrl);
    raw.http.authToken = (
      mallory.client as unknown as { session: { accessToken: string } }
    ).session.accessToken;
    await expect(raw.joinById(`user_${erin.id}`, { protocol: PROTOCOL_VERSION })).rejects.toThrow();
  });

  it("answers bad frames with coded errors and closes a flooding socket with ABUSE", async () => {
    const grace = await user("Grace");
    const room = (grace.client as unknown as { room: { send(t: string, m: unknown): void } }).room;
    const acks = new Map<string, { ok: boolean; error?: { code: string } }>();
    const errors: { error: { code: string } }[] = [];
    const roomImpl = room as unknown as { onMessage(t: string, cb: (m: never) => void): void };
    roomImpl.onMessage(MessageType.ACK, (a: { cid: string; ok: boolean; error?: { code: string } }) =>
      acks.set(a.cid, a),
    );
    roomImpl.onMessage(MessageType.ERROR, (e: { error: { code: string } }) => errors.push(e));

    room.send(MessageType.COMMAND, { cid: "bad-1", type: "chat.send", chatId: "nope", text: "" });
    room.send(MessageType.COMMAND, { cid: "bad-2", type: "no.such.command" });
    room.send(MessageType.COMMAND, { cid: "bad-3", type: "like", userId: "x", admin: true });
    room.send("whatever", { hello: 1 });
    room.send(MessageType.COMMAND, "not even an object");
    await waitFor(() => acks.size === 3 && errors.length === 2, "answers to bad frames");
    for (const cid of ["bad-1", "bad-2", "bad-3"])
      expect(acks.get(cid)?.error?.code).toBe("VALIDATION_FAILED");
    expect(errors.map((e) => e.error.code).sort()).toEqual(["BAD_REQUEST", "VALIDATION_FAILED"]);
    // Still usable after bad input.
    expect((await grace.client.send("sync", {})).me.userId).toBe(grace.id);

    const statuses = record(grace, "status");
    for (let i = 0; i < 120; i++) room.send(MessageType.COMMAND, { cid: `flood-${i}`, type: "chat.typing" });
    await waitFor(() => statuses.find((s) => s.code === CloseCode.ABUSE), "ABUSE close");
    expect(
      [...acks.values()].some(
        (a) => a.error?.code === "RATE_LIMITED" || a.error?.code === "VALIDATION_FAILED",
      ),
    ).toBe(true);
  });

  it("delivers every message exactly once and in order across a dropped connection", async () => {
    const heidi = await user("Heidi");
    const ivan = await user("Ivan");
    const chatId = await matchUsers(heidi, ivan);
    const atIvan = record(ivan, "chat");
    const sends: Promise<{ seq: number }>[] = [];
    for (let i = 0; i < 30; i++) {
      sends.push(heidi.client.send("chat.send", { chatId, text: `m${i}` }));
      // Mid-stream, with commands in flight: unacked ones are re-sent with their cid.
      if (i === 10) heidi.client.dropConnection();
      if (i === 20) {
        await waitFor(() => atIvan.length >= 5, "some messages at Ivan");
        ivan.client.dropConnection(); // Ivan catches up by seq on reconnect
      }
    }
    const acks = await Promise.all(sends);
    expect(new Set(acks.map((a) => a.seq)).size).toBe(30);
    await waitFor(() => atIvan.length >= 30, "30 messages at Ivan", 20_000);
    const texts = atIvan.map((e) => (e.entry.kind === "message" ? e.entry.text : "?"));
    expect(new Set(texts).size).toBe(30);
    expect(atIvan.map((e) => e.seq)).toEqual(atIvan.map((_, i) => i + 1));
    const { messages } = await ivan.client.send("chat.history", { chatId, limit: 100 });
    expect(messages).toHaveLength(30);
  }, 60_000);

  it("re-sending a failed command with its cid (error.cid) applies it once", async () => {
    const olga = await user("Olga");
    const pete = await user("Pete");
    const chatId = await matchUsers(olga, pete);
    // A second device of Olga's that gives up on every command at once: the command still
    // reaches the server and lands, but the app only sees a retryable TIMEOUT.
    const impatient = new LovecraftClient({ url: rt.baseUrl, commandTimeoutMs: 1, retries: 0 });
    rt.track(impatient);
    impatient.useSession((olga.client as unknown as { session: Session }).session);
    let online = false;
    impatient.on("status", (s) => {
      if (s.status === "online") online = true;
    });
    await impatient.connect().catch(() => undefined); // its own sync times out too
    await waitFor(() => online, "second device online");
    const failed = await impatient.send("chat.send", { chatId, text: "only once" }).then(
      () => undefined,
      (err: unknown) => err as LovecraftError,
    );
    expect(failed?.code).toBe("TIMEOUT");
    expect(failed?.retryable).toBe(true);
    expect(failed?.cid).toMatch(/^[A-Za-z0-9_-]+$/);
    // The app retries on a patient device with the same cid: the first answer, not a new message.
    const retried = await olga.client.send("chat.send", { chatId, text: "only once" }, { cid: failed?.cid });
    const again = await olga.client.send("chat.send", { chatId, text: "only once" }, { cid: failed?.cid });
    expect(again.seq).toBe(retried.seq);
    const { messages } = await pete.client.send("chat.history", { chatId, limit: 10 });
    expect(messages.filter((m) => m.text === "only once")).toHaveLength(1);
  });

  it("catches up a device that was offline, from its last seen seq", async () => {
    const judy = await user("Judy");
    const kim = await user("Kim");
    const chatId = await matchUsers(judy, kim);
    await judy.client.send("chat.send", { chatId, text: "before" });
    await waitFor(() => kim.client.lastSeqs()[chatId] === 1, "Kim saw seq 1");
    const lastSeqs = kim.client.lastSeqs();
    const session = (kim.client as unknown as { session: never }).session;
    await kim.client.close();
    for (const text of ["one", "two", "three"]) await judy.client.send("chat.send", { chatId, text });

    const again = new LovecraftClient({ url: rt.baseUrl, lastSeqs });
    rt.track(again);
    again.useSession(session);
    const seen = record({ ...kim, client: again }, "chat");
    const synced = await again.connect();
    expect(synced.chats.find((c) => c.chatId === chatId)?.catchUp).toMatchObject({ more: false });
    expect(seen.map((e) => [e.seq, e.entry.kind === "message" ? e.entry.text : ""])).toEqual([
      [2, "one"],
      [3, "two"],
      [4, "three"],
    ]);
  });

  it("closes the socket with REVOKED on logout and does not reconnect", async () => {
    const leo = await user("Leo");
    const statuses = record(leo, "status");
    const raw = leo.client;
    const session = (raw as unknown as { session: { refreshToken: string } }).session;
    // Log out from another device of the same session family: this socket must close.
    await fetch(`${rt.baseUrl}/api/v1/auth/logout`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refreshToken: session.refreshToken }),
    });
    await waitFor(
      () => statuses.find((s) => s.status === "closed" && s.code === CloseCode.REVOKED),
      "REVOKED close",
    );
    await expect(raw.connect()).rejects.toBeInstanceOf(LovecraftError);
  });

  it("erasing an account unmatches its partner and anonymizes its messages in shared chats", async () => {
    const nina = await user("Nina");
    const oscar = await user("Oscar");
    const chatId = await matchUsers(nina, oscar);
    await nina.client.send("chat.send", { chatId, text: "remember me?" });
    await oscar.client.send("chat.send", { chatId, text: "sure" });
    const unmatched = record(oscar, "unmatched");
    const ninaStatus = record(nina, "status");
    const erased = await nina.client.rest<{ chats: number; matches: number }>("DELETE", "/users/me", {
      password: nina.password,
    });
    expect(erased).toMatchObject({ deleted: true, chats: 1, matches: 1 });
    await waitFor(() => unmatched.find((u) => u.userId === nina.id), "Oscar's unmatch");
    await waitFor(() => ninaStatus.find((s) => s.code === CloseCode.REVOKED), "Nina's socket closed");
    const { messages } = await oscar.client.send("chat.history", { chatId });
    expect(messages.map((m) => [m.by, m.text])).toEqual([
      ["deleted-user", "remember me?"],
      [oscar.id, "sure"],
    ]);
    const exported = await oscar.client.rest<{ realtime: { matches: object } }>("GET", "/users/me/export");
    expect(exported.realtime.matches).toEqual({});
    await expect(oscar.client.rest("GET", `/users/${nina.id}`)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("registers for an event over the socket and shows attendees' changes live", async () => {
    const olga = await user("Olga");
    const pavel = await user("Pavel");
    const workshop = "novosibirsk-songwriting-workshop"; // seeded, capacity 25, weeks ahead
    const updates = record(olga, "event");
    const mine = await olga.client.send("event.register", { eventId: workshop });
    expect(mine).toMatchObject({ status: "registered", capacity: 25 });
    // Olga's room now follows the event; Pavel registering through REST shows up live.
    await olga.client.send("sync", {}); // a round trip after the registration's own `me` update
    const rest = await pavel.client.rest<{ attendees: number }>("PUT", `/events/${workshop}/registration`);
    const seen = await waitFor(() => updates.find((u) => u.attendees === rest.attendees), "Olga sees Pavel");
    expect(seen).toMatchObject({ eventId: workshop, capacity: 25 });
    await expect(olga.client.send("event.register", { eventId: "no-such-event" })).rejects.toMatchObject({
      code: "NOT_FOUND",
    });
  });

  it("refuses a device that speaks another protocol version", async () => {
    const mia = await user("Mia");
    await expect(
      mia.client.rest("POST", "/realtime/connect", { protocol: PROTOCOL_VERSION + 1 }),
    ).rejects.toMatchObject({ code: "PROTOCOL_MISMATCH" });
  });
});
