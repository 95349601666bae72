import { describe, expect, it } from "vitest";
import { SnapshotPacer } from "../../server/actors/runtime/SnapshotPacer.js";

/** A controllable snapshot: resolves when the test says so. */
function deferred() {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const settle = () => new Promise((r) => setImmediate(r));

describe("SnapshotPacer", () => {
  it("never runs more than its concurrency, and runs everything offered, in order", async () => {
    const running = new Map<number, ReturnType<typeof deferred>>();
    const started: number[] = [];
    let most = 0;
    const pacer = new SnapshotPacer<number>((n) => {
      const d = deferred();
      running.set(n, d);
      started.push(n);
      most = Math.max(most, running.size);
      return d.promise.finally(() => running.delete(n));
    }, 3);
    for (let i = 0; i < 10; i++) pacer.offer(i);
    expect(started).toEqual([0, 1, 2]);
    expect(pacer.waiting).toBe(7);
    // Finish them one by one, out of order: a freed slot starts the next in line.
    for (let round = 0; round < 10 && running.size > 0; round++) {
      const [first] = [...running.keys()].sort((a, b) => b - a);
      running.get(first as number)?.resolve();
      await settle();
    }
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(most).toBe(3);
    expect(pacer.running).toBe(0);
    expect(pacer.waiting).toBe(0);
  });

  it("queues an item once however often it is offered, and frees a slot on failure too", async () => {
    const calls: string[] = [];
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const pacer = new SnapshotPacer<string>((item) => {
      calls.push(item);
      const d = deferred();
      gates.set(item, d);
      return d.promise;
    }, 1);
    pacer.offer("a");
    pacer.offer("b");
    pacer.offer("b");
    pacer.offer("b");
    expect(pacer.waiting).toBe(1);
    gates.get("a")?.reject(new Error("storage down"));
    await settle();
    expect(calls).toEqual(["a", "b"]);
    gates.get("b")?.resolve();
    await settle();
    expect(pacer.running).toBe(0);
  });

  it("skips items that no longer need a snapshot without holding a slot", async () => {
    const started: number[] = [];
    const gate = deferred();
    // Odd items were snapshotted meanwhile: `start` says so by returning undefined.
    const pacer = new SnapshotPacer<number>((n) => {
      if (n % 2 === 1) return undefined;
      started.push(n);
      return gate.promise;
    }, 2);
    for (let i = 1; i <= 6; i++) pacer.offer(i);
    expect(started).toEqual([2, 4]);
    expect(pacer.running).toBe(2);
    gate.resolve();
    await settle();
    expect(started).toEqual([2, 4, 6]);
  });

  it("drops what waits on clear (shutdown), without touching what runs", async () => {
    const gate = deferred();
    const started: number[] = [];
    const pacer = new SnapshotPacer<number>((n) => {
      started.push(n);
      return gate.promise;
    }, 1);
    pacer.offer(1);
    pacer.offer(2);
    pacer.clear();
    gate.resolve();
    await settle();
    expect(started).toEqual([1]);
    expect(pacer.running).toBe(0);
  });
});
