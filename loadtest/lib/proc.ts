import { readFileSync } from "node:fs";

/**
 * RSS and CPU of a local process from /proc (Linux), for `--server-pid`, and of the generator
 * itself. Parsing is separate from reading so it is unit-tested on fixed text.
 */

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** utime + stime of a `/proc/<pid>/stat` line, in seconds. */
export function cpuSecondsOfStat(stat: string): number {
  // The command name (field 2) is in parentheses and may contain spaces: parse after it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After the name, field 3 (state) is index 0; utime (14) and stime (15) are indexes 11, 12.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** VmRSS of a `/proc/<pid>/status` text, in MiB. */
export function rssMiBOfStatus(status: string): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return Number(m?.[1] ?? Number.NaN) / 1024;
}

export interface ProcessSample {
  readonly at: number;
  readonly rssMiB: number;
  readonly cpuSeconds: number;
}

export function sampleProcess(pid: number, now = Date.now()): ProcessSample | undefined {
  try {
    return {
      at: now,
      rssMiB: rssMiBOfStatus(readFileSync(`/proc/${pid}/status`, "utf8")),
      cpuSeconds: cpuSecondsOfStat(readFileSync(`/proc/${pid}/stat`, "utf8")),
    };
  } catch {
    return undefined; // gone, or not Linux
  }
}

/** CPU use between two samples, in percent of one core. */
export function cpuPercent(a: ProcessSample, b: ProcessSample): number {
  const wall = (b.at - a.at) / 1000;
  return wall > 0 ? ((b.cpuSeconds - a.cpuSeconds) / wall) * 100 : Number.NaN;
}

export interface ProcessStats {
  readonly pid: number;
  readonly rssStartMiB: number;
  readonly rssPeakMiB: number;
  readonly rssEndMiB: number;
  /** Mean CPU during the traffic phase, % of one core. */
  readonly cpuTrafficPercent: number;
  /** Highest one-second CPU, % of one core. */
  readonly cpuPeakPercent: number;
  /** CPU seconds over the whole run. */
  readonly cpuSeconds: number;
}

/** Samples one process once a second; summarises RSS and CPU over the run and a window. */
export class ProcessWatch {
  readonly samples: ProcessSample[] = [];

  constructor(readonly pid: number) {}

  sample(now = Date.now()): ProcessSample | undefined {
    const s = sampleProcess(this.pid, now);
    if (s) this.samples.push(s);
    return s;
  }

  /** CPU % of the second ending with the latest sample. */
  lastCpuPercent(): number {
    const [a, b] = this.samples.slice(-2);
    return a && b ? cpuPercent(a, b) : Number.NaN;
  }

  stats(window: { from: number; to: number }): ProcessStats | undefined {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last) return undefined;
    const inWindow = this.samples.filter((s) => s.at >= window.from && s.at <= window.to);
    const w0 = inWindow[0];
    const w1 = inWindow.at(-1);
    let peak = 0;
    for (let i = 1; i < this.samples.length; i++)
      peak = Math.max(
        peak,
        cpuPercent(this.samples[i - 1] as ProcessSample, this.samples[i] as ProcessSample),
      );
    return {
      pid: this.pid,
      rssStartMiB: first.rssMiB,
      rssPeakMiB: Math.max(...this.samples.map((s) => s.rssMiB)),
      rssEndMiB: last.rssMiB,
      cpuTrafficPercent: w0 && w1 && w1 !== w0 ? cpuPercent(w0, w1) : Number.NaN,
      cpuPeakPercent: peak,
      cpuSeconds: last.cpuSeconds - first.cpuSeconds,
    };
  }
}
