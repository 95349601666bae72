import { describe, expect, it } from "vitest";
import { fmt } from "../../loadtest/bench/stats.js";
import { Histogram } from "../../loadtest/lib/histogram.js";
import { renderHtml } from "../../loadtest/lib/html.js";
import { Ledger } from "../../loadtest/lib/ledger.js";
import type { SeriesPoint } from "../../loadtest/lib/metrics.js";
import { defaults } from "../../loadtest/lib/options.js";
import type { LoadTestResult } from "../../loadtest/lib/result.js";
import { summaryLines } from "../../loadtest/lib/result.js";
import { escapeHtml, lineChart, niceTicks } from "../../loadtest/lib/svg.js";

function result(overrides: Partial<LoadTestResult> = {}): LoadTestResult {
  const ack = new Histogram();
  const e2e = new Histogram();
  for (let i = 1; i <= 100; i++) {
    ack.record(i * 0.5);
    e2e.record(i * 0.8);
  }
  const series: SeriesPoint[] = Array.from({ length: 12 }, (_, t) => ({
    t,
    phase: t < 2 ? "connecting" : t < 10 ? "traffic" : "drain",
    connected: 40,
    connects: t < 2 ? 20 : 0,
    sent: t < 2 ? 0 : 100,
    acked: t < 2 ? 0 : 100,
    delivered: t < 2 ? 0 : 98,
    errors: t === 5 ? 1 : 0,
    ackP50: t < 2 ? Number.NaN : 3 + t,
    ackP99: t < 2 ? Number.NaN : 30 + t,
    e2eP50: t < 2 ? Number.NaN : 4,
    e2eP99: t < 2 ? Number.NaN : 41,
    connectP99: t < 2 ? 250 : Number.NaN,
    serverRssMiB: 200 + t,
    serverCpuPercent: 35,
    generatorCpuPercent: 20,
  }));
  const ledger = new Ledger("lt");
  ledger.addChat("d-1", ["a", "b"]);
  ledger.sent("lt.1", "d-1", "a", 0);
  ledger.acked("lt.1", 1);
  ledger.delivered("d-1", "b", 1, "lt.1");
  const range = { min: 0.5, max: 80 };
  return {
    version: 1,
    startedAt: "2026-11-05T10:00:00.000Z",
    options: defaults({ scenario: "dm", users: 40, durationMs: 8000, workers: 2 }),
    target: { kind: "lovecraft", url: "http://127.0.0.1:2567", bench: true },
    machine: "2 × test cpu",
    users: { requested: 40, connected: 40, chats: 20, droppedChats: 0 },
    phases: { setupMs: 2000, trafficMs: 8000, drainMs: 400 },
    connections: { perSecond: 123.4, latency: new Histogram().stats() },
    messages: {
      sent: 800,
      acked: 800,
      failed: 0,
      skipped: 0,
      delivered: 798,
      sentPerSecond: 100,
      deliveredPerSecond: 99.75,
    },
    latency: { ack: ack.stats(), e2e: e2e.stats() },
    ops: {},
    errors: { "chat.send TIMEOUT": 1 },
    events: { typing: 3 },
    ledger: ledger.result(),
    server: {
      pid: 42,
      rssStartMiB: 200,
      rssPeakMiB: 211,
      rssEndMiB: 210,
      cpuTrafficPercent: 35,
      cpuPeakPercent: 60,
      cpuSeconds: 4,
    },
    series,
    histograms: { ack: ack.bins(40, range), e2e: e2e.bins(40, range) },
    ok: true,
    ...overrides,
  };
}

describe("renderHtml", () => {
  it("is one self-contained page with the three charts as inline SVG", () => {
    const html = renderHtml(result());
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).not.toMatch(/<script|<link|https?:\/\/(?!www\.w3\.org|127\.0\.0\.1)/);
    expect(html.match(/<svg /g)?.length).toBe(4); // + resources, since the server was sampled
    for (const title of [
      "Latency over time",
      "Throughput over time",
      "Latency histogram",
      "Resources over time",
    ])
      expect(html).toContain(`aria-label="${title}"`);
    // Lines for the series and bars for the histogram.
    expect(html).toMatch(/<path d="M[\d.]+,[\d.]+L/);
    expect(html.match(/<rect [^>]*fill="#1f77b4"><title>ack /g)?.length).toBe(40);
  });

  it("shows the numbers: rates, latency percentiles, errors, ledger verdict", () => {
    const r = result();
    const html = renderHtml(r);
    expect(html).toContain("123.4"); // connections/s
    expect(html).toContain("<td>99.8</td>"); // deliveries/s
    expect(html).toContain(`<td>${fmt(r.latency.ack.p99, 2)}</td>`);
    expect(html).toContain(`<td>${fmt(r.latency.e2e.p50, 2)}</td>`);
    expect(html).toContain("chat.send TIMEOUT");
    expect(html).toContain("Ledger OK");
    expect(renderHtml(result({ ok: false }))).toContain("Ledger FAILED");
  });

  it("escapes what it did not write itself", () => {
    const html = renderHtml(result({ errors: { "<img src=x onerror=alert(1)>": 1 } }));
    expect(html).not.toContain("<img");
    expect(html).toContain("&lt;img");
  });
});

describe("summaryLines", () => {
  it("lists rates, latencies, errors, ledger and server figures", () => {
    const text = summaryLines(result()).join("\n");
    expect(text).toMatch(/connections: 123\/s/);
    expect(text).toMatch(/messages: 800 sent \(100\/s\), 800 acked, 798 delivered \(99\.8\/s\)/);
    expect(text).toMatch(/ack \(durable\): p50 .* p95 .* p99 .* max/);
    expect(text).toMatch(/errors: chat\.send TIMEOUT ×1/);
    expect(text).toMatch(/lost 0, duplicated 0/);
    expect(text).toMatch(/server: RSS 200 → peak 211 → 210 MiB, CPU 35 %/);
    expect(text).toMatch(/RESULT: ok/);
  });
});

describe("svg helpers", () => {
  it("make 1-2-5 ticks covering the maximum", () => {
    expect(niceTicks(9.3)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0)).toEqual([0, 1]);
    expect(niceTicks(1234).at(-1)).toBeGreaterThanOrEqual(1234);
  });

  it("draws an isolated point as a dot and skips gaps", () => {
    const svg = lineChart({
      title: "t",
      yLabel: "y",
      xLabel: "x",
      series: [
        {
          name: "s",
          color: "#000",
          points: [
            [0, 1],
            [1, Number.NaN],
            [2, 3],
            [3, 4],
          ],
        },
      ],
    });
    expect(svg.match(/<circle/g)?.length).toBe(1);
    expect(svg.match(/M/g)?.length).toBe(2);
    expect(escapeHtml(`a<b & "c"`)).toBe("a&lt;b &amp; &quot;c&quot;");
  });
});
