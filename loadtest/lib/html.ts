import { fmt } from "../bench/stats.js";
import type { LatencyStats } from "./histogram.js";
import type { SeriesPoint } from "./metrics.js";
import { type LoadTestResult, processLine } from "./result.js";
import { escapeHtml, histogramChart, type LineSeries, lineChart } from "./svg.js";

/**
 * The self-contained HTML report: summary tables, then latency over time, throughput over
 * time, the latency histogram, and server resources over time (when sampled). Inline SVG only.
 */

const COLORS = { ack50: "#1f77b4", ack99: "#0b3d91", e2e50: "#ff7f0e", e2e99: "#b34700", connect: "#2ca02c" };

const line = (
  name: string,
  color: string,
  series: readonly SeriesPoint[],
  pick: (p: SeriesPoint) => number,
) => ({ name, color, points: series.map((p) => [p.t, pick(p)] as const) }) satisfies LineSeries;

function trafficBands(series: readonly SeriesPoint[]) {
  const traffic = series.filter((p) => p.phase === "traffic");
  const first = traffic[0];
  const last = traffic.at(-1);
  return first && last ? [{ from: first.t - 1, to: last.t, color: "#f2f7ff", name: "traffic phase" }] : [];
}

const cell = (v: number | string, digits = 1) =>
  `<td>${typeof v === "number" ? escapeHtml(fmt(v, digits)) : escapeHtml(v)}</td>`;

function latencyRow(name: string, s: LatencyStats): string {
  return `<tr><th>${escapeHtml(name)}</th>${cell(s.count, 0)}${cell(s.p50, 2)}${cell(s.p95, 2)}${cell(s.p99, 2)}${cell(s.max, 2)}</tr>`;
}

function table(rows: [string, string | number][]): string {
  return `<table>${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th>${cell(v, 1)}</tr>`).join("")}</table>`;
}

function summary(r: LoadTestResult): string {
  const m = r.messages;
  const l = r.ledger;
  const rows: [string, string | number][] = [
    ["users connected", `${fmt(r.users.connected, 0)} / ${fmt(r.users.requested, 0)}`],
    ["chats", r.users.chats],
    ["connections/s", r.connections.perSecond],
    ["messages sent", m.sent],
    ["messages/s sent", m.sentPerSecond],
    ["messages acked", m.acked],
    ["deliveries", m.delivered],
    ["deliveries/s", m.deliveredPerSecond],
    ["failed sends", m.failed],
    ["lost", l.lost],
    ["duplicated", l.duplicated],
    ["mismatched", l.mismatched],
    ["history checked / missing", `${fmt(l.history.checked, 0)} / ${l.history.missing}`],
  ];
  if (r.server) rows.push(["server", processLine(r.server)]);
  if (r.generator) rows.push(["generator", processLine(r.generator)]);
  return table(rows);
}

function latencyTable(r: LoadTestResult): string {
  const rows = [
    latencyRow("connect", r.connections.latency),
    latencyRow(
      r.options.scenario === "login-storm"
        ? "successful login"
        : r.options.baseline
          ? "ack"
          : "ack (durable)",
      r.latency.ack,
    ),
    latencyRow("end-to-end (delivered)", r.latency.e2e),
    ...Object.entries(r.ops).map(([k, op]) => latencyRow(k, op.latency)),
  ];
  return `<table><tr><th></th><th>n</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>max ms</th></tr>${rows.join("")}</table>`;
}

function countsTable(title: string, counts: Record<string, number>): string {
  const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return `<h2>${escapeHtml(title)}</h2><p>none</p>`;
  return `<h2>${escapeHtml(title)}</h2>${table(entries)}`;
}

function charts(r: LoadTestResult): string {
  const s = r.series;
  const bands = trafficBands(s);
  const out = [
    lineChart({
      title: "Latency over time",
      yLabel: "ms",
      xLabel: "seconds since start",
      bands,
      series: [
        line("ack p50", COLORS.ack50, s, (p) => p.ackP50),
        line("ack p99", COLORS.ack99, s, (p) => p.ackP99),
        line("end-to-end p50", COLORS.e2e50, s, (p) => p.e2eP50),
        line("end-to-end p99", COLORS.e2e99, s, (p) => p.e2eP99),
        // Connects take far longer than sends: charted only when there is nothing else.
        ...(r.messages.sent === 0 ? [line("connect p99", COLORS.connect, s, (p) => p.connectP99)] : []),
      ],
    }),
    lineChart({
      title: "Throughput over time",
      yLabel: "per second",
      xLabel: "seconds since start",
      bands,
      series: [
        line("sent/s", COLORS.ack50, s, (p) => p.sent),
        line("acked/s", COLORS.ack99, s, (p) => p.acked),
        line("delivered/s", COLORS.e2e50, s, (p) => p.delivered),
        line("connects/s", COLORS.connect, s, (p) => p.connects),
        line("errors/s", "#d62728", s, (p) => p.errors),
      ],
    }),
    histogramChart({
      title: "Latency histogram",
      series: [
        {
          name: r.options.scenario === "login-storm" ? "login" : "ack",
          color: COLORS.ack50,
          bins: r.histograms.ack,
        },
        { name: "end-to-end", color: COLORS.e2e50, bins: r.histograms.e2e },
      ],
    }),
  ];
  if (s.some((p) => p.serverRssMiB !== undefined || p.generatorCpuPercent !== undefined))
    out.push(
      lineChart({
        title: "Resources over time",
        yLabel: "MiB / % of a core",
        xLabel: "seconds since start",
        bands,
        series: [
          line("server RSS MiB", "#9467bd", s, (p) => p.serverRssMiB ?? Number.NaN),
          line("server CPU %", "#8c564b", s, (p) => p.serverCpuPercent ?? Number.NaN),
          line("generator CPU %", "#7f7f7f", s, (p) => p.generatorCpuPercent ?? Number.NaN),
        ],
      }),
    );
  return out.map((svg) => `<figure>${svg}</figure>`).join("\n");
}

export function renderHtml(r: LoadTestResult): string {
  const o = r.options;
  const title = `Lovecraft load test — ${o.scenario}${o.baseline ? ` (${o.baseline} baseline)` : ""}, ${o.users} users`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 960px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 10px; text-align: right; font-variant-numeric: tabular-nums; }
th:first-child { text-align: left; font-weight: 500; }
.verdict { font-weight: 700; color: ${r.ok ? "#1a7f37" : "#cf222e"}; }
figure { margin: 1em 0; }
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(r.startedAt)} — target ${escapeHtml(r.target.url)} (${escapeHtml(r.target.kind)}${r.target.bench ? ", bench node" : ""}) — ${escapeHtml(r.machine)}</p>
<p>rate ${escapeHtml(String(o.rate))}, traffic ${fmt(r.phases.trafficMs / 1000, 1)} s, ${o.workers} workers, connect rate ${o.connectRate}/s${o.scenario === "group" ? `, group size ${o.groupSize}` : ""}</p>
<p class="verdict">${r.ok ? "Ledger OK: every acked message delivered exactly once and in history" : "Ledger FAILED: lost, duplicated or misplaced messages"}</p>
<h2>Summary</h2>
${summary(r)}
<h2>Latency</h2>
${latencyTable(r)}
${countsTable("Errors by code", r.errors)}
${r.statuses ? countsTable("Responses by HTTP status", r.statuses) : ""}
${countsTable("Events received", r.events)}
<h2>Charts</h2>
${charts(r)}
<h2>Options</h2>
<pre>${escapeHtml(JSON.stringify(o, null, 2))}</pre>
</body></html>
`;
}
