import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  EventCommand,
  type EventEvent,
  type EventState,
  eventActor,
} from "../../server/actors/EventActor.js";
import { ActorHost, type HostPorts } from "../../server/actors/runtime/ActorHost.js";
import type { CallEnvelope, CallResult, TurnContext } from "../../server/actors/runtime/types.js";
import type { Storage } from "../../server/persistence/ports.js";
import { openEmbeddedStorage } from "../../server/persistence/sqlite/openEmbeddedStorage.js";
import { ActorJournal } from "../../server/persistence/stores/ActorJournal.js";

const STARTS = "2030-06-01T18:00:00Z";
const ENDS = "2030-06-01T23:00:00+00:00";
const STARTS_MS = Date.parse(STARTS);
const ENDS_MS = Date.parse(ENDS);
const BEFORE = STARTS_MS - 60_000;

const configure = (capacity: number, startsAt = STARTS, endsAt = ENDS) => ({
  type: "configure" as const,
  capacity,
  startsAt,
  endsAt,
});

// ---- pure decide/evolve ------------------------------------------------------------------------

const ctx = (now: number): TurnContext => ({ now, self: { kind: "event", id: "e" }, from: null });

/**
 * Runs one command the way the host does: validate, decide, fold the events. `evolve` updates
 * state in place, so it folds into a copy: every step of a test stays a value of its own.
 */
function turn(state: EventState, command: unknown, now = BEFORE) {
  const decision = eventActor.decide(state, EventCommand.parse(command), ctx(now));
  const events: readonly EventEvent[] = decision.ok ? (decision.events ?? []) : [];
  let next = structuredClone(state);
  for (const event of events) next = eventActor.evolve(next, event);
  return { decision, events, state: next };
}

function configured(capacity: number): EventState {
  return turn(eventActor.initialState("e"), configure(capacity)).state;
}

describe("eventActor (pure)", () => {
  it("refuses everything but configure until configured", () => {
    const empty = eventActor.initialState("e");
    for (const command of [
      { type: "register", userId: "u1" },
      { type: "unregister", userId: "u1" },
      { type: "status" },
    ]) {
      expect(turn(empty, command).decision).toMatchObject({ ok: false, code: "NOT_FOUND" });
    }
  });

  it("configures once, is idempotent when unchanged, and records changes", () => {
    const first = turn(eventActor.initialState("e"), configure(10));
    expect(first.decision).toMatchObject({
      ok: true,
      reply: { status: "configured", attendees: 0, capacity: 10, remaining: 10 },
    });
    expect(first.events).toEqual([
      { type: "configured", capacity: 10, startsAt: STARTS_MS, endsAt: ENDS_MS },
    ]);
    // The same instants written differently are the same facts.
    const same = turn(first.state, configure(10, "2030-06-01T20:00:00+02:00", "2030-06-01T23:00:00Z"));
    expect(same.events).toEqual([]);
    expect(same.decision).toMatchObject({ ok: true, reply: { status: "unchanged" } });
    const bigger = turn(first.state, configure(12));
    expect(bigger.events).toHaveLength(1);
    expect(bigger.state.facts?.capacity).toBe(12);
  });

  it("registers, answers re-registration without an event, and reports status", () => {
    const a = turn(configured(2), { type: "register", userId: "u1" }, 1_000);
    expect(a.decision).toMatchObject({
      ok: true,
      reply: { status: "registered", attendees: 1, capacity: 2, remaining: 1 },
    });
    expect(a.events).toEqual([{ type: "registered", userId: "u1", at: 1_000 }]);
    expect(a.state.attendees).toEqual({ u1: 1_000 });

    const again = turn(a.state, { type: "register", userId: "u1" }, 2_000);
    expect(again.events).toEqual([]);
    expect(again.decision).toMatchObject({ ok: true, reply: { status: "already-registered", attendees: 1 } });
    expect(again.state.attendees).toEqual({ u1: 1_000 });

    expect(turn(a.state, { type: "status" }).decision).toEqual({
      ok: true,
      reply: { attendees: 1, capacity: 2, remaining: 1 },
    });
    expect(turn(a.state, { type: "status", userId: "u1" }).decision).toMatchObject({
      reply: { registered: true },
    });
    expect(turn(a.state, { type: "status", userId: "u2" }).decision).toMatchObject({
      reply: { registered: false },
    });
    expect(turn(a.state, { type: "status" }).events).toEqual([]);
  });

  it("refuses when full, with the capacity, but still answers registered users", () => {
    let state = configured(1);
    state = turn(state, { type: "register", userId: "u1" }).state;
    expect(turn(state, { type: "register", userId: "u2" }).decision).toEqual({
      ok: false,
      code: "CONFLICT",
      message: "event is full",
      details: { capacity: 1 },
    });
    expect(turn(state, { type: "register", userId: "u1" }).decision).toMatchObject({
      reply: { status: "already-registered" },
    });
  });

  it("refuses registration once the event has ended, and leaving once it has started", () => {
    let state = turn(configured(5), { type: "register", userId: "u1" }).state;
    expect(turn(state, { type: "register", userId: "u2" }, STARTS_MS).decision).toMatchObject({
      ok: true,
      reply: { status: "registered" },
    });
    expect(turn(state, { type: "register", userId: "u2" }, ENDS_MS).decision).toEqual({
      ok: false,
      code: "CONFLICT",
      message: "event has ended",
    });
    expect(turn(state, { type: "unregister", userId: "u1" }, STARTS_MS).decision).toEqual({
      ok: false,
      code: "CONFLICT",
      message: "event has started",
    });
    // Not registered is a truthful no-op answer at any time.
    expect(turn(state, { type: "unregister", userId: "u9" }, ENDS_MS).decision).toMatchObject({
      ok: true,
      reply: { status: "not-registered" },
    });
    const left = turn(state, { type: "unregister", userId: "u1" }, BEFORE);
    expect(left.events).toEqual([{ type: "unregistered", userId: "u1", at: BEFORE }]);
    expect(left.decision).toMatchObject({ reply: { status: "unregistered", attendees: 0, remaining: 5 } });
    state = left.state;
    expect(state).toMatchObject({ attendees: {}, count: 0 });
    expect(turn(state, { type: "unregister", userId: "u1" }).events).toEqual([]);
  });

  it("lets capacity drop below the attendees, admitting nobody until seats free up", () => {
    let state = configured(3);
    for (const u of ["a", "b", "c"]) state = turn(state, { type: "register", userId: u }).state;
    const lowered = turn(state, configure(1));
    expect(lowered.decision).toMatchObject({ reply: { attendees: 3, capacity: 1, remaining: 0 } });
    state = lowered.state;
    expect(turn(state, { type: "register", userId: "d" }).decision).toMatchObject({
      message: "event is full",
    });
    state = turn(state, { type: "unregister", userId: "a" }).state;
    state = turn(state, { type: "unregister", userId: "b" }).state;
    expect(turn(state, { type: "register", userId: "d" }).decision).toMatchObject({
      message: "event is full",
    });
    state = turn(state, { type: "unregister", userId: "c" }).state;
    expect(turn(state, { type: "register", userId: "d" }).decision).toMatchObject({
      reply: { status: "registered", attendees: 1, remaining: 0 },
    });
  });

  it("treats prototype names as ordinary user ids and keeps state JSON-serializable", () => {
    let state = configured(5);
    expect(turn(state, { type: "status", userId: "constructor" }).decision).toMatchObject({
      reply: { registered: false },
    });
    state = turn(state, { type: "register", userId: "constructor" }).state;
    state = turn(state, { type: "register", userId: "toString" }).state;
    expect(state.count).toBe(2);
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
  });

  it("validates commands strictly", () => {
    const bad = [
      { type: "register", userId: "u1", extra: true },
      { type: "register", userId: "" },
      { type: "register", userId: "a b" },
      { type: "register", userId: "x".repeat(65) },
      { type: "status", userId: "u1", verbose: true },
      { ...configure(0) },
      { ...configure(100_001) },
      { ...configure(1.5) },
      { ...configure(5, "tomorrow") },
      { ...configure(5, ENDS, STARTS) },
      { ...configure(5), title: "x" },
      { type: "cancel" },
    ];
    for (const command of bad)
      expect(EventCommand.safeParse(command).success, JSON.stringify(command)).toBe(false);
    expect(EventCommand.safeParse({ type: "register", userId: "x".repeat(64) }).success).toBe(true);
    expect(EventCommand.safeParse(configure(100_000)).success).toBe(true);
  });
});

// ---- through the real ActorHost over an embedded journal ---------------------------------------

let dir: string;
let storage: Storage;
let journal: ActorJournal;
let now = BEFORE;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "lovecraft-event-"));
  storage = openEmbeddedStorage(dir);
  journal = new ActorJournal(storage.tables, storage.blobs);
  now = BEFORE;
});

afterEach(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

function makeHost(id: string, overrides: Partial<HostPorts> = {}): ActorHost {
  const ports: HostPorts = {
    open: async (key) => ({ ...(await journal.open(key)), release: async () => undefined }),
    deliver: async () => ({ ok: true, value: null }),
    publish: () => undefined,
    scheduleWake: async () => undefined,
    now: () => now,
    onStopped: () => undefined,
    ...overrides,
  };
  return new ActorHost({ kind: "event", id }, eventActor, ports);
}

let keys = 0;
const external = (id: string, command: unknown, key = `k${++keys}`): CallEnvelope => ({
  to: { kind: "event", id },
  from: null,
  key,
  command,
});

const value = (r: CallResult) => (r.ok ? r.value : r.error);

describe("eventActor (hosted)", () => {
  it("never exceeds capacity when 50 users race for 20 seats", async () => {
    const host = makeHost("race");
    await host.receive(external("race", configure(20)));
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        host.receive(external("race", { type: "register", userId: `u${i}` })),
      ),
    );
    const registered = results.filter((r) => r.ok);
    const full = results.filter((r) => !r.ok);
    expect(registered).toHaveLength(20);
    expect(full).toHaveLength(30);
    for (const r of full) {
      expect(r).toMatchObject({
        ok: false,
        error: { code: "CONFLICT", message: "event is full", details: { capacity: 20 }, retryable: false },
      });
    }
    expect(value(await host.receive(external("race", { type: "status" })))).toEqual({
      attendees: 20,
      capacity: 20,
      remaining: 0,
    });
    expect((await journal.read("event_race"))?.seq).toBe(21);
  });

  it("replays to the same attendees after deactivation (snapshot) and takeover (log)", async () => {
    const first = makeHost("replay");
    await first.receive(external("replay", configure(10)));
    for (let i = 0; i < 6; i++) {
      now = BEFORE + i;
      await first.receive(external("replay", { type: "register", userId: `u${i}` }));
    }
    await first.receive(external("replay", { type: "unregister", userId: "u2" }));
    const before = structuredClone(first.state as EventState);
    expect(before.count).toBe(5);

    // Takeover: a newer activation fences the first and rebuilds from the log alone.
    const second = makeHost("replay");
    await second.whenReady();
    expect(second.state).toEqual(before);

    await second.deactivate();
    const third = makeHost("replay");
    await third.whenReady();
    expect(third.state).toEqual(before);
    expect(value(await third.receive(external("replay", { type: "status", userId: "u2" })))).toEqual({
      attendees: 5,
      capacity: 10,
      remaining: 5,
      registered: false,
    });
    expect(value(await third.receive(external("replay", { type: "register", userId: "u0" })))).toMatchObject({
      status: "already-registered",
    });
  });

  it("rejects unknown fields and bad values with VALIDATION_FAILED, persisting nothing", async () => {
    const host = makeHost("invalid");
    for (const command of [
      { ...configure(5), venue: "somewhere" },
      { type: "register", userId: "u1", seats: 2 },
      { type: "register", userId: "not valid!" },
    ]) {
      expect(await host.receive(external("invalid", command))).toMatchObject({
        ok: false,
        error: { code: "VALIDATION_FAILED", retryable: false },
      });
    }
    expect(await host.receive(external("invalid", { type: "register", userId: "u1" }))).toMatchObject({
      ok: false,
      error: { code: "NOT_FOUND" },
    });
    expect((await journal.read("event_invalid"))?.seq).toBe(0);
  });

  it("uses the host clock for the time rules", async () => {
    const host = makeHost("clock");
    await host.receive(external("clock", configure(5)));
    await host.receive(external("clock", { type: "register", userId: "u1" }));
    now = STARTS_MS;
    expect(await host.receive(external("clock", { type: "unregister", userId: "u1" }))).toMatchObject({
      ok: false,
      error: { code: "CONFLICT", message: "event has started" },
    });
    now = ENDS_MS;
    expect(await host.receive(external("clock", { type: "register", userId: "u2" }))).toMatchObject({
      ok: false,
      error: { code: "CONFLICT", message: "event has ended" },
    });
    expect((host.state as EventState).attendees).toEqual({ u1: BEFORE });
  });
});
