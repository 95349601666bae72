import { ActivationState, decodeRecord } from "../../server/actors/runtime/ActivationState.js";
import type { AnyActorDefinition } from "../../server/actors/runtime/types.js";
import type { TableStore } from "../../server/persistence/ports.js";
import {
  ACTOR_TABLE,
  type ActorJournal,
  type HeadState,
} from "../../server/persistence/stores/ActorJournal.js";
import { type CounterState, counterActor } from "./counterActor.js";
import type { Json } from "./http.js";

/**
 * Client-side ledger for fault tests on the `counter` test actor: every `add 1` gets its own
 * idempotency key, and the ledger records which keys were acknowledged and with which reply.
 * Because every add is 1, an actor that applied each key exactly once has `total` equal to the
 * number of keys it applied, and the replies (the running total) are exactly 1…total.
 */
export interface KeyOutcome {
  /** The reply's running total, once acknowledged. */
  total?: number;
  ackedAt?: number;
  /** When the attempt that got the acknowledgement was sent. */
  ackSentAt?: number;
  attempts: number;
}

export class CounterLedger {
  readonly keys = new Map<string, KeyOutcome>();
  /** Coded failures seen by the writers (server codes, or CLIENT_* for transport failures). */
  readonly codes = new Map<string, number>();

  acked(): [string, number][] {
    return [...this.keys].flatMap(([k, o]) =>
      o.total === undefined ? [] : [[k, o.total] as [string, number]],
    );
  }

  /**
   * Acknowledged answers to attempts sent before `at`: what the process killed at `at` answered,
   * i.e. the operations that crash must not lose (call it once those requests have settled).
   */
  ackedBefore(at: number): [string, number][] {
    return [...this.keys].flatMap(([k, o]) =>
      o.total !== undefined && (o.ackSentAt as number) < at ? [[k, o.total] as [string, number]] : [],
    );
  }

  /**
   * First acknowledgement of an attempt sent at or after `at` (an answer already on its way when
   * a fault hit proves nothing about recovery).
   */
  firstAckAfter(at: number): number | undefined {
    let first: number | undefined;
    for (const o of this.keys.values()) {
      if (o.ackedAt === undefined || (o.ackSentAt as number) < at) continue;
      if (first === undefined || o.ackedAt < first) first = o.ackedAt;
    }
    return first;
  }

  unacked(): string[] {
    return [...this.keys].filter(([, o]) => o.total === undefined).map(([k]) => k);
  }

  codeSummary(): Record<string, number> {
    return Object.fromEntries([...this.codes].sort());
  }

  count(code: string): void {
    this.codes.set(code, (this.codes.get(code) ?? 0) + 1);
  }
}

/** `POST /test/call` on one node; a transport failure becomes a coded, retryable answer. */
export async function callCounter(
  baseUrl: string,
  id: string,
  command: unknown,
  key?: string,
  timeoutMs = 15_000,
): Promise<Json> {
  try {
    const res = await fetch(`${baseUrl}/test/call`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ kind: "counter", id, command, ...(key ? { key } : {}) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return await res.json();
  } catch (err) {
    const timedOut = (err as Error).name === "TimeoutError";
    return {
      ok: false,
      error: { code: timedOut ? "CLIENT_TIMEOUT" : "CLIENT_NETWORK", message: String(err), retryable: true },
    };
  }
}

export interface WriterOptions {
  readonly ledger: CounterLedger;
  /** Actor id the adds go to (one per key, chosen round-robin when several). */
  readonly ids: readonly string[];
  readonly writers: number;
  /** Bound on the keys used (each actor remembers its last 1,024 keys). */
  readonly maxKeys: number;
  /** Node to send to now; undefined pauses (e.g. while a node restarts). */
  readonly target: () => string | undefined;
  /** No new key once this returns true; keys already started are still retried. */
  readonly stop: () => boolean;
  /** Hard bound: a key not acknowledged by then stays unacknowledged. */
  readonly deadline: number;
}

/**
 * Concurrent clients that each add 1 with a fresh key and retry that key (same key, so never
 * applied twice) until it is acknowledged or the deadline passes, as the SDK does with a `cid`.
 */
export async function runCounterWriters(o: WriterOptions): Promise<void> {
  let next = 0;
  const loop = async () => {
    while (!o.stop() && next < o.maxKeys && Date.now() < o.deadline) {
      const n = next++;
      const id = o.ids[n % o.ids.length] as string;
      const key = `${id}~${n}`;
      const outcome: KeyOutcome = { attempts: 0 };
      o.ledger.keys.set(key, outcome);
      while (Date.now() < o.deadline) {
        const node = o.target();
        if (!node) {
          await new Promise((r) => setTimeout(r, 50));
          continue;
        }
        outcome.attempts++;
        const sentAt = Date.now();
        const answer = await callCounter(node, id, { type: "add", amount: 1 }, key);
        if (answer.ok) {
          outcome.total = answer.value.total as number;
          outcome.ackedAt = Date.now();
          outcome.ackSentAt = sentAt;
          break;
        }
        o.ledger.count(answer.error?.code ?? "UNKNOWN");
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  await Promise.all(Array.from({ length: o.writers }, loop));
}

/** Everything storage holds about one counter, read directly (no node involved). */
export interface CounterInspection {
  readonly head: HeadState;
  /** Snapshot + log tail folded the way an activation does it. */
  readonly rebuilt: ActivationState;
  readonly state: CounterState;
  /** Every log row still stored (covered ones included until cleanup), ascending. */
  readonly rows: { seq: number; epoch: number }[];
}

export async function inspectCounter(
  journal: ActorJournal,
  tables: TableStore,
  id: string,
): Promise<CounterInspection> {
  const actorKey = `counter_${id}`;
  const stored = await journal.readHead(actorKey);
  if (!stored) throw new Error(`${actorKey} has no head`);
  // `read` checks that the log holds exactly the events between the snapshot and the head.
  const recovery = await journal.read(actorKey);
  if (!recovery) throw new Error(`${actorKey} vanished`);
  const rebuilt = new ActivationState(counterActor as AnyActorDefinition, id);
  if (recovery.snapshot) rebuilt.restore(recovery.snapshot.data);
  for (const event of recovery.events) rebuilt.apply(decodeRecord(event.data));
  const page = await tables.query(ACTOR_TABLE, actorKey, { prefix: "log-", limit: 10_000 });
  const rows = page.items.map((r) => ({ seq: Number(r.rowKey.slice(4)), epoch: Number(r.properties.epoch) }));
  return { head: stored.head, rebuilt, state: rebuilt.state as CounterState, rows };
}

/**
 * The invariants over one counter's durable state and the client ledger:
 * - every acknowledged key is in the remembered results, with the reply the client got (lost);
 * - no key counted twice: total = number of applied keys, replies exactly 1…total (duplicated);
 * - log rows carry non-decreasing epochs, none newer than the head's.
 * Returns the counts and a list of human-readable problems (empty when all hold).
 */
export function checkCounter(
  inspection: CounterInspection,
  acked: readonly [string, number][],
): { lost: number; duplicated: number; problems: string[] } {
  const { rebuilt, state, head, rows } = inspection;
  const problems: string[] = [];
  let lost = 0;
  for (const [key, total] of acked) {
    const stored = rebuilt.recent.get(key) as { total: number } | undefined;
    if (stored?.total !== total) {
      lost++;
      if (problems.length < 10) problems.push(`acked ${key}=${total}, stored ${JSON.stringify(stored)}`);
    }
  }
  const replies = [...rebuilt.recent.values()]
    .map((r) => (r as { total: number }).total)
    .sort((a, b) => a - b);
  const expected = Array.from({ length: state.total }, (_, i) => i + 1);
  const duplicated = Math.max(0, state.total - rebuilt.recent.size);
  if (JSON.stringify(replies) !== JSON.stringify(expected)) {
    problems.push(`replies are not 1..${state.total}: ${replies.length} keys, total ${state.total}`);
  }
  for (let i = 1; i < rows.length; i++) {
    const [a, b] = [rows[i - 1], rows[i]] as [(typeof rows)[0], (typeof rows)[0]];
    if (b.epoch < a.epoch)
      problems.push(`log epoch went down: seq ${a.seq}@${a.epoch} → ${b.seq}@${b.epoch}`);
  }
  if (rows.some((r) => r.epoch > head.epoch))
    problems.push(`a log row is newer than head epoch ${head.epoch}`);
  return { lost, duplicated, problems };
}
