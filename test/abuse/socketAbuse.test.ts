import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client as ColyseusClient } from "@colyseus/sdk";
import { type CryptoKey, exportJWK, exportPKCS8, generateKeyPair, SignJWT } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import {
  ClientCommand,
  CloseCode,
  MessageType,
  PROTOCOL_VERSION,
  SocketLimits,
} from "../../protocol/realtime.js";
import {
  assertServerServes,
  connectRoute,
  crashLines,
  fetchBounded,
  openSocket,
  type RawSocket,
  type RawUser,
  registerUser,
  sleep,
  until,
} from "../support/abuseSockets.js";
import { type ServerProcess, startServerProcess } from "../support/serverProcess.js";

/**
 * Socket abuse against one real server process: malformed and oversize frames, unknown types,
 * floods, commands on other people's chats, joins into other people's rooms, stale and forged
 * tokens, protocol mismatch and foreign origins. After every case the process must be alive and a
 * brand-new user must still be able to connect and `sync`.
 */

const ISSUER = "lovecraft";
const AUDIENCE = "aloevera-harmony-meet";
const ALLOWED_ORIGIN = "https://app.example";
const ROOM_DATA = 13; // Colyseus Protocol.ROOM_DATA
const WITH_ERROR = 4002; // Colyseus CloseCode.WITH_ERROR (undecodable frame)
const MESSAGE_TOO_BIG = 1009; // RFC 6455: frame over the transport's maxPayload

let server: ServerProcess;
let dir: string;
let signingKey: CryptoKey;
let kid: string;
const opened: RawSocket[] = [];

async function socketOf(user: RawUser): Promise<RawSocket> {
  const socket = await openSocket(server.baseUrl, user.accessToken);
  opened.push(socket);
  return socket;
}

async function userWithSocket(name: string): Promise<{ user: RawUser; socket: RawSocket }> {
  const user = await registerUser(server.baseUrl, name);
  const socket = await socketOf(user);
  const synced = await socket.command("sync");
  expect(synced.ok, JSON.stringify(synced)).toBe(true);
  return { user, socket };
}

/** A ROOM_DATA frame for message type "cmd" whose body is `body` (not necessarily msgpack). */
function cmdFrame(body: Uint8Array): Uint8Array {
  const type = Buffer.from(MessageType.COMMAND, "utf8");
  return Uint8Array.from([ROOM_DATA, 0xa0 | type.length, ...type, ...body]);
}

/**
 * A ROOM_DATA frame with a message type of any length (the SDK's own encoder only has room for
 * short ones) and the msgpack payload `{hello: "world"}`.
 */
function frameOfType(type: string): Uint8Array {
  const bytes = Buffer.from(type, "utf8");
  const header =
    bytes.length < 32
      ? [0xa0 | bytes.length]
      : bytes.length < 0x100
        ? [0xd9, bytes.length]
        : [0xda, bytes.length & 0xff, bytes.length >> 8]; // Colyseus writes lengths little-endian
  const payload = [0x81, 0xa5, ...Buffer.from("hello"), 0xa5, ...Buffer.from("world")];
  return Uint8Array.from([ROOM_DATA, ...header, ...bytes, ...payload]);
}

function nested(depth: number, leaf: unknown = 1): unknown {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i++) value = { x: value };
  return value;
}

function nestedArray(depth: number): unknown {
  let value: unknown = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** Matchmaking HTTP calls exactly as a hand-written client would make them. */
async function matchmake(
  path: string,
  body: unknown,
  token?: string,
): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const res = await fetchBounded(`${server.baseUrl}/matchmake/${path}`, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

/** An SDK join by id that must be refused; resolves with the refusal (code, message). */
async function refusedJoin(roomId: string, options: Record<string, unknown>, token: string | undefined) {
  const client = new ColyseusClient(server.baseUrl);
  if (token !== undefined) client.http.authToken = token;
  try {
    const room = await Promise.race([
      client.joinById(roomId, options),
      sleep(10_000).then(() => {
        throw new Error("join neither succeeded nor failed in 10 s");
      }),
    ]);
    await room.leave(true).catch(() => undefined);
    return { joined: true as const };
  } catch (err) {
    return { joined: false as const, code: (err as { code?: number }).code, message: (err as Error).message };
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lovecraft-abuse-socket-"));
  // The test holds the signing key, so it can forge tokens that differ from real ones in one claim.
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  signingKey = privateKey;
  server = await startServerProcess({
    cwd: dir,
    env: {
      DATA_DIR: join(dir, "data"),
      JWT_PRIVATE_KEY: await exportPKCS8(privateKey),
      CORS_ORIGINS: ALLOWED_ORIGIN,
    },
  });
  const jwks = (await (await fetchBounded(`${server.baseUrl}/.well-known/jwks.json`)).json()) as {
    keys: { kid: string; x: string }[];
  };
  const [published] = jwks.keys;
  expect(published?.x).toBe((await exportJWK(publicKey)).x);
  kid = published?.kid as string;
}, 60_000);

afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

afterEach(async () => {
  await assertServerServes(server);
  expect(crashLines(server)).toEqual([]);
}, 30_000);

// --- malformed frames -------------------------------------------------------------------------------

describe("malformed frames", () => {
  it("closes a socket that sends a cmd frame whose body is not msgpack; others are unaffected", async () => {
    const bystander = await userWithSocket("Bystander");
    const { socket } = await userWithSocket("Garbage");
    socket.sendRaw(cmdFrame(Uint8Array.from([0xc1, 0xc1, 0xc1, 0xff, 0x00])));
    const code = await socket.waitClosed(5_000);
    expect([WITH_ERROR, CloseCode.ABUSE]).toContain(code);
    expect((await bystander.socket.command("sync")).ok).toBe(true);
  });

  it("ignores frames with unknown Colyseus codes or no bytes at all; the socket stays usable", async () => {
    const { socket } = await userWithSocket("Unknown");
    for (const bytes of [[], [0], [31], [255, 1, 2, 3], [ROOM_DATA], [ROOM_DATA, 0xa3]]) {
      socket.sendRaw(Uint8Array.from(bytes));
    }
    await sleep(300);
    if (socket.isOpen) {
      expect((await socket.command("sync")).ok).toBe(true);
    } else {
      // A truncated ROOM_DATA header may be refused by closing; never with a crash.
      expect([WITH_ERROR, CloseCode.ABUSE]).toContain(socket.closeCode);
    }
  });

  it("answers non-object payloads (array, string, number, null, none, bytes) with err VALIDATION_FAILED", async () => {
    const { socket } = await userWithSocket("Shapes");
    const payloads: unknown[] = [[1, 2, 3], ["cid", "sync"], "sync", 42, null, undefined, true];
    for (const p of payloads) socket.send(MessageType.COMMAND, p);
    socket.room.sendBytes(MessageType.COMMAND, Uint8Array.from([1, 2, 3]));
    await until(() => socket.errors.length >= payloads.length + 1, "an err per frame");
    expect(socket.errors.every((e) => e.error.code === "VALIDATION_FAILED")).toBe(true);
    expect(socket.acks).toHaveLength(1); // the sync of userWithSocket
    expect((await socket.command("sync")).ok).toBe(true);
  });

  it("refuses 1000-deep objects and arrays, as the payload and inside fields", async () => {
    const { socket } = await userWithSocket("Deep");
    socket.send(MessageType.COMMAND, nested(1000));
    socket.send(MessageType.COMMAND, nestedArray(1000));
    const cases: Record<string, unknown>[] = [
      { type: "sync", chats: nested(1000) },
      { type: "profile.update", profile: nested(1000) },
      { type: "profile.update", profile: { interests: nestedArray(1000) } },
      { type: "notifications.read", ids: nestedArray(1000) },
      { type: "like", userId: nested(1000) },
      { type: "sync", deep: nested(1000) },
    ];
    const acks = await Promise.all(cases.map((c) => socket.command(c.type as string, c)));
    for (const ack of acks)
      expect(ack.error?.code, JSON.stringify(ack).slice(0, 200)).toBe("VALIDATION_FAILED");
    await until(() => socket.errors.length >= 2, "err for the two deep payloads");
    expect((await socket.command("sync")).ok).toBe(true);
  });

  it("refuses strings just under the 64 KiB frame limit in every position without closing", async () => {
    const { socket } = await userWithSocket("Huge");
    const huge = "x".repeat(SocketLimits.maxPayloadBytes - 1024);
    const chatId = `d-${"0".repeat(32)}`;
    const fields: Record<string, unknown>[] = [
      { type: "chat.send", chatId, text: huge },
      { type: "profile.update", profile: { bio: huge } },
      { type: "report", userId: randomUUID(), reason: "spam", note: huge },
      { type: "discover", cursor: huge },
      { type: "like", userId: huge },
      { type: "sync", [huge]: 1 },
    ];
    const acks: { error?: { code: string } }[] = [];
    for (const f of fields) acks.push(await socket.command(f.type as string, f));
    for (const ack of acks) expect(ack.error?.code).toBe("VALIDATION_FAILED");
    // A huge cid is no cid: an err frame; a huge message type: BAD_REQUEST.
    socket.send(MessageType.COMMAND, { cid: huge, type: "sync" });
    socket.sendRaw(frameOfType(huge));
    await until(() => socket.errors.length >= 2, "err frames for the huge cid and type");
    expect(socket.errors.map((e) => e.error.code).sort()).toEqual(["BAD_REQUEST", "VALIDATION_FAILED"]);
    expect(socket.isOpen).toBe(true);
    expect((await socket.command("sync")).ok).toBe(true);
  });

  it("refuses exotic msgpack values (Date, Map, BigInt, binary, NaN, Infinity) as invalid", async () => {
    const { socket } = await userWithSocket("Exotic");
    const cases: Record<string, unknown>[] = [
      { type: "chat.read", chatId: `d-${"0".repeat(32)}`, seq: 2n ** 62n },
      { type: "chat.read", chatId: `d-${"0".repeat(32)}`, seq: Number.NaN },
      { type: "chat.read", chatId: `d-${"0".repeat(32)}`, seq: Number.POSITIVE_INFINITY },
      { type: "chat.read", chatId: `d-${"0".repeat(32)}`, seq: -1 },
      { type: "sync", chats: new Map([[1, 2]]) },
      { type: "like", userId: new Date() },
      { type: "like", userId: Buffer.from("abc") },
      { type: "discover", limit: 1.5 },
    ];
    for (const c of cases) {
      const ack = await socket.command(c.type as string, c);
      expect(ack.ok, JSON.stringify(ack).slice(0, 200)).toBe(false);
      expect(ack.error?.code).toBe("VALIDATION_FAILED");
    }
    expect((await socket.command("sync")).ok).toBe(true);
  });

  it("refuses __proto__ and constructor keys and stays correct afterwards", async () => {
    const { user, socket } = await userWithSocket("Proto");
    const frames = [
      JSON.parse('{"cid":"proto-1","type":"sync","__proto__":{"polluted":true}}'),
      { cid: "proto-2", type: "sync", constructor: { prototype: { polluted: true } } },
      JSON.parse('{"cid":"proto-3","type":"profile.update","profile":{"__proto__":{"displayName":"x"}}}'),
      JSON.parse('{"cid":"proto-4","type":"sync","chats":{"__proto__":{"polluted":1}}}'),
      {
        cid: "proto-5",
        type: "settings.update",
        privacy: { constructor: { prototype: { discoverable: false } } },
      },
    ];
    for (const f of frames) socket.send(MessageType.COMMAND, f);
    for (let i = 1; i <= frames.length; i++) {
      const ack = await socket.ackOf(`proto-${i}`);
      expect(ack.error?.code, JSON.stringify(ack)).toBe("VALIDATION_FAILED");
    }
    const synced = await socket.command("sync");
    const me = (synced.result as { me: { userId: string; privacy: { discoverable: boolean } } }).me;
    expect(me.userId).toBe(user.id);
    expect(me.privacy.discoverable).toBe(true);
    expect(JSON.stringify(synced.result)).not.toContain("polluted");
  });

  it("answers a Colyseus request frame without reaching the command handler", async () => {
    const { socket } = await userWithSocket("Request");
    const answered = await Promise.race([
      (socket.room as unknown as { request(type: string, payload: unknown): Promise<unknown> })
        .request(MessageType.COMMAND, { cid: "req-1", type: "sync" })
        .then(
          () => "resolved",
          () => "rejected",
        ),
      sleep(5_000).then(() => "no answer"),
    ]);
    expect(["resolved", "rejected"]).toContain(answered);
    expect(socket.acksFor("req-1")).toHaveLength(0);
    expect((await socket.command("sync")).ok).toBe(true);
  });
});

// --- unknown message types ------------------------------------------------------------------------

describe("unknown message types", () => {
  it("answers BAD_REQUEST: as an ack when the payload has a valid cid, as err otherwise", async () => {
    const { socket } = await userWithSocket("Types");
    const types: (string | number)[] = [
      "nope",
      "",
      MessageType.ACK,
      MessageType.EVENT,
      MessageType.ERROR,
      "CMD",
      0,
      42,
      -1,
    ];
    for (const [i, t] of types.entries()) socket.send(t, { cid: `type-${i}`, type: "sync" });
    socket.send("nope", { no: "cid" });
    socket.send(7, "string payload");
    await until(
      () => socket.acks.length >= 1 + types.length && socket.errors.length >= 2,
      "answers to every frame",
    );
    for (let i = 0; i < types.length; i++) {
      const acks = socket.acksFor(`type-${i}`);
      expect(acks).toHaveLength(1);
      expect(acks[0]?.error?.code).toBe("BAD_REQUEST");
    }
    expect(socket.errors.map((e) => e.error.code)).toEqual(["BAD_REQUEST", "BAD_REQUEST"]);
    expect((await socket.command("sync")).ok).toBe(true);
  });
});

// --- oversize frames ------------------------------------------------------------------------------

describe("oversize frames", () => {
  it("closes a socket that sends a frame over 64 KiB; other users keep being served", async () => {
    const bystander = await userWithSocket("Calm");
    const { user, socket } = await userWithSocket("Oversize");
    socket.send(MessageType.COMMAND, {
      cid: "big-1",
      type: "chat.send",
      chatId: `d-${"0".repeat(32)}`,
      text: "x".repeat(SocketLimits.maxPayloadBytes + 1024),
    });
    const code = await socket.waitClosed(5_000);
    expect(code).toBe(MESSAGE_TOO_BIG);
    expect(socket.acksFor("big-1")).toHaveLength(0);
    expect((await bystander.socket.command("sync")).ok).toBe(true);
    // The same user may simply reconnect.
    const again = await socketOf(user);
    expect((await again.command("sync")).ok).toBe(true);
  });

  it("survives a burst of oversize frames from several sockets at once", async () => {
    const sockets = await Promise.all([1, 2, 3].map((i) => userWithSocket(`Burst${i}`)));
    const blob = "y".repeat(200 * 1024);
    for (const { socket } of sockets) socket.send(MessageType.COMMAND, { cid: "b", type: "sync", blob });
    const codes = await Promise.all(sockets.map(({ socket }) => socket.waitClosed(5_000)));
    expect(codes).toEqual([MESSAGE_TOO_BIG, MESSAGE_TOO_BIG, MESSAGE_TOO_BIG]);
  });
});

// --- floods ---------------------------------------------------------------------------------------

describe("floods past the rate limit", () => {
  const foreignChat = `d-${"f".repeat(32)}`;

  it("answers valid commands over the rate with RATE_LIMITED acks, then closes with 4429", async () => {
    const bystander = await userWithSocket("Steady");
    const { socket } = await userWithSocket("Flood");
    const sent: string[] = [];
    for (let i = 0; i < 150; i++) {
      const cid = `flood-${i}`;
      sent.push(cid);
      socket.send(MessageType.COMMAND, { cid, type: "chat.typing", chatId: foreignChat });
    }
    const code = await socket.waitClosed(10_000);
    expect(code).toBe(CloseCode.ABUSE);
    await sleep(200);
    const byCid = new Map<string, number>();
    for (const a of socket.acks) byCid.set(a.cid, (byCid.get(a.cid) ?? 0) + 1);
    // Never two answers for one frame.
    expect([...byCid.values()].every((n) => n === 1)).toBe(true);
    const flood = socket.acks.filter((a) => a.cid.startsWith("flood-"));
    const limited = flood.filter((a) => a.error?.code === "RATE_LIMITED");
    const admitted = flood.filter((a) => a.error?.code !== "RATE_LIMITED");
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.length).toBeLessThanOrEqual(SocketLimits.violationsPerMinute);
    for (const a of limited) expect(a.error?.retryable).toBe(true);
    // Admitted ones are at most the burst (plus refill), each answered for what it is (not the
    // user's chat); the acks of those still running when the socket closed are lost (documented).
    expect(admitted.length).toBeGreaterThan(0);
    expect(admitted.length).toBeLessThanOrEqual(SocketLimits.burst + 10);
    for (const a of admitted) expect(a.error?.code).toBe("NOT_FOUND");
    expect(flood.length).toBeLessThan(sent.length);
    expect((await bystander.socket.command("sync")).ok).toBe(true);
  });

  it("closes with 4429 after 30 invalid frames within a minute, answering each before that", async () => {
    const { socket } = await userWithSocket("Invalid");
    for (let i = 0; i < 45; i++)
      socket.send(MessageType.COMMAND, { cid: `bad-${i}`, type: "no.such.command" });
    expect(await socket.waitClosed(10_000)).toBe(CloseCode.ABUSE);
    await sleep(200);
    const bad = socket.acks.filter((a) => a.cid.startsWith("bad-"));
    expect(bad).toHaveLength(SocketLimits.violationsPerMinute);
    expect(bad.every((a) => a.error?.code === "VALIDATION_FAILED")).toBe(true);
  });

  it("closes with 4429 after a flood of unknown message types and of cid-less garbage", async () => {
    for (const [name, flood] of [
      ["TypeFlood", (s: RawSocket, i: number) => s.send(`junk-${i}`, { i })],
      ["CidlessFlood", (s: RawSocket, i: number) => s.send(MessageType.COMMAND, { i })],
    ] as const) {
      const { socket } = await userWithSocket(name);
      for (let i = 0; i < 45; i++) flood(socket, i);
      expect(await socket.waitClosed(10_000), name).toBe(CloseCode.ABUSE);
      expect(socket.errors.length, name).toBe(SocketLimits.violationsPerMinute);
    }
  });

  it("keeps a socket that stays under the rate open, past its burst (50 commands at 18/s)", async () => {
    const { socket } = await userWithSocket("Polite");
    const cids: string[] = [];
    for (let i = 0; i < 50; i++) {
      const cid = `polite-${i}`;
      cids.push(cid);
      socket.send(MessageType.COMMAND, { cid, type: "chat.typing", chatId: foreignChat });
      await sleep(1000 / 18);
    }
    await until(() => cids.every((c) => socket.acksFor(c).length === 1), "an ack per command");
    expect(socket.acks.filter((a) => a.error?.code === "RATE_LIMITED")).toHaveLength(0);
    expect(socket.isOpen).toBe(true);
  });
});

// --- commands on chats the user is not in -----------------------------------------------------------

const CHAT_TYPES = ClientCommand.options
  .map((o) => o.shape.type.value as string)
  .filter((t) => (t.startsWith("chat.") || t.startsWith("group.")) && t !== "group.create");

/** A schema-valid command of each chat/group type for `chatId`; `other` is a user id to name. */
function chatCommand(type: string, chatId: string, other: string): Record<string, unknown> {
  const byType: Record<string, Record<string, unknown>> = {
    "chat.send": { text: "let me in" },
    "chat.edit": { seq: 1, text: "edited by a stranger" },
    "chat.delete": { seq: 1 },
    "chat.react": { seq: 1, emoji: "👀", on: true },
    "chat.read": { seq: 1 },
    "chat.typing": {},
    "chat.history": { limit: 10 },
    "chat.since": { after: 0 },
    "chat.info": {},
    "group.invite": { userId: other },
    "group.leave": {},
    "group.kick": { userId: other },
    "group.role": { userId: other, role: "admin" },
  };
  const fields = byType[type];
  if (!fields) throw new Error(`no command for ${type}: add it (a new chat command needs a BOLA case)`);
  const command = { cid: "x", type, chatId, ...fields };
  expect(ClientCommand.safeParse(command).success, `${type} must be schema-valid`).toBe(true);
  return { chatId, ...fields };
}

describe("commands on chats the user is not in", () => {
  let alice: { user: RawUser; socket: RawSocket };
  let bob: { user: RawUser; socket: RawSocket };
  let mallory: { user: RawUser; socket: RawSocket };
  let direct: string;
  let group: string;

  beforeAll(async () => {
    [alice, bob, mallory] = await Promise.all([
      userWithSocket("Alice"),
      userWithSocket("Bob"),
      userWithSocket("Mallory"),
    ]);
    expect((await alice.socket.command("like", { userId: bob.user.id })).ok).toBe(true);
    expect((await bob.socket.command("like", { userId: alice.user.id })).result).toEqual({
      status: "matched",
    });
    const added = await until(
      () => alice.socket.events.find((e) => e.type === "chat.added"),
      "Alice's direct chat",
    );
    direct = (added as { chat: { chatId: string } }).chat.chatId;
    const created = await alice.socket.command("group.create", {
      title: "Private group",
      members: [bob.user.id],
    });
    expect(created.ok, JSON.stringify(created)).toBe(true);
    group = (created.result as { chatId: string }).chatId;
    expect((await alice.socket.command("chat.send", { chatId: direct, text: "private" })).ok).toBe(true);
    expect((await alice.socket.command("chat.send", { chatId: group, text: "group secret" })).ok).toBe(true);
  }, 30_000);

  it("covers every chat.* and group.* command type of the protocol", () => {
    expect(CHAT_TYPES.length).toBe(13);
    for (const t of CHAT_TYPES) chatCommand(t, direct, bob.user.id);
  });

  it("answers NOT_FOUND to every chat.* and group.* command on another pair's chat, a group and an unknown chat", async () => {
    const before = {
      direct: await alice.socket.command("chat.info", { chatId: direct }),
      group: await alice.socket.command("chat.info", { chatId: group }),
    };
    const unknown = [`d-${"a".repeat(32)}`, `g-${"b".repeat(32)}`];
    for (const chatId of [direct, group, ...unknown]) {
      for (const type of CHAT_TYPES) {
        const ack = await mallory.socket.command(type, chatCommand(type, chatId, mallory.user.id));
        expect(ack.ok, `${type} on ${chatId}`).toBe(false);
        expect(ack.error?.code, `${type} on ${chatId}: ${JSON.stringify(ack)}`).toBe("NOT_FOUND");
        // Stay inside the socket's budget (burst 40, then 20/s).
        await sleep(30);
      }
    }
    // Nothing happened in either chat: same entries, same members, nothing reached Alice or Bob.
    const after = {
      direct: await alice.socket.command("chat.info", { chatId: direct }),
      group: await alice.socket.command("chat.info", { chatId: group }),
    };
    expect(after.direct.result).toEqual(before.direct.result);
    expect(after.group.result).toEqual(before.group.result);
    const history = await bob.socket.command("chat.history", { chatId: group });
    expect(JSON.stringify(history.result)).not.toContain(mallory.user.id);
    expect(JSON.stringify(alice.socket.events)).not.toContain(mallory.user.id);
    expect(JSON.stringify(bob.socket.events)).not.toContain(mallory.user.id);
  });

  it("a member kicked from a group loses access to it at once", async () => {
    const kicked = await alice.socket.command("group.kick", { chatId: group, userId: bob.user.id });
    expect(kicked.ok, JSON.stringify(kicked)).toBe(true);
    await until(
      () => bob.socket.events.find((e) => e.type === "chat.removed" && e.chatId === group),
      "Bob's chat.removed",
    );
    for (const type of CHAT_TYPES) {
      const ack = await bob.socket.command(type, chatCommand(type, group, alice.user.id));
      expect(ack.error?.code, `${type} after the kick: ${JSON.stringify(ack)}`).toBe("NOT_FOUND");
    }
    // Bob's direct chat with Alice is untouched.
    expect((await bob.socket.command("chat.info", { chatId: direct })).ok).toBe(true);
  });
});

// --- joins into another user's room ---------------------------------------------------------------

describe("joins into another user's room", () => {
  it("refuses joinById into user_<other> with one's own token (the room refuses the seat)", async () => {
    const { user: owner, socket: ownerSocket } = await userWithSocket("Owner");
    const intruder = await registerUser(server.baseUrl, "Intruder");
    const refused = await refusedJoin(
      `user_${owner.id}`,
      { protocol: PROTOCOL_VERSION },
      intruder.accessToken,
    );
    expect(refused.joined).toBe(false);
    // Nothing reached the owner's devices.
    await sleep(200);
    expect(JSON.stringify(ownerSocket.events)).not.toContain(intruder.id);
    expect((await ownerSocket.command("sync")).ok).toBe(true);
  });

  it("refuses /matchmake/create/user for another user's actor, a made-up actor or none", async () => {
    const victim = await registerUser(server.baseUrl, "CreateVictim");
    const intruder = await registerUser(server.baseUrl, "CreateIntruder");
    for (const body of [
      { protocol: PROTOCOL_VERSION, actorId: victim.id },
      { protocol: PROTOCOL_VERSION, actorId: "nobody-at-all" },
      { protocol: PROTOCOL_VERSION, actorId: "../../etc/passwd" },
      { protocol: PROTOCOL_VERSION },
      { protocol: PROTOCOL_VERSION, actorId: { $ne: null } },
    ]) {
      const res = await matchmake("create/user", body, intruder.accessToken);
      expect(res.status, `${JSON.stringify(body)} → ${res.status} ${res.text}`).not.toBe(200);
      expect(res.status).not.toBe(500);
    }
    // No room was created for the victim: their own joinById finds nothing to join yet.
    const own = await matchmake(
      `joinById/user_${victim.id}`,
      { protocol: PROTOCOL_VERSION },
      victim.accessToken,
    );
    expect(own.status).not.toBe(200);
  });

  it("join/joinOrCreate without an actor never seats the caller in someone else's room", async () => {
    await userWithSocket("Seated"); // at least one active user room exists
    const intruder = await registerUser(server.baseUrl, "Wanderer");
    const own = `user_${intruder.id}`;
    // Over HTTP: no seat reservation in a room that is not the caller's.
    const reservedIn: string[] = [];
    for (const method of ["join", "joinOrCreate"] as const) {
      const res = await matchmake(`${method}/user`, { protocol: PROTOCOL_VERSION }, intruder.accessToken);
      expect(res.status, `${method}: ${res.text}`).not.toBe(500);
      if (res.status === 200) reservedIn.push((JSON.parse(res.text) as { roomId: string }).roomId);
    }
    // Through the SDK (which also consumes the seat): refused by the room.
    for (const method of ["join", "joinOrCreate"] as const) {
      const client = new ColyseusClient(server.baseUrl);
      client.http.authToken = intruder.accessToken;
      const joined = await Promise.race([
        client[method]("user", { protocol: PROTOCOL_VERSION }).then(
          async (room) => {
            const roomId = room.roomId;
            await room.leave(true).catch(() => undefined);
            return roomId;
          },
          () => undefined,
        ),
        sleep(10_000).then(() => "timeout"),
      ]);
      // Either refused, or (if anything) the caller's own room.
      expect([undefined, own], `${method} → ${joined}`).toContain(joined);
    }
    expect(
      reservedIn.filter((roomId) => roomId !== own),
      "seats reserved for the caller in other users' rooms",
    ).toEqual([]);
  });

  it("does not let another user reserve seats in my room (device-seat exhaustion)", async () => {
    const { user: owner } = await userWithSocket("SeatOwner");
    const intruder = await registerUser(server.baseUrl, "SeatSquatter");
    let granted = 0;
    for (let i = 0; i < 12; i++) {
      const res = await matchmake(
        `joinById/user_${owner.id}`,
        { protocol: PROTOCOL_VERSION },
        intruder.accessToken,
      );
      if (res.status === 200) granted++;
    }
    // The owner's next device must still get in.
    const second = await connectRoute(server.baseUrl, owner.accessToken);
    expect(second.status, `owner's second device: ${JSON.stringify(second.body)}`).toBe(200);
    expect(granted, "seat reservations granted to another user in the owner's room").toBe(0);
  });
});

// --- stale and forged tokens ----------------------------------------------------------------------

describe("stale, foreign and forged tokens", () => {
  const now = () => Math.floor(Date.now() / 1000);
  let victim: RawUser;
  let victimSocket: RawSocket;
  let other: RawUser;
  let family: string;

  /** A token like the server's, with the given changes. */
  async function forge(
    changes: {
      sub?: string;
      fam?: string;
      ver?: number;
      iss?: string;
      aud?: string;
      typ?: string;
      alg?: string;
      kid?: string;
      iat?: number;
      exp?: number | null;
      key?: CryptoKey | Uint8Array;
    } = {},
  ): Promise<string> {
    const jwt = new SignJWT({ ver: changes.ver ?? 0, fam: changes.fam ?? family })
      .setProtectedHeader({
        alg: changes.alg ?? "EdDSA",
        kid: changes.kid ?? kid,
        typ: changes.typ ?? "at+jwt",
      })
      .setSubject(changes.sub ?? victim.id)
      .setIssuer(changes.iss ?? ISSUER)
      .setAudience(changes.aud ?? AUDIENCE)
      .setIssuedAt(changes.iat ?? now())
      .setJti(randomUUID());
    if (changes.exp !== null) jwt.setExpirationTime(changes.exp ?? now() + 300);
    return jwt.sign(changes.key ?? signingKey);
  }

  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

  beforeAll(async () => {
    ({ user: victim, socket: victimSocket } = await userWithSocket("TokenVictim"));
    other = await registerUser(server.baseUrl, "TokenOther");
    family = victim.refreshToken.split(".")[0] as string;
  });

  it("accepts a correctly forged control token (so the refusals below are about one claim each)", async () => {
    const token = await forge();
    const res = await connectRoute(server.baseUrl, token);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it("refuses every bad token on POST /realtime/connect (401) and on joinById (refused, never 500)", async () => {
    const otherKey = (await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true })).privateKey;
    const [, payload, signature] = victim.accessToken.split(".") as [string, string, string];
    const cases: [string, string | Promise<string>][] = [
      ["expired", forge({ iat: now() - 3600, exp: now() - 600 })],
      ["expired and signed with another key", forge({ iat: now() - 3600, exp: now() - 600, key: otherKey })],
      ["signed with another key", forge({ key: otherKey })],
      ["another issuer", forge({ iss: "https://evil.example" })],
      ["another audience", forge({ aud: "another-app" })],
      ["another typ", forge({ typ: "JWT" })],
      ["without exp", forge({ exp: null })],
      [
        "HS256 with the public key as secret",
        forge({ alg: "HS256", key: new TextEncoder().encode(kid.padEnd(32, "k")) }),
      ],
      ["alg none", `${b64({ alg: "none", typ: "at+jwt" })}.${payload}.`],
      [
        "alg none with the old signature",
        `${b64({ alg: "none", typ: "at+jwt", kid })}.${payload}.${signature}`,
      ],
      ["another user's session family", forge({ fam: other.refreshToken.split(".")[0] as string })],
      ["an unknown user", forge({ sub: randomUUID(), fam: randomUUID() })],
      ["an old token version", forge({ ver: 7 })],
      ["garbage", "not.a.token"],
      ["empty", ""],
    ];
    for (const [label, pending] of cases) {
      const token = await pending;
      const res = await connectRoute(server.baseUrl, token);
      expect(res.status, `${label}: ${JSON.stringify(res.body)}`).toBe(401);
      expect(res.body.error?.code).toBe("UNAUTHORIZED");
      if (token === "") continue;
      const joined = await matchmake(`joinById/user_${victim.id}`, { protocol: PROTOCOL_VERSION }, token);
      expect(joined.status, `${label} via joinById: ${joined.text}`).not.toBe(200);
      expect(joined.status, label).not.toBe(500);
      const sdk = await refusedJoin(`user_${victim.id}`, { protocol: PROTOCOL_VERSION }, token);
      expect(sdk.joined, label).toBe(false);
    }
    expect((await victimSocket.command("sync")).ok).toBe(true);
  });

  it("refuses a logged-out session's still-unexpired access token on both paths", async () => {
    const { user: leaver, socket } = await userWithSocket("Leaver");
    const res = await fetchBounded(`${server.baseUrl}/api/v1/auth/logout`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refreshToken: leaver.refreshToken }),
    });
    expect(res.status).toBe(200);
    expect(await socket.waitClosed(5_000)).toBe(CloseCode.REVOKED);
    const connect = await connectRoute(server.baseUrl, leaver.accessToken);
    expect(connect.status).toBe(401);
    // The room may still be active (the actor idles out later): the join must be refused anyway.
    const joined = await refusedJoin(`user_${leaver.id}`, { protocol: PROTOCOL_VERSION }, leaver.accessToken);
    expect(joined.joined).toBe(false);
  });
});

// --- protocol version -------------------------------------------------------------------------------

describe("protocol version mismatch", () => {
  it("answers PROTOCOL_MISMATCH on the connect route for other integers, VALIDATION_FAILED for non-integers", async () => {
    const user = await registerUser(server.baseUrl, "OldApp");
    for (const protocol of [2, 0, -1, 999, Number.MAX_SAFE_INTEGER]) {
      const res = await connectRoute(server.baseUrl, user.accessToken, { protocol });
      expect(res.status).toBe(400);
      expect(res.body.error?.code).toBe("PROTOCOL_MISMATCH");
      expect((res.body.error as { details?: unknown }).details).toEqual({ server: PROTOCOL_VERSION });
    }
    for (const body of [
      { protocol: "1" },
      { protocol: 1.5 },
      { protocol: null },
      {},
      { protocol: [1] },
      [],
    ]) {
      const res = await connectRoute(server.baseUrl, user.accessToken, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error?.code).toBe("VALIDATION_FAILED");
    }
  });

  it("refuses joinById with protocol 2 (or none) with a 4xx, not a 500", async () => {
    const { user } = await userWithSocket("OldSocket");
    for (const options of [{ protocol: 2 }, {}, { protocol: "1" }, { protocol: 0 }]) {
      const res = await matchmake(`joinById/user_${user.id}`, options, user.accessToken);
      expect(res.status, `${JSON.stringify(options)} → ${res.text}`).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.text).toContain("PROTOCOL_MISMATCH");
      const sdk = await refusedJoin(`user_${user.id}`, options, user.accessToken);
      expect(sdk.joined).toBe(false);
      expect(sdk.code).toBe(400);
    }
  });
});

// --- origins --------------------------------------------------------------------------------------

describe("websocket origin check", () => {
  /** Opens the reserved seat's websocket with an Origin header; resolves "open" or the failure. */
  async function openWithOrigin(origin: string | undefined): Promise<string> {
    const user = await registerUser(server.baseUrl, "Origin");
    const connected = await connectRoute(server.baseUrl, user.accessToken);
    const r = (
      connected.body.data as { reservation: { processId: string; roomId: string; sessionId: string } }
    ).reservation;
    const url = `${server.baseUrl.replace("http", "ws")}/${r.processId}/${r.roomId}?sessionId=${r.sessionId}`;
    return new Promise((resolve) => {
      const ws = new WebSocket(url, origin !== undefined ? { origin } : {});
      const timer = setTimeout(() => {
        ws.terminate();
        resolve("timeout");
      }, 5_000);
      ws.on("open", () => {
        clearTimeout(timer);
        ws.close();
        resolve("open");
      });
      ws.on("unexpected-response", (_req, res) => {
        clearTimeout(timer);
        resolve(`http ${res.statusCode}`);
      });
      ws.on("error", (err) => {
        clearTimeout(timer);
        resolve(`error ${err.message}`);
      });
    });
  }

  it("refuses a websocket from a foreign browser origin, accepts the allowed one and native apps", async () => {
    expect(await openWithOrigin(ALLOWED_ORIGIN)).toBe("open");
    expect(await openWithOrigin(undefined)).toBe("open");
    for (const origin of [
      "https://evil.example",
      "https://app.example.evil.example",
      "http://app.example",
      "null",
    ]) {
      expect(await openWithOrigin(origin), origin).not.toBe("open");
    }
  });
});
