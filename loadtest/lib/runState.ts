import type { ChatSamples, FromWorker, WorkerReady } from "../worker/messages.js";
import type { LedgerResult } from "./ledger.js";
import { Aggregator, type Phase } from "./metrics.js";
import { ProcessWatch } from "./proc.js";
import { progressLine } from "./progress.js";

/** The run's state on the main thread: what workers reported, and the phase timeline. */
export class Run {
  readonly agg: Aggregator;
  readonly ready = new Map<number, WorkerReady>();
  readonly ledgers = new Map<number, LedgerResult>();
  /** Every worker's acks and deliveries, with `collectSamples`. */
  readonly chatSamples: ChatSamples = { acks: [], deliveries: [] };
  /** Phase changes in time order (the drain's start is known, and set, ahead of time). */
  readonly phases: { phase: Phase; at: number }[] = [];
  /** Per second of the run: target RSS and CPU, generator CPU. */
  readonly samples = new Map<number, { rss?: number; cpu?: number; gen?: number }>();
  readonly generator = new ProcessWatch(process.pid);
  readonly server: ProcessWatch | undefined;
  fatal: string | undefined;
  private wake: () => void = () => undefined;

  constructor(
    readonly startedAt: number,
    serverPid: number | undefined,
  ) {
    this.agg = new Aggregator(startedAt);
    this.server = serverPid !== undefined ? new ProcessWatch(serverPid) : undefined;
    this.phase("setup", startedAt);
  }

  phase(phase: Phase, at = Date.now()): void {
    this.phases.push({ phase, at });
  }

  /** An abort: the traffic (if it started) ends now rather than when planned. */
  endTraffic(at: number): void {
    const drain = this.phases.find((p) => p.phase === "drain");
    if (drain && drain.at > at) drain.at = at;
  }

  /** The phase at wall-clock `t`, and since when. */
  phaseAtTime(t: number): { phase: Phase; at: number } {
    let current = this.phases[0] as { phase: Phase; at: number };
    for (const p of this.phases) if (p.at <= t) current = p;
    return current;
  }

  /** The phase of the run's second `second` (as numbered by the Aggregator). */
  phaseAt(second: number): Phase {
    return this.phaseAtTime((Math.floor(this.startedAt / 1000) + second) * 1000 - 500).phase;
  }

  onMessage(worker: number, m: FromWorker, log: (l: string) => void): void {
    if (m.type === "tick") this.agg.add(m.delta);
    else if (m.type === "ready") this.ready.set(worker, m);
    else if (m.type === "done") {
      this.agg.add(m.delta);
      this.ledgers.set(worker, m.ledger);
      if (m.samples) {
        for (const s of m.samples.acks) this.chatSamples.acks.push(s);
        for (const s of m.samples.deliveries) this.chatSamples.deliveries.push(s);
      }
    } else if (m.type === "fatal") this.fatal ??= `worker ${worker}: ${m.message}`;
    else log(m.line);
    this.wake();
  }

  /** Resolves once `done()` holds; rejects on a worker's crash or after `timeoutMs`. */
  async until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (this.fatal) throw new Error(this.fatal);
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 250);
      });
    }
  }

  /** Samples the target and the generator; returns the progress line. */
  sample(users: number): string {
    const now = Date.now();
    const server = this.server?.sample(now);
    this.generator.sample(now);
    this.samples.set(this.agg.secondOf(now), {
      ...(server ? { rss: server.rssMiB, cpu: this.server?.lastCpuPercent() } : {}),
      gen: this.generator.lastCpuPercent(),
    });
    const { phase, at } = this.phaseAtTime(now);
    return progressLine(phase, (now - at) / 1000, users, this.agg, now);
  }
}

/** Samples once a second, just after the workers' deltas for that second arrived. */
export function startMonitor(
  run: Run,
  users: number,
  progress: ((line: string) => void) | undefined,
): () => void {
  const tick = () => {
    const line = run.sample(users);
    progress?.(line);
  };
  let interval: ReturnType<typeof setInterval> | undefined;
  const first = setTimeout(
    () => {
      interval = setInterval(tick, 1000);
      tick();
    },
    1300 - (Date.now() % 1000),
  );
  tick();
  return () => {
    clearTimeout(first);
    clearInterval(interval);
    run.sample(users);
  };
}
