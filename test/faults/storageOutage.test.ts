import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LovecraftClient, LovecraftError } from "../../client/index.js";
import { RETRYABLE } from "../../protocol/errors.js";
import { azuriteConnectionString, type RunningAzurite, startAzurite } from "../support/azurite.js";
import { callCounter } from "../support/counterLedger.js";
import { type FaultProxy, startFaultProxy } from "../support/faultProxy.js";
import { reportFault } from "../support/faultReport.js";
import type { Json } from "../support/http.js";
import { connectedUser, matchUsers, record, type TestUser, waitFor } from "../support/realtimeUsers.js";
import { type ServerProcess, startServerProcess } from "../support/serverProcess.js";

const CALL_TIMEOUT_MS = 1_000;
/**
 * Longest a call may take to answer while storage refuses: the runtime gives up on one attempt
 * after CALL_TIMEOUT_MS, and retries a "moving" actor at most 6 times with short pauses. Anything
 * near the client's own 15 s abort means a call hung on storage.
 */
const ANSWER_BOUND_MS = 10_000;
/** How long storage stays down: longer than the Azure SDK's own retries (~6 s), so they run out. */
const OUTAGE_MS = 9_000;
/** The counter keeps its last 50 amounts: every add of this test must fit, to be checked one by one. */
const MAX_ADDS = 50;

interface Attempt {
  readonly key: string;
  readonly amount: number;
  readonly sentAt: number;
  answeredAt?: number;
  answer?: Json;
}

/**
 * "Storage unavailable": one node reaches Azurite (Table and Blob) only through TCP fault proxies,
 * which then reset every connection and refuse new ones for OUTAGE_MS. (The "slow storage" case,
 * where bytes are only delayed, is `partitions.test.ts`.) No Redis: the outage concerns storage
 * alone, and a single node keeps every actor of the test on the node whose storage fails.
 *
 * While storage refuses, every write must answer a retryable coded error within a bound — never
 * hang and never acknowledge — and readiness must fail; the storage error counter must rise. Once
 * the proxies pass traffic again the node must recover by itself (no restart): readiness back,
 * writes acknowledged, and every operation — before, during (retried with its idempotency key)
 * and after — present exactly once. The same through the SDK for chat messages.
 */
describe("faults: storage unavailable", () => {
  let azurite: RunningAzurite;
  let tableProxy: FaultProxy;
  let blobProxy: FaultProxy;
  let dir: string;
  let node: ServerProcess;
  const clients: LovecraftClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lovecraft-storage-outage-"));
    azurite = await startAzurite();
    tableProxy = await startFaultProxy(azurite.tablePort);
    blobProxy = await startFaultProxy(azurite.blobPort);
    node = await startServerProcess({
      cwd: dir,
      script: "test/support/testNode.ts",
      env: {
        STORAGE_CONNECTION_STRING: azuriteConnectionString(tableProxy.port, blobProxy.port),
        DATA_DIR: join(dir, "data"),
        SEED_CONTENT: "false",
        ACTOR_CALL_TIMEOUT_MS: String(CALL_TIMEOUT_MS),
      },
      timeoutMs: 60_000,
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await node?.stop("SIGKILL");
    await Promise.all([tableProxy?.close(), blobProxy?.close()]);
    await azurite?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // A call the node never answered comes back as its own CLIENT_* code, which the bound check refuses.
  const call = (id: string, command: unknown, key?: string): Promise<Json> =>
    callCounter(node.baseUrl, id, command, key);

  const readiness = async () => {
    const res = await fetch(`${node.baseUrl}/health/ready`, { signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: (await res.json()) as Json };
  };

  /** Sum of `lovecraft_storage_errors_total` over every operation label. */
  const storageErrors = async () => {
    const text = await (await fetch(`${node.baseUrl}/metrics`)).text();
    let sum = 0;
    for (const m of text.matchAll(/^lovecraft_storage_errors_total\{[^}]*\} (\d+(?:\.\d+)?)$/gm)) {
      sum += Number(m[1]);
    }
    return sum;
  };

  it("refuses with retryable codes within a bound, fails readiness, then recovers without a restart; every operation applies exactly once", async () => {
    // --- before: a hot counter, two chat users, and a second device of Ann that never retries.
    const ann = await connectedUser(node.baseUrl, "Ann");
    const bob = await connectedUser(node.baseUrl, "Bob");
    clients.push(ann.client, bob.client);
    const chatId = await matchUsers(ann, bob);
    const atBob = record(bob, "chat");
    // Ann's second device gives up on the first retryable error, so the test sees the code the
    // server answers during the outage (her first device's SDK retries it away).
    const annOnce = new LovecraftClient({ url: node.baseUrl, retries: 0, commandTimeoutMs: 20_000 });
    clients.push(annOnce);
    await annOnce.login({ email: ann.client.user?.email ?? "", password: ann.password });
    await annOnce.connect();

    const id = "hot";
    const attempts: Attempt[] = [];
    let amount = 0;
    const add = async (key: string): Promise<Attempt> => {
      const attempt: Attempt = { key, amount: ++amount, sentAt: Date.now() };
      attempts.push(attempt);
      attempt.answer = await call(id, { type: "add", amount: attempt.amount }, key);
      attempt.answeredAt = Date.now();
      return attempt;
    };
    for (let i = 0; i < 8; i++) expect((await add(`before-${i}`)).answer.ok).toBe(true);
    const chatAcked = new Map<string, number>(); // text → seq from its ack
    const chatAckedAt = new Map<string, number>();
    const chat = async (user: TestUser, text: string) => {
      const { seq } = await user.client.send("chat.send", { chatId, text });
      chatAcked.set(text, seq);
      chatAckedAt.set(text, Date.now());
    };
    await chat(ann, "before-1");
    await chat(bob, "before-2");
    expect((await readiness()).status).toBe(200);
    const errorsBefore = await storageErrors();

    // --- outage: every connection to Table and Blob is reset, every new one refused.
    tableProxy.set("reset");
    blobProxy.set("reset");
    const outageAt = Date.now();
    let healed = false;

    // Two writers on the hot counter, distinct keys, until the outage ends (bounded).
    const writers = [0, 1].map(async (w) => {
      for (let i = 0; i < 8 && !healed; i++) await add(`during-${w}-${i}`);
    });
    // A counter that was never activated: activation itself needs storage.
    const cold = (async () => {
      const sentAt = Date.now();
      const answer = await call("cold", { type: "add", amount: 1 }, "cold-0");
      return { answer, ms: Date.now() - sentAt, answeredAt: Date.now() };
    })();
    // Chat messages sent during the outage: the retrying SDK keeps them pending until they are
    // durable; the non-retrying device gets the server's coded error.
    const chatsDuring = [chat(ann, "during-1"), chat(bob, "during-2"), chat(ann, "during-3")];
    const onceSentAt = Date.now();
    const once = await annOnce.send("chat.send", { chatId, text: "during-once" }).then(
      (r) => ({ ok: true as const, seq: r.seq, ms: Date.now() - onceSentAt }),
      (err: unknown) => ({ ok: false as const, err, ms: Date.now() - onceSentAt }),
    );

    // Readiness fails (storage is a readiness check), and the error counter rises once the Azure
    // SDK's own retries of an operation have run out.
    await waitFor(async () => (await readiness()).status === 503, "readiness to fail", 10_000);
    const notReady = await readiness();
    expect(notReady.status).toBe(503);
    expect(notReady.body.error.code).toBe("NOT_READY");
    expect(notReady.body.error.details.storage).not.toBe("ok");
    await waitFor(async () => (await storageErrors()) > errorsBefore, "the storage error counter", 15_000);
    const errorsDuring = await storageErrors();

    const remaining = OUTAGE_MS - (Date.now() - outageAt);
    if (remaining > 0) await new Promise((r) => setTimeout(r, remaining));
    const healAt = Date.now();
    healed = true;
    tableProxy.set("pass");
    blobProxy.set("pass");
    await writers;
    const coldResult = await cold;

    // Everything answered while storage refused: a coded, retryable refusal, in bounded time.
    const codes = new Map<string, number>();
    const during = attempts.filter((a) => a.sentAt >= outageAt);
    const answeredDuring = during.filter((a) => (a.answeredAt as number) < healAt);
    expect(answeredDuring.length).toBeGreaterThan(2);
    for (const a of during) {
      expect((a.answeredAt as number) - a.sentAt).toBeLessThan(ANSWER_BOUND_MS);
      if (!a.answer.ok) codes.set(a.answer.error.code, (codes.get(a.answer.error.code) ?? 0) + 1);
    }
    for (const a of answeredDuring) {
      // Never an acknowledgement without durable storage…
      expect(a.answer.ok).toBe(false);
      // …and always a code that tells the client to retry with the same key.
      expect(RETRYABLE.has(a.answer.error.code)).toBe(true);
      expect(a.answer.error.retryable).toBe(true);
    }
    expect(coldResult.ms).toBeLessThan(ANSWER_BOUND_MS);
    if (coldResult.answeredAt < healAt) expect(coldResult.answer.ok).toBe(false);
    if (!coldResult.answer.ok) {
      expect(RETRYABLE.has(coldResult.answer.error.code)).toBe(true);
      codes.set(coldResult.answer.error.code, (codes.get(coldResult.answer.error.code) ?? 0) + 1);
    }
    // The non-retrying device: answered during the outage with a retryable code (not acked).
    expect(once.ms).toBeLessThan(ANSWER_BOUND_MS);
    expect(once.ok).toBe(false);
    if (!once.ok) {
      expect(once.err).toBeInstanceOf(LovecraftError);
      const err = once.err as LovecraftError;
      expect(RETRYABLE.has(err.code as never)).toBe(true);
      expect(err.retryable).toBe(true);
      codes.set(`sdk.${err.code}`, (codes.get(`sdk.${err.code}`) ?? 0) + 1);
    }

    // --- recovery, without restarting the node: the first acknowledged write after healing.
    let recoveryMs = Number.NaN;
    for (let i = 0; Date.now() - healAt < 30_000; i++) {
      const a = await add(`after-probe-${i}`);
      if (a.answer.ok) {
        recoveryMs = (a.answeredAt as number) - healAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(Number.isFinite(recoveryMs)).toBe(true);
    await waitFor(async () => (await readiness()).status === 200, "readiness", 20_000);
    const readyAfterMs = Date.now() - healAt;
    for (let i = 0; i < 4; i++) expect((await add(`after-${i}`)).answer.ok).toBe(true);
    await Promise.all(chatsDuring); // the SDK carried them across the outage…
    // …and acknowledged none of them before storage was back.
    for (const text of ["during-1", "during-2", "during-3"]) {
      expect(chatAckedAt.get(text)).toBeGreaterThanOrEqual(healAt);
    }
    const chatRecoveryMs = Date.now() - healAt;
    await chat(bob, "after-1");
    await chat(ann, "after-2");

    // Every key that was not acknowledged is retried with the same key until it is: it applies
    // once whether or not its first attempt reached storage (it did: the turn was queued).
    const unsettled = attempts.filter((a) => !a.answer?.ok);
    for (const a of unsettled) {
      let answer: Json;
      for (let i = 0; i < 40; i++) {
        answer = await call(id, { type: "add", amount: a.amount }, a.key);
        if (answer.ok) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(answer.ok).toBe(true);
    }
    expect(attempts.length).toBeLessThanOrEqual(MAX_ADDS);

    // Each amount is unique to one key: the history shows which applied, and how often.
    const state = await call(id, { type: "get" });
    expect(state.ok).toBe(true);
    const history = state.value.history as number[];
    const seen = new Map<number, number>();
    for (const n of history) seen.set(n, (seen.get(n) ?? 0) + 1);
    const lost = attempts.filter((a) => !seen.has(a.amount)).length;
    const duplicated = [...seen.values()].filter((n) => n > 1).length;
    const strays = history.filter((n) => !attempts.some((a) => a.amount === n)).length;

    // Chat: history holds every acknowledged message once (and the unacknowledged one at most
    // once); Bob received the conversation once, in order, with no gap.
    const since = await bob.client.send("chat.since", { chatId, after: 0 });
    if ("resync" in since) throw new Error("unexpected resync");
    const texts = since.entries.flatMap((e) => (e.kind === "message" ? [e.text] : []));
    const chatLost = [...chatAcked.keys()].filter((t) => !texts.includes(t)).length;
    const chatDup = new Set(texts.filter((t, i) => texts.indexOf(t) !== i)).size;
    // The message the non-retrying device was refused: its turn was queued before the refusal,
    // so it lands once storage is back (the refusal meant "unknown", not "not done").
    const onceLanded = texts.filter((t) => t === "during-once").length;
    expect(onceLanded).toBeLessThanOrEqual(1);
    for (const [text, seq] of chatAcked) {
      expect(
        since.entries.find((e) => e.seq === seq && e.kind === "message" && e.text === text),
      ).toBeDefined();
    }
    const lastSeq = since.entries.at(-1)?.seq ?? 0;
    await waitFor(() => bob.client.lastSeqs()[chatId] === lastSeq, "Bob caught up", 20_000);
    expect(atBob.map((e) => e.seq)).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));

    reportFault({
      fault: "storage unavailable (connections reset and refused)",
      recoveryMs,
      acked: attempts.length + chatAcked.size,
      lost: lost + chatLost,
      duplicated: duplicated + chatDup,
      extra: {
        outageMs: healAt - outageAt,
        readyAfterMs,
        chatRecoveryMs,
        maxAnswerMs: Math.max(
          ...during.map((a) => (a.answeredAt as number) - a.sentAt),
          coldResult.ms,
          once.ms,
        ),
        storageErrors: `${errorsBefore}→${errorsDuring}`,
        refusedMessageLanded: onceLanded,
        ...Object.fromEntries([...codes].map(([code, n]) => [`errors.${code}`, n])),
      },
    });
    expect(strays).toBe(0);
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    expect(history.reduce((s, n) => s + n, 0)).toBe(state.value.total);
    expect(chatLost).toBe(0);
    expect(chatDup).toBe(0);
  }, 150_000);
});
