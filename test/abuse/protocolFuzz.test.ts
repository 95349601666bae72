import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorCode } from "../../protocol/errors.js";
import { Cid, ClientCommand, CloseCode, MessageType, SocketLimits } from "../../protocol/realtime.js";
import {
  assertServerServes,
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
 * A property-based fuzzer over the realtime command union against a live server. Frames are
 * generated per command type from the protocol schema's structure (valid ones), then some are
 * mutated (wrong types, missing and extra fields, random chat ids and seqs, bad cids, non-object
 * payloads, other message types). Three users send them (two matched, with a direct chat and a
 * group, so chat commands hit real chats), paced under the rate limit. The schema itself is the
 * oracle for which frames must be refused.
 *
 * Invariants:
 * - every frame with a valid cid gets exactly one ack: ok, or an error whose code is an
 *   `ErrorCode` (never INTERNAL); a frame the schema refuses gets VALIDATION_FAILED, a frame of
 *   another message type BAD_REQUEST;
 * - every frame without a valid cid gets exactly one `err` (or nothing, only if its socket was
 *   closed for abuse, which must then have been earned: more than 30 refused frames);
 * - the server process never dies, and afterwards a fresh user can connect and `sync`.
 */

const RUNS = 3;
const FRAMES_PER_RUN = { min: 105, max: 125 };
/** Per socket; the server allows 20/s sustained with a burst of 40. */
const SENDS_PER_SECOND_PER_SOCKET = 14;
const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

/** A run's users: the first two matched (a direct chat) and in a group; the third in no chat. */
interface World {
  readonly users: RawUser[];
  readonly sockets: RawSocket[];
  readonly direct: string;
  readonly group: string;
}

/**
 * Generated frames name the run's chats and users symbolically (resolved when sent): every run
 * gets a fresh world, so one run's `block` or `group.leave` cannot starve the next of real chats.
 */
class Ref {
  constructor(
    readonly kind: "chat" | "user",
    readonly which: number,
  ) {}
}
const CHAT_KEY = ["\u00a7direct\u00a7", "\u00a7group\u00a7"] as const;

function resolve(value: unknown, w: Pick<World, "users" | "direct" | "group">): unknown {
  if (value instanceof Ref) {
    if (value.kind === "chat") return value.which === 0 ? w.direct : w.group;
    return w.users[value.which]?.id;
  }
  if (Array.isArray(value)) return value.map((v) => resolve(v, w));
  const proto = typeof value === "object" && value !== null ? Object.getPrototypeOf(value) : undefined;
  if (proto === Object.prototype || proto === null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      const key = k === CHAT_KEY[0] ? w.direct : k === CHAT_KEY[1] ? w.group : k;
      // defineProperty: a generated "__proto__" key stays an own data property, as on the wire.
      Object.defineProperty(out, key, {
        value: resolve(v, w),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

/** One generated frame: the Colyseus message type, a payload (cid added at send time unless `cid` says otherwise). */
interface FrameSpec {
  readonly sender: number;
  readonly messageType: string | number;
  readonly payload: unknown;
  /** "assign": a fresh valid cid; "keep": the payload's own (possibly invalid or missing) cid; "repeat": reuse an earlier cid. */
  readonly cid: "assign" | "keep" | "repeat";
  readonly label: string;
}

interface Sent {
  readonly label: string;
  readonly messageType: string | number;
  readonly payload: unknown;
  readonly cid: string | undefined;
  /** What the schema (the oracle) says about the frame. */
  readonly expect: "answer" | "VALIDATION_FAILED" | "BAD_REQUEST";
}

let server: ServerProcess;
let dir: string;
let eventIds: string[] = [];
const allSockets: RawSocket[] = [];

async function makeWorld(): Promise<World> {
  const users = await Promise.all(["Ada", "Ben", "Cy"].map((n) => registerUser(server.baseUrl, n)));
  const [ada, ben] = users as [RawUser, RawUser, RawUser];
  const sockets = await Promise.all(users.map((u) => openSocket(server.baseUrl, u.accessToken)));
  allSockets.push(...sockets);
  const [sa, sb] = sockets as [RawSocket, RawSocket, RawSocket];
  for (const socket of sockets) expect((await socket.command("sync")).ok).toBe(true);
  expect((await sa.command("like", { userId: ben.id })).ok).toBe(true);
  expect((await sb.command("like", { userId: ada.id })).result).toEqual({ status: "matched" });
  const added = await until(() => sa.events.find((e) => e.type === "chat.added"), "the direct chat");
  const direct = (added as { chat: { chatId: string } }).chat.chatId;
  const created = await sa.command("group.create", { title: "Fuzz group", members: [ben.id] });
  expect(created.ok, JSON.stringify(created)).toBe(true);
  const group = (created.result as { chatId: string }).chatId;
  for (const chatId of [direct, group]) {
    for (const text of ["one", "two", "three"])
      expect((await sa.command("chat.send", { chatId, text })).ok).toBe(true);
  }
  // A clean slate for the run's counting.
  for (const socket of sockets) {
    socket.acks.length = 0;
    socket.errors.length = 0;
  }
  return { users, sockets, direct, group };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lovecraft-abuse-fuzz-"));
  server = await startServerProcess({ cwd: dir, env: { DATA_DIR: join(dir, "data") } });
  const events = await fetchBounded(`${server.baseUrl}/api/v1/events?limit=20`);
  eventIds = ((await events.json()) as { data: { items: { id: string }[] } }).data.items.map((e) => e.id);
}, 60_000);

afterAll(async () => {
  await Promise.all(allSockets.map((s) => s.close()));
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// --- arbitraries per command type -------------------------------------------------------------

/** The command types of the protocol's union, read from the schema itself. */
const COMMAND_TYPES = ClientCommand.options.map((o) => o.shape.type.value as string);

function commandArbitraries(): Record<string, fc.Arbitrary<Record<string, unknown>>> {
  const someUser = fc.constantFrom(0, 1, 2).map((i) => new Ref("user", i));
  const unknownChat = fc.stringMatching(/^[dg]-[a-f0-9]{32}$/);
  const chatId = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(0, 1).map((i) => new Ref("chat", i)) },
    { weight: 1, arbitrary: unknownChat },
  );
  const userId = fc.oneof(
    { weight: 5, arbitrary: someUser },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9-]{1,64}$/) },
  );
  const seq = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 6 }) },
    { weight: 1, arbitrary: fc.maxSafeNat() },
  );
  const text = fc
    .string({ unit: "grapheme", minLength: 1, maxLength: 120 })
    .map((s) => (s.trim() === "" ? "x" : s));
  const eventId = fc.oneof(
    { weight: 3, arbitrary: eventIds.length > 0 ? fc.constantFrom(...eventIds) : fc.constant("no-event") },
    { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,79}$/) },
  );
  const gender = fc.constantFrom("woman", "man", "nonbinary");
  /** Bounded fields: ASCII, so the length in graphemes is the length zod counts. */
  const shortText = (max: number) => fc.string({ maxLength: max });
  const profile = fc.record(
    {
      displayName: fc.string({ minLength: 1, maxLength: 60 }).map((s) => (s.trim() === "" ? "Name" : s)),
      bio: shortText(200),
      birthYear: fc.option(fc.integer({ min: 1900, max: 2100 }), { nil: null }),
      gender: fc.option(gender, { nil: null }),
      city: shortText(80),
      interests: fc.array(
        fc.string({ minLength: 1, maxLength: 40 }).map((s) => (s.trim() === "" ? "music" : s)),
        {
          maxLength: 20,
        },
      ),
    },
    { requiredKeys: [] },
  );
  const preferences = fc.record({
    genders: fc.uniqueArray(gender, { maxLength: 3 }),
    minAge: fc.integer({ min: 18, max: 120 }),
    maxAge: fc.integer({ min: 18, max: 120 }),
    city: shortText(80),
  });
  const privacy = fc.record(
    {
      discoverable: fc.boolean(),
      profileVisibility: fc.constantFrom("everyone", "matches"),
      showOnline: fc.boolean(),
      showLastSeen: fc.boolean(),
    },
    { requiredKeys: [] },
  );
  const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
  const withoutUndefined = (o: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const rec = (shape: Record<string, fc.Arbitrary<unknown>>) => fc.record(shape).map(withoutUndefined);

  return {
    sync: rec({ chats: opt(fc.dictionary(fc.constantFrom(...CHAT_KEY), seq, { maxKeys: 2 })) }),
    "profile.update": rec({ profile }),
    "settings.update": rec({ preferences: opt(preferences), privacy: opt(privacy) }),
    discover: rec({
      cursor: opt(fc.string({ maxLength: 200 })),
      limit: opt(fc.integer({ min: 1, max: 50 })),
    }),
    "profile.view": rec({ userId }),
    like: rec({ userId }),
    pass: rec({ userId }),
    unlike: rec({ userId }),
    unmatch: rec({ userId }),
    block: rec({ userId }),
    unblock: rec({ userId }),
    report: rec({
      userId,
      reason: fc.constantFrom("spam", "abuse", "fake", "underage", "other"),
      note: opt(shortText(200)),
    }),
    "notifications.read": rec({ ids: opt(fc.array(fc.nat(50), { maxLength: 10 })) }),
    "event.register": rec({ eventId }),
    "event.unregister": rec({ eventId }),
    "chat.send": rec({
      chatId,
      text,
      photoId: opt(fc.uuid()),
      replyTo: opt(seq),
    }),
    "chat.edit": rec({ chatId, seq, text }),
    "chat.delete": rec({ chatId, seq }),
    "chat.react": rec({
      chatId,
      seq,
      emoji: fc.constantFrom("👍", "❤️", "😂", "x", "🔥🔥"),
      on: fc.boolean(),
    }),
    "chat.read": rec({ chatId, seq }),
    "chat.typing": rec({ chatId }),
    "chat.history": rec({ chatId, before: opt(seq), limit: opt(fc.integer({ min: 1, max: 100 })) }),
    "chat.since": rec({ chatId, after: seq, limit: opt(fc.integer({ min: 1, max: 500 })) }),
    "chat.info": rec({ chatId }),
    "group.create": rec({
      title: fc.string({ minLength: 1, maxLength: 100 }).map((s) => (s.trim() === "" ? "Group" : s)),
      members: fc
        .uniqueArray(fc.constantFrom(0, 1, 2), { maxLength: 3 })
        .map((is) => is.map((i) => new Ref("user", i))),
    }),
    "group.invite": rec({ chatId, userId }),
    "group.leave": rec({ chatId }),
    "group.kick": rec({ chatId, userId }),
    "group.role": rec({ chatId, userId, role: fc.constantFrom("admin", "member") }),
  };
}

/** Values of another kind than the field's. */
const wrongValue = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 30 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
);
const badSeq = fc.oneof(
  fc.integer({ min: -1_000_000, max: -1 }),
  fc.double({ min: 0.01, max: 1e6, noNaN: true }).filter((d) => !Number.isInteger(d)),
  fc.constant(Number.MAX_SAFE_INTEGER + 2),
  fc.string({ maxLength: 5 }),
);
const badCid = fc.oneof(
  fc.constant(undefined),
  fc.constant(""),
  fc.constant("x".repeat(65)),
  fc.string({ minLength: 1, maxLength: 10 }).filter((s) => !Cid.safeParse(s).success),
  fc.integer(),
  fc.constant(null),
);

type Mutation = (cmd: Record<string, unknown>) => fc.Arbitrary<Omit<FrameSpec, "sender">>;

const asFrame = (
  label: string,
  payload: unknown,
  cid: FrameSpec["cid"] = "assign",
  messageType: string | number = MessageType.COMMAND,
) => ({
  label,
  payload,
  cid,
  messageType,
});

const MUTATIONS: Mutation[] = [
  // A field of the wrong type.
  (cmd) => {
    const keys = Object.keys(cmd);
    return fc
      .tuple(fc.constantFrom(...keys), wrongValue)
      .map(([k, v]) => asFrame(`wrong type ${k}`, { ...cmd, [k]: v }));
  },
  // A missing field (type included).
  (cmd) =>
    fc.constantFrom(...Object.keys(cmd)).map((k) => {
      const { [k]: _dropped, ...rest } = cmd;
      return asFrame(`missing ${k}`, rest);
    }),
  // An extra field.
  (cmd) =>
    fc
      .tuple(
        fc.constantFrom("admin", "by", "userIdOverride", "isAdmin", "__proto__", "constructor", "extra"),
        wrongValue,
      )
      .map(([k, v]) => {
        const payload: Record<string, unknown> = { ...cmd };
        Object.defineProperty(payload, k, { value: v, enumerable: true, writable: true, configurable: true });
        return asFrame(`extra ${k}`, payload);
      }),
  // A random string as the chat id (or an added one).
  (cmd) => fc.string({ maxLength: 40 }).map((s) => asFrame("random chatId", { ...cmd, chatId: s })),
  // A random, invalid seq in every seq-like field.
  (cmd) =>
    badSeq.map((v) => {
      const payload = { ...cmd };
      for (const k of ["seq", "after", "before", "replyTo", "limit"]) if (k in payload) payload[k] = v;
      if (!["seq", "after", "before", "replyTo", "limit"].some((k) => k in cmd)) payload.seq = v;
      return asFrame("bad seq", payload);
    }),
  // An invalid or missing cid.
  (cmd) => badCid.map((c) => asFrame("bad cid", c === undefined ? { ...cmd } : { ...cmd, cid: c }, "keep")),
  // Not an object at all.
  () =>
    fc
      .oneof(
        fc.string({ maxLength: 20 }),
        fc.integer(),
        fc.array(fc.integer(), { maxLength: 3 }),
        fc.constant(null),
      )
      .map((p) => asFrame("non-object payload", p, "keep")),
  // Another message type, with or without a usable cid.
  (cmd) =>
    fc
      .tuple(
        fc.oneof(fc.constantFrom("ack", "ev", "err", "command", ""), fc.integer({ min: 0, max: 100 })),
        fc.boolean(),
      )
      .map(([t, withCid]) => asFrame(`message type ${String(t)}`, cmd, withCid ? "assign" : "keep", t)),
];

function frameArbitrary(): fc.Arbitrary<FrameSpec> {
  const perType = commandArbitraries();
  // Chat commands more often (they exercise the chat actors), destructive ones less.
  const DESTRUCTIVE = new Set(["block", "unmatch", "unlike", "group.leave", "group.kick"]);
  const type = fc.oneof(
    ...COMMAND_TYPES.map((t) => ({
      weight: t.startsWith("chat.") ? 3 : DESTRUCTIVE.has(t) ? 1 : 2,
      arbitrary: fc.constant(t),
    })),
  );
  const valid = type.chain((type) =>
    (perType[type] as fc.Arbitrary<Record<string, unknown>>).map((fields) => ({ type, ...fields })),
  );
  const mutated = fc
    .tuple(valid, fc.nat(MUTATIONS.length - 1))
    .chain(([cmd, i]) => (MUTATIONS[i] as Mutation)(cmd));
  const shaped = fc.oneof(
    { weight: 75, arbitrary: valid.map((cmd) => asFrame(`valid ${cmd.type}`, cmd)) },
    { weight: 20, arbitrary: mutated },
    { weight: 5, arbitrary: valid.map((cmd) => asFrame(`repeat ${cmd.type}`, cmd, "repeat")) },
  );
  return fc.tuple(fc.nat(2), shaped).map(([sender, f]) => ({ sender, ...f }));
}

// --- the oracle -------------------------------------------------------------------------------

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function validCidOf(payload: unknown): string | undefined {
  if (!isRecord(payload)) return undefined;
  return Cid.safeParse(payload.cid).success ? (payload.cid as string) : undefined;
}

/** What the server must answer, from the schema alone. */
function expectation(messageType: string | number, payload: unknown): Sent["expect"] {
  if (messageType !== MessageType.COMMAND) return "BAD_REQUEST";
  return ClientCommand.safeParse(payload).success ? "answer" : "VALIDATION_FAILED";
}

// --- the property -----------------------------------------------------------------------------

interface RunReport {
  frames: number;
  acks: number;
  errs: number;
  okAcks: number;
  codes: Record<string, number>;
  /** Successful answers per command type. */
  okByType: Record<string, number>;
  abuseCloses: number;
}

async function runSession(frames: FrameSpec[], report: RunReport): Promise<void> {
  // A fresh world per run: new users and chats, sockets with a full rate budget and no violations.
  const world = await makeWorld();
  const sockets = world.sockets;
  const sent: Sent[][] = sockets.map(() => []);
  const lastValid: unknown[] = sockets.map(() => undefined);
  let counter = 0;
  const started = Date.now();
  const interval = 1000 / (SENDS_PER_SECOND_PER_SOCKET * sockets.length);
  try {
    for (const [i, frame] of frames.entries()) {
      const socket = sockets[frame.sender] as RawSocket;
      if (!socket.isOpen) continue;
      const fresh = (p: Record<string, unknown>) => ({
        ...p,
        cid: `fz${(counter++).toString(36)}-${randomUUID().slice(0, 8)}`,
      });
      let payload = resolve(frame.payload, world);
      if (frame.cid === "repeat") {
        // Re-send an earlier valid command with its cid (as the SDK does after a reconnect).
        const earlier = lastValid[frame.sender];
        payload = earlier ?? (isRecord(payload) ? fresh(payload) : payload);
      } else if (frame.cid === "assign" && isRecord(payload)) {
        payload = fresh(payload);
      }
      const cid = validCidOf(payload);
      const expect = expectation(frame.messageType, payload);
      (sent[frame.sender] as Sent[]).push({
        label: frame.label,
        messageType: frame.messageType,
        payload,
        cid,
        expect,
      });
      if (cid !== undefined && expect === "answer") lastValid[frame.sender] = payload;
      socket.send(frame.messageType, payload);
      // Paced: frame i leaves at i × interval (total rate under every socket's limit).
      const wait = started + (i + 1) * interval - Date.now();
      if (wait > 0) await sleep(wait);
    }

    // Wait (bounded) for an answer to every frame of every socket still open.
    const expectedAcks = (i: number) => (sent[i] as Sent[]).filter((s) => s.cid !== undefined).length;
    const expectedErrs = (i: number) => (sent[i] as Sent[]).filter((s) => s.cid === undefined).length;
    const done = () =>
      sockets.every(
        (s, i) => !s.isOpen || (s.acks.length >= expectedAcks(i) + 0 && s.errors.length >= expectedErrs(i)),
      );
    const deadline = Date.now() + 20_000;
    while (!done() && Date.now() < deadline) await sleep(50);
    await sleep(300); // any duplicate answer would arrive by now

    for (const [i, socket] of sockets.entries()) {
      const frames = sent[i] as Sent[];
      const closedForAbuse = socket.closeCode === CloseCode.ABUSE;
      if (socket.closeCode !== undefined && !closedForAbuse) {
        throw new Error(`socket ${i} closed with ${socket.closeCode}, not for abuse`);
      }
      if (closedForAbuse) {
        report.abuseCloses++;
        const refusable = frames.filter((f) => f.expect !== "answer").length;
        expect(
          refusable,
          `socket ${i} was closed for abuse after only ${refusable} refusable frames`,
        ).toBeGreaterThan(SocketLimits.violationsPerMinute);
      }
      // Acks: exactly one per frame with a valid cid (a re-sent cid: one per frame).
      const perCid = new Map<string, Sent[]>();
      for (const f of frames) if (f.cid !== undefined) perCid.set(f.cid, [...(perCid.get(f.cid) ?? []), f]);
      const acksPerCid = new Map<string, typeof socket.acks>();
      for (const a of socket.acks) acksPerCid.set(a.cid, [...(acksPerCid.get(a.cid) ?? []), a]);
      for (const [cid, acks] of acksPerCid) {
        const framesOfCid = perCid.get(cid);
        expect(framesOfCid, `ack for a cid never sent on socket ${i}: ${cid}`).toBeDefined();
        expect(acks.length, `acks for ${cid} (${framesOfCid?.[0]?.label})`).toBeLessThanOrEqual(
          framesOfCid?.length ?? 0,
        );
      }
      for (const [cid, framesOfCid] of perCid) {
        const acks = acksPerCid.get(cid) ?? [];
        const f = framesOfCid[0] as Sent;
        const context = `${f.label} ${JSON.stringify(f.payload).slice(0, 300)} → ${JSON.stringify(acks).slice(0, 300)}`;
        if (!closedForAbuse) expect(acks.length, context).toBe(framesOfCid.length);
        for (const ack of acks) {
          report.acks++;
          if (ack.ok) {
            report.okAcks++;
            const type = String((f.payload as { type?: unknown }).type);
            report.okByType[type] = (report.okByType[type] ?? 0) + 1;
            expect(f.expect, `accepted a frame the schema refuses: ${context}`).toBe("answer");
            continue;
          }
          const code = ack.error?.code as string;
          report.codes[code] = (report.codes[code] ?? 0) + 1;
          expect(KNOWN_CODES.has(code), `unknown error code: ${context}`).toBe(true);
          expect(code, `INTERNAL: ${context}`).not.toBe("INTERNAL");
          expect(typeof ack.error?.message, context).toBe("string");
          if (code === "RATE_LIMITED") continue;
          if (f.expect !== "answer" && framesOfCid.every((x) => x.expect === f.expect)) {
            expect(code, context).toBe(f.expect);
          }
        }
      }
      // Frames without a valid cid: one err each, with the code the oracle names.
      const cidless = frames.filter((f) => f.cid === undefined);
      report.errs += socket.errors.length;
      if (!closedForAbuse) {
        expect(socket.errors.length, `err frames on socket ${i}`).toBe(cidless.length);
        const want = cidless.map((f) => f.expect).sort();
        const got = socket.errors.map((e) => e.error.code).sort();
        expect(got).toEqual(want);
      } else {
        expect(socket.errors.length).toBeLessThanOrEqual(cidless.length);
      }
      expect(socket.other, `unexpected message types on socket ${i}`).toEqual([]);
      report.frames += frames.length;
    }
    expect(server.child.exitCode, "the server process died").toBeNull();
  } finally {
    await Promise.all(sockets.map((s) => s.close()));
  }
}

describe("protocol fuzzing (fast-check) against a live server", () => {
  it("has an arbitrary for every command type of the protocol", () => {
    expect(Object.keys(commandArbitraries()).sort()).toEqual([...COMMAND_TYPES].sort());
  });

  it("generates schema-valid commands for every type (the arbitraries follow the schema)", () => {
    const perType = commandArbitraries();
    const sampleWorld = {
      users: [randomUUID(), randomUUID(), randomUUID()].map((id) => ({ id }) as RawUser),
      direct: `d-${"1".repeat(32)}`,
      group: `g-${"2".repeat(32)}`,
    };
    for (const type of COMMAND_TYPES) {
      for (const fields of fc.sample(perType[type] as fc.Arbitrary<Record<string, unknown>>, {
        numRuns: 30,
        seed: 42,
      })) {
        const command = resolve({ cid: "sample", type, ...fields }, sampleWorld) as Record<string, unknown>;
        const parsed = ClientCommand.safeParse(command);
        // settings.update with minAge > maxAge is schema-valid (the actor refuses it); all else must parse.
        expect(
          parsed.success,
          `${type}: ${JSON.stringify(command).slice(0, 200)} ${parsed.error?.message ?? ""}`,
        ).toBe(true);
      }
    }
  });

  it("answers every frame exactly once with a known code, never crashes, and still serves afterwards", async () => {
    const report: RunReport = {
      frames: 0,
      acks: 0,
      errs: 0,
      okAcks: 0,
      codes: {},
      okByType: {},
      abuseCloses: 0,
    };
    await fc.assert(
      fc.asyncProperty(
        fc.array(frameArbitrary(), { minLength: FRAMES_PER_RUN.min, maxLength: FRAMES_PER_RUN.max }),
        async (frames) => {
          await runSession(frames, report);
        },
      ),
      // Bounded: a fixed number of runs and no shrinking (each run is seconds against a live server);
      // a failure reports its seed and the offending frame in the assertion message.
      { numRuns: RUNS, endOnFailure: true },
    );
    expect(report.frames).toBeGreaterThanOrEqual(RUNS * FRAMES_PER_RUN.min);
    expect(report.okAcks, JSON.stringify(report)).toBeGreaterThan(report.frames / 4);
    expect(report.codes.VALIDATION_FAILED ?? 0).toBeGreaterThan(0);
    expect(report.errs).toBeGreaterThan(0);
    console.info(`protocol fuzz: ${JSON.stringify(report)}`);
    // Chat commands really hit real chats (not only NOT_FOUND).
    const chatOks = Object.entries(report.okByType)
      .filter(([type]) => type.startsWith("chat."))
      .reduce((n, [, count]) => n + count, 0);
    expect(chatOks, JSON.stringify(report.okByType)).toBeGreaterThan(10);
    await assertServerServes(server);
    expect(crashLines(server)).toEqual([]);
  }, 90_000);
});
