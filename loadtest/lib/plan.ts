import type { Scenario } from "./options.js";

/**
 * How users are split into chats and chats into workers. A chat never spans two workers, so
 * each worker's ledger sees both ends of its messages, on one clock (end-to-end latency is
 * measured with `performance.now()` of that thread).
 */

export interface WorkerPlan {
  readonly worker: number;
  /** This worker's users are `first … first + count - 1` of the run's users. */
  readonly first: number;
  readonly count: number;
  /** Chats, as indexes into this worker's users. */
  readonly units: readonly (readonly number[])[];
}

const unitSize = (scenario: Scenario, groupSize: number): number =>
  scenario === "dm" || scenario === "mixed" ? 2 : scenario === "group" ? groupSize : 0;

/** `users` users over at most `workers` workers (0 is one in-process worker). */
export function planWorkers(
  scenario: Scenario,
  users: number,
  groupSize: number,
  workers: number,
): WorkerPlan[] {
  const wanted = Math.max(1, workers);
  if (scenario === "login-storm")
    return Array.from({ length: wanted }, (_, w) => ({ worker: w, first: 0, count: 0, units: [] }));
  const size = unitSize(scenario, groupSize);
  if (size === 0) {
    const w = Math.max(1, Math.min(wanted, users));
    return Array.from({ length: w }, (_, i) => {
      const first = Math.floor((i * users) / w);
      return { worker: i, first, count: Math.floor(((i + 1) * users) / w) - first, units: [] };
    });
  }
  // Whole chats of `size`; a last, smaller group still counts if it has two members.
  const chats: [number, number][] = [];
  for (let start = 0; start < users; start += size) {
    const end = Math.min(users, start + size);
    if (end - start >= 2) chats.push([start, end]);
  }
  const w = Math.max(1, Math.min(wanted, chats.length));
  const plans: WorkerPlan[] = [];
  for (let i = 0; i < w; i++) {
    const mine = chats.slice(Math.floor((i * chats.length) / w), Math.floor(((i + 1) * chats.length) / w));
    const first = mine[0]?.[0] ?? 0;
    // The last worker also takes users left out of every chat (they connect and idle).
    const end = i === w - 1 ? users : (mine.at(-1)?.[1] ?? first);
    plans.push({
      worker: i,
      first,
      count: end - first,
      units: mine.map(([s, e]) => Array.from({ length: e - s }, (_, k) => s - first + k)),
    });
  }
  return plans;
}

/** `plan`'s part of `total`, in proportion to its chats (or users); whole parts round up. */
export function share(total: number, plans: readonly WorkerPlan[], plan: WorkerPlan, whole = false): number {
  const weight = (p: WorkerPlan) => p.units.length || p.count || 1;
  const all = plans.reduce((s, p) => s + weight(p), 0);
  const part = (total * weight(plan)) / all;
  return whole ? Math.ceil(part) : part;
}
