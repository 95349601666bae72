import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Session } from "../client/index.js";
import { benchSessions, isBenchNode, registerAccounts } from "./lib/accounts.js";
import { assemble, writeReports } from "./lib/assemble.js";
import { defaults, type LoadTestOptions, UsageError, warnings } from "./lib/options.js";
import { planWorkers, share, type WorkerPlan } from "./lib/plan.js";
import type { LoadTestResult } from "./lib/result.js";
import { Run, startMonitor } from "./lib/runState.js";
import { startWorker, type WorkerHandle } from "./lib/workers.js";
import { benchUrlOf, type Credentials, type TargetInfo, type WorkerInit } from "./worker/messages.js";

/**
 * The load generator's main thread: prepares users (bench sessions or registrations), splits
 * them and their chats over worker threads, starts the traffic everywhere at once, prints the
 * progress line, gathers the per-second deltas and the ledgers, and writes the JSON and HTML
 * reports. `npm run loadtest` (loadtest/cli.ts) is a thin wrapper; tests call it directly.
 */

export interface RunHooks {
  /** Setup messages and warnings (default: stderr). */
  readonly log?: (line: string) => void;
  /** The progress line once a second (default: stderr, one refreshed line on a TTY). */
  readonly progress?: (line: string) => void;
  /** Aborting stops the traffic early; the run still reports. */
  readonly signal?: AbortSignal;
}

const DEFAULT_REPORTS = fileURLToPath(new URL("./reports/", import.meta.url));

async function resolveTarget(o: LoadTestOptions): Promise<TargetInfo> {
  if (o.baseline) return { kind: o.baseline, url: o.target.replace(/\/$/, ""), bench: false };
  const url = o.target.replace(/\/$/, "");
  if (o.benchUrl)
    return { kind: "lovecraft", url, bench: await isBenchNode(o.benchUrl), benchUrl: o.benchUrl };
  return { kind: "lovecraft", url, bench: await isBenchNode(url) };
}

interface People {
  sessions: Session[];
  userIds: string[];
  credentials: Credentials[];
}

async function prepareUsers(o: LoadTestOptions, target: TargetInfo, tag: string, log: (l: string) => void) {
  const people: People = { sessions: [], userIds: [], credentials: [] };
  if (target.kind !== "lovecraft") {
    people.userIds = Array.from({ length: o.users }, (_, i) => `${tag}.u${i}`);
  } else if (o.scenario === "login-storm") {
    log(`registering ${o.users} accounts for the login storm at ${o.registerRate}/s`);
    people.credentials = (await registerAccounts(target.url, o.users, o.registerRate, tag, log)).credentials;
  } else if (o.register) {
    log(`registering ${o.users} users at ${o.registerRate}/s`);
    people.sessions = (await registerAccounts(target.url, o.users, o.registerRate, tag, log)).sessions;
  } else if (target.bench) {
    people.sessions = await benchSessions(benchUrlOf(target), o.users, tag);
  } else {
    throw new UsageError(
      `${target.url} has no /bench routes: start the target with \`npm run loadtest:target\`, or pass --register`,
    );
  }
  return people;
}

interface Setup {
  readonly o: LoadTestOptions;
  readonly plans: readonly WorkerPlan[];
  readonly target: TargetInfo;
  readonly runTag: string;
  readonly people: People;
}

/** One worker's share of the run. */
function initOf({ o, plans, target, runTag, people }: Setup, plan: WorkerPlan): WorkerInit {
  const slice = <T>(list: readonly T[]) => list.slice(plan.first, plan.first + plan.count);
  return {
    worker: plan.worker,
    options: o,
    target,
    runTag,
    sessions: slice(people.sessions),
    userIds: slice(people.userIds),
    units: plan.units,
    connectRate: share(o.connectRate, plans, plan),
    loginRate: o.scenario === "login-storm" ? o.rate / plans.length : 0,
    historyChats:
      o.historyChats === "all" ? Number.MAX_SAFE_INTEGER : share(o.historyChats, plans, plan, true),
    credentials: people.credentials,
  };
}

/** Runs one load test as `options` describe; resolves with the result, also written to disk. */
export async function runLoadTest(
  input: Partial<LoadTestOptions>,
  hooks: RunHooks = {},
): Promise<LoadTestResult> {
  const o = defaults(input);
  const log = hooks.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  for (const w of warnings(o)) log(`warning: ${w}`);
  const run = new Run(Date.now(), o.serverPid);
  const runTag = `lt${run.startedAt.toString(36)}${randomBytes(2).toString("hex")}`;
  const target = await resolveTarget(o);
  const people = await prepareUsers(o, target, runTag, log);
  const plans = planWorkers(o.scenario, o.users, o.groupSize, o.workers);
  const setup: Setup = { o, plans, target, runTag, people };
  run.phase("connecting");
  const stopMonitor = startMonitor(run, o.scenario === "login-storm" ? 0 : o.users, hooks.progress);
  const handles: WorkerHandle[] = plans.map((plan) =>
    startWorker(initOf(setup, plan), o.workers === 0, (m) => run.onMessage(plan.worker, m, log)),
  );
  const abort = () => {
    run.endTraffic(Date.now());
    for (const h of handles) h.post({ type: "abort" });
  };
  hooks.signal?.addEventListener("abort", abort, { once: true });
  try {
    const setupMs = 120_000 + (o.users / o.connectRate) * 2000 + (o.scenario === "group" ? o.users * 100 : 0);
    await run.until(
      () => run.ready.size === plans.length,
      setupMs,
      "users to connect and chats to be set up",
    );
    const at = Date.now() + 300;
    run.phase("traffic", at);
    run.phase("drain", hooks.signal?.aborted ? at : at + o.durationMs);
    for (const h of handles) h.post({ type: "start", at });
    const finishMs = o.durationMs + o.drainMs + 180_000;
    await run.until(() => run.ledgers.size === plans.length, finishMs, "workers to finish");
  } finally {
    hooks.signal?.removeEventListener("abort", abort);
    stopMonitor();
    await Promise.all(handles.map((h) => h.stop()));
  }
  const result = await assemble(run, o, target);
  const stamp = new Date(run.startedAt).toISOString().replace(/[:.]/g, "-");
  return writeReports(result, o.out ?? join(DEFAULT_REPORTS, stamp));
}
