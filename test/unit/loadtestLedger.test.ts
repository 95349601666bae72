import { describe, expect, it } from "vitest";
import { idOfText, Ledger, mergeLedgerResults } from "../../loadtest/lib/ledger.js";

const PREFIX = "ltx";
const DM = "d-00000000000000000000000000000001";
const GROUP = "g-00000000000000000000000000000002";

function ledger(): Ledger {
  const l = new Ledger(PREFIX);
  l.addChat(DM, ["alice", "bob"]);
  l.addChat(GROUP, ["alice", "bob", "carol", "dave"]);
  return l;
}

describe("Ledger", () => {
  it("is clean when every acked message reaches every other member once", () => {
    const l = ledger();
    l.sent("ltx.1", DM, "alice", 100);
    expect(l.delivered(DM, "bob", 1, "ltx.1 hello")).toBe(100); // delivery before the ack
    expect(l.acked("ltx.1", 1)).toBe(100);
    l.sent("ltx.2", GROUP, "bob", 200);
    l.acked("ltx.2", 7);
    for (const m of ["alice", "carol", "dave"]) l.delivered(GROUP, m, 7, "ltx.2 padding");
    l.delivered(GROUP, "bob", 7, "ltx.2 padding"); // the sender's own copy does not count
    expect(l.outstanding()).toBe(0);
    expect(l.result()).toMatchObject({
      sent: 2,
      acked: 2,
      expectedDeliveries: 4,
      delivered: 4,
      lost: 0,
      duplicated: 0,
      mismatched: 0,
      ok: true,
    });
  });

  it("counts every missing member as lost", () => {
    const l = ledger();
    l.sent("ltx.1", GROUP, "alice", 0);
    l.acked("ltx.1", 1);
    l.delivered(GROUP, "bob", 1, "ltx.1");
    expect(l.outstanding()).toBe(2);
    expect(l.result()).toMatchObject({ expectedDeliveries: 3, delivered: 1, lost: 2, ok: false });
  });

  it("counts a second delivery to the same member as a duplicate, and returns no latency for it", () => {
    const l = ledger();
    l.sent("ltx.1", DM, "alice", 5);
    l.acked("ltx.1", 3);
    expect(l.delivered(DM, "bob", 3, "ltx.1")).toBe(5);
    expect(l.delivered(DM, "bob", 3, "ltx.1")).toBeUndefined();
    expect(l.delivered(DM, "bob", 3, "ltx.1")).toBeUndefined();
    expect(l.result()).toMatchObject({ lost: 0, duplicated: 2, ok: false });
  });

  it("flags a delivery under another seq than the ack's, or in another chat", () => {
    const l = ledger();
    l.sent("ltx.1", DM, "alice", 0);
    l.acked("ltx.1", 3);
    l.delivered(DM, "bob", 4, "ltx.1");
    expect(l.result()).toMatchObject({ mismatched: 1, ok: false });

    const other = ledger();
    other.sent("ltx.9", DM, "alice", 0);
    other.acked("ltx.9", 1);
    other.delivered(GROUP, "carol", 1, "ltx.9");
    expect(other.result()).toMatchObject({ mismatched: 1, lost: 1, ok: false });
  });

  it("does not expect failed sends, but counts their deliveries apart; ignores other runs' texts", () => {
    const l = ledger();
    l.sent("ltx.1", DM, "alice", 0);
    l.failed("ltx.1");
    l.delivered(DM, "bob", 1, "ltx.1");
    l.sent("ltx.2", DM, "alice", 0); // still pending
    l.delivered(DM, "bob", 1, "someone else's message");
    l.delivered(DM, "bob", 2, "ltx.404 never sent");
    expect(l.outstanding()).toBe(1);
    expect(l.result()).toMatchObject({
      failed: 1,
      pending: 1,
      acked: 0,
      lost: 0,
      unackedDelivered: 1,
      unknown: 1,
      ok: true,
    });
  });

  it("checks histories: missing messages, ids at two seqs, and what the pages did not reach", () => {
    const l = ledger();
    for (let i = 1; i <= 4; i++) {
      l.sent(`ltx.${i}`, DM, "alice", 0);
      l.acked(`ltx.${i}`, i * 10);
    }
    expect(l.oldestAckedSeq(DM)).toBe(10);
    l.checkHistory(
      DM,
      [
        { seq: 20, text: "ltx.2 x" },
        { seq: 30, text: "ltx.2 x" }, // the same message twice, and ltx.3 missing
        { seq: 35, text: null }, // deleted: skipped
        { seq: 40, text: "ltx.4 x" },
      ],
      20, // ltx.1 (seq 10) is older than the pages read
    );
    expect(l.result().history).toEqual({
      chatsChecked: 1,
      checked: 3,
      missing: 1,
      duplicated: 1,
      notCovered: 1,
    });
    expect(l.result().ok).toBe(false);
  });

  it("reads the id up to the first space", () => {
    expect(idOfText("ltx.0.a1 xxxx")).toBe("ltx.0.a1");
    expect(idOfText("ltx.0.a1")).toBe("ltx.0.a1");
  });

  it("sums workers' results", () => {
    const a = ledger();
    a.sent("ltx.1", DM, "alice", 0);
    a.acked("ltx.1", 1);
    a.delivered(DM, "bob", 1, "ltx.1");
    const b = ledger();
    b.sent("ltx.2", DM, "bob", 0);
    b.acked("ltx.2", 1);
    const merged = mergeLedgerResults([a.result(), b.result()]);
    expect(merged).toMatchObject({
      sent: 2,
      acked: 2,
      expectedDeliveries: 2,
      delivered: 1,
      lost: 1,
      ok: false,
    });
  });
});
