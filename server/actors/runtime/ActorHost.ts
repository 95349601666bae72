import { ErrorCode, RETRYABLE } from "../../../protocol/errors.js";
import { ConcurrencyError, StorageLimitError } from "../../persistence/errors.js";
import type { ActorRecovery } from "../../persistence/stores/ActorJournal.js";
import type { JournalWriter } from "../../persistence/stores/JournalWriter.js";
import {
  ActivationState,
  decodeRecord,
  encodeRecord,
  type OutboxEntry,
  type TurnRecord,
} from "./ActivationState.js";
import { roomIdOf } from "./ActorRef.js";
import { OutboxDelivery } from "./OutboxDelivery.js";
import type {
  ActorRef,
  AnyActorDefinition,
  CallEnvelope,
  CallResult,
  Decision,
  Publication,
} from "./types.js";

/** What an activation needs from the node it runs on. */
export interface HostPorts {
  /** Claims the actor in storage (and the cluster lease) and returns its durable state. */
  open(
    actorKey: string,
  ): Promise<{ recovery: ActorRecovery; writer: JournalWriter; release: () => Promise<void> }>;
  /** Delivers an outbox entry to another actor (through the runtime's `call`). */
  deliver(envelope: CallEnvelope): Promise<CallResult>;
  publish(publication: Publication): void;
  /** Records in the cluster-wide reminder index that this actor must be woken at `at`. */
  scheduleWake(actorKey: string, at: number): Promise<void>;
  now(): number;
  /** Called once when the activation can no longer serve (superseded or broken): dispose it. */
  onStopped(reason: Error): void;
  onTurn?(kind: string, ms: number, persisted: boolean): void;
}

type Phase = "activating" | "active" | "deactivating" | "stopped";

/** Reserved reminder that keeps an undelivered outbox alive across node deaths. */
export const OUTBOX_REMINDER = "__outbox";
const OUTBOX_WAKE_MS = 15_000;
const TRANSIENT_RESULTS = 256;
/** Keys the runtime generates for callers that gave none; their answers are not remembered. */
export const AUTO_KEY_PREFIX = "auto:";

export function failure(code: string, message: string, retryable: boolean, details?: unknown): CallResult {
  return { ok: false, error: { code, message, retryable, ...(details !== undefined ? { details } : {}) } };
}

const unavailable = (why: string) => failure(ErrorCode.ACTOR_UNAVAILABLE, why, true);

/** Turns since the last snapshot below which age alone does not trigger one (see snapshotIfStale). */
const MIN_TURNS_FOR_AGE_SNAPSHOT = 10;

/**
 * One activation of one actor: the mailbox, the turns, the output gate and the outbox.
 *
 * Turns run synchronously (`decide` + `evolve`), so no two commands ever interleave their reads
 * and writes of state. A turn's record is handed to the journal writer inside the turn (which
 * fixes its sequence number); its reply is released only once that record — and every earlier
 * one — is durable. Commands keep being decided while earlier records are in flight, which is
 * what lets the writer group-commit them.
 */
export class ActorHost {
  readonly roomId: string;
  private phase: Phase = "activating";
  private readonly ready: Promise<void>;
  private activation!: ActivationState;
  private writer!: JournalWriter;
  private release: () => Promise<void> = async () => undefined;
  /** Resolves when every record handed to the writer so far is durable. */
  private lastDurable: Promise<void> = Promise.resolve();
  private turnsSinceSnapshot = 0;
  private deliveredSinceRecord: number[] = [];
  private readonly outbox: OutboxDelivery;
  private inFlight = 0;
  private lastActivity: number;
  private lastSnapshotAt: number;
  /**
   * This actor's share of the snapshot age, 0.75–1.25: actors activated together (a ramp, a
   * restart) would otherwise all come due in the same sweep and snapshot at once.
   */
  private readonly snapshotAgeFactor = 0.75 + Math.random() * 0.5;
  /** Due time last written to the reminder index (undefined: nothing written yet). */
  private registeredWake: number | undefined;
  /** Highest outbox number whose record is durable: only those entries may be delivered. */
  private deliverableUpTo = 0;
  private deactivation: Promise<void> | undefined;
  /** Recent answers that were not persisted, by caller-chosen key (this activation only). */
  private readonly transientResults = new Map<string, CallResult>();

  constructor(
    readonly ref: ActorRef,
    private readonly definition: AnyActorDefinition,
    private readonly ports: HostPorts,
  ) {
    this.roomId = roomIdOf(ref);
    this.lastActivity = ports.now();
    this.lastSnapshotAt = this.lastActivity;
    this.outbox = new OutboxDelivery({
      self: this.ref,
      pending: () => this.activation.outbox.values(),
      deliverableUpTo: () => this.deliverableUpTo,
      isActive: () => this.phase === "active",
      deliver: (envelope) => this.ports.deliver(envelope),
      delivered: (n) => {
        this.activation.outbox.delete(n);
        this.deliveredSinceRecord.push(n);
      },
    });
    this.ready = this.activate();
    // Activation failures surface to each caller through `ready`; never as an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  get isActive(): boolean {
    return this.phase === "active";
  }

  /** Resolves when activated; rejects if activation failed. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /** Current domain state (read-only view for the room adapter and tests). */
  get state(): unknown {
    return this.activation?.state;
  }

  get epoch(): number {
    return this.writer?.epoch ?? 0;
  }

  get pendingOutbox(): number {
    return this.activation?.outbox.size ?? 0;
  }

  /** No turn in flight, nothing to deliver or write, and quiet for `idleMs`. */
  isIdle(now: number, idleMs: number): boolean {
    return (
      this.phase === "active" &&
      this.inFlight === 0 &&
      this.activation.outbox.size === 0 &&
      this.writer.backlog === 0 &&
      this.activation.nextReminderAt() === this.registeredWake &&
      now - this.lastActivity >= idleMs
    );
  }

  /** Marks activity that is not a call (a socket message, a join) to postpone idle deactivation. */
  touch(): void {
    this.lastActivity = this.ports.now();
  }

  /** Handles one call: dedup, validate, decide, persist, and answer after the output gate. */
  async receive(envelope: CallEnvelope): Promise<CallResult> {
    this.touch();
    this.inFlight++;
    const started = performance.now();
    try {
      try {
        await this.ready;
      } catch (err) {
        return unavailable(`activation failed: ${(err as Error).message}`);
      }
      if (this.phase !== "active") return unavailable(`actor ${this.roomId} is ${this.phase}`);
      const { result, persisted } = this.turn(envelope);
      const gate = this.lastDurable;
      try {
        await gate;
      } catch {
        return unavailable(`actor ${this.roomId} could not persist; retry`);
      }
      if (persisted) await this.ensureWakeRegistered();
      this.ports.onTurn?.(this.ref.kind, performance.now() - started, persisted);
      return result;
    } finally {
      this.inFlight--;
      this.touch();
    }
  }

  /** The synchronous part of a call: everything between reading and writing state. */
  private turn(envelope: CallEnvelope): { result: CallResult; persisted: boolean } {
    const activation = this.activation;
    const from = envelope.from ? roomIdOf(envelope.from) : undefined;
    if (from === undefined && activation.recent.has(envelope.key)) {
      return { result: { ok: true, value: activation.recent.get(envelope.key) }, persisted: false };
    }
    const transient = from === undefined ? this.transientResults.get(envelope.key) : undefined;
    if (transient) return { result: transient, persisted: false };
    const outcome = this.decideAndCommit(envelope, from);
    // A retryable refusal ("not ready yet") must not stick to the key: the retry has to run again.
    const retryable = !outcome.result.ok && outcome.result.error.retryable;
    if (from === undefined && !outcome.persisted && !retryable && !envelope.key.startsWith(AUTO_KEY_PREFIX)) {
      this.rememberTransient(envelope.key, outcome.result);
    }
    return outcome;
  }

  /**
   * Answers that were not persisted (rejections, reads) for caller-chosen keys are remembered in
   * memory, so a retry during this activation gets the same answer (DESIGN guarantee 2) without
   * a write per rejection.
   */
  private rememberTransient(key: string, result: CallResult): void {
    this.transientResults.delete(key);
    this.transientResults.set(key, result);
    if (this.transientResults.size > TRANSIENT_RESULTS) {
      this.transientResults.delete(this.transientResults.keys().next().value as string);
    }
  }

  private decideAndCommit(
    envelope: CallEnvelope,
    from: string | undefined,
  ): { result: CallResult; persisted: boolean } {
    const activation = this.activation;
    const counter = from !== undefined ? Number(envelope.key) : undefined;
    if (from !== undefined && (counter === undefined || !Number.isSafeInteger(counter))) {
      return {
        result: failure(ErrorCode.BAD_REQUEST, "actor calls need a numeric key", false),
        persisted: false,
      };
    }
    if (from !== undefined && counter !== undefined && counter <= (activation.highWater.get(from) ?? 0)) {
      return { result: { ok: true, value: null }, persisted: false };
    }
    const parsed = this.definition.commands.safeParse(envelope.command);
    if (!parsed.success) {
      const details = parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
      return {
        result: failure(ErrorCode.VALIDATION_FAILED, "invalid command", false, details),
        persisted: false,
      };
    }
    let decision: ReturnType<AnyActorDefinition["decide"]>;
    try {
      decision = this.definition.decide(activation.state as never, parsed.data, {
        now: this.ports.now(),
        self: this.ref,
        from: envelope.from,
      });
    } catch (err) {
      // A bug in actor logic: the state is untouched (decide is pure), the caller gets a code.
      return {
        result: failure(ErrorCode.INTERNAL, `actor logic failed: ${(err as Error).message}`, false),
        persisted: false,
      };
    }
    if (!decision.ok) {
      const retryable = RETRYABLE.has(decision.code as ErrorCode);
      return {
        result: failure(decision.code, decision.message, retryable, decision.details),
        persisted: false,
      };
    }
    const origin =
      from === undefined ? { k: envelope.key, r: decision.reply } : { f: from, c: counter as number };
    const committed = this.commit(decision, origin);
    if (committed !== true && committed !== false) return { result: committed, persisted: false };
    return { result: { ok: true, value: decision.reply }, persisted: committed };
  }

  /**
   * Turns an accepted decision into one record (events, dedup entry, outbox, reminders), hands it
   * to the writer and only then applies it to the state: a record the writer refuses (too large,
   * superseded) never becomes state that a later turn could observe. Returns false when there was
   * nothing to persist, or the refusal to answer with.
   */
  private commit(
    decision: Extract<Decision<unknown, unknown>, { ok: true }>,
    extra: Partial<TurnRecord>,
  ): boolean | CallResult {
    const activation = this.activation;
    const now = this.ports.now();
    const outbox: OutboxEntry[] = (decision.send ?? []).map((s, i) => ({
      n: activation.counter + 1 + i,
      to: s.to,
      command: s.command,
    }));
    const events = decision.events ?? [];
    const set: [string, number][] = (decision.reminders?.set ?? []).map((r) => [r.name, r.at]);
    // Outbox liveness: if this node dies before delivering, the reminder wakes the actor elsewhere.
    const outboxWake = activation.reminders.get(OUTBOX_REMINDER);
    if (outbox.length > 0 && (outboxWake === undefined || outboxWake > now + OUTBOX_WAKE_MS)) {
      set.push([OUTBOX_REMINDER, now + OUTBOX_WAKE_MS]);
    }
    const cancel = [...(decision.reminders?.cancel ?? []), ...(extra.rx ?? [])];
    const hasEffects = events.length > 0 || outbox.length > 0 || set.length > 0 || cancel.length > 0;
    if (!hasEffects) return false;

    const delivered = this.deliveredSinceRecord;
    const record: TurnRecord = {
      ...extra,
      ...(events.length > 0 ? { e: events } : {}),
      ...(outbox.length > 0 ? { o: outbox } : {}),
      ...(delivered.length > 0 ? { d: [...delivered] } : {}),
      ...(set.length > 0 ? { rs: set } : {}),
      ...(cancel.length > 0 ? { rx: cancel } : {}),
    };
    let durable: Promise<void>;
    try {
      durable = this.writer.append(encodeRecord(record)).durable;
    } catch (err) {
      if (err instanceof StorageLimitError) {
        return failure(ErrorCode.PAYLOAD_TOO_LARGE, `turn too large to persist: ${err.message}`, false);
      }
      this.stop(err as Error);
      return unavailable(`actor ${this.roomId} cannot persist; retry`);
    }
    this.deliveredSinceRecord = [];
    activation.apply(record);
    durable.catch((err: Error) => this.stop(err));
    this.lastDurable = durable;
    const publications = decision.publish ?? [];
    const lastN = outbox.at(-1)?.n;
    durable.then(
      () => {
        for (const p of publications) this.ports.publish(p);
        if (lastN !== undefined) {
          // Only now may these entries leave: delivering a command whose record could still be
          // lost would let a re-activation reuse its number (and the receiver drop the new one).
          this.deliverableUpTo = Math.max(this.deliverableUpTo, lastN);
          for (const entry of outbox) this.outbox.start(entry.to);
        }
      },
      () => undefined,
    );
    if (++this.turnsSinceSnapshot >= (this.definition.snapshotEvery ?? 100)) void this.snapshot();
    return true;
  }

  /**
   * Fires every reminder that is due, each in its own turn, then makes sure the reminder index
   * points at the next one. Called on activation and whenever the reminder sweep wakes the actor.
   */
  async wake(): Promise<CallResult> {
    this.touch();
    try {
      await this.ready;
    } catch (err) {
      return unavailable(`activation failed: ${(err as Error).message}`);
    }
    if (this.phase !== "active") return unavailable(`actor ${this.roomId} is ${this.phase}`);
    this.fireDueReminders();
    try {
      await this.lastDurable;
    } catch {
      return unavailable(`actor ${this.roomId} could not persist; retry`);
    }
    if (!(await this.ensureWakeRegistered())) {
      return failure(ErrorCode.STORAGE_UNAVAILABLE, "could not record the next reminder", true);
    }
    return { ok: true, value: null };
  }

  private fireDueReminders(): void {
    const now = this.ports.now();
    const due = [...this.activation.reminders].filter(([, at]) => at <= now).sort((a, b) => a[1] - b[1]);
    for (const [name] of due) {
      if (name === OUTBOX_REMINDER) {
        const pending = [...this.activation.outbox.values()];
        const rearm = pending.length > 0 ? { set: [{ name, at: now + OUTBOX_WAKE_MS }] } : {};
        this.commit({ ok: true, reply: null, reminders: rearm }, { rx: [name] });
        for (const entry of pending) this.outbox.start(entry.to);
        continue;
      }
      const ctx = { now, self: this.ref, from: null };
      let decision: Decision<unknown, unknown>;
      try {
        decision = this.definition.onReminder?.(this.activation.state as never, name, ctx) ?? {
          ok: true,
          reply: null,
        };
      } catch {
        decision = { ok: true, reply: null }; // a bug in the handler must not re-fire forever
      }
      this.commit(decision.ok ? decision : { ok: true, reply: null }, { rx: [name] });
    }
  }

  /** Keeps the cluster-wide reminder index pointing at this actor's earliest reminder. */
  private async ensureWakeRegistered(): Promise<boolean> {
    const next = this.activation.nextReminderAt();
    if (next === this.registeredWake) return true;
    if (next === undefined) {
      this.registeredWake = undefined; // a leftover index row costs one harmless wake
      return true;
    }
    try {
      await this.ports.scheduleWake(this.roomId, next);
      this.registeredWake = next;
      return true;
    } catch {
      // Retried on the next turn or wake; until then the actor is not idle (see isIdle).
      return false;
    }
  }

  /** Writes a snapshot of the current state (best effort: a failure leaves the log to replay). */
  snapshot(): Promise<void> {
    if (this.phase !== "active" && this.phase !== "deactivating") return Promise.resolve();
    let written: Promise<void>;
    try {
      written = this.writer.snapshot(this.activation.toSnapshot());
    } catch (err) {
      written = Promise.reject(err);
    }
    this.turnsSinceSnapshot = 0;
    this.lastSnapshotAt = this.ports.now();
    const covered = new Set(this.deliveredSinceRecord);
    return written.then(
      () => {
        // Deliveries recorded by this snapshot need no record of their own any more.
        this.deliveredSinceRecord = this.deliveredSinceRecord.filter((n) => !covered.has(n));
      },
      (err: Error) => {
        // A failed snapshot leaves the log to replay; a superseded writer stops the host.
        if (err instanceof ConcurrencyError || this.writer.isFenced) this.stop(err);
      },
    );
  }

  /**
   * Snapshots if at least `MIN_TURNS_FOR_AGE_SNAPSHOT` turns were persisted since the last
   * snapshot and it is older than this actor's share of `maxAgeMs` (jittered ±25 %). Returns
   * the snapshot's completion if it started one. A shorter log tail replays in microseconds, and
   * every user who just connected has a few turns: without the minimum, 10,000 fresh actors each
   * wrote a snapshot a minute after the ramp (≈10 s of CPU) for nothing a replay would miss. Deactivation still
   * snapshots any tail, and `snapshotEvery` turns still bounds the log.
   */
  snapshotIfStale(now: number, maxAgeMs: number): Promise<void> | undefined {
    return this.isStale(now, maxAgeMs) ? this.snapshot() : undefined;
  }

  /** Whether `snapshotIfStale` would snapshot now. */
  isStale(now: number, maxAgeMs: number): boolean {
    return (
      this.phase === "active" &&
      this.turnsSinceSnapshot >= MIN_TURNS_FOR_AGE_SNAPSHOT &&
      now - this.lastSnapshotAt >= maxAgeMs * this.snapshotAgeFactor
    );
  }

  /**
   * Flushes, snapshots and releases the actor. Calls arriving from now on are answered
   * `ACTOR_UNAVAILABLE` (retryable): the caller re-resolves and re-activates.
   */
  deactivate(): Promise<void> {
    // Every caller (idle sweep, lease loss, shutdown) waits for the same, complete deactivation.
    this.deactivation ??= this.runDeactivation();
    return this.deactivation;
  }

  private async runDeactivation(): Promise<void> {
    try {
      await this.ready;
    } catch {
      this.phase = "stopped";
      return;
    }
    const wasActive = this.phase === "active";
    if (wasActive) this.phase = "deactivating";
    try {
      if (wasActive) {
        await this.lastDurable.catch(() => undefined);
        if (this.turnsSinceSnapshot > 0 || this.deliveredSinceRecord.length > 0) await this.snapshot();
        await this.writer.flush();
      }
    } finally {
      this.phase = "stopped";
      this.writer.close();
      await this.release().catch(() => undefined);
    }
  }

  private stop(reason: Error): void {
    if (this.phase === "stopped") return;
    this.phase = "stopped";
    this.ports.onStopped(reason);
  }

  private async activate(): Promise<void> {
    const { recovery, writer, release } = await this.ports.open(this.roomId);
    this.writer = writer;
    this.release = release;
    const activation = new ActivationState(this.definition, this.ref.id);
    if (recovery.snapshot) activation.restore(recovery.snapshot.data);
    for (const event of recovery.events) activation.apply(decodeRecord(event.data));
    this.activation = activation;
    this.turnsSinceSnapshot = recovery.events.length;
    this.deliverableUpTo = activation.counter; // everything recovered is durable
    this.phase = "active";
    for (const entry of activation.outbox.values()) this.outbox.start(entry.to);
    this.fireDueReminders();
    void this.lastDurable.then(
      () => this.ensureWakeRegistered(),
      () => undefined,
    );
  }
}
