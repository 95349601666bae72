/**
 * Latency histograms for the load test: log-scale buckets 2 % wide, so a percentile read from
 * the histogram is within 2 % of the exact one while memory stays bounded (about 1,000 buckets
 * from 1 µs to 10 minutes) however many samples a run records. Histograms are mergeable, which is
 * how worker threads ship one-second deltas to the main thread.
 */

/** Relative width of a bucket: upper bound of bucket i is `BASE_MS * GROWTH^i`. */
const GROWTH = 1.02;
const BASE_MS = 0.001;
const LOG_GROWTH = Math.log(GROWTH);

/** Serialised form: sparse `[bucket, count]` pairs plus exact count, sum, min and max. */
export interface HistogramJson {
  readonly buckets: readonly (readonly [number, number])[];
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
}

export interface LatencyStats {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export function bucketOf(ms: number): number {
  if (!(ms > BASE_MS)) return 0;
  return Math.ceil(Math.log(ms / BASE_MS) / LOG_GROWTH - 1e-9);
}

export function upperBoundOf(bucket: number): number {
  return BASE_MS * GROWTH ** bucket;
}

export class Histogram {
  private readonly counts = new Map<number, number>();
  count = 0;
  sum = 0;
  min = Number.POSITIVE_INFINITY;
  max = Number.NEGATIVE_INFINITY;

  static from(json: HistogramJson): Histogram {
    const h = new Histogram();
    h.merge(json);
    return h;
  }

  record(ms: number): void {
    if (!Number.isFinite(ms)) return;
    const value = Math.max(0, ms);
    const bucket = bucketOf(value);
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + 1);
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }

  merge(other: Histogram | HistogramJson): void {
    if (other.count === 0) return;
    const buckets = other instanceof Histogram ? other.counts.entries() : other.buckets;
    for (const [bucket, n] of buckets) this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + n);
    this.count += other.count;
    this.sum += other.sum;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
  }

  /** The value at percentile `p` (0–100), nearest rank; NaN when empty. */
  percentile(p: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.min(this.count, Math.max(1, Math.ceil((p / 100) * this.count)));
    let seen = 0;
    for (const bucket of [...this.counts.keys()].sort((a, b) => a - b)) {
      seen += this.counts.get(bucket) ?? 0;
      if (seen >= rank) return Math.min(this.max, Math.max(this.min, upperBoundOf(bucket)));
    }
    return this.max;
  }

  stats(): LatencyStats {
    return {
      count: this.count,
      mean: this.count === 0 ? Number.NaN : this.sum / this.count,
      p50: this.percentile(50),
      p95: this.percentile(95),
      p99: this.percentile(99),
      max: this.count === 0 ? Number.NaN : this.max,
    };
  }

  /**
   * Counts regrouped into `bins` log-spaced bins between `range` (default: this histogram's min
   * and max), for a chart: each bin is `{ from, to, count }` in ms.
   */
  bins(bins: number, range?: { min: number; max: number }): { from: number; to: number; count: number }[] {
    if (this.count === 0) return [];
    const lo = Math.max(BASE_MS, range?.min ?? this.min);
    const hi = Math.max(lo * 1.0001, range?.max ?? this.max);
    const ratio = (hi / lo) ** (1 / bins);
    const out = Array.from({ length: bins }, (_, i) => ({
      from: lo * ratio ** i,
      to: lo * ratio ** (i + 1),
      count: 0,
    }));
    for (const [bucket, n] of this.counts) {
      const value = Math.min(hi, Math.max(lo, upperBoundOf(bucket)));
      const i = Math.min(bins - 1, Math.max(0, Math.floor(Math.log(value / lo) / Math.log(ratio))));
      (out[i] as { count: number }).count += n;
    }
    return out;
  }

  toJSON(): HistogramJson {
    return {
      buckets: [...this.counts.entries()],
      count: this.count,
      sum: this.sum,
      min: this.min,
      max: this.max,
    };
  }
}

/** Exact nearest-rank percentile of sorted samples (for tests and small sample sets). */
export function exactPercentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] as number;
}
