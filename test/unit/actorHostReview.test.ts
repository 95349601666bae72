/**
 * Regressions from the runtime review: each test failed on the code before its fix.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { ActorHost, type HostPorts } from "../../server/actors/runtime/ActorHost.js";
import type { ActorDefinition, AnyActorDefinition, CallEnvelope } from "../../server/actors/runtime/types.js";
import { StorageUnavailableError } from "../../server/persistence/errors.js";
import type { Storage, TableStore } from "../../server/persistence/ports.js";
import { openEmbeddedStorage } from "../../server/persistence/sqlite/openEmbeddedStorage.js";
import {
  ActorJournal,
  type HeadState,
  type JournalEvent,
} from "../../server/persistence/stores/ActorJournal.js";
import { ReminderIndex } from "../../server/persistence/stores/ReminderIndex.js";
import { counterActor } from "../support/counterActor.js";

let dir: string;
let storage: Storage;
let journal: ActorJournal;

/** A journal whose event commits can be held back, to make storage "slow" on demand. */
class GatedJournal extends ActorJournal {
  gate: Promise<void> | undefined;
  override async commitEvents(
    actorKey: string,
    etag: string,
    head: HeadState,
    events: readonly JournalEvent[],
  ) {
    if (this.gate) await this.gate;
    return super.commitEvents(actorKey, etag, head, events);
  }
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "lovecraft-review-"));
  storage = openEmbeddedStorage(dir);
  journal = new ActorJournal(storage.tables, storage.blobs);
});
afterEach(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

function makeHost(
  id: string,
  overrides: Partial<HostPorts> = {},
  j = journal,
  def: AnyActorDefinition = counterActor,
) {
  const stopped: Error[] = [];
  const ports: HostPorts = {
    open: async (key) => ({ ...(await j.open(key)), release: async () => undefined }),
    deliver: async () => ({ ok: true, value: null }),
    publish: () => undefined,
    scheduleWake: async () => undefined,
    now: () => Date.now(),
    onStopped: (reason) => stopped.push(reason),
    ...overrides,
  };
  return { host: new ActorHost({ kind: "counter", id }, def, ports), stopped };
}

const external = (command: unknown, key = `k-${Math.random()}`): CallEnvelope => ({
  to: { kind: "counter", id: "x" },
  from: null,
  key,
  command,
});

describe("ActorHost after review", () => {
  it("never delivers an outbox entry before its record is durable", async () => {
    const receiver = makeHost("r");
    const deliveries: string[] = [];
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((r) => {
      releaseFirst = r;
    });
    const deliver = async (env: CallEnvelope) => {
      if (env.key === "1" && deliveries.length === 0) await firstHeld;
      deliveries.push(env.key);
      return receiver.host.receive({ ...env, to: { kind: "counter", id: "r" } });
    };
    const gated = new GatedJournal(storage.tables, storage.blobs);
    const sender = makeHost("s", { deliver }, gated);
    await sender.host.receive(external({ type: "forward", to: "r", amount: 1 }));
    gated.gate = new Promise<void>(() => undefined); // storage hangs: turn 2 never becomes durable
    void sender.host.receive(external({ type: "forward", to: "r", amount: 2 }));
    releaseFirst();
    await vi.waitFor(() => expect(deliveries).toEqual(["1"]));
    await new Promise((r) => setTimeout(r, 50));
    expect(deliveries).toEqual(["1"]); // n=2 waits for its record

    // The sender's node dies; a re-activation from storage continues with the durable history.
    const again = makeHost("s", { deliver });
    await again.host.receive(external({ type: "forward", to: "r", amount: 3 }));
    await vi.waitFor(() => expect(again.host.pendingOutbox).toBe(0));
    const total = await receiver.host.receive(external({ type: "get" }));
    expect(total).toMatchObject({ ok: true, value: { total: 4, history: [1, 3] } });
  });

  it("a record the writer refuses is never applied, and other turns are unaffected", async () => {
    const def = {
      ...counterActor,
      decide: (s: never, c: { type: string }, ctx: never) =>
        c.type === "fail"
          ? {
              ok: true as const,
              reply: "x".repeat(300_000),
              events: [{ type: "added" as const, amount: 100 }],
            }
          : counterActor.decide(s, c as never, ctx),
    };
    const { host, stopped } = makeHost("ph", {}, journal, def);
    const [big, add] = await Promise.all([
      host.receive(external({ type: "fail" })),
      host.receive(external({ type: "add", amount: 1 })),
    ]);
    expect(big).toMatchObject({ ok: false, error: { code: "PAYLOAD_TOO_LARGE", retryable: false } });
    expect(add).toMatchObject({ ok: true, value: { total: 1 } });
    expect(stopped).toEqual([]);
    expect((await journal.read("counter_ph"))?.events).toHaveLength(1);
  });

  it("a snapshot refused because a newer activation exists stops the host; deactivate still completes", async () => {
    const old = makeHost("z");
    await old.host.receive(external({ type: "add", amount: 1 }));
    const newer = makeHost("z");
    await newer.host.whenReady();
    await old.host.snapshot();
    expect(old.host.isActive).toBe(false);
    expect(old.stopped).toHaveLength(1);
    await expect(old.host.deactivate()).resolves.toBeUndefined();
    expect(await old.host.receive(external({ type: "get" }))).toMatchObject({
      ok: false,
      error: { code: "ACTOR_UNAVAILABLE" },
    });
  });

  it("every deactivate() call waits for the one deactivation in progress", async () => {
    const gated = new GatedJournal(storage.tables, storage.blobs);
    const { host } = makeHost("d", {}, gated);
    await host.receive(external({ type: "add", amount: 1 }));
    let unblock!: () => void;
    gated.gate = new Promise<void>((r) => {
      unblock = r;
    });
    const pending = host.receive(external({ type: "add", amount: 2 }));
    let firstDone = false;
    const first = host.deactivate().then(() => {
      firstDone = true;
    });
    const second = host.deactivate();
    setTimeout(() => {
      gated.gate = undefined;
      unblock();
    }, 30);
    await second;
    expect(firstDone).toBe(true);
    await first;
    await pending;
    expect((await journal.read("counter_d"))?.snapshot?.data.toString()).toContain('"total":3');
  });

  it("a retried key gets its first answer even when that answer was a rejection or a read", async () => {
    const { host } = makeHost("k2");
    const first = await host.receive(external({ type: "fail" }, "same-key"));
    await host.receive(external({ type: "add", amount: 1 }));
    expect(await host.receive(external({ type: "fail" }, "same-key"))).toEqual(first);
    const read = await host.receive(external({ type: "get" }, "read-key"));
    await host.receive(external({ type: "add", amount: 1 }));
    expect(await host.receive(external({ type: "get" }, "read-key"))).toEqual(read);
  });
});

describe("ActorJournal after review", () => {
  it("keeps a spilled snapshot blob when the head update's answer was lost (it may have landed)", async () => {
    let ambiguous = false;
    const tables: TableStore = new Proxy(storage.tables, {
      get(target, prop, receiver) {
        if (prop === "transact") {
          return async (...args: Parameters<TableStore["transact"]>) => {
            const result = await target.transact(...args);
            if (ambiguous) {
              ambiguous = false;
              throw new StorageUnavailableError("socket timeout after the write");
            }
            return result;
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const big: ActorDefinition<{ parts: string[] }, { type: "grow" }, { data: string }, null> = {
      kind: "counter",
      commands: z.object({ type: z.literal("grow") }),
      snapshotEvery: 1000,
      initialState: () => ({ parts: [] }),
      decide: () => ({ ok: true, reply: null, events: [{ data: randomBytes(150_000).toString("base64") }] }),
      evolve: (s, e) => ({ parts: [...s.parts, e.data] }),
    };
    const withAmbiguity = new ActorJournal(tables, storage.blobs);
    const { host } = makeHost("big", {}, withAmbiguity, big);
    for (let i = 0; i < 6; i++) expect((await host.receive(external({ type: "grow" }))).ok).toBe(true);
    ambiguous = true;
    await host.snapshot();
    const reopened = await new ActorJournal(storage.tables, storage.blobs).open("counter_big");
    expect(reopened.recovery.snapshot?.data.length).toBeGreaterThan(600_000);
  });
});

describe("ReminderIndex after review", () => {
  it("reports the bucket a limited scan did not finish, so the cursor cannot skip rows", async () => {
    const index = new ReminderIndex(storage.tables);
    const at = 120_000; // bucket 2
    for (let i = 0; i < 7; i++) await index.schedule(`counter_a${i}`, at);
    const first = await index.due(0, at, 5);
    expect(first.wakes).toHaveLength(5);
    expect(first.unfinished).toBe(2);
    const all = await index.due(0, at, 100);
    expect(all.wakes).toHaveLength(7);
    expect(all.unfinished).toBeUndefined();
  });
});
