import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LovecraftClient } from "../../client/index.js";
import { connectedUser, matchUsers, record, waitFor } from "../support/realtimeUsers.js";
import { type ServerProcess, startServerProcess } from "../support/serverProcess.js";

const RECONNECTS = 150;

/**
 * Many reconnects of one device (bounded: RECONNECTS drops): every drop is followed by a clean
 * reconnect and catch-up, and nothing accumulates on the server — one socket at the end, and the
 * user's device limit is not eaten by leftovers.
 */
describe("faults: repeated reconnects", () => {
  let server: ServerProcess;
  let dir: string;
  const clients: LovecraftClient[] = [];

  const socketsGauge = async () => {
    const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
    return Number(/^lovecraft_sockets (\d+)/m.exec(text)?.[1] ?? Number.NaN);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lovecraft-reconnects-"));
    server = await startServerProcess({ cwd: dir, env: { DATA_DIR: join(dir, "data") } });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`survives ${RECONNECTS} drops with every message delivered once and no leftover sockets`, async () => {
    const sam = await connectedUser(server.baseUrl, "Sam");
    const tia = await connectedUser(server.baseUrl, "Tia");
    clients.push(sam.client, tia.client);
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
