import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LovecraftClient, type Session } from "../../client/index.js";
import { reportFault } from "../support/faultReport.js";
import { matchUsers } from "../support/realtimeUsers.js";
import { collectGarbage, gcPreloadEnv, scrapeGauges } from "../support/serverMemory.js";
import { type ServerProcess, startServerProcess } from "../support/serverProcess.js";

const USERS = 20;
/** Reconnects per device: 20 × 105 = 2,100 in all. */
const PER_USER = 105;
/** Every 10th reconnect of a device closes its client for good and opens a new one (an app restart). */
const REOPEN_EVERY = 10;
/** Reconnects in flight at once, across all devices (bounded, so the server is stormed, not flooded). */
const IN_FLIGHT = 8;
const WARMUP_PER_USER = 4;
/**
 * Heap growth allowed over the storm, after full GCs on both sides. Legitimate growth is small
 * (2,100 short chat messages, per-actor dedup memories bounded at 1,024 + 256 entries; measured:
 * none). A leak of ~6 KB per reconnect (a Colyseus client, a socket, a listener closure) exceeds
 * it: an injected 10 KB per websocket upgrade measured +18 MB.
 */
const HEAP_GROWTH_BOUND = 12 * 1024 * 1024;
/** Handles (sockets, servers) allowed beyond the baseline: stragglers of HTTP keep-alive. */
const HANDLE_SLACK = 4;

interface Device {
  readonly name: string;
  readonly id: string;
  readonly password: string;
  readonly session: Session;
  client: LovecraftClient;
  chatId: string;
  /** Chat entries delivered to this user, across every client it used, in delivery order. */
  readonly delivered: { seq: number; text: string }[];
  /** Its own messages, acknowledged: text → seq. */
  readonly acked: Map<string, number>;
  readonly failed: string[];
}

/**
 * "Thousands of reconnects": twenty users in ten matched pairs keep chatting while their devices
 * lose their sockets over and over — ≥ 2,000 reconnects, IN_FLIGHT at a time, a tenth of them a
 * full close and a new client (resuming from the last seen seq) — on one server process with
 * embedded storage. (One device's 150 drops in a row are `reconnects.test.ts`.)
 *
 * Afterwards: every acknowledged message is delivered once and in order to both members and is
 * in history once; the socket gauge is back to one per live device; and nothing accumulated on the
 * server — handles and file descriptors back to the baseline, heap (after full GCs) within a
 * generous bound of what it was before the storm.
 *
 * The server is started here rather than through `useRealtimeServer` only to give it a test-only
 * GC trigger (`serverMemory.ts`): without one, a heap reading mostly measures uncollected garbage.
 */
describe("faults: reconnect storm", () => {
  let server: ServerProcess;
  let dir = "";
  const devices: Device[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lovecraft-reconnect-storm-"));
    server = await startServerProcess({
      cwd: dir,
      env: { DATA_DIR: join(dir, "data"), SEED_CONTENT: "false", ...gcPreloadEnv() },
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(devices.map((d) => d.client.close()));
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const newClient = (lastSeqs?: Record<string, number>) =>
    new LovecraftClient({
      url: server.baseUrl,
      commandTimeoutMs: 30_000,
      retries: 30,
      ...(lastSeqs ? { lastSeqs } : {}),
    });

  /** Records what a client delivers for the device's chat (every client the device ever uses). */
  const listen = (d: Device, client: LovecraftClient) => {
    client.on("chat", (e) => {
      if (e.chatId === d.chatId)
        d.delivered.push({ seq: e.seq, text: e.entry.kind === "message" ? e.entry.text : "" });
    });
  };

  /** A bounded semaphore: at most IN_FLIGHT reconnects at once. */
  let inFlight = 0;
  const waiting: (() => void)[] = [];
  async function slot<T>(work: () => Promise<T>): Promise<T> {
    while (inFlight >= IN_FLIGHT) await new Promise<void>((r) => waiting.push(r));
    inFlight++;
    try {
      return await work();
    } finally {
      inFlight--;
      waiting.shift()?.();
    }
  }

  const reconnectMs: number[] = [];
  let drops = 0;
  let reopens = 0;

  /** Drops the socket without telling the server; resolves once the SDK is online again. */
  async function drop(d: Device): Promise<void> {
    const started = Date.now();
    const online = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${d.name} did not reconnect within 20 s`)), 20_000);
      const off = d.client.on("status", (s) => {
        if (s.status !== "online") return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
    d.client.dropConnection();
    await online;
    reconnectMs.push(Date.now() - started);
    drops++;
  }

  /** Closes the client for good and connects a new one from the stored session and cursors. */
  async function reopen(d: Device): Promise<void> {
    const started = Date.now();
    const old = d.client;
    await old.close();
    const next = newClient(old.lastSeqs());
    // The stored session, as an app restart would: logins are throttled per IP (all of these
    // clients are 127.0.0.1), and a login is not what this test is about.
    next.useSession(d.session);
    listen(d, next);
    d.client = next;
    await next.connect();
    reconnectMs.push(Date.now() - started);
    reopens++;
  }

  /** One device's part of the storm: a message, then a reconnect, `rounds` times. */
  async function storm(d: Device, rounds: number, tag: string): Promise<void> {
    for (let i = 0; i < rounds; i++) {
      const text = `${d.name}:${tag}${i}`;
      // Sent just before the socket goes: its frame, or its ack, is often lost with the socket,
      // and the SDK re-sends it with the same cid after reconnecting.
      const sending = d.client.send("chat.send", { chatId: d.chatId, text }).then(
        (r) => void d.acked.set(text, r.seq),
        () => void d.failed.push(text),
      );
      if ((i + 1) % REOPEN_EVERY === 0) {
        await sending; // closing for good rejects what is pending: let it be acknowledged first
        await slot(() => reopen(d));
      } else {
        await slot(() => drop(d));
        await sending;
      }
    }
  }

  /** Heap used and handles, after full GCs and once HTTP keep-alive sockets have timed out. */
  async function quietReading() {
    await new Promise((r) => setTimeout(r, 6_000));
    await collectGarbage(server.child);
    const g = await scrapeGauges(server.baseUrl);
    const read = (name: string) => {
      const v = g.get(name);
      if (v === undefined) throw new Error(`metric ${name} missing from /metrics`);
      return v;
    };
    return {
      heap: read("lovecraft_nodejs_heap_size_used_bytes"),
      handles: read("lovecraft_nodejs_active_handles_total"),
      resources: read("lovecraft_nodejs_active_resources_total"),
      fds: read("lovecraft_process_open_fds"),
      sockets: read("lovecraft_sockets"),
    };
  }

  it(`survives ${USERS * PER_USER} reconnects while chatting: every message once and in order, nothing leaks`, async () => {
    for (let i = 0; i < USERS; i++) {
      const client = newClient();
      const name = `U${i}`;
      const password = `correct horse ${randomUUID()}`;
      const session = await client.register({
        email: `storm-${i}-${randomUUID()}@example.com`,
        password,
        displayName: name,
      });
      await client.connect();
      devices.push({
        name,
        id: session.user.id,
        password,
        session,
        client,
        chatId: "",
        delivered: [],
        acked: new Map(),
        failed: [],
      });
    }
    for (let i = 0; i < USERS; i += 2) {
      const [a, b] = [devices[i] as Device, devices[i + 1] as Device];
      const chatId = await matchUsers(a, b);
      a.chatId = chatId;
      b.chatId = chatId;
      listen(a, a.client);
      listen(b, b.client);
    }

    // Warm-up (code paths compiled, caches filled), then the baseline.
    await Promise.all(devices.map((d) => storm(d, WARMUP_PER_USER, "w")));
    const before = await quietReading();
    expect(before.sockets).toBe(USERS);
    const [warmupDrops, warmupReopens, warmupTimes] = [drops, reopens, reconnectMs.length];

    await Promise.all(devices.map((d) => storm(d, PER_USER, "s")));
    const stormDrops = drops - warmupDrops;
    const stormReopens = reopens - warmupReopens;
    const reconnects = stormDrops + stormReopens;
    expect(reconnects).toBeGreaterThanOrEqual(2_000);

    // Every device catches up to the end of its chat.
    const failed = devices.reduce((n, d) => n + d.failed.length, 0);
    let lost = 0;
    let duplicated = 0;
    let acked = 0;
    for (const d of devices) {
      const partner = devices.find((p) => p !== d && p.chatId === d.chatId) as Device;
      const bySeq = new Map<number, string>();
      for (const [text, seq] of [...d.acked, ...partner.acked]) bySeq.set(seq, text);
      const last = Math.max(...bySeq.keys());
      const deadline = Date.now() + 20_000;
      while ((d.client.lastSeqs()[d.chatId] ?? 0) < last && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      // Once, in order, gap-free: exactly seqs 1…last, each with the text its sender got acked.
      const seqs = d.delivered.map((e) => e.seq);
      expect(seqs).toEqual(Array.from({ length: last }, (_, i) => i + 1));
      for (const e of d.delivered) expect(e.text).toBe(bySeq.get(e.seq));
      // History holds each acknowledged message of the chat once (checked from one member).
      if (d.id < partner.id) {
        const since = await d.client.send("chat.since", { chatId: d.chatId, after: 0, limit: 500 });
        if ("resync" in since) throw new Error("unexpected resync");
        const counts = new Map<string, number>();
        for (const e of since.entries)
          if (e.kind === "message") counts.set(e.text, (counts.get(e.text) ?? 0) + 1);
        for (const text of bySeq.values()) {
          acked++;
          const n = counts.get(text) ?? 0;
          if (n === 0) lost++;
          if (n > 1) duplicated++;
        }
      }
    }

    const after = await quietReading();
    const sorted = reconnectMs.slice(warmupTimes).sort((a, b) => a - b);
    const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
    const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
    reportFault({
      fault: `reconnect storm (${USERS} devices, ${IN_FLIGHT} at a time)`,
      // Worst drop (or close) → online again: how long the slowest device was away.
      recoveryMs: pct(1),
      acked,
      lost,
      duplicated,
      extra: {
        reconnects,
        drops: stormDrops,
        reopens: stormReopens,
        sendFailures: failed,
        reconnectP50Ms: pct(0.5),
        reconnectP99Ms: pct(0.99),
        heapMB: `${mb(before.heap)}→${mb(after.heap)}`,
        handles: `${before.handles}→${after.handles}`,
        resources: `${before.resources}→${after.resources}`,
        fds: `${before.fds}→${after.fds}`,
        sockets: `${before.sockets}→${after.sockets}`,
      },
    });
    expect(failed).toBe(0);
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    expect(acked).toBe(USERS * (PER_USER + WARMUP_PER_USER));
    // One socket per live device, and nothing else left behind by 2,000 dead ones.
    expect(after.sockets).toBe(USERS);
    expect(after.handles).toBeLessThanOrEqual(before.handles + HANDLE_SLACK);
    expect(after.fds).toBeLessThanOrEqual(before.fds + HANDLE_SLACK);
    expect(after.resources).toBeLessThanOrEqual(before.resources + HANDLE_SLACK);
    expect(after.heap - before.heap).toBeLessThan(HEAP_GROWTH_BOUND);
  }, 240_000);
});
