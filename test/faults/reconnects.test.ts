import { describe, expect, it } from "vitest";
import { useRealtimeServer } from "../support/realtimeServer.js";
import { connectedUser, matchUsers, record, waitFor } from "../support/realtimeUsers.js";

const RECONNECTS = 150;

/**
 * Many reconnects of one device (bounded: RECONNECTS drops): every drop is followed by a clean
 * reconnect and catch-up, and nothing accumulates on the server — one socket at the end, and the
 * user's device limit is not eaten by leftovers.
 */
describe("faults: repeated reconnects", () => {
  const rt = useRealtimeServer("lovecraft-reconnects-");

  const socketsGauge = async () => {
    const text = await (await fetch(`${rt.baseUrl}/metrics`)).text();
    return Number(/^lovecraft_sockets (\d+)/m.exec(text)?.[1] ?? Number.NaN);
  };

  it(`survives ${RECONNECTS} drops with every message delivered once and no leftover sockets`, async () => {
    const sam = await connectedUser(rt.baseUrl, "Sam");
    const tia = await connectedUser(rt.baseUrl, "Tia");
    rt.track(sam.client);
    rt.track(tia.client);
    const chatId = await matchUsers(sam, tia);
    const atTia = record(tia, "chat");
    const online = record(tia, "status");
    for (let i = 0; i < RECONNECTS; i++) {
      const before = online.filter((s) => s.status === "online").length;
      tia.client.dropConnection();
      await sam.client.send("chat.send", { chatId, text: `x${i}` });
      await waitFor(
        () => online.filter((s) => s.status === "online").length > before,
        `reconnect ${i}`,
        15_000,
      );
    }
    await waitFor(() => tia.client.lastSeqs()[chatId] === RECONNECTS, "Tia caught up", 20_000);
    const seqs = atTia.map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: RECONNECTS }, (_, i) => i + 1));
    // Two users, one device each: dropped sockets were all cleaned up.
    let sockets = Number.NaN;
    for (let i = 0; i < 50 && sockets !== 2; i++) {
      sockets = await socketsGauge();
      if (sockets !== 2) await new Promise((r) => setTimeout(r, 200));
    }
    expect(sockets).toBe(2);
  }, 240_000);
});
