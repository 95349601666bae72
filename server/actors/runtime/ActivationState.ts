import type { ActorRef, AnyActorDefinition } from "./types.js";

/** One entry of an actor's outbox: a command for another actor, numbered per sender. */
export interface OutboxEntry {
  readonly n: number;
  readonly to: ActorRef;
  readonly command: unknown;
}

/**
 * What one turn persisted. Replaying every record after the snapshot rebuilds exactly the state,
 * the dedup tables and the outbox of the activation that wrote it.
 */
export interface TurnRecord {
  /** Domain events. */
  readonly e?: readonly unknown[];
  /** External idempotency key and the reply it got. */
  readonly k?: string;
  readonly r?: unknown;
  /** Sender room id and its outbox counter (actor-to-actor dedup). */
  readonly f?: string;
  readonly c?: number;
  /** Outbox entries added. */
  readonly o?: readonly OutboxEntry[];
  /** Outbox entries confirmed delivered since the previous record. */
  readonly d?: readonly number[];
  /** Reminders set (name → due time) and cancelled (or fired). */
  readonly rs?: readonly [string, number][];
  readonly rx?: readonly string[];
}

interface SnapshotV1 {
  readonly v: 1;
  readonly state: unknown;
  readonly recent: [string, unknown][];
  readonly hw: [string, number][];
  readonly outbox: OutboxEntry[];
  readonly counter: number;
  readonly reminders?: [string, number][];
}

/** Bound on remembered external results per actor (client retries come within seconds). */
export const RECENT_RESULTS = 1024;

/**
 * The durable part of an activation besides the domain state: recent external results (so a
 * re-sent key returns the first answer), the highest outbox counter applied from each sender
 * (so an actor-to-actor delivery is applied once however often it is retried — deliveries
 * from one sender to one receiver are strictly in order), and this actor's own outbox.
 */
export class ActivationState {
  state: unknown;
  readonly recent = new Map<string, unknown>();
  readonly highWater = new Map<string, number>();
  readonly outbox = new Map<number, OutboxEntry>();
  readonly reminders = new Map<string, number>();
  counter = 0;

  constructor(
    private readonly definition: AnyActorDefinition,
    id: string,
  ) {
    this.state = definition.initialState(id);
  }

  remember(key: string, reply: unknown): void {
    this.recent.delete(key);
    // A copy: actors may evolve state in place, and a reply must not change after the fact.
    this.recent.set(key, reply === undefined ? reply : structuredClone(reply));
    if (this.recent.size > RECENT_RESULTS) {
      const oldest = this.recent.keys().next().value as string;
      this.recent.delete(oldest);
    }
  }

  /** Applies one persisted record; used live (after `decide`) and on replay alike. */
  apply(record: TurnRecord): void {
    for (const event of record.e ?? []) this.state = this.definition.evolve(this.state, event);
    if (record.k !== undefined) this.remember(record.k, record.r);
    if (record.f !== undefined && record.c !== undefined) {
      this.highWater.set(record.f, Math.max(record.c, this.highWater.get(record.f) ?? 0));
    }
    for (const entry of record.o ?? []) {
      this.outbox.set(entry.n, entry);
      this.counter = Math.max(this.counter, entry.n);
    }
    for (const n of record.d ?? []) this.outbox.delete(n);
    for (const name of record.rx ?? []) this.reminders.delete(name);
    for (const [name, at] of record.rs ?? []) this.reminders.set(name, at);
  }

  /** Earliest reminder due time, if any. */
  nextReminderAt(): number | undefined {
    let earliest: number | undefined;
    for (const at of this.reminders.values()) if (earliest === undefined || at < earliest) earliest = at;
    return earliest;
  }

  toSnapshot(): Buffer {
    const snapshot: SnapshotV1 = {
      v: 1,
      state: this.state,
      recent: [...this.recent],
      hw: [...this.highWater],
      outbox: [...this.outbox.values()],
      counter: this.counter,
      reminders: [...this.reminders],
    };
    return Buffer.from(JSON.stringify(snapshot));
  }

  restore(data: Buffer): void {
    const snapshot = JSON.parse(data.toString("utf8")) as SnapshotV1;
    if (snapshot.v !== 1) throw new Error(`unknown snapshot version ${String(snapshot.v)}`);
    this.state = snapshot.state;
    this.recent.clear();
    for (const [k, r] of snapshot.recent) this.recent.set(k, r);
    for (const [f, c] of snapshot.hw) this.highWater.set(f, c);
    for (const entry of snapshot.outbox) this.outbox.set(entry.n, entry);
    this.counter = snapshot.counter;
    for (const [name, at] of snapshot.reminders ?? []) this.reminders.set(name, at);
  }
}

export function encodeRecord(record: TurnRecord): Buffer {
  return Buffer.from(JSON.stringify(record));
}

export function decodeRecord(data: Buffer): TurnRecord {
  return JSON.parse(data.toString("utf8")) as TurnRecord;
}
