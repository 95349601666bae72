import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ActorHost, type HostPorts } from "../../server/actors/runtime/ActorHost.js";
import type { CallEnvelope, CallResult, Publication } from "../../server/actors/runtime/types.js";
import type { Storage } from "../../server/persistence/ports.js";
import { openEmbeddedStorage } from "../../server/persistence/sqlite/openEmbeddedStorage.js";
import { ActorJournal } from "../../server/persistence/stores/ActorJournal.js";
import { counterActor } from "../support/counterActor.js";

let dir: string;
let storage: Storage;
let journal: ActorJournal;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "lovecraft-host-"));
  storage = openEmbeddedStorage(dir);
  journal = new ActorJournal(storage.tables, storage.blobs);
});

afterEach(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Harness {
  host: ActorHost;
  delivered: CallEnvelope[];
  published: Publication[];
  stopped: Error[];
}

function makeHost(id: string, overrides: Partial<HostPorts> = {}): Harness {
  const delivered: CallEnvelope[] = [];
  const published: Publication[] = [];
  const stopped: Error[] = [];
  const ports: HostPorts = {
    open: async (key) => ({ ...(await journal.open(key)), release: async () => undefined }),
    deliver: async (envelope) => {
      delivered.push(envelope);
      return { ok: true, value: null };
    },
    publish: (p) => published.push(p),
    scheduleWake: async () => undefined,
    now: () => Date.now(),
    onStopped: (reason) => stopped.push(reason),
    ...overrides,
  };
  return { host: new ActorHost({ kind: "counter", id }, counterActor, ports), delivered, published, stopped };
}

const external = (command: unknown, key = String(Math.random())): CallEnvelope => ({
  to: { kind: "counter", id: "x" },
  from: null,
  key,
  command,
});

const value = (r: CallResult) => (r.ok ? r.value : r.error);

describe("ActorHost", () => {
  it("runs turns in arrival order and answers after the record is durable", async () => {
    const { host } = makeHost("order");
    const results = await Promise.all(
      [1, 2, 3, 4].map((n) => host.receive(external({ type: "add", amount: n }))),
    );
    expect(results.map(value)).toEqual([{ total: 1 }, { total: 3 }, { total: 6 }, { total: 10 }]);
    const stored = await journal.read("counter_order");
    expect(stored?.seq).toBe(4);
  });

  it("returns the first result for a re-sent key and applies it once", async () => {
    const { host } = makeHost("dedup");
    const first = await host.receive(external({ type: "add", amount: 5 }, "k"));
    await host.receive(external({ type: "add", amount: 1 }));
    const again = await host.receive(external({ type: "add", amount: 5 }, "k"));
    expect(value(again)).toEqual(value(first));
    expect(value(await host.receive(external({ type: "get" })))).toMatchObject({ total: 6 });
  });

  it("deduplicates actor senders by their outbox counter", async () => {
    const { host } = makeHost("receiver");
    const from = { kind: "counter", id: "sender" };
    const send = (key: string) =>
      host.receive({
        to: { kind: "counter", id: "receiver" },
        from,
        key,
        command: { type: "add", amount: 1 },
      });
    await send("1");
    await send("2");
    await send("1");
    await send("2");
    expect(value(await host.receive(external({ type: "get" })))).toMatchObject({ total: 2 });
  });

  it("answers invalid commands and rejections with codes, persisting nothing", async () => {
    const { host } = makeHost("invalid");
    const bad = await host.receive(external({ type: "add", amount: "lots" }));
    expect(bad).toMatchObject({ ok: false, error: { code: "VALIDATION_FAILED", retryable: false } });
    const refused = await host.receive(external({ type: "fail" }));
    expect(refused).toMatchObject({ ok: false, error: { code: "CONFLICT" } });
    expect((await journal.read("counter_invalid"))?.seq).toBe(0);
  });

  it("keeps state untouched when actor logic throws", async () => {
    const broken = {
      ...counterActor,
      decide: () => {
        throw new Error("boom");
      },
    };
    const host = new ActorHost({ kind: "counter", id: "bug" }, broken, {
      open: async (key) => ({ ...(await journal.open(key)), release: async () => undefined }),
      deliver: async () => ({ ok: true, value: null }),
      publish: () => undefined,
      scheduleWake: async () => undefined,
      now: () => Date.now(),
      onStopped: () => undefined,
    });
    expect(await host.receive(external({ type: "get" }))).toMatchObject({
      ok: false,
      error: { code: "INTERNAL" },
    });
  });

  it("re-activates from snapshot + log to the same state, dedup table included", async () => {
    const first = makeHost("replay");
    for (let i = 1; i <= 25; i++) await first.host.receive(external({ type: "add", amount: i }, `k${i}`));
    await first.host.deactivate();
    const second = makeHost("replay");
    expect(value(await second.host.receive(external({ type: "get" })))).toMatchObject({ total: 325 });
    // A retry of an old key after re-activation still returns its first answer.
    expect(value(await second.host.receive(external({ type: "add", amount: 25 }, "k25")))).toEqual({
      total: 325,
    });
    const stored = await journal.read("counter_replay");
    expect(stored?.snapshot?.seq).toBe(25);
    expect(stored?.events).toEqual([]);
  });

  it("delivers the outbox after the turn is durable, in order, retrying retryable failures", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout"] });
    try {
      let failures = 2;
      const { host, delivered } = makeHost("outbox", {
        deliver: async (envelope) => {
          if (failures-- > 0)
            return { ok: false, error: { code: "ACTOR_UNAVAILABLE", message: "moving", retryable: true } };
          delivered.push(envelope);
          return { ok: true, value: null };
        },
      });
      await host.receive(external({ type: "forward", to: "b", amount: 1 }));
      await host.receive(external({ type: "forward", to: "b", amount: 2 }));
      expect(host.pendingOutbox).toBe(2);
      await vi.runAllTimersAsync();
      expect(delivered.map((d) => [d.key, d.command])).toEqual([
        ["1", { type: "add", amount: 1 }],
        ["2", { type: "add", amount: 2 }],
      ]);
      expect(host.pendingOutbox).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("resumes undelivered outbox entries after re-activation", async () => {
    const first = makeHost("resume", {
      deliver: async () => ({ ok: false, error: { code: "TIMEOUT", message: "", retryable: true } }),
    });
    await first.host.receive(external({ type: "forward", to: "c", amount: 3 }));
    await first.host.deactivate();
    const second = makeHost("resume");
    await second.host.whenReady();
    await vi.waitFor(() => expect(second.delivered).toHaveLength(1));
    expect(second.delivered[0]).toMatchObject({ from: { kind: "counter", id: "resume" }, key: "1" });
  });

  it("stops answering and reports when a newer activation fences it", async () => {
    const old = makeHost("fenced");
    await old.host.receive(external({ type: "add", amount: 1 }));
    const newer = makeHost("fenced");
    await newer.host.whenReady();
    const answer = await old.host.receive(external({ type: "add", amount: 1 }));
    expect(answer).toMatchObject({ ok: false, error: { code: "ACTOR_UNAVAILABLE", retryable: true } });
    expect(old.stopped).toHaveLength(1);
    expect(value(await newer.host.receive(external({ type: "get" })))).toMatchObject({ total: 1 });
  });

  it("is idle only with nothing in flight and after the idle time", async () => {
    let now = 1_000;
    const { host } = makeHost("idle", { now: () => now });
    await host.receive(external({ type: "add", amount: 1 }));
    expect(host.isIdle(now, 500)).toBe(false);
    now += 600;
    expect(host.isIdle(now, 500)).toBe(true);
  });

  it("publishes only after the turn is durable", async () => {
    const definition = {
      ...counterActor,
      decide: () => ({
        ok: true as const,
        reply: null,
        events: [{ type: "added" as const, amount: 1 }],
        publish: [{ channel: "c", message: 1 }],
      }),
    };
    const published: Publication[] = [];
    const host = new ActorHost({ kind: "counter", id: "pub" }, definition, {
      open: async (key) => ({ ...(await journal.open(key)), release: async () => undefined }),
      deliver: async () => ({ ok: true, value: null }),
      publish: (p) => published.push(p),
      scheduleWake: async () => undefined,
      now: () => Date.now(),
      onStopped: () => undefined,
    });
    await host.receive(external({ type: "get" }));
    await vi.waitFor(() => expect(published).toEqual([{ channel: "c", message: 1 }]));
  });

  it("keeps reminders durable: schedules a wake, and fires due ones on activation", async () => {
    let now = 10_000;
    const wakes: [string, number][] = [];
    const first = makeHost("remind", {
      now: () => now,
      scheduleWake: async (key, at) => void wakes.push([key, at]),
    });
    expect(value(await first.host.receive(external({ type: "remind", name: "ping", inMs: 5_000 })))).toEqual({
      at: 15_000,
    });
    expect(wakes).toEqual([["counter_remind", 15_000]]);
    await first.host.deactivate();

    now = 16_000;
    const second = makeHost("remind", { now: () => now });
    await second.host.whenReady();
    await vi.waitFor(async () =>
      expect(value(await second.host.receive(external({ type: "get" })))).toMatchObject({ total: 0 }),
    );
    await second.host.wake();
    const stored = await journal.read("counter_remind");
    expect(stored?.events.length).toBeGreaterThan(0);
    await second.host.deactivate();
    const third = makeHost("remind", { now: () => now });
    await third.host.whenReady();
    expect((third.host.state as { reminded?: string[] }).reminded).toEqual(["ping"]);
  });

  it("fires a reminder only when due, once", async () => {
    let now = 0;
    const { host } = makeHost("due", { now: () => now });
    await host.receive(external({ type: "remind", name: "later", inMs: 1_000 }));
    await host.wake();
    expect((host.state as { reminded?: string[] }).reminded).toBeUndefined();
    now = 1_000;
    await host.wake();
    await host.wake();
    expect((host.state as { reminded?: string[] }).reminded).toEqual(["later"]);
  });

  it("registers an outbox wake so undelivered commands survive a node death", async () => {
    const wakes: number[] = [];
    const { host } = makeHost("outbox-wake", {
      now: () => 50_000,
      scheduleWake: async (_key, at) => void wakes.push(at),
      deliver: async () => ({ ok: false, error: { code: "TIMEOUT", message: "", retryable: true } }),
    });
    await host.receive(external({ type: "forward", to: "elsewhere", amount: 1 }));
    expect(wakes).toEqual([65_000]);
    expect(host.pendingOutbox).toBe(1);
  });
});
