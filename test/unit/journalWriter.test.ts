import { afterEach, describe, expect, it, vi } from "vitest";

// The writer backs off with `setTimeout` from node:timers/promises, which vitest's fake timers do
// not patch. Route it through the global `setTimeout` so `vi.useFakeTimers()` controls it.
vi.mock("node:timers/promises", async (importOriginal) => ({
  ...(await importOriginal<typeof import("node:timers/promises")>()),
  setTimeout: (ms: number) => new Promise<void>((resolve) => globalThis.setTimeout(resolve, ms)),
}));

import {
  ConcurrencyError,
  FencedError,
  StorageLimitError,
  StorageUnavailableError,
} from "../../server/persistence/errors.js";
import {
  type ActorJournal,
  type HeadState,
  type JournalEvent,
  MAX_EVENT_BYTES,
} from "../../server/persistence/stores/ActorJournal.js";
import { JournalWriter } from "../../server/persistence/stores/JournalWriter.js";

/** Captured before any test installs fake timers: lets queued promise callbacks run. */
const realSetImmediate = globalThis.setImmediate;
const tick = () => new Promise<void>((resolve) => realSetImmediate(resolve));

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

type SnapshotResult = { etag: string; head: HeadState; cleanup: () => Promise<void> };

interface EventsCall {
  readonly kind: "events";
  readonly actorKey: string;
  readonly etag: string;
  readonly head: HeadState;
  readonly events: JournalEvent[];
  readonly result: Deferred<string>;
}

interface SnapshotCall {
  readonly kind: "snapshot";
  readonly actorKey: string;
  readonly etag: string;
  readonly previous: HeadState;
  readonly head: Omit<HeadState, "snapEncoding" | "snapBlob">;
  readonly state: Buffer;
  readonly result: Deferred<SnapshotResult>;
}

type Call = EventsCall | SnapshotCall;

/** A journal whose every commit stays pending until the test settles it. */
class FakeJournal {
  readonly calls: Call[] = [];
  private taken = 0;
  private readonly waiters = new Map<number, (call: Call) => void>();

  commitEvents(actorKey: string, etag: string, head: HeadState, events: readonly JournalEvent[]) {
    const result = deferred<string>();
    this.record({ kind: "events", actorKey, etag, head, events: [...events], result });
    return result.promise;
  }

  commitSnapshot(
    actorKey: string,
    etag: string,
    previous: HeadState,
    head: Omit<HeadState, "snapEncoding" | "snapBlob">,
    state: Buffer,
  ) {
    const result = deferred<SnapshotResult>();
    this.record({ kind: "snapshot", actorKey, etag, previous, head, state, result });
    return result.promise;
  }

  /** What `readHead` answers (the writer asks after an ambiguous commit); undefined: no head row. */
  storedHead: { head: HeadState; etag: string } | undefined;
  /** Actor keys passed to `readHead`, in order. */
  readonly headReads: string[] = [];

  async readHead(actorKey: string): Promise<{ head: HeadState; etag: string } | undefined> {
    this.headReads.push(actorKey);
    return this.storedHead;
  }

  /** The next call not yet handed out, waiting for it if needed. */
  next(): Promise<Call> {
    const index = this.taken++;
    const existing = this.calls[index];
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve) => this.waiters.set(index, resolve));
  }

  async nextEvents(): Promise<EventsCall> {
    const call = await this.next();
    if (call.kind !== "events") throw new Error(`expected a commitEvents call, got ${call.kind}`);
    return call;
  }

  async nextSnapshot(): Promise<SnapshotCall> {
    const call = await this.next();
    if (call.kind !== "snapshot") throw new Error(`expected a commitSnapshot call, got ${call.kind}`);
    return call;
  }

  private record(call: Call): void {
    const index = this.calls.push(call) - 1;
    const waiter = this.waiters.get(index);
    if (waiter) {
      this.waiters.delete(index);
      waiter(call);
    }
  }
}

/** Observes a promise without letting a rejection go unhandled. */
function track(promise: Promise<unknown>) {
  const t: { state: "pending" | "resolved" | "rejected"; error: unknown } = {
    state: "pending",
    error: undefined,
  };
  promise.then(
    () => {
      t.state = "resolved";
    },
    (err: unknown) => {
      t.state = "rejected";
      t.error = err;
    },
  );
  return t;
}

const INITIAL_HEAD: HeadState = { epoch: 1, seq: 0, snapSeq: 0, snapEncoding: "none" };

function makeWriter(head: HeadState = INITIAL_HEAD) {
  const journal = new FakeJournal();
  const writer = new JournalWriter(journal as unknown as ActorJournal, "user_x", head, "etag0");
  return { journal, writer };
}

const buf = (text: string) => Buffer.from(text);
/** Longer than any retry backoff the writer may wait. */
const RETRY_CEILING_MS = 10_000;
const seqs = (call: EventsCall) => call.events.map((e) => e.seq);

afterEach(() => {
  vi.useRealTimers();
});

describe("JournalWriter sequence numbers", () => {
  it("assigns gap-free sequence numbers synchronously, continuing after the head", async () => {
    const { journal, writer } = makeWriter({ epoch: 3, seq: 41, snapSeq: 40, snapEncoding: "inline" });
    expect(writer.lastSeq).toBe(41);
    expect(writer.durableSeq).toBe(41);
    expect(writer.epoch).toBe(3);

    const a = writer.append(buf("a"));
    const b = writer.append(buf("b"));
    const c = writer.append(buf("c"));
    expect([a.seq, b.seq, c.seq]).toEqual([42, 43, 44]);
    expect(writer.lastSeq).toBe(44);
    expect(writer.durableSeq).toBe(41);
    expect(writer.backlog).toBe(2); // a is in flight, b and c wait

    const first = await journal.nextEvents();
    expect(first.events).toEqual([{ seq: 42, data: buf("a") }]);
    first.result.resolve("etag1");
    await a.durable;
    expect(writer.durableSeq).toBe(42);

    const second = await journal.nextEvents();
    expect(second.events).toEqual([
      { seq: 43, data: buf("b") },
      { seq: 44, data: buf("c") },
    ]);
    second.result.resolve("etag2");
    await Promise.all([b.durable, c.durable]);
    expect(writer.durableSeq).toBe(44);
    expect(writer.backlog).toBe(0);
  });

  it("refuses an event over MAX_EVENT_BYTES without using a sequence number", async () => {
    const { journal, writer } = makeWriter();
    expect(() => writer.append(Buffer.alloc(MAX_EVENT_BYTES + 1))).toThrow(StorageLimitError);
    expect(writer.lastSeq).toBe(0);
    expect(journal.calls).toHaveLength(0);

    const exact = writer.append(Buffer.alloc(MAX_EVENT_BYTES));
    expect(exact.seq).toBe(1);
    const call = await journal.nextEvents();
    expect(call.events[0]?.data.length).toBe(MAX_EVENT_BYTES);
    call.result.resolve("etag1");
    await exact.durable;

    expect(() => writer.append(Buffer.alloc(MAX_EVENT_BYTES + 1))).toThrow(StorageLimitError);
    expect(writer.append(buf("next")).seq).toBe(2);
  });
});

describe("JournalWriter group commit", () => {
  it("commits appends that arrive while a commit is in flight as one next batch", async () => {
    const { journal, writer } = makeWriter();
    const first = writer.append(buf("1"));
    const firstCall = await journal.nextEvents();
    expect(firstCall.actorKey).toBe("user_x");
    expect(seqs(firstCall)).toEqual([1]);
    expect(firstCall.head).toEqual({ epoch: 1, seq: 1, snapSeq: 0, snapEncoding: "none" });

    const later = [2, 3, 4, 5].map((n) => writer.append(buf(String(n))));
    const laterState = later.map((a) => track(a.durable));
    await tick();
    // Nothing else goes out while the first transaction is pending.
    expect(journal.calls).toHaveLength(1);
    expect(laterState.every((s) => s.state === "pending")).toBe(true);

    firstCall.result.resolve("etag1");
    await first.durable;
    const batch = await journal.nextEvents();
    expect(seqs(batch)).toEqual([2, 3, 4, 5]);
    expect(batch.events.map((e) => e.data.toString())).toEqual(["2", "3", "4", "5"]);
    expect(batch.head).toEqual({ epoch: 1, seq: 5, snapSeq: 0, snapEncoding: "none" });
    await tick();
    expect(laterState.every((s) => s.state === "pending")).toBe(true);

    batch.result.resolve("etag2");
    await Promise.all(later.map((a) => a.durable));
    expect(journal.calls).toHaveLength(2);
  });

  it("passes the ETag returned by each commit to the next one", async () => {
    const { journal, writer } = makeWriter();
    const etags: string[] = [];
    for (let i = 1; i <= 3; i++) {
      const { durable } = writer.append(buf(`e${i}`));
      const call = await journal.nextEvents();
      etags.push(call.etag);
      call.result.resolve(`etag${i}`);
      await durable;
    }
    expect(etags).toEqual(["etag0", "etag1", "etag2"]);
  });

  it("never puts more than 99 events in one batch", async () => {
    const { journal, writer } = makeWriter();
    writer.append(buf("first"));
    const first = await journal.nextEvents();
    const rest = Array.from({ length: 150 }, (_, i) => writer.append(buf(`e${i + 2}`)));
    expect(rest.at(-1)?.seq).toBe(151);
    first.result.resolve("etag1");

    const second = await journal.nextEvents();
    expect(second.events).toHaveLength(99);
    expect(seqs(second)).toEqual(Array.from({ length: 99 }, (_, i) => i + 2));
    expect(second.head.seq).toBe(100);
    expect(second.etag).toBe("etag1");
    const tail = rest.slice(99).map((a) => track(a.durable));
    second.result.resolve("etag2");
    await Promise.all(rest.slice(0, 99).map((a) => a.durable));
    expect(writer.durableSeq).toBe(100);
    expect(tail.every((s) => s.state === "pending")).toBe(true);

    const third = await journal.nextEvents();
    expect(seqs(third)).toEqual(Array.from({ length: 51 }, (_, i) => i + 101));
    expect(third.head.seq).toBe(151);
    expect(third.etag).toBe("etag2");
    third.result.resolve("etag3");
    await Promise.all(rest.map((a) => a.durable));
    expect(writer.durableSeq).toBe(151);
  });

  it("splits batches so their raw size stays under 2.5 MiB", async () => {
    const { journal, writer } = makeWriter();
    writer.append(buf("first"));
    const first = await journal.nextEvents();
    const big = Array.from({ length: 12 }, () => writer.append(Buffer.alloc(MAX_EVENT_BYTES, 7)));
    first.result.resolve("etag1");

    const second = await journal.nextEvents();
    const bytes = second.events.reduce((n, e) => n + e.data.length, 0);
    expect(bytes).toBeLessThanOrEqual(2.5 * 1024 * 1024);
    expect(second.events).toHaveLength(10);
    second.result.resolve("etag2");
    const third = await journal.nextEvents();
    expect(seqs(third)).toEqual([12, 13]);
    third.result.resolve("etag3");
    await Promise.all(big.map((a) => a.durable));
  });

  it("reports each committed batch to onCommit", async () => {
    const { journal, writer } = makeWriter();
    const onCommit = vi.fn();
    writer.onCommit = onCommit;
    writer.append(buf("a"));
    const first = await journal.nextEvents();
    const b = writer.append(buf("b"));
    writer.append(buf("c"));
    first.result.resolve("etag1");
    const second = await journal.nextEvents();
    second.result.resolve("etag2");
    await b.durable;
    expect(onCommit).toHaveBeenCalledTimes(2);
    expect(onCommit.mock.calls[0]?.[0]).toMatchObject({ events: 1, attempts: 1 });
    expect(onCommit.mock.calls[1]?.[0]).toMatchObject({ events: 2, attempts: 1 });
  });
});

describe("JournalWriter retries", () => {
  it("retries a StorageUnavailableError with the same events after a backoff", async () => {
    vi.useFakeTimers();
    const { journal, writer } = makeWriter();
    const onRetry = vi.fn();
    writer.onRetry = onRetry;
    const a = writer.append(buf("a"));
    const b = writer.append(buf("b"));
    const first = await journal.nextEvents();
    first.result.resolve("etag1");
    await a.durable;

    const attempt1 = await journal.nextEvents();
    expect(seqs(attempt1)).toEqual([2]);
    const outage = new StorageUnavailableError("storage down");
    attempt1.result.reject(outage);
    const bState = track(b.durable);
    await tick();
    expect(onRetry).toHaveBeenCalledTimes(1);
    expect(onRetry).toHaveBeenCalledWith(outage, 1);
    expect(bState.state).toBe("pending");

    await vi.advanceTimersByTimeAsync(49);
    await tick();
    expect(journal.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    await tick();
    expect(journal.calls).toHaveLength(3);

    const attempt2 = await journal.nextEvents();
    expect(attempt2.events).toEqual(attempt1.events);
    expect(attempt2.head).toEqual(attempt1.head);
    expect(attempt2.etag).toBe("etag1");
    await tick();
    expect(bState.state).toBe("pending");

    attempt2.result.resolve("etag2");
    await b.durable;
    expect(writer.durableSeq).toBe(2);
    expect(writer.isFenced).toBe(false);
    expect(onRetry).toHaveBeenCalledTimes(1);
  });

  it("doubles the backoff after each failure up to 2 s", async () => {
    vi.useFakeTimers();
    const { journal, writer } = makeWriter();
    const onRetry = vi.fn();
    writer.onRetry = onRetry;
    const onCommit = vi.fn();
    writer.onCommit = onCommit;
    const a = writer.append(buf("a"));
    let call = await journal.nextEvents();
    const waits = [50, 100, 200, 400, 800, 1600, 2000, 2000];
    for (const [i, wait] of waits.entries()) {
      call.result.reject(new StorageUnavailableError(`outage ${i + 1}`));
      await tick();
      expect(onRetry).toHaveBeenLastCalledWith(expect.any(StorageUnavailableError), i + 1);
      await vi.advanceTimersByTimeAsync(wait - 1);
      await tick();
      expect(journal.calls).toHaveLength(i + 1);
      await vi.advanceTimersByTimeAsync(1);
      await tick();
      expect(journal.calls).toHaveLength(i + 2);
      call = await journal.nextEvents();
      expect(seqs(call)).toEqual([1]);
    }
    call.result.resolve("etag1");
    await a.durable;
    expect(onCommit).toHaveBeenCalledWith(expect.objectContaining({ events: 1, attempts: waits.length + 1 }));
  });

  it("keeps appends made during a retry out of the retried batch", async () => {
    vi.useFakeTimers();
    const { journal, writer } = makeWriter();
    const a = writer.append(buf("a"));
    const attempt1 = await journal.nextEvents();
    attempt1.result.reject(new StorageUnavailableError("down"));
    await tick();
    const b = writer.append(buf("b"));
    const c = writer.append(buf("c"));
    await vi.advanceTimersByTimeAsync(50);
    const attempt2 = await journal.nextEvents();
    expect(seqs(attempt2)).toEqual([1]);
    attempt2.result.resolve("etag1");
    await a.durable;
    const next = await journal.nextEvents();
    expect(seqs(next)).toEqual([2, 3]);
    expect(next.etag).toBe("etag1");
    next.result.resolve("etag2");
    await Promise.all([b.durable, c.durable]);
  });
});

describe("JournalWriter observers", () => {
  it("keeps committing when onCommit throws", async () => {
    const { journal, writer } = makeWriter();
    const onCommit = vi.fn(() => {
      throw new Error("metrics exploded");
    });
    writer.onCommit = onCommit;
    const a = writer.append(buf("a"));
    const first = await journal.nextEvents();
    first.result.resolve("etag1");
    await a.durable;
    expect(writer.isFenced).toBe(false);
    expect(writer.durableSeq).toBe(1);

    const b = writer.append(buf("b"));
    const c = writer.append(buf("c"));
    const second = await journal.nextEvents();
    expect(seqs(second)).toEqual([2, 3]);
    expect(second.etag).toBe("etag1");
    second.result.resolve("etag2");
    await Promise.all([b.durable, c.durable]);
    const d = writer.append(buf("d"));
    const third = await journal.nextEvents();
    expect(seqs(third)).toEqual([4]);
    expect(third.etag).toBe("etag2");
    third.result.resolve("etag3");
    await d.durable;
    expect(onCommit).toHaveBeenCalledTimes(3);
    expect(writer.isFenced).toBe(false);
    expect(writer.durableSeq).toBe(4);
  });

  it("still retries the batch when onRetry throws, without a gap after it", async () => {
    vi.useFakeTimers();
    const { journal, writer } = makeWriter();
    const onRetry = vi.fn(() => {
      throw new Error("logger exploded");
    });
    writer.onRetry = onRetry;
    const a = writer.append(buf("a"));
    const attempt1 = await journal.nextEvents();
    attempt1.result.reject(new StorageUnavailableError("down"));
    const aState = track(a.durable);
    await tick();
    expect(onRetry).toHaveBeenCalledTimes(1);
    expect(aState.state).toBe("pending");

    await vi.advanceTimersByTimeAsync(RETRY_CEILING_MS);
    await tick();
    expect(journal.calls).toHaveLength(2);
    const attempt2 = await journal.nextEvents();
    expect(attempt2.events).toEqual(attempt1.events);
    expect(attempt2.etag).toBe("etag0");
    attempt2.result.resolve("etag1");
    await a.durable;
    expect(writer.isFenced).toBe(false);
    expect(writer.durableSeq).toBe(1);

    const b = writer.append(buf("b"));
    expect(b.seq).toBe(2);
    const next = await journal.nextEvents();
    expect(seqs(next)).toEqual([2]);
    expect(next.etag).toBe("etag1");
    expect(next.head).toEqual({ epoch: 1, seq: 2, snapSeq: 0, snapEncoding: "none" });
    next.result.resolve("etag2");
    await b.durable;
    expect(writer.durableSeq).toBe(2);
  });
});

describe("JournalWriter ambiguous commits", () => {
  /** First attempt times out, the retry conflicts: did the first attempt land after all? */
  async function ambiguousCommit(stored: { head: HeadState; etag: string } | undefined) {
    vi.useFakeTimers();
    const { journal, writer } = makeWriter();
    journal.storedHead = stored;
    const a = writer.append(buf("a"));
    const b = writer.append(buf("b"));
    const first = await journal.nextEvents();
    first.result.resolve("etag1");
    await a.durable;

    const attempt1 = await journal.nextEvents();
    expect(seqs(attempt1)).toEqual([2]);
    attempt1.result.reject(new StorageUnavailableError("timed out after the write"));
    await tick();
    await vi.advanceTimersByTimeAsync(RETRY_CEILING_MS);
    const attempt2 = await journal.nextEvents();
    expect(attempt2.events).toEqual(attempt1.events);
    expect(attempt2.etag).toBe("etag1");
    const conflict = new ConcurrencyError("etag-mismatch", "head changed");
    attempt2.result.reject(conflict);
    const bState = track(b.durable);
    await writer.flush();
    await tick();
    return { journal, writer, b: bState, conflict };
  }

  it("recognizes its own landed commit and carries on with the stored ETag", async () => {
    const { journal, writer, b } = await ambiguousCommit({
      head: { epoch: 1, seq: 2, snapSeq: 0, snapEncoding: "none" },
      etag: "etagLanded",
    });
    expect(journal.headReads).toEqual(["user_x"]);
    expect(b.state).toBe("resolved");
    expect(writer.isFenced).toBe(false);
    expect(writer.durableSeq).toBe(2);

    const c = writer.append(buf("c"));
    expect(c.seq).toBe(3);
    const next = await journal.nextEvents();
    expect(seqs(next)).toEqual([3]);
    expect(next.etag).toBe("etagLanded");
    expect(next.head).toEqual({ epoch: 1, seq: 3, snapSeq: 0, snapEncoding: "none" });
    next.result.resolve("etag3");
    await c.durable;
    expect(writer.durableSeq).toBe(3);
  });

  it("fences when the stored head belongs to another epoch", async () => {
    const { journal, writer, b, conflict } = await ambiguousCommit({
      head: { epoch: 2, seq: 2, snapSeq: 0, snapEncoding: "none" },
      etag: "etagOther",
    });
    expect(journal.headReads).toEqual(["user_x"]);
    expect(b.state).toBe("rejected");
    expect(b.error).toBeInstanceOf(FencedError);
    expect((b.error as Error).cause).toBe(conflict);
    expect(writer.isFenced).toBe(true);
    expect(() => writer.append(buf("c"))).toThrow(FencedError);
    expect(journal.calls).toHaveLength(3);
  });

  it("fences when the stored head has our epoch but an unexplained seq, or is missing", async () => {
    for (const stored of [
      { head: { epoch: 1, seq: 3, snapSeq: 0, snapEncoding: "none" } as HeadState, etag: "etagAhead" },
      { head: { epoch: 1, seq: 0, snapSeq: 0, snapEncoding: "none" } as HeadState, etag: "etagBehind" },
      undefined,
    ]) {
      const { writer, b } = await ambiguousCommit(stored);
      expect(b.state).toBe("rejected");
      expect(b.error).toBeInstanceOf(FencedError);
      expect(writer.isFenced).toBe(true);
      vi.useRealTimers();
    }
  });

  it("fences on a first-attempt conflict when the stored head belongs to a newer epoch", async () => {
    const { journal, writer } = makeWriter();
    journal.storedHead = { head: { epoch: 2, seq: 1, snapSeq: 0, snapEncoding: "none" }, etag: "etagX" };
    const a = writer.append(buf("a"));
    (await journal.nextEvents()).result.reject(new ConcurrencyError("etag-mismatch", "head changed"));
    await expect(a.durable).rejects.toBeInstanceOf(FencedError);
    expect(journal.headReads).toHaveLength(1);
    expect(writer.isFenced).toBe(true);
  });

  it("retries with the stored ETag when its own earlier write (a lost snapshot answer) moved the head", async () => {
    const { journal, writer } = makeWriter();
    const a = writer.append(buf("a"));
    (await journal.nextEvents()).result.resolve("etag1");
    await a.durable;
    // Same epoch, same durable seq, another ETag and a newer snapshot: only this writer wrote it.
    journal.storedHead = { head: { epoch: 1, seq: 1, snapSeq: 1, snapEncoding: "inline" }, etag: "etagSnap" };
    const b = writer.append(buf("b"));
    (await journal.nextEvents()).result.reject(new ConcurrencyError("etag-mismatch", "head changed"));
    const retry = await journal.nextEvents();
    expect(retry.etag).toBe("etagSnap");
    expect(retry.head).toMatchObject({ epoch: 1, seq: 2, snapSeq: 1, snapEncoding: "inline" });
    retry.result.resolve("etag2");
    await b.durable;
    expect(writer.isFenced).toBe(false);
  });
});

describe("JournalWriter fencing", () => {
  it("fences on a ConcurrencyError: in-flight and queued appends fail, later appends throw", async () => {
    const { journal, writer } = makeWriter();
    const onRetry = vi.fn();
    writer.onRetry = onRetry;
    const a = writer.append(buf("a"));
    const inFlight = await journal.nextEvents();
    const b = writer.append(buf("b"));
    const c = writer.append(buf("c"));
    const snap = track(writer.snapshot(buf("state")));
    const conflict = new ConcurrencyError("etag-mismatch", "head changed");
    inFlight.result.reject(conflict);

    for (const { durable } of [a, b, c]) {
      const err = await durable.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(FencedError);
      expect(err).toBeInstanceOf(ConcurrencyError);
      expect((err as Error).cause).toBe(conflict);
      expect((err as Error).message).toContain("user_x");
    }
    await writer.flush();
    expect(snap.state).toBe("rejected");
    expect(snap.error).toBeInstanceOf(FencedError);

    expect(writer.isFenced).toBe(true);
    expect(writer.backlog).toBe(0);
    expect(() => writer.append(buf("d"))).toThrow(FencedError);
    expect(() => writer.snapshot(buf("s"), 0)).toThrow(FencedError);
    expect(writer.lastSeq).toBe(3);
    expect(writer.durableSeq).toBe(0);
    expect(journal.calls).toHaveLength(1);
    expect(onRetry).not.toHaveBeenCalled();
  });

  it("stops for good on a non-storage error without retrying", async () => {
    const { journal, writer } = makeWriter();
    const onRetry = vi.fn();
    writer.onRetry = onRetry;
    const a = writer.append(buf("a"));
    const inFlight = await journal.nextEvents();
    const b = writer.append(buf("b"));
    const bug = new Error("corrupt row");
    inFlight.result.reject(bug);

    await expect(a.durable).rejects.toBe(bug);
    await expect(b.durable).rejects.toBe(bug);
    await writer.flush();
    expect(writer.isFenced).toBe(true);
    expect(() => writer.append(buf("c"))).toThrow(bug);
    expect(writer.lastSeq).toBe(2);
    expect(journal.calls).toHaveLength(1);
    expect(onRetry).not.toHaveBeenCalled();
  });
});

describe("JournalWriter close", () => {
  it("rejects queued appends with a retryable error and refuses new ones", async () => {
    const { journal, writer } = makeWriter();
    writer.append(buf("a"));
    const inFlight = await journal.nextEvents();
    const b = writer.append(buf("b"));
    const c = writer.append(buf("c"));
    writer.close();

    await expect(b.durable).rejects.toBeInstanceOf(StorageUnavailableError);
    await expect(c.durable).rejects.toThrow(/user_x closed with writes pending/);
    expect(writer.backlog).toBe(0);
    expect(() => writer.append(buf("d"))).toThrow(StorageUnavailableError);
    expect(() => writer.snapshot(buf("s"), 0)).toThrow(StorageUnavailableError);
    expect(writer.lastSeq).toBe(3);
    expect(writer.isFenced).toBe(false);

    inFlight.result.resolve("etag1");
    await writer.flush();
    expect(journal.calls).toHaveLength(1);
  });

  it("does not retry an in-flight batch that fails after close", async () => {
    const { journal, writer } = makeWriter();
    const onRetry = vi.fn();
    writer.onRetry = onRetry;
    const a = writer.append(buf("a"));
    const inFlight = await journal.nextEvents();
    writer.close();
    const outage = new StorageUnavailableError("down");
    inFlight.result.reject(outage);
    await expect(a.durable).rejects.toBe(outage);
    await writer.flush();
    expect(onRetry).not.toHaveBeenCalled();
    expect(journal.calls).toHaveLength(1);
  });

  it("rejects a batch waiting out its retry backoff when closed, and never retries it", async () => {
    vi.useFakeTimers();
    const { journal, writer } = makeWriter();
    const onRetry = vi.fn();
    writer.onRetry = onRetry;
    const a = writer.append(buf("a"));
    const b = writer.append(buf("b"));
    const attempt1 = await journal.nextEvents();
    expect(seqs(attempt1)).toEqual([1]);
    attempt1.result.reject(new StorageUnavailableError("down"));
    const aState = track(a.durable);
    const bState = track(b.durable);
    await tick();
    expect(onRetry).toHaveBeenCalledTimes(1);
    expect(aState.state).toBe("pending");

    writer.close(); // during the 50 ms backoff
    await tick();
    expect(bState.state).toBe("rejected");
    expect(bState.error).toBeInstanceOf(StorageUnavailableError);

    await vi.advanceTimersByTimeAsync(RETRY_CEILING_MS);
    await tick();
    expect(aState.state).toBe("rejected");
    expect(aState.error).toBeInstanceOf(StorageUnavailableError);
    expect(journal.calls).toHaveLength(1);
    expect(onRetry).toHaveBeenCalledTimes(1);
    await writer.flush();
    expect(writer.isFenced).toBe(false);
    expect(writer.durableSeq).toBe(0);
    expect(writer.backlog).toBe(0);
  });

  it("still acknowledges an in-flight batch that commits after close", async () => {
    const { journal, writer } = makeWriter();
    const a = writer.append(buf("a"));
    const inFlight = await journal.nextEvents();
    writer.close();
    inFlight.result.resolve("etag1");
    await a.durable;
    expect(writer.durableSeq).toBe(1);
  });
});

describe("JournalWriter snapshot", () => {
  it("waits for earlier appends and writes the head with snapSeq", async () => {
    const { journal, writer } = makeWriter();
    const a = writer.append(buf("a"));
    const first = await journal.nextEvents();
    const b = writer.append(buf("b"));
    const snap = writer.snapshot(buf("state@2"));
    const snapState = track(snap);
    first.result.resolve("etag1");
    await a.durable;

    // The second append goes out before the snapshot.
    const second = await journal.nextEvents();
    expect(seqs(second)).toEqual([2]);
    await tick();
    expect(journal.calls).toHaveLength(2);
    second.result.resolve("etag2");
    await b.durable;

    const call = await journal.nextSnapshot();
    expect(call.actorKey).toBe("user_x");
    expect(call.etag).toBe("etag2");
    expect(call.previous).toEqual({ epoch: 1, seq: 2, snapSeq: 0, snapEncoding: "none" });
    expect(call.head).toEqual({ epoch: 1, seq: 2, snapSeq: 2 });
    expect(call.state.toString()).toBe("state@2");
    await tick();
    expect(snapState.state).toBe("pending");

    const head: HeadState = { epoch: 1, seq: 2, snapSeq: 2, snapEncoding: "inline" };
    call.result.resolve({ etag: "etagS", head, cleanup: async () => undefined });
    await snap;
    expect(writer.snapshotSeq).toBe(2);

    const c = writer.append(buf("c"));
    const third = await journal.nextEvents();
    expect(third.etag).toBe("etagS");
    expect(third.head).toEqual({ epoch: 1, seq: 3, snapSeq: 2, snapEncoding: "inline" });
    third.result.resolve("etag3");
    await c.durable;
  });

  it("snapshots an explicit earlier sequence number", async () => {
    const { journal, writer } = makeWriter();
    writer.append(buf("a"));
    const first = await journal.nextEvents();
    writer.append(buf("b"));
    writer.append(buf("c"));
    const snap = writer.snapshot(buf("state@1"), 1);
    first.result.resolve("etag1");
    (await journal.nextEvents()).result.resolve("etag2");
    const call = await journal.nextSnapshot();
    expect(call.head).toEqual({ epoch: 1, seq: 3, snapSeq: 1 });
    call.result.resolve({
      etag: "etagS",
      head: { epoch: 1, seq: 3, snapSeq: 1, snapEncoding: "inline" },
      cleanup: async () => undefined,
    });
    await snap;
    expect(writer.snapshotSeq).toBe(1);
  });

  it("rejects sequence numbers outside [snapSeq, lastSeq] with a RangeError", async () => {
    const { journal, writer } = makeWriter({ epoch: 1, seq: 5, snapSeq: 3, snapEncoding: "inline" });
    expect(() => writer.snapshot(buf("s"), 6)).toThrow(RangeError);
    expect(() => writer.snapshot(buf("s"), 2)).toThrow(RangeError);
    expect(journal.calls).toHaveLength(0);
    expect(writer.backlog).toBe(0);

    // Both bounds are inclusive.
    const low = writer.snapshot(buf("s3"), 3);
    const lowCall = await journal.nextSnapshot();
    expect(lowCall.head.snapSeq).toBe(3);
    lowCall.result.resolve({
      etag: "e1",
      head: { epoch: 1, seq: 5, snapSeq: 3, snapEncoding: "inline" },
      cleanup: async () => undefined,
    });
    await low;
    const high = writer.snapshot(buf("s5"), 5);
    const highCall = await journal.nextSnapshot();
    expect(highCall.head.snapSeq).toBe(5);
    highCall.result.resolve({
      etag: "e2",
      head: { epoch: 1, seq: 5, snapSeq: 5, snapEncoding: "inline" },
      cleanup: async () => undefined,
    });
    await high;
    expect(() => writer.snapshot(buf("s"), 4)).toThrow(RangeError);
  });

  it("commits appends queued behind a snapshot after it, not before", async () => {
    const { journal, writer } = makeWriter();
    writer.append(buf("a"));
    const first = await journal.nextEvents();
    const snap = writer.snapshot(buf("state@1"));
    const b = writer.append(buf("b"));
    first.result.resolve("etag1");
    const snapCall = await journal.nextSnapshot();
    expect(snapCall.head).toEqual({ epoch: 1, seq: 1, snapSeq: 1 });
    snapCall.result.resolve({
      etag: "etagS",
      head: { epoch: 1, seq: 1, snapSeq: 1, snapEncoding: "inline" },
      cleanup: async () => undefined,
    });
    await snap;
    const second = await journal.nextEvents();
    expect(seqs(second)).toEqual([2]);
    expect(second.etag).toBe("etagS");
    second.result.resolve("etag2");
    await b.durable;
  });

  it("never moves the snapshot backwards when a lower one is queued behind a higher one", async () => {
    const { journal, writer } = makeWriter({ epoch: 1, seq: 5, snapSeq: 0, snapEncoding: "none" });
    const high = writer.snapshot(buf("s5"), 5);
    // Valid when called: the durable head still says snapSeq 0.
    const low = track(writer.snapshot(buf("s3"), 3));
    const highCall = await journal.nextSnapshot();
    expect(highCall.head).toEqual({ epoch: 1, seq: 5, snapSeq: 5 });
    highCall.result.resolve({
      etag: "etagS5",
      head: { epoch: 1, seq: 5, snapSeq: 5, snapEncoding: "inline" },
      cleanup: async () => undefined,
    });
    await high;
    await tick();
    expect(low.state).toBe("resolved");
    const snapSeqs = journal.calls.flatMap((c) => (c.kind === "snapshot" ? [c.head.snapSeq] : []));
    expect(snapSeqs).toEqual([5]);
    expect(writer.snapshotSeq).toBe(5);

    const a = writer.append(buf("a"));
    const next = await journal.nextEvents();
    expect(next.etag).toBe("etagS5");
    expect(next.head).toEqual({ epoch: 1, seq: 6, snapSeq: 5, snapEncoding: "inline" });
    next.result.resolve("etag6");
    await a.durable;
  });

  it("rejects the snapshot on a transient failure but keeps the writer usable", async () => {
    const { journal, writer } = makeWriter();
    const a = writer.append(buf("a"));
    (await journal.nextEvents()).result.resolve("etag1");
    await a.durable;
    const snap = writer.snapshot(buf("s"));
    const call = await journal.nextSnapshot();
    const outage = new StorageUnavailableError("down");
    call.result.reject(outage);
    await expect(snap).rejects.toBe(outage);
    expect(writer.isFenced).toBe(false);
    expect(writer.snapshotSeq).toBe(0);

    const b = writer.append(buf("b"));
    const next = await journal.nextEvents();
    expect(next.etag).toBe("etag1");
    expect(next.head).toEqual({ epoch: 1, seq: 2, snapSeq: 0, snapEncoding: "none" });
    next.result.resolve("etag2");
    await b.durable;
  });

  it("fences the writer when the snapshot loses a conflict", async () => {
    const { journal, writer } = makeWriter();
    const snap = writer.snapshot(buf("s"));
    const call = await journal.nextSnapshot();
    call.result.reject(new ConcurrencyError("etag-mismatch", "head changed"));
    await expect(snap).rejects.toBeInstanceOf(FencedError);
    expect(writer.isFenced).toBe(true);
    expect(() => writer.append(buf("a"))).toThrow(FencedError);
  });

  it("runs the cleanup after the snapshot; flush waits for it and ignores its failure", async () => {
    const { journal, writer } = makeWriter();
    writer.append(buf("a"));
    (await journal.nextEvents()).result.resolve("etag1");
    const snap = writer.snapshot(buf("s"));
    const call = await journal.nextSnapshot();
    const cleanupDone = deferred<void>();
    const cleanup = vi.fn(() => cleanupDone.promise);
    call.result.resolve({
      etag: "etagS",
      head: { epoch: 1, seq: 1, snapSeq: 1, snapEncoding: "inline" },
      cleanup,
    });
    await snap; // the snapshot does not wait for housekeeping
    const flushed = track(writer.flush());
    await tick();
    expect(cleanup).toHaveBeenCalledTimes(1);
    expect(flushed.state).toBe("pending");
    cleanupDone.reject(new Error("delete failed"));
    await writer.flush();
    await tick();
    expect(flushed.state).toBe("resolved");
    expect(writer.isFenced).toBe(false);
  });
});

describe("JournalWriter flush", () => {
  it("resolves at once when nothing is queued", async () => {
    const { writer } = makeWriter();
    await expect(writer.flush()).resolves.toBeUndefined();
  });

  it("resolves only after every queued append is settled", async () => {
    const { journal, writer } = makeWriter();
    const a = writer.append(buf("a"));
    const first = await journal.nextEvents();
    const b = writer.append(buf("b"));
    const flushed = track(writer.flush());
    await tick();
    expect(flushed.state).toBe("pending");

    first.result.resolve("etag1");
    await a.durable;
    const second = await journal.nextEvents();
    await tick();
    expect(flushed.state).toBe("pending");

    second.result.resolve("etag2");
    await b.durable;
    await tick();
    expect(flushed.state).toBe("resolved");
    expect(writer.durableSeq).toBe(2);
    expect(writer.backlog).toBe(0);
  });

  it("waits for a commit in flight even when nothing else is queued", async () => {
    const { journal, writer } = makeWriter();
    const a = writer.append(buf("a"));
    const first = await journal.nextEvents();
    expect(writer.backlog).toBe(0);
    const flushed = track(writer.flush());
    await tick();
    expect(flushed.state).toBe("pending");
    first.result.resolve("etag1");
    await a.durable;
    await tick();
    expect(flushed.state).toBe("resolved");
  });

  it("resolves after queued appends failed", async () => {
    const { journal, writer } = makeWriter();
    const a = track(writer.append(buf("a")).durable);
    const first = await journal.nextEvents();
    const b = track(writer.append(buf("b")).durable);
    const flushed = writer.flush();
    first.result.reject(new Error("boom"));
    await flushed;
    expect(a.state).toBe("rejected");
    expect(b.state).toBe("rejected");
  });
});
