import { Histogram, type HistogramJson } from "./histogram.js";

/**
 * Counters and latency histograms. A worker thread records into a `Recorder` and ships a delta
 * every second (aligned to the wall-clock second, so deltas of all workers for one second land
 * together); the main thread folds them into an `Aggregator`: totals plus a per-second series.
 */

export type Phase = "setup" | "connecting" | "traffic" | "drain" | "history" | "closing";

export interface OpDelta {
  count: number;
  errors: number;
  latency: HistogramJson;
}

/** What one worker did during one interval. */
export interface IntervalDelta {
  readonly worker: number;
  /** `Date.now()` at the end of the interval. */
  readonly at: number;
  /** Sockets open now (a gauge, not a delta). */
  readonly connected: number;
  readonly connects: number;
  readonly sent: number;
  readonly acked: number;
  readonly delivered: number;
  readonly failed: number;
  /** Sends not attempted because too many were in flight (the target fell behind). */
  readonly skipped: number;
  readonly errors: Record<string, number>;
  readonly events: Record<string, number>;
  readonly ack: HistogramJson;
  readonly e2e: HistogramJson;
  readonly connect: HistogramJson;
  readonly ops: Record<string, OpDelta>;
}

const add = (map: Record<string, number>, key: string, n = 1) => {
  map[key] = (map[key] ?? 0) + n;
};

class Interval {
  connects = 0;
  sent = 0;
  acked = 0;
  delivered = 0;
  failed = 0;
  skipped = 0;
  errors: Record<string, number> = {};
  events: Record<string, number> = {};
  ack = new Histogram();
  e2e = new Histogram();
  connect = new Histogram();
  ops = new Map<string, { count: number; errors: number; latency: Histogram }>();
}

/** Worker side: cheap recording calls, `flush()` once a second. */
export class Recorder {
  connected = 0;
  private current = new Interval();

  constructor(private readonly worker: number) {}

  connectDone(ms: number): void {
    this.current.connects++;
    this.current.connect.record(ms);
    this.connected++;
  }

  sent(): void {
    this.current.sent++;
  }

  acked(ms: number): void {
    this.current.acked++;
    this.current.ack.record(ms);
  }

  delivered(ms: number): void {
    this.current.delivered++;
    this.current.e2e.record(ms);
  }

  /** A failed send (counts as an error under `what code`). */
  failed(what: string, code: string): void {
    this.current.failed++;
    this.error(what, code);
  }

  skipped(): void {
    this.current.skipped++;
  }

  error(what: string, code: string): void {
    add(this.current.errors, `${what} ${code}`);
  }

  event(type: string): void {
    add(this.current.events, type);
  }

  /** One operation of a kind other than chat.send (REST reads, likes, reads, typing, logins). */
  op(kind: string, ms: number, errorCode?: string): void {
    let op = this.current.ops.get(kind);
    if (!op) {
      op = { count: 0, errors: 0, latency: new Histogram() };
      this.current.ops.set(kind, op);
    }
    op.count++;
    if (errorCode === undefined) op.latency.record(ms);
    else {
      op.errors++;
      this.error(kind, errorCode);
    }
  }

  flush(at = Date.now()): IntervalDelta {
    const c = this.current;
    this.current = new Interval();
    return {
      worker: this.worker,
      at,
      connected: this.connected,
      connects: c.connects,
      sent: c.sent,
      acked: c.acked,
      delivered: c.delivered,
      failed: c.failed,
      skipped: c.skipped,
      errors: c.errors,
      events: c.events,
      ack: c.ack.toJSON(),
      e2e: c.e2e.toJSON(),
      connect: c.connect.toJSON(),
      ops: Object.fromEntries(
        [...c.ops].map(([k, v]) => [k, { count: v.count, errors: v.errors, latency: v.latency.toJSON() }]),
      ),
    };
  }
}

/** One second of the run, as charted. */
export interface SeriesPoint {
  /** Seconds since the run started. */
  readonly t: number;
  readonly phase: Phase;
  readonly connected: number;
  readonly connects: number;
  readonly sent: number;
  readonly acked: number;
  readonly delivered: number;
  readonly errors: number;
  readonly ackP50: number;
  readonly ackP99: number;
  readonly e2eP50: number;
  readonly e2eP99: number;
  readonly connectP99: number;
  serverRssMiB?: number;
  serverCpuPercent?: number;
  generatorCpuPercent?: number;
}

interface Bucket {
  connected: Map<number, number>;
  connects: number;
  sent: number;
  acked: number;
  delivered: number;
  errors: number;
  ack: Histogram;
  e2e: Histogram;
  connect: Histogram;
}

export interface Totals {
  connects: number;
  sent: number;
  acked: number;
  delivered: number;
  failed: number;
  skipped: number;
  errors: Record<string, number>;
  events: Record<string, number>;
  ack: Histogram;
  e2e: Histogram;
  connect: Histogram;
  ops: Map<string, { count: number; errors: number; latency: Histogram }>;
}

/** Main side: totals, a per-second series, and the latest figures for the progress line. */
export class Aggregator {
  readonly totals: Totals = {
    connects: 0,
    sent: 0,
    acked: 0,
    delivered: 0,
    failed: 0,
    skipped: 0,
    errors: {},
    events: {},
    ack: new Histogram(),
    e2e: new Histogram(),
    connect: new Histogram(),
    ops: new Map(),
  };
  private readonly buckets = new Map<number, Bucket>();
  private readonly connectedByWorker = new Map<number, number>();

  constructor(private readonly startedAt: number) {}

  add(d: IntervalDelta): void {
    const t = this.totals;
    t.connects += d.connects;
    t.sent += d.sent;
    t.acked += d.acked;
    t.delivered += d.delivered;
    t.failed += d.failed;
    t.skipped += d.skipped;
    for (const [k, n] of Object.entries(d.errors)) add(t.errors, k, n);
    for (const [k, n] of Object.entries(d.events)) add(t.events, k, n);
    t.ack.merge(d.ack);
    t.e2e.merge(d.e2e);
    t.connect.merge(d.connect);
    for (const [kind, op] of Object.entries(d.ops)) {
      const total = t.ops.get(kind) ?? { count: 0, errors: 0, latency: new Histogram() };
      total.count += op.count;
      total.errors += op.errors;
      total.latency.merge(op.latency);
      t.ops.set(kind, total);
    }
    this.connectedByWorker.set(d.worker, d.connected);
    const b = this.bucket(this.secondOf(d.at));
    b.connected.set(d.worker, d.connected);
    b.connects += d.connects;
    b.sent += d.sent;
    b.acked += d.acked;
    b.delivered += d.delivered;
    b.errors += Object.values(d.errors).reduce((s, n) => s + n, 0);
    b.ack.merge(d.ack);
    b.e2e.merge(d.e2e);
    b.connect.merge(d.connect);
  }

  connected(): number {
    let n = 0;
    for (const c of this.connectedByWorker.values()) n += c;
    return n;
  }

  errorCount(): number {
    return Object.values(this.totals.errors).reduce((s, n) => s + n, 0);
  }

  /** p99 of the ack latency over the last `seconds` flushed seconds (NaN when none). */
  recentAckP99(now = Date.now(), seconds = 2): number {
    const h = new Histogram();
    const last = this.secondOf(now);
    for (let s = last - seconds + 1; s <= last; s++) {
      const b = this.buckets.get(s);
      if (b) h.merge(b.ack);
    }
    return h.percentile(99);
  }

  /** Per-second series, each second labelled with the phase `phaseAt` gives for it. */
  series(phaseAt: (second: number) => Phase): SeriesPoint[] {
    const seconds = [...this.buckets.keys()].sort((a, b) => a - b);
    // A worker that sent nothing for a second still has its sockets: carry its last gauge.
    const byWorker = new Map<number, number>();
    return seconds.map((s) => {
      const b = this.buckets.get(s) as Bucket;
      for (const [worker, n] of b.connected) byWorker.set(worker, n);
      const connected = [...byWorker.values()].reduce((x, y) => x + y, 0);
      return {
        t: s,
        phase: phaseAt(s),
        connected,
        connects: b.connects,
        sent: b.sent,
        acked: b.acked,
        delivered: b.delivered,
        errors: b.errors,
        ackP50: b.ack.percentile(50),
        ackP99: b.ack.percentile(99),
        e2eP50: b.e2e.percentile(50),
        e2eP99: b.e2e.percentile(99),
        connectP99: b.connect.percentile(99),
      };
    });
  }

  /**
   * Seconds since the start of the run. Deltas are flushed just after each wall-clock second, so
   * rounding puts every worker's delta of one second in the same bucket.
   */
  secondOf(at: number): number {
    return Math.max(0, Math.round(at / 1000) - Math.floor(this.startedAt / 1000));
  }

  private bucket(second: number): Bucket {
    let b = this.buckets.get(second);
    if (!b) {
      b = {
        connected: new Map(),
        connects: 0,
        sent: 0,
        acked: 0,
        delivered: 0,
        errors: 0,
        ack: new Histogram(),
        e2e: new Histogram(),
        connect: new Histogram(),
      };
      this.buckets.set(second, b);
    }
    return b;
  }
}
