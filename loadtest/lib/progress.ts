import { fmt } from "../bench/stats.js";
import type { Aggregator, Phase } from "./metrics.js";

/** The live progress line: phase, connected, sent, acked, delivered, errors, current ack p99. */
export function progressLine(
  phase: Phase,
  phaseSeconds: number,
  users: number,
  agg: Aggregator,
  now: number,
): string {
  const t = agg.totals;
  const p99 = agg.recentAckP99(now);
  return `[${phase} ${fmt(Math.max(0, phaseSeconds), 0)}s] ${[
    `connected ${fmt(agg.connected(), 0)}/${fmt(users, 0)}`,
    `sent ${fmt(t.sent, 0)}`,
    `acked ${fmt(t.acked, 0)}`,
    `delivered ${fmt(t.delivered, 0)}`,
    `errors ${fmt(agg.errorCount(), 0)}`,
    `ack p99 ${Number.isFinite(p99) ? `${fmt(p99, 1)} ms` : "–"}`,
  ].join(" | ")}`;
}

/**
 * Where progress lines go: on a TTY one line rewritten in place, otherwise one plain line per
 * update. `end()` finishes the rewritten line so later output starts on a fresh one.
 */
export function progressWriter(stream: NodeJS.WriteStream = process.stderr): {
  write: (line: string) => void;
  end: () => void;
} {
  let open = false;
  return {
    write: (line) => {
      if (stream.isTTY) {
        stream.write(`\r\x1b[2K${line.slice(0, (stream.columns ?? 200) - 1)}`);
        open = true;
      } else stream.write(`${line}\n`);
    },
    end: () => {
      if (open) stream.write("\n");
      open = false;
    },
  };
}
