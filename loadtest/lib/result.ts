import { fmt } from "../bench/stats.js";
import type { ChatSamples } from "../worker/messages.js";
import type { LatencyStats } from "./histogram.js";
import type { LedgerResult } from "./ledger.js";
import type { SeriesPoint } from "./metrics.js";
import type { LoadTestOptions } from "./options.js";
import type { ProcessStats } from "./proc.js";

/** Everything a run measured: written as `result.json`, rendered as `report.html` and text. */
export interface LoadTestResult {
  readonly version: 1;
  readonly startedAt: string;
  readonly options: LoadTestOptions;
  readonly target: {
    readonly kind: "lovecraft" | "ws" | "socketio";
    readonly url: string;
    readonly bench: boolean;
  };
  readonly machine: string;
  readonly users: {
    readonly requested: number;
    readonly connected: number;
    /** Chats (pairs or groups) that carried traffic. */
    readonly chats: number;
    /** Chats left out because a member could not connect or the chat could not be set up. */
    readonly droppedChats: number;
  };
  readonly phases: { readonly setupMs: number; readonly trafficMs: number; readonly drainMs: number };
  readonly connections: { readonly perSecond: number; readonly latency: LatencyStats };
  readonly messages: {
    readonly sent: number;
    readonly acked: number;
    readonly failed: number;
    readonly skipped: number;
    readonly delivered: number;
    readonly sentPerSecond: number;
    readonly deliveredPerSecond: number;
  };
  /** ack: send → ack (durable); e2e: send → delivered at another member. */
  readonly latency: { readonly ack: LatencyStats; readonly e2e: LatencyStats };
  /** Operations other than chat.send (REST reads, likes, reads, typing, logins). */
  readonly ops: Record<string, { count: number; errors: number; perSecond: number; latency: LatencyStats }>;
  readonly errors: Record<string, number>;
  /** Server events received by type (typing, read, presence, …). */
  readonly events: Record<string, number>;
  /** login-storm: responses by HTTP status. */
  readonly statuses?: Record<string, number>;
  readonly ledger: LedgerResult;
  readonly server?: ProcessStats;
  /** The target's own `/bench/memory` after the run (bench targets). */
  readonly serverMemory?: unknown;
  readonly generator?: ProcessStats;
  readonly series: readonly SeriesPoint[];
  readonly histograms: {
    readonly ack: readonly { from: number; to: number; count: number }[];
    readonly e2e: readonly { from: number; to: number; count: number }[];
  };
  /** The ledger is clean (nothing lost, duplicated or out of place). */
  readonly ok: boolean;
  /** Every ack and delivery with its chat, sender and receiver (option `collectSamples`). */
  readonly samples?: ChatSamples;
  readonly reportDir?: string;
}

const ms = (n: number) => `${fmt(n, n < 10 ? 2 : 1)} ms`;
export const latencyLine = (s: LatencyStats): string =>
  s.count === 0
    ? "n/a"
    : `p50 ${ms(s.p50)}, p95 ${ms(s.p95)}, p99 ${ms(s.p99)}, max ${ms(s.max)} (n=${fmt(s.count, 0)})`;

/** The final report as plain text lines. */
export function summaryLines(r: LoadTestResult): string[] {
  const o = r.options;
  const storm = o.scenario === "login-storm";
  const lines = [
    `Scenario ${o.scenario}${o.baseline ? ` on the ${o.baseline} baseline` : ""} — ${r.target.url}`,
    storm
      ? `  ${fmt(o.users, 0)} accounts, traffic ${fmt(r.phases.trafficMs / 1000, 1)} s, ${o.workers} workers`
      : `  users ${fmt(r.users.connected, 0)}/${fmt(o.users, 0)} connected, ${fmt(r.users.chats, 0)} chats` +
        (r.users.droppedChats ? ` (${r.users.droppedChats} dropped)` : "") +
        `, traffic ${fmt(r.phases.trafficMs / 1000, 1)} s, ${o.workers} workers`,
  ];
  if (!storm)
    lines.push(
      `  connections: ${fmt(r.connections.perSecond, 0)}/s; connect ${latencyLine(r.connections.latency)}`,
    );
  const m = r.messages;
  if (storm) {
    lines.push(
      `  logins: ${fmt(m.sent, 0)} attempted (${fmt(m.sentPerSecond, 1)}/s), ${fmt(m.acked, 0)} succeeded, ${fmt(m.failed, 0)} refused or failed` +
        (m.skipped ? `, ${fmt(m.skipped, 0)} skipped (too many in flight)` : ""),
      `  successful login: ${latencyLine(r.latency.ack)}`,
    );
  } else if (m.sent > 0) {
    lines.push(
      `  messages: ${fmt(m.sent, 0)} sent (${fmt(m.sentPerSecond, 1)}/s), ${fmt(m.acked, 0)} acked, ${fmt(m.delivered, 0)} delivered (${fmt(m.deliveredPerSecond, 1)}/s)` +
        (m.failed ? `, ${fmt(m.failed, 0)} failed` : "") +
        (m.skipped ? `, ${fmt(m.skipped, 0)} skipped (too many in flight)` : ""),
      `  ack${o.baseline ? "" : " (durable)"}: ${latencyLine(r.latency.ack)}`,
    );
    if (r.latency.e2e.count > 0) lines.push(`  end-to-end (delivered): ${latencyLine(r.latency.e2e)}`);
  }
  for (const [kind, op] of Object.entries(r.ops))
    lines.push(
      `  ${kind}: ${fmt(op.count, 0)} (${fmt(op.perSecond, 1)}/s, ${op.errors} errors) ${latencyLine(op.latency)}`,
    );
  if (r.statuses) lines.push(`  responses by HTTP status: ${formatCounts(r.statuses)}`);
  lines.push(`  errors: ${Object.keys(r.errors).length ? formatCounts(r.errors) : "none"}`);
  const l = r.ledger;
  if (l.sent > 0)
    lines.push(
      `  ledger: ${fmt(l.expectedDeliveries, 0)} expected deliveries, lost ${l.lost}, duplicated ${l.duplicated}, mismatched ${l.mismatched}` +
        (l.unackedDelivered ? `, ${l.unackedDelivered} deliveries of unacked sends` : ""),
      l.history.chatsChecked === 0
        ? "  history: not checked"
        : `  history: ${l.history.chatsChecked} chats, ${fmt(l.history.checked, 0)} messages checked, missing ${l.history.missing}, duplicated ${l.history.duplicated}` +
            (l.history.notCovered ? `, ${l.history.notCovered} older than the pages read` : ""),
    );
  if (r.server) lines.push(`  server: ${processLine(r.server)}`);
  if (r.generator) lines.push(`  generator: ${processLine(r.generator)}`);
  lines.push(r.ok ? "  RESULT: ok" : "  RESULT: FAILED (lost, duplicated or misplaced messages)");
  if (r.reportDir) lines.push(`  report: ${r.reportDir}/report.html, ${r.reportDir}/result.json`);
  return lines;
}

export function processLine(p: ProcessStats): string {
  return `RSS ${fmt(p.rssStartMiB, 0)} → peak ${fmt(p.rssPeakMiB, 0)} → ${fmt(p.rssEndMiB, 0)} MiB, CPU ${fmt(p.cpuTrafficPercent, 0)} % during traffic (peak ${fmt(p.cpuPeakPercent, 0)} %, ${fmt(p.cpuSeconds, 1)} CPU-s in all)`;
}

export function formatCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ×${fmt(n, 0)}`)
    .join(", ");
}
