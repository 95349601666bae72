import { describe, expect, it } from "vitest";
import { ChatCursors } from "../../client/ChatCursors.js";
import type { ChatEntry } from "../../protocol/realtime.js";

/** A message entry whose text names its seq, so delivered entries are easy to compare. */
const entry = (seq: number): ChatEntry => ({
  seq,
  at: seq * 10,
  by: "alice",
  kind: "message",
  text: `m${seq}`,
});
const seqsOf = (entries: readonly ChatEntry[]) => entries.map((e) => e.seq);

describe("ChatCursors", () => {
  it("delivers entries that arrive in order, one by one, and advances lastSeq", () => {
    const cursors = new ChatCursors({ c: 0 });
    for (const seq of [1, 2, 3]) {
      const { deliver, gapAfter } = cursors.accept("c", entry(seq));
      expect(deliver).toEqual([entry(seq)]);
      expect(gapAfter).toBeUndefined();
      expect(cursors.lastSeq("c")).toBe(seq);
    }
    expect(cursors.hasGap("c")).toBe(false);
  });

  it("drops duplicates (already delivered or older), without reporting a gap", () => {
    const cursors = new ChatCursors({ c: 2 });
    expect(cursors.accept("c", entry(3)).deliver).toEqual([entry(3)]);
    for (const seq of [3, 2, 1]) {
      expect(cursors.accept("c", entry(seq))).toEqual({ deliver: [] });
    }
    expect(cursors.lastSeq("c")).toBe(3);
    expect(cursors.hasGap("c")).toBe(false);
    expect(cursors.accept("c", entry(4)).deliver).toEqual([entry(4)]);
  });

  it("holds entries past a gap, reports gapAfter, and delivers them in order once the gap fills", () => {
    const cursors = new ChatCursors({ c: 1 });
    expect(cursors.accept("c", entry(4))).toEqual({ deliver: [], gapAfter: 1 });
    expect(cursors.hasGap("c")).toBe(true);
    expect(cursors.accept("c", entry(3))).toEqual({ deliver: [], gapAfter: 1 });
    // A held entry arriving twice is still delivered once.
    expect(cursors.accept("c", entry(4))).toEqual({ deliver: [], gapAfter: 1 });
    expect(cursors.lastSeq("c")).toBe(1);

    const filled = cursors.accept("c", entry(2));
    expect(seqsOf(filled.deliver)).toEqual([2, 3, 4]);
    expect(filled.deliver).toEqual([entry(2), entry(3), entry(4)]);
    expect(filled.gapAfter).toBeUndefined();
    expect(cursors.lastSeq("c")).toBe(4);
    expect(cursors.hasGap("c")).toBe(false);
    // Everything held was handed out: nothing comes out twice.
    expect(cursors.accept("c", entry(3))).toEqual({ deliver: [] });
    expect(cursors.accept("c", entry(5)).deliver).toEqual([entry(5)]);
  });

  it("fills a gap only up to the next missing seq and keeps holding the rest", () => {
    const cursors = new ChatCursors({ c: 0 });
    cursors.accept("c", entry(2));
    cursors.accept("c", entry(5));
    const partial = cursors.accept("c", entry(1));
    expect(seqsOf(partial.deliver)).toEqual([1, 2]);
    expect(cursors.lastSeq("c")).toBe(2);
    expect(cursors.hasGap("c")).toBe(true);
    expect(cursors.accept("c", entry(4))).toEqual({ deliver: [], gapAfter: 2 });
    expect(seqsOf(cursors.accept("c", entry(3)).deliver)).toEqual([3, 4, 5]);
    expect(cursors.hasGap("c")).toBe(false);
  });

  it("holds entries of an unknown chat until start, which returns those after seq in order", () => {
    const cursors = new ChatCursors();
    for (const seq of [6, 3, 5, 4, 2]) {
      expect(cursors.accept("new", entry(seq))).toEqual({ deliver: [] });
    }
    expect(cursors.lastSeq("new")).toBeUndefined();
    expect(cursors.snapshot()).toEqual({});
    expect(cursors.hasGap("new")).toBe(true);

    const started = cursors.start("new", 3);
    // 2 and 3 are at or below the start: not this device's (or already seen); 4..6 in order.
    expect(started).toEqual([entry(4), entry(5), entry(6)]);
    expect(cursors.lastSeq("new")).toBe(6);
    expect(cursors.hasGap("new")).toBe(false);
    expect(cursors.accept("new", entry(3))).toEqual({ deliver: [] });
    expect(cursors.accept("new", entry(2))).toEqual({ deliver: [] });
    expect(cursors.accept("new", entry(7)).deliver).toEqual([entry(7)]);
  });

  it("start delivers only up to a gap among the held entries and keeps the rest held", () => {
    const cursors = new ChatCursors();
    cursors.accept("new", entry(1));
    cursors.accept("new", entry(4));
    expect(cursors.start("new", 0)).toEqual([entry(1)]);
    expect(cursors.lastSeq("new")).toBe(1);
    expect(cursors.hasGap("new")).toBe(true);
    expect(cursors.accept("new", entry(3))).toEqual({ deliver: [], gapAfter: 1 });
    expect(seqsOf(cursors.accept("new", entry(2)).deliver)).toEqual([2, 3, 4]);
  });

  it("start with nothing held just sets the cursor", () => {
    const cursors = new ChatCursors();
    expect(cursors.start("c", 9)).toEqual([]);
    expect(cursors.lastSeq("c")).toBe(9);
    expect(cursors.accept("c", entry(9))).toEqual({ deliver: [] });
    expect(cursors.accept("c", entry(10)).deliver).toEqual([entry(10)]);
  });

  it("start on a known chat is a no-op: the cursor stays and held entries stay held", () => {
    const cursors = new ChatCursors({ c: 5 });
    expect(cursors.start("c", 0)).toEqual([]);
    expect(cursors.lastSeq("c")).toBe(5);
    expect(cursors.start("c", 10)).toEqual([]);
    expect(cursors.lastSeq("c")).toBe(5);

    expect(cursors.accept("c", entry(8))).toEqual({ deliver: [], gapAfter: 5 });
    expect(cursors.start("c", 7)).toEqual([]);
    expect(cursors.lastSeq("c")).toBe(5);
    expect(cursors.hasGap("c")).toBe(true);
    // The gap is still filled the normal way.
    cursors.accept("c", entry(6));
    expect(seqsOf(cursors.accept("c", entry(7)).deliver)).toEqual([7, 8]);
  });

  it("reset never moves a cursor backwards", () => {
    const cursors = new ChatCursors({ c: 5 });
    cursors.reset("c", 3);
    expect(cursors.lastSeq("c")).toBe(5);
    cursors.reset("c", 5);
    expect(cursors.lastSeq("c")).toBe(5);
    // Nothing at or below the cursor comes out again after a refused reset.
    expect(cursors.accept("c", entry(4))).toEqual({ deliver: [] });
    expect(cursors.accept("c", entry(5))).toEqual({ deliver: [] });
    expect(cursors.accept("c", entry(6)).deliver).toEqual([entry(6)]);

    cursors.reset("c", 20);
    expect(cursors.lastSeq("c")).toBe(20);
    expect(cursors.accept("c", entry(19))).toEqual({ deliver: [] });
    expect(cursors.accept("c", entry(21)).deliver).toEqual([entry(21)]);
    cursors.reset("c", 10);
    expect(cursors.lastSeq("c")).toBe(21);
  });

  it("reset forward skips what was held at or below the new cursor", () => {
    const cursors = new ChatCursors({ c: 1 });
    cursors.accept("c", entry(3));
    cursors.accept("c", entry(4));
    cursors.reset("c", 10);
    expect(cursors.lastSeq("c")).toBe(10);
    expect(cursors.hasGap("c")).toBe(false);
    expect(cursors.accept("c", entry(11)).deliver).toEqual([entry(11)]);
  });

  it("reports hasGap per chat", () => {
    const cursors = new ChatCursors({ a: 0, b: 0 });
    expect(cursors.hasGap("a")).toBe(false);
    expect(cursors.hasGap("unknown")).toBe(false);
    cursors.accept("a", entry(2));
    expect(cursors.hasGap("a")).toBe(true);
    expect(cursors.hasGap("b")).toBe(false);
    cursors.accept("a", entry(1));
    expect(cursors.hasGap("a")).toBe(false);
  });

  it("snapshot and lastSeq report the last delivered seq of each known chat, as a copy", () => {
    const cursors = new ChatCursors({ a: 3, b: 7 });
    expect(cursors.snapshot()).toEqual({ a: 3, b: 7 });
    cursors.accept("a", entry(4));
    cursors.accept("b", entry(9)); // held behind a gap: not delivered
    cursors.accept("z", entry(1)); // unknown chat: held, not known
    expect(cursors.snapshot()).toEqual({ a: 4, b: 7 });
    expect([cursors.lastSeq("a"), cursors.lastSeq("b"), cursors.lastSeq("z")]).toEqual([4, 7, undefined]);

    const copy = cursors.snapshot();
    copy.a = 100;
    expect(cursors.lastSeq("a")).toBe(4);
    expect(cursors.accept("a", entry(5)).deliver).toEqual([entry(5)]);
  });

  it("does not share state between instances or with the initial record", () => {
    const initial = { a: 1 };
    const first = new ChatCursors(initial);
    first.accept("a", entry(2));
    expect(initial).toEqual({ a: 1 });
    const second = new ChatCursors(initial);
    expect(second.lastSeq("a")).toBe(1);
    expect(second.accept("a", entry(2)).deliver).toEqual([entry(2)]);
  });

  it("forget drops the cursor and what was held; the chat is then unknown again", () => {
    const cursors = new ChatCursors({ c: 2, other: 1 });
    cursors.accept("c", entry(5));
    cursors.forget("c");
    expect(cursors.lastSeq("c")).toBeUndefined();
    expect(cursors.hasGap("c")).toBe(false);
    expect(cursors.snapshot()).toEqual({ other: 1 });

    // Unknown again: entries are held until start, and the old held entry is gone.
    expect(cursors.accept("c", entry(3))).toEqual({ deliver: [] });
    expect(cursors.start("c", 2)).toEqual([entry(3)]);
    expect(cursors.lastSeq("c")).toBe(3);
    expect(cursors.hasGap("c")).toBe(false);
    expect(cursors.lastSeq("other")).toBe(1);
  });
});
