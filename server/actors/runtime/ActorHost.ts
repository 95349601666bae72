import { ErrorCode } from "../../../protocol/errors.js";
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
import type { ActorRef, AnyActorDefinition, CallEnvelope, CallResult, Publication } from "./types.js";

/** What an activation needs from the node it runs on. */
export interface HostPorts {
  /** Claims the actor in storage (and the cluster lease) and returns its durable state. */
  open(
    actorKey: string,
  ): Promise<{ recovery: ActorRecovery; writer: JournalWriter; release: () => Promise<void> }>;
  /** Delivers an outbox entry to another actor (through the runtime's `call`). */
  deliver(envelope: CallEnvelope): Promise<CallResult>;
  publish(publication: Publication): void;
  now(): number;
  /** Called once when the activation can no longer serve (superseded or broken): dispose it. */
  onStopped(reason: Error): void;
  onTurn?(kind: string, ms: number, persisted: boolean): void;
}

type Phase = "activating" | "active" | "deactivating" | "stopped";

const DELIVERY_RETRY_MIN_MS = 100;
const DELIVERY_RETRY_MAX_MS = 5_000;

export function failure(code: string, message: string, retryable: boolean, details?: unknown): CallResult {
  return { ok: false, error: { code, message, retryable, ...(details !== undefined ? { details } : {}) } };
}

const unavailable = (why: string) => failure(ErrorCode.ACTOR_UNAVAILABLE, why, true);

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
  private readonly delivering = new Set<string>();
  private inFlight = 0;
  private lastActivity: number;
  private lastSnapshotAt: number;

  constructor(
    readonly ref: ActorRef,
    private readonly definition: AnyActorDefinition,
    private readonly ports: HostPorts,
  ) {
    this.roomId = roomIdOf(ref);
    this.lastActivity = ports.now();
    this.lastSnapshotAt = this.lastActivity;
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
      return { result: failure(decision.code, decision.message, false, decision.details), persisted: false };
    }
    const outbox: OutboxEntry[] = (decision.send ?? []).map((s) => ({
      n: ++activation.counter,
      to: s.to,
      command: s.command,
    }));
    const events = decision.events ?? [];
    const hasEffects = events.length > 0 || outbox.length > 0;
    if (!hasEffects) return { result: { ok: true, value: decision.reply }, persisted: false };

    const record: TurnRecord = {
      ...(events.length > 0 ? { e: events } : {}),
      ...(from === undefined ? { k: envelope.key, r: decision.reply } : { f: from, c: counter }),
      ...(outbox.length > 0 ? { o: outbox } : {}),
      ...(this.deliveredSinceRecord.length > 0 ? { d: this.deliveredSinceRecord.splice(0) } : {}),
    };
    activation.apply(record);
    this.persist(record);
    const publications = decision.publish ?? [];
    this.lastDurable.then(
      () => {
        for (const p of publications) this.ports.publish(p);
        for (const entry of outbox) this.startDelivery(entry.to);
      },
      () => undefined,
    );
    return { result: { ok: true, value: decision.reply }, persisted: true };
  }

  private persist(record: TurnRecord): void {
    let durable: Promise<void>;
    try {
      durable = this.writer.append(encodeRecord(record)).durable;
    } catch (err) {
      durable = Promise.reject(err);
    }
    durable.catch((err: Error) => this.stop(err));
    this.lastDurable = durable;
    if (++this.turnsSinceSnapshot >= (this.definition.snapshotEvery ?? 100)) this.snapshot();
  }

  /** Writes a snapshot of the current state (best effort: a failure leaves the log to replay). */
  snapshot(): Promise<void> {
    if (this.phase !== "active" && this.phase !== "deactivating") return Promise.resolve();
    this.turnsSinceSnapshot = 0;
    this.lastSnapshotAt = this.ports.now();
    this.deliveredSinceRecord = [];
    return this.writer.snapshot(this.activation.toSnapshot()).catch(() => undefined);
  }

  /** Snapshots if turns were persisted since the last snapshot and it is older than `maxAgeMs`. */
  snapshotIfStale(now: number, maxAgeMs: number): void {
    if (this.phase === "active" && this.turnsSinceSnapshot > 0 && now - this.lastSnapshotAt >= maxAgeMs) {
      void this.snapshot();
    }
  }

  /**
   * Flushes, snapshots and releases the actor. Calls arriving from now on are answered
   * `ACTOR_UNAVAILABLE` (retryable): the caller re-resolves and re-activates.
   */
  async deactivate(): Promise<void> {
    if (this.phase === "deactivating" || this.phase === "stopped") return;
    try {
      await this.ready;
    } catch {
      this.phase = "stopped";
      return;
    }
    this.phase = "deactivating";
    try {
      await this.lastDurable.catch(() => undefined);
      if (this.turnsSinceSnapshot > 0 || this.deliveredSinceRecord.length > 0) await this.snapshot();
      await this.writer.flush();
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
    this.phase = "active";
    const destinations = new Set([...activation.outbox.values()].map((e) => roomIdOf(e.to)));
    for (const entry of activation.outbox.values()) {
      if (destinations.delete(roomIdOf(entry.to))) this.startDelivery(entry.to);
    }
  }

  /**
   * Delivers this actor's outbox to one destination strictly in order, one at a time, retrying
   * retryable failures with backoff. Order is what lets the receiver deduplicate with a single
   * high-water mark per sender.
   */
  private startDelivery(to: ActorRef): void {
    const destination = roomIdOf(to);
    if (this.delivering.has(destination)) return;
    this.delivering.add(destination);
    void (async () => {
      let attempt = 0;
      try {
        for (;;) {
          if (this.phase !== "active") return;
          const next = [...this.activation.outbox.values()].find((e) => roomIdOf(e.to) === destination);
          if (!next) return;
          const result = await this.ports
            .deliver({ to: next.to, from: this.ref, key: String(next.n), command: next.command })
            .catch((err: Error) => failure(ErrorCode.ACTOR_UNAVAILABLE, err.message, true));
          if (!result.ok && result.error.retryable) {
            attempt++;
            await new Promise((r) =>
              setTimeout(r, Math.min(DELIVERY_RETRY_MAX_MS, DELIVERY_RETRY_MIN_MS * 2 ** attempt)),
            );
            continue;
          }
          attempt = 0;
          this.activation.outbox.delete(next.n);
          this.deliveredSinceRecord.push(next.n);
        }
      } finally {
        this.delivering.delete(destination);
      }
    })();
  }
}
