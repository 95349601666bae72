import { describe, expect, it } from "vitest";
import { bucketOf, exactPercentile, Histogram, upperBoundOf } from "../../loadtest/lib/histogram.js";
import { Aggregator, Recorder } from "../../loadtest/lib/metrics.js";
import { cpuPercent, cpuSecondsOfStat, rssMiBOfStatus } from "../../loadtest/lib/proc.js";

/** A deterministic pseudo-random stream (xorshift), so failures reproduce. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) % 1_000_000) / 1_000_000;
  };
}

describe("exactPercentile", () => {
  it("uses the nearest rank", () => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(exactPercentile(sorted, 50)).toBe(5);
    expect(exactPercentile(sorted, 90)).toBe(9);
    expect(exactPercentile(sorted, 99)).toBe(10);
    expect(exactPercentile(sorted, 0)).toBe(1);
    expect(exactPercentile([], 50)).toBeNaN();
  });
});

describe("Histogram", () => {
  it("puts every value at or below its bucket's upper bound, within 2 %", () => {
    for (const v of [0.0015, 0.3, 1, 7.77, 123.4, 99_999]) {
      const b = bucketOf(v);
      expect(upperBoundOf(b)).toBeGreaterThanOrEqual(v * (1 - 1e-9));
      expect(upperBoundOf(b)).toBeLessThanOrEqual(v * 1.02 + 1e-9);
    }
  });

  it("reads percentiles within 2 % of the exact ones on a skewed distribution", () => {
    const next = random(42);
    const samples = Array.from({ length: 20_000 }, () => 0.5 + (-Math.log(1 - next()) * 20) ** 1.5);
    const h = new Histogram();
    for (const s of samples) h.record(s);
    const sorted = [...samples].sort((a, b) => a - b);
    for (const p of [50, 90, 95, 99, 99.9]) {
      const exact = exactPercentile(sorted, p);
      expect(Math.abs(h.percentile(p) - exact) / exact).toBeLessThanOrEqual(0.02);
    }
    expect(h.percentile(100)).toBe(sorted.at(-1));
    expect(h.stats()).toMatchObject({ count: 20_000, max: sorted.at(-1) });
    expect(h.stats().mean).toBeCloseTo(samples.reduce((a, b) => a + b, 0) / samples.length, 6);
  });

  it("is exact at the ends: a single value, min and max", () => {
    const h = new Histogram();
    h.record(12.5);
    expect(h.percentile(50)).toBe(12.5);
    expect(h.percentile(99)).toBe(12.5);
    expect(new Histogram().percentile(50)).toBeNaN();
    expect(new Histogram().stats().count).toBe(0);
  });

  it("merges, also through its JSON form (what workers send), into what one histogram records", () => {
    const next = random(7);
    const all = new Histogram();
    const parts = [new Histogram(), new Histogram(), new Histogram()];
    for (let i = 0; i < 3_000; i++) {
      const v = next() * 200;
      all.record(v);
      parts[i % 3]?.record(v);
    }
    const merged = new Histogram();
    for (const p of parts) merged.merge(JSON.parse(JSON.stringify(p.toJSON())));
    const { mean, ...rest } = all.stats();
    expect(merged.stats()).toMatchObject(rest);
    expect(merged.stats().mean).toBeCloseTo(mean, 9); // sums in another order
    merged.merge(new Histogram().toJSON()); // an empty delta changes nothing
    expect(merged.stats()).toMatchObject(rest);
  });

  it("ignores non-finite values and clamps negative ones to 0", () => {
    const h = new Histogram();
    h.record(Number.NaN);
    h.record(Number.POSITIVE_INFINITY);
    h.record(-3);
    expect(h.count).toBe(1);
    expect(h.max).toBe(0);
  });

  it("regroups into log bins that keep every sample", () => {
    const h = new Histogram();
    for (let i = 1; i <= 1000; i++) h.record(i);
    const bins = h.bins(20);
    expect(bins).toHaveLength(20);
    expect(bins.reduce((s, b) => s + b.count, 0)).toBe(1000);
    expect(bins[0]?.from).toBeCloseTo(1);
    expect(bins.at(-1)?.to).toBeCloseTo(1000);
    // A common range (two series on one chart) is honoured.
    const wide = h.bins(10, { min: 0.5, max: 5000 });
    expect(wide[0]?.from).toBeCloseTo(0.5);
    expect(wide.reduce((s, b) => s + b.count, 0)).toBe(1000);
  });
});

describe("Recorder and Aggregator", () => {
  it("sum workers' one-second deltas into totals and a per-second series", () => {
    const start = Date.UTC(2026, 0, 1, 12, 0, 0, 400);
    const agg = new Aggregator(start);
    const a = new Recorder(0);
    const b = new Recorder(1);
    a.connectDone(50);
    b.connectDone(70);
    a.sent();
    a.acked(10);
    b.delivered(15);
    b.failed("chat.send", "TIMEOUT");
    a.op("GET /store/items", 4);
    a.op("GET /store/items", 9, "INTERNAL");
    const second = Date.UTC(2026, 0, 1, 12, 0, 2, 5);
    agg.add(a.flush(second));
    agg.add(b.flush(second + 30));
    a.sent();
    a.acked(30);
    agg.add(a.flush(second + 1000));

    expect(agg.totals).toMatchObject({ connects: 2, sent: 2, acked: 2, delivered: 1, failed: 1 });
    expect(agg.totals.errors).toEqual({ "chat.send TIMEOUT": 1, "GET /store/items INTERNAL": 1 });
    expect(agg.totals.ops.get("GET /store/items")).toMatchObject({ count: 2, errors: 1 });
    expect(agg.connected()).toBe(2);
    expect(agg.errorCount()).toBe(2);
    const series = agg.series(() => "traffic");
    expect(series.map((p) => [p.t, p.sent, p.acked, p.connected])).toEqual([
      [2, 1, 1, 2],
      [3, 1, 1, 2],
    ]);
    expect(series[0]?.ackP99).toBe(10);
    expect(agg.recentAckP99(second + 1300)).toBe(30);
  });
});

describe("/proc parsing", () => {
  it("reads utime + stime after a command name with spaces and parentheses", () => {
    const stat = "4242 (node (bench) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 11 0 100 0 0";
    expect(cpuSecondsOfStat(stat)).toBe(3);
  });

  it("reads VmRSS in MiB and computes CPU percent of one core", () => {
    expect(rssMiBOfStatus("Name:\tnode\nVmRSS:\t  204800 kB\nThreads: 11\n")).toBe(200);
    expect(cpuPercent({ at: 0, rssMiB: 1, cpuSeconds: 1 }, { at: 2000, rssMiB: 1, cpuSeconds: 2.5 })).toBe(
      75,
    );
  });
});
