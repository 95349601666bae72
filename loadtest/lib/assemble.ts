import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { machineLine } from "../bench/report.js";
import { benchUrlOf, type TargetInfo } from "../worker/messages.js";
import { renderHtml } from "./html.js";
import { mergeLedgerResults } from "./ledger.js";
import type { Phase, SeriesPoint } from "./metrics.js";
import type { LoadTestOptions } from "./options.js";
import type { LoadTestResult } from "./result.js";
import type { Run } from "./runState.js";

/** Turns what the main thread gathered into the result, and writes result.json and report.html. */

/** login-storm counts responses as `HTTP <status>` events: those go to their own table. */
function splitEvents(all: Record<string, number>) {
  const statuses: Record<string, number> = {};
  const events: Record<string, number> = {};
  for (const [k, n] of Object.entries(all)) {
    if (k.startsWith("HTTP ")) statuses[k.slice(5)] = n;
    else events[k] = n;
  }
  return { statuses, events };
}

/** The per-second series with the target's and the generator's samples of the same second. */
function withSamples(run: Run): SeriesPoint[] {
  return run.agg
    .series((s) => run.phaseAt(s))
    .map((p) => {
      const sample = run.samples.get(p.t);
      return {
        ...p,
        ...(sample?.rss !== undefined ? { serverRssMiB: sample.rss } : {}),
        ...(sample?.cpu !== undefined ? { serverCpuPercent: sample.cpu } : {}),
        ...(sample?.gen !== undefined ? { generatorCpuPercent: sample.gen } : {}),
      };
    });
}

function phaseWindow(run: Run, phase: Phase): { from: number; to: number } {
  const i = run.phases.findIndex((p) => p.phase === phase);
  const from = run.phases[i]?.at ?? run.startedAt;
  return { from, to: run.phases[i + 1]?.at ?? Date.now() };
}

export async function assemble(run: Run, o: LoadTestOptions, target: TargetInfo): Promise<LoadTestResult> {
  const t = run.agg.totals;
  const traffic = phaseWindow(run, "traffic");
  const seconds = Math.max(0.001, (traffic.to - traffic.from) / 1000);
  const ledger = mergeLedgerResults([...run.ledgers.values()]);
  const ready = [...run.ready.values()];
  const connectS = Math.max(0.001, ...ready.map((r) => r.connectMs)) / 1000;
  const { statuses, events } = splitEvents(t.events);
  const series = withSamples(run);
  const range = {
    min: Math.min(t.ack.min, t.e2e.min),
    max: Math.max(t.ack.max, t.e2e.max),
  };
  const server = run.server?.stats(traffic);
  const generator = run.generator.stats(traffic);
  return {
    version: 1,
    startedAt: new Date(run.startedAt).toISOString(),
    options: o,
    target,
    machine: machineLine(),
    users: {
      requested: o.users,
      connected: ready.reduce((s, r) => s + r.connected, 0),
      chats: ready.reduce((s, r) => s + r.chats, 0),
      droppedChats: ready.reduce((s, r) => s + r.droppedChats, 0),
    },
    phases: {
      setupMs: traffic.from - run.startedAt,
      trafficMs: traffic.to - traffic.from,
      drainMs: Date.now() - traffic.to,
    },
    connections: { perSecond: t.connects / connectS, latency: t.connect.stats() },
    messages: {
      sent: t.sent,
      acked: t.acked,
      failed: t.failed,
      skipped: t.skipped,
      delivered: t.delivered,
      sentPerSecond: t.sent / seconds,
      deliveredPerSecond: t.delivered / seconds,
    },
    latency: { ack: t.ack.stats(), e2e: t.e2e.stats() },
    ops: Object.fromEntries(
      [...t.ops].map(([k, op]) => [
        k,
        { count: op.count, errors: op.errors, perSecond: op.count / seconds, latency: op.latency.stats() },
      ]),
    ),
    errors: t.errors,
    events,
    ...(Object.keys(statuses).length ? { statuses } : {}),
    ledger,
    ...(server ? { server } : {}),
    ...(target.bench ? { serverMemory: await benchMemory(benchUrlOf(target)) } : {}),
    ...(generator ? { generator } : {}),
    series,
    histograms: { ack: t.ack.bins(40, range), e2e: t.e2e.bins(40, range) },
    ok: ledger.ok,
    ...(o.collectSamples ? { samples: run.chatSamples } : {}),
  };
}

async function benchMemory(url: string): Promise<unknown> {
  try {
    return await (await fetch(`${url}/bench/memory`, { signal: AbortSignal.timeout(5_000) })).json();
  } catch {
    return undefined;
  }
}

export function writeReports(result: LoadTestResult, dir: string): LoadTestResult {
  const reportDir = resolve(dir);
  mkdirSync(reportDir, { recursive: true });
  const withDir = { ...result, reportDir };
  writeFileSync(join(reportDir, "result.json"), `${JSON.stringify(withDir, null, 2)}\n`);
  writeFileSync(join(reportDir, "report.html"), renderHtml(withDir));
  return withDir;
}
