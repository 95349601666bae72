import { Ledger } from "../lib/ledger.js";
import { Recorder } from "../lib/metrics.js";
import { roomSetup, SocketIoUser, WsUser } from "./baselineUsers.js";
import { checkHistories } from "./history.js";
import { benchMatcher, LovecraftUser, likeMatcher, lovecraftChatSetup } from "./lovecraftUser.js";
import { benchUrlOf, type Channel, type FromWorker, type ToWorker, type WorkerInit } from "./messages.js";
import {
  chatTraffic,
  drain,
  type LiveChat,
  listen,
  loginStorm,
  mixedTraffic,
  type TrafficContext,
} from "./traffic.js";
import { type ChatSetup, codeOf, pool, sleep, type VirtualUser, withTimeout } from "./virtualUser.js";

/**
 * One worker's run: connect its users (ramped), set up its chats, report ready, wait for the
 * common start, run the scenario's traffic, drain, check histories, close. A metrics delta goes
 * to the main thread every wall-clock second throughout.
 */

const CONNECT_CONCURRENCY = 64;
const CONNECT_ATTEMPTS = 3;

function makeUsers(init: WorkerInit): VirtualUser[] {
  const { target } = init;
  if (target.kind === "lovecraft") return init.sessions.map((s) => new LovecraftUser(target.url, s));
  const User = target.kind === "ws" ? WsUser : SocketIoUser;
  return init.userIds.map((id) => new User(target.url, id));
}

function chatSetupOf(init: WorkerInit): ChatSetup {
  if (init.target.kind !== "lovecraft") return roomSetup;
  return init.target.bench
    ? lovecraftChatSetup(benchMatcher(benchUrlOf(init.target)), false)
    : lovecraftChatSetup(likeMatcher, true);
}

/** Connects every user at this worker's share of the connect rate; returns who is connected. */
async function connectAll(
  users: readonly VirtualUser[],
  init: WorkerInit,
  rec: Recorder,
  aborted: () => boolean,
) {
  const ok = new Array<boolean>(users.length).fill(false);
  const start = performance.now();
  let lastDone = start;
  await pool(users.length, CONNECT_CONCURRENCY, async (i) => {
    await sleep(start + (i * 1000) / init.connectRate - performance.now());
    for (let attempt = 0; attempt < CONNECT_ATTEMPTS && !aborted(); attempt++) {
      const t = performance.now();
      try {
        await (users[i] as VirtualUser).connect();
        lastDone = performance.now();
        rec.connectDone(lastDone - t);
        ok[i] = true;
        return;
      } catch (err) {
        rec.error("connect", codeOf(err));
        await sleep(500 * 2 ** attempt);
      }
    }
  });
  return { ok, connectMs: lastDone - start };
}

async function setupChats(
  users: readonly VirtualUser[],
  ok: readonly boolean[],
  init: WorkerInit,
  rec: Recorder,
): Promise<{ chats: LiveChat[]; dropped: number }> {
  const setup = chatSetupOf(init);
  const chats: (LiveChat | undefined)[] = new Array(init.units.length);
  let dropped = 0;
  const concurrency = init.options.scenario === "group" ? 2 : 16;
  await pool(init.units.length, concurrency, async (u) => {
    const unit = init.units[u] as readonly number[];
    if (!unit.every((i) => ok[i])) {
      dropped++;
      return;
    }
    const members = unit.map((i) => users[i] as VirtualUser);
    try {
      const chatId = await setup(members, `${init.runTag}.${init.worker}.${u}`);
      chats[u] = { chatId, members };
    } catch (err) {
      rec.error("chat setup", codeOf(err));
      dropped++;
    }
  });
  return { chats: chats.filter((c): c is LiveChat => c !== undefined), dropped };
}

function startTicker(rec: Recorder, channel: Channel<ToWorker, FromWorker>): () => void {
  let timer: ReturnType<typeof setTimeout>;
  const schedule = () => {
    timer = setTimeout(
      () => {
        channel.postMessage({ type: "tick", delta: rec.flush() });
        schedule();
      },
      1005 - (Date.now() % 1000),
    );
  };
  schedule();
  return () => clearTimeout(timer);
}

async function traffic(ctx: TrafficContext, chats: readonly LiveChat[], until: number): Promise<void> {
  const { init } = ctx;
  switch (init.options.scenario) {
    case "dm":
    case "group":
      return chatTraffic(ctx, chats, until);
    case "mixed":
      return mixedTraffic(ctx, chats, until);
    case "login-storm":
      return loginStorm(ctx, init.credentials, until);
    case "connect":
      while (performance.now() < until && !ctx.aborted())
        await sleep(Math.min(100, until - performance.now()));
      return;
    default: {
      const never: never = init.options.scenario;
      throw new Error(`unknown scenario ${never}`);
    }
  }
}

export async function runWorker(init: WorkerInit, channel: Channel<ToWorker, FromWorker>): Promise<void> {
  const rec = new Recorder(init.worker);
  const ledger = new Ledger(init.runTag);
  let aborted = false;
  let begin: (at: number) => void = () => undefined;
  const started = new Promise<number>((resolve) => {
    begin = resolve;
  });
  channel.on("message", (m) => {
    if (m.type === "abort") {
      aborted = true;
      begin(Date.now());
    } else begin(m.at);
  });
  const ctx: TrafficContext = {
    init,
    rec,
    ledger,
    aborted: () => aborted,
    flight: { inflight: 0, counter: 0 },
    ...(init.options.collectSamples ? { samples: { acks: [], deliveries: [] } } : {}),
  };
  const stopTicker = startTicker(rec, channel);
  const users = init.options.scenario === "login-storm" ? [] : makeUsers(init);
  try {
    for (const user of users) if (user instanceof LovecraftUser) user.countEvents((type) => rec.event(type));
    for (const user of users)
      user.onStatus((what, code) => {
        if (what === "disconnected") {
          rec.connected--;
          rec.error("socket", `CLOSE_${code ?? "?"}`);
        } else {
          rec.connected++;
          rec.event("reconnected");
        }
      });
    const { ok, connectMs } = await connectAll(users, init, rec, ctx.aborted);
    const { chats, dropped } = await setupChats(users, ok, init, rec);
    for (const chat of chats)
      ledger.addChat(
        chat.chatId,
        chat.members.map((m) => m.id),
      );
    listen(
      ctx,
      chats.flatMap((c) => c.members),
    );
    channel.postMessage({
      type: "ready",
      connected: rec.connected,
      chats: chats.length,
      droppedChats: dropped,
      connectMs,
    });
    const at = await started;
    await sleep(at - Date.now());
    await traffic(ctx, chats, performance.now() + init.options.durationMs);
    await drain(ctx, init.options.drainMs);
    if (init.target.kind === "lovecraft" && init.historyChats > 0 && !aborted)
      await checkHistories(
        ledger,
        chats as { chatId: string; members: LovecraftUser[] }[],
        init.historyChats,
        rec,
      );
    await pool(users.length, 100, async (i) =>
      withTimeout((users[i] as VirtualUser).close(), 5_000, "close").catch(() => undefined),
    );
    stopTicker();
    channel.postMessage({
      type: "done",
      ledger: ledger.result(),
      delta: rec.flush(),
      ...(ctx.samples ? { samples: ctx.samples } : {}),
    });
  } catch (err) {
    stopTicker();
    channel.postMessage({ type: "fatal", message: (err as Error).stack ?? String(err) });
  }
}
