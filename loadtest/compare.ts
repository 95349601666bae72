/**
 * Ratios between runs: `npm run loadtest:compare -- <report dir or result.json> …` prints one
 * table, each run's figures and, for every run after the first, its ratio to the first (e.g.
 * Lovecraft against the ws and Socket.IO baselines run with the same traffic shape).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { fmt } from "./bench/stats.js";
import type { LoadTestResult } from "./lib/result.js";

interface Row {
  readonly label: string;
  readonly pick: (r: LoadTestResult) => number | undefined;
}

const ROWS: readonly Row[] = [
  { label: "connections/s", pick: (r) => r.connections.perSecond },
  { label: "connect p99 ms", pick: (r) => r.connections.latency.p99 },
  { label: "messages/s sent", pick: (r) => r.messages.sentPerSecond },
  { label: "deliveries/s", pick: (r) => r.messages.deliveredPerSecond },
  { label: "ack p50 ms", pick: (r) => r.latency.ack.p50 },
  { label: "ack p99 ms", pick: (r) => r.latency.ack.p99 },
  { label: "end-to-end p50 ms", pick: (r) => r.latency.e2e.p50 },
  { label: "end-to-end p99 ms", pick: (r) => r.latency.e2e.p99 },
  { label: "server CPU % (traffic)", pick: (r) => r.server?.cpuTrafficPercent },
  { label: "server RSS peak MiB", pick: (r) => r.server?.rssPeakMiB },
  {
    label: "server CPU µs/delivery",
    pick: (r) =>
      r.server && r.messages.deliveredPerSecond > 0
        ? ((r.server.cpuTrafficPercent / 100) * 1e6) / r.messages.deliveredPerSecond
        : undefined,
  },
  { label: "lost + duplicated", pick: (r) => r.ledger.lost + r.ledger.duplicated },
];

export function readResult(path: string): LoadTestResult {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, "result.json") : path;
  return JSON.parse(readFileSync(file, "utf8")) as LoadTestResult;
}

/** Two significant digits below 0.1 (×0.00012 rather than ×0), two decimals above. */
const ratio = (r: number) => (Math.abs(r) < 0.1 && r !== 0 ? String(Number(r.toPrecision(2))) : fmt(r, 2));

const nameOf = (r: LoadTestResult) =>
  `${r.options.baseline ?? "lovecraft"} ${r.options.scenario} ${r.options.users}u`;

/** The comparison as text lines (the first run is the reference of every ratio). */
export function compareLines(results: readonly LoadTestResult[]): string[] {
  const [first] = results;
  if (!first) return [];
  const header = ["", ...results.map(nameOf), ...results.slice(1).map((r) => `${nameOf(r)} / first`)];
  const rows = ROWS.map((row) => {
    const values = results.map((r) => row.pick(r));
    const base = values[0];
    const ratios = values
      .slice(1)
      .map((v) => (v !== undefined && base !== undefined && base !== 0 ? `×${ratio(v / base)}` : "n/a"));
    return [row.label, ...values.map((v) => (v === undefined ? "n/a" : fmt(v, 1))), ...ratios];
  });
  const widths = header.map((_, c) => Math.max(...[header, ...rows].map((r) => (r[c] ?? "").length)));
  return [header, ...rows].map((r) =>
    r
      .map((cell, c) => cell.padEnd(widths[c] ?? 0))
      .join("  ")
      .trimEnd(),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const paths = process.argv.slice(2);
  if (paths.length === 0) {
    process.stderr.write("usage: npm run loadtest:compare -- <report dir or result.json> …\n");
    process.exit(2);
  }
  process.stdout.write(`${compareLines(paths.map(readResult)).join("\n")}\n`);
}
