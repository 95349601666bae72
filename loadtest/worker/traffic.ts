import { benchAddress } from "../lib/accounts.js";
import type { Ledger } from "../lib/ledger.js";
import type { Recorder } from "../lib/metrics.js";
import type { LovecraftUser } from "./lovecraftUser.js";
import type { ChatSamples, Credentials, WorkerInit } from "./messages.js";
import { codeOf, sleep, type VirtualUser } from "./virtualUser.js";

/**
 * The traffic of each scenario inside one worker: open-loop (sends happen on schedule whether
 * or not earlier ones were answered, so a slow server shows as latency, not as fewer sends),
 * bounded by a cap on what is in flight.
 */

/** Beyond this many unanswered operations per worker, further ones are skipped and counted. */
const MAX_INFLIGHT = 5_000;

export interface LiveChat {
  readonly chatId: string;
  readonly members: readonly VirtualUser[];
}

export interface TrafficContext {
  readonly init: WorkerInit;
  readonly rec: Recorder;
  readonly ledger: Ledger;
  readonly aborted: () => boolean;
  /** Operations sent and not answered yet; messages made so far (for unique ids). */
  readonly flight: { inflight: number; counter: number };
  /** Every ack and delivery, when the options ask for them (`collectSamples`). */
  readonly samples?: ChatSamples;
}

/** Calls `fire(i)` for i = 0, 1, … at `perSecond` until `until` (performance.now() time). */
export async function paced(
  perSecond: number,
  until: number,
  aborted: () => boolean,
  fire: (i: number) => void,
): Promise<void> {
  const start = performance.now();
  let i = 0;
  while (!aborted()) {
    const now = performance.now();
    if (now >= until) return;
    if (perSecond <= 0) {
      await sleep(Math.min(100, until - now));
      continue;
    }
    const due = Math.floor(((now - start) * perSecond) / 1000) + 1;
    while (i < due) fire(i++);
    const next = start + (i * 1000) / perSecond;
    await sleep(Math.min(Math.max(1, next - performance.now()), 50, until - now));
  }
}

/** One ledger-tracked chat message from `sender` to `chatId`. */
export function trackedSend(ctx: TrafficContext, sender: VirtualUser, chatId: string): void {
  if (ctx.flight.inflight >= MAX_INFLIGHT) {
    ctx.rec.skipped();
    return;
  }
  const id = `${ctx.init.runTag}.${ctx.init.worker}.${(ctx.flight.counter++).toString(36)}`;
  const pad = ctx.init.options.messageBytes - id.length - 1;
  const text = pad > 0 ? `${id} ${"x".repeat(pad)}` : id;
  const t = performance.now();
  ctx.ledger.sent(id, chatId, sender.id, t);
  ctx.rec.sent();
  ctx.flight.inflight++;
  sender.send(chatId, text).then(
    (seq) => {
      ctx.flight.inflight--;
      ctx.ledger.acked(id, seq);
      const ms = performance.now() - t;
      ctx.rec.acked(ms);
      ctx.samples?.acks.push({ chatId, from: sender.id, ms, at: Date.now() - ms });
    },
    (err: unknown) => {
      ctx.flight.inflight--;
      ctx.ledger.failed(id);
      ctx.rec.failed("chat.send", codeOf(err));
    },
  );
}

/** Feeds every member's received messages to the ledger and the delivery latency. */
export function listen(ctx: TrafficContext, users: readonly VirtualUser[]): void {
  for (const user of users) {
    user.onMessage((chatId, seq, text) => {
      const sentAt = ctx.ledger.delivered(chatId, user.id, seq, text);
      if (sentAt === undefined) return;
      const ms = performance.now() - sentAt;
      ctx.rec.delivered(ms);
      ctx.samples?.deliveries.push({
        chatId,
        from: ctx.ledger.senderOf(text) ?? "",
        to: user.id,
        ms,
        at: Date.now() - ms,
      });
    });
  }
}

/** dm and group: `rate` messages/s per chat, the senders taking turns within each chat. */
export async function chatTraffic(
  ctx: TrafficContext,
  chats: readonly LiveChat[],
  until: number,
): Promise<void> {
  const n = chats.length;
  await paced(n === 0 ? 0 : ctx.init.options.rate * n, until, ctx.aborted, (i) => {
    const chat = chats[i % n] as LiveChat;
    const sender = chat.members[Math.floor(i / n) % chat.members.length] as VirtualUser;
    trackedSend(ctx, sender, chat.chatId);
  });
}

/** Runs one non-message operation, timing it under `kind`. */
function op(ctx: TrafficContext, kind: string, run: () => Promise<unknown>): void {
  if (ctx.flight.inflight >= MAX_INFLIGHT) {
    ctx.rec.skipped();
    return;
  }
  ctx.flight.inflight++;
  const t = performance.now();
  run().then(
    () => {
      ctx.flight.inflight--;
      ctx.rec.op(kind, performance.now() - t);
    },
    (err: unknown) => {
      ctx.flight.inflight--;
      ctx.rec.op(kind, performance.now() - t, codeOf(err));
    },
  );
}

type Action = (ctx: TrafficContext, user: LovecraftUser, chatId: string) => void;

/** What an app user does, with weights: mostly chat, some browsing, some swiping. */
const ACTIONS: readonly [number, Action][] = [
  [35, (ctx, user, chatId) => trackedSend(ctx, user, chatId)],
  [
    15,
    (ctx, user, chatId) =>
      op(ctx, "chat.read", () =>
        user.client.send("chat.read", { chatId, seq: user.client.lastSeqs()[chatId] ?? 0 }),
      ),
  ],
  [15, (ctx, user, chatId) => op(ctx, "chat.typing", () => user.client.send("chat.typing", { chatId }))],
  [10, (ctx, user) => op(ctx, "GET /store/items", () => user.client.rest("GET", "/store/items?limit=20"))],
  [10, (ctx, user) => op(ctx, "GET /blog/posts", () => user.client.rest("GET", "/blog/posts?limit=20"))],
  [
    10,
    (ctx, user) =>
      op(ctx, "discover+like", async () => {
        const { profiles } = await user.client.send("discover", { limit: 10 });
        const pick = profiles[Math.floor(Math.random() * profiles.length)];
        if (pick) await user.client.send("like", { userId: pick.userId });
      }),
  ],
  [
    5,
    (ctx, user, chatId) =>
      op(ctx, "chat.history", () => user.client.send("chat.history", { chatId, limit: 20 })),
  ],
];
const TOTAL_WEIGHT = ACTIONS.reduce((s, [w]) => s + w, 0);

function pickAction(): Action {
  let r = Math.random() * TOTAL_WEIGHT;
  for (const [weight, action] of ACTIONS) {
    r -= weight;
    if (r < 0) return action;
  }
  return (ACTIONS[0] as [number, Action])[1];
}

/** mixed: `rate` actions/s per user, each user acting in its own direct chat. */
export async function mixedTraffic(
  ctx: TrafficContext,
  chats: readonly LiveChat[],
  until: number,
): Promise<void> {
  const actors = chats.flatMap((c) => c.members.map((u) => ({ user: u as LovecraftUser, chatId: c.chatId })));
  const n = actors.length;
  await paced(n === 0 ? 0 : ctx.init.options.rate * n, until, ctx.aborted, (i) => {
    // A stride coprime with n spreads consecutive actions over different users.
    const a = actors[(i * 7919) % n] as (typeof actors)[number];
    pickAction()(ctx, a.user, a.chatId);
  });
}

/** login-storm: real logins at this worker's share of `rate`, counted by HTTP status. */
export async function loginStorm(ctx: TrafficContext, accounts: readonly Credentials[], until: number) {
  const { options, target, worker, loginRate } = ctx.init;
  if (accounts.length === 0) return;
  await paced(loginRate, until, ctx.aborted, (i) => {
    if (ctx.flight.inflight >= MAX_INFLIGHT) {
      ctx.rec.skipped();
      return;
    }
    const account = accounts[i % accounts.length] as Credentials;
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (options.clientIps > 1)
      headers["x-forwarded-for"] = benchAddress((i * 31 + worker) % options.clientIps);
    const t = performance.now();
    ctx.rec.sent();
    ctx.flight.inflight++;
    fetch(`${target.url}/api/v1/auth/login`, { method: "POST", headers, body: JSON.stringify(account) })
      .then(async (res) => {
        await res.body?.cancel();
        ctx.rec.event(`HTTP ${res.status}`);
        if (res.headers.has("retry-after")) ctx.rec.event("Retry-After sent");
        if (res.ok) ctx.rec.acked(performance.now() - t);
        else ctx.rec.failed("login", `HTTP_${res.status}`);
        ctx.rec.op("login (any status)", performance.now() - t);
      })
      .catch((err: unknown) => ctx.rec.failed("login", codeOf(err)))
      .finally(() => {
        ctx.flight.inflight--;
      });
  });
}

/**
 * Waits until nothing is outstanding in the ledger, or `ms` passed (also after an abort: what
 * was sent must have its chance to arrive, or the ledger would count it lost).
 */
export async function drain(ctx: TrafficContext, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    if (ctx.ledger.outstanding() === 0 && ctx.flight.inflight === 0) return;
    await sleep(100);
  }
}
