import { setTimeout as delay } from "node:timers/promises";
import { ConcurrencyError, FencedError, StorageLimitError, StorageUnavailableError } from "../errors.js";
import { TABLE_LIMITS } from "../limits.js";
import type { ActorJournal, HeadState, JournalEvent } from "./ActorJournal.js";
import { MAX_EVENT_BYTES } from "./ActorJournal.js";

interface PendingAppend {
  readonly kind: "append";
  readonly event: JournalEvent;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

interface PendingSnapshot {
  readonly kind: "snapshot";
  readonly seq: number;
  readonly state: Buffer;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

type Pending = PendingAppend | PendingSnapshot;

/** Head row + events per transaction: Azure's limit is 100 operations. */
const MAX_EVENTS_PER_BATCH = TABLE_LIMITS.maxBatchOperations - 1;
/** Raw bytes per batch: base64 adds a third, and the request body must stay under 4 MiB. */
const MAX_BATCH_BYTES = 2.5 * 1024 * 1024;
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2_000;

/** Numbers a writer reports after each commit, for metrics. */
export interface CommitStats {
  readonly events: number;
  readonly attempts: number;
  readonly ms: number;
}

/**
 * The single writer of one actor activation. `append` assigns the next sequence number
 * synchronously (so the caller can use it inside its turn) and returns a promise that resolves
 * once the event is durable. Appends that arrive while a transaction is in flight are committed
 * together in the next one (group commit: one round trip per batch, not per event).
 *
 * Transient storage failures are retried with backoff, in order, for as long as the writer is
 * open — an event that got a sequence number is never dropped, so memory and log cannot diverge.
 * A conflict on the head means a newer activation owns the actor: the writer is fenced and every
 * pending and future write fails with `FencedError`.
 */
export class JournalWriter {
  private readonly pending: Pending[] = [];
  private draining = false;
  private closed = false;
  /** Cuts a retry backoff short when the writer closes, so `close()` settles promptly. */
  private readonly closing = new AbortController();
  /** Why the writer stopped for good: `FencedError` when superseded, else the fatal failure. */
  private fencedBy: Error | undefined;
  private nextSeq: number;
  private durable: number;
  private cleanups: Promise<void> = Promise.resolve();
  private idleWaiters: (() => void)[] = [];
  /** Called after each committed batch; the runtime turns it into metrics. */
  onCommit: ((stats: CommitStats) => void) | undefined;
  /** Called before each retry of a batch after a transient failure. */
  onRetry: ((err: Error, attempt: number) => void) | undefined;

  constructor(
    private readonly journal: ActorJournal,
    readonly actorKey: string,
    private head: HeadState,
    private etag: string,
  ) {
    this.nextSeq = head.seq;
    this.durable = head.seq;
  }

  get epoch(): number {
    return this.head.epoch;
  }

  /** Sequence number of the last event handed to `append`. */
  get lastSeq(): number {
    return this.nextSeq;
  }

  /** Sequence number of the last event known to be durable. */
  get durableSeq(): number {
    return this.durable;
  }

  /** Sequence number covered by the latest durable snapshot. */
  get snapshotSeq(): number {
    return this.head.snapSeq;
  }

  get isFenced(): boolean {
    return this.fencedBy !== undefined;
  }

  /** Number of appends and snapshots not yet committed. */
  get backlog(): number {
    return this.pending.length;
  }

  /**
   * Queues an event. Throws synchronously (without using a sequence number) if the writer is
   * closed or fenced or the event is too large.
   */
  append(data: Buffer): { seq: number; durable: Promise<void> } {
    this.assertWritable();
    if (data.length > MAX_EVENT_BYTES) {
      throw new StorageLimitError(`event of ${data.length} bytes exceeds ${MAX_EVENT_BYTES}`);
    }
    const seq = ++this.nextSeq;
    const durable = new Promise<void>((resolve, reject) => {
      this.pending.push({ kind: "append", event: { seq, data }, resolve, reject });
    });
    this.drain();
    return { seq, durable };
  }

  /**
   * Writes a snapshot of the state as of `seq` (≤ `lastSeq`) after every earlier append is
   * durable, then deletes the log rows it covers. Failures reject; the caller may try later.
   */
  snapshot(state: Buffer, seq: number = this.nextSeq): Promise<void> {
    this.assertWritable();
    if (seq > this.nextSeq || seq < this.head.snapSeq) {
      throw new RangeError(`snapshot seq ${seq} outside [${this.head.snapSeq}, ${this.nextSeq}]`);
    }
    const done = new Promise<void>((resolve, reject) => {
      this.pending.push({ kind: "snapshot", seq, state, resolve, reject });
    });
    this.drain();
    return done;
  }

  /** Resolves when nothing is queued or in flight any more (committed or failed). */
  async flush(): Promise<void> {
    if (this.draining || this.pending.length > 0) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
    await this.cleanups;
  }

  /** Stops retrying; everything still pending fails with a retryable error. */
  close(): void {
    this.closed = true;
    this.closing.abort();
    this.failAll(new StorageUnavailableError(`writer for ${this.actorKey} closed with writes pending`));
  }

  private assertWritable(): void {
    if (this.fencedBy) throw this.fencedBy;
    if (this.closed) throw new StorageUnavailableError(`writer for ${this.actorKey} is closed`);
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    void this.drainLoop().finally(() => {
      this.draining = false;
      if (this.pending.length > 0 && !this.closed && !this.fencedBy) return this.drain();
      for (const wake of this.idleWaiters.splice(0)) wake();
    });
  }

  private async drainLoop(): Promise<void> {
    while (this.pending.length > 0 && !this.closed && !this.fencedBy) {
      const first = this.pending[0] as Pending;
      if (first.kind === "snapshot") {
        this.pending.shift();
        await this.writeSnapshot(first);
      } else {
        const batch = this.takeBatch();
        await this.commitWithRetry(batch);
      }
    }
  }

  private takeBatch(): PendingAppend[] {
    const batch: PendingAppend[] = [];
    let bytes = 0;
    while (batch.length < MAX_EVENTS_PER_BATCH) {
      const next = this.pending[0];
      if (next?.kind !== "append") break;
      if (batch.length > 0 && bytes + next.event.data.length > MAX_BATCH_BYTES) break;
      bytes += next.event.data.length;
      batch.push(next);
      this.pending.shift();
    }
    return batch;
  }

  private async commitWithRetry(batch: PendingAppend[]): Promise<void> {
    const started = performance.now();
    const lastSeq = (batch.at(-1) as PendingAppend).event.seq;
    for (let attempt = 1; ; attempt++) {
      // Recomputed each attempt: a conflict may have taught us a newer head of our own.
      const head: HeadState = { ...this.head, seq: lastSeq };
      let etag: string | undefined;
      try {
        etag = await this.journal.commitEvents(
          this.actorKey,
          this.etag,
          head,
          batch.map((p) => p.event),
        );
      } catch (caught) {
        let err = caught;
        if (err instanceof ConcurrencyError) {
          const verdict = await this.explainConflict(lastSeq);
          if (verdict.kind === "landed") etag = verdict.etag;
          else if (verdict.kind === "stale-etag")
            continue; // our own earlier write landed; retry now
          else if (verdict.kind === "unknown")
            err = new StorageUnavailableError("head unreadable after a conflict");
        }
        if (etag === undefined) {
          if (this.handleFatal(err, batch)) return;
          if (this.closed) return this.rejectBatch(batch, err as Error);
          notify(this.onRetry, err as Error, attempt);
          await delay(Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (attempt - 1)), undefined, {
            signal: this.closing.signal,
          }).catch(() => undefined);
          if (this.closed) return this.rejectBatch(batch, err as Error);
          continue;
        }
      }
      this.etag = etag;
      this.head = head;
      this.durable = lastSeq;
      for (const p of batch) p.resolve();
      notify(this.onCommit, { events: batch.length, attempts: attempt, ms: performance.now() - started });
      return;
    }
  }

  /**
   * Explains a conflict on the head. The epoch identifies this activation, so a stored head with
   * our epoch was written by us: either the commit being retried landed the first time (a
   * timeout after the write), or an earlier write whose answer was lost (a snapshot) moved the
   * ETag on. Only a head with another epoch means a newer activation: then fence.
   */
  private async explainConflict(
    lastSeq: number,
  ): Promise<
    { kind: "landed"; etag: string } | { kind: "stale-etag" } | { kind: "superseded" } | { kind: "unknown" }
  > {
    let stored: Awaited<ReturnType<ActorJournal["readHead"]>>;
    try {
      stored = await this.journal.readHead(this.actorKey);
    } catch {
      return { kind: "unknown" };
    }
    if (!stored || stored.head.epoch !== this.head.epoch) return { kind: "superseded" };
    if (stored.head.seq === lastSeq) return { kind: "landed", etag: stored.etag };
    if (stored.head.seq === this.head.seq && stored.etag !== this.etag) {
      this.etag = stored.etag;
      this.head = stored.head;
      return { kind: "stale-etag" };
    }
    return { kind: "superseded" };
  }

  /** After an ambiguous snapshot failure: adopt the head if the snapshot landed after all. */
  private async snapshotLanded(snapSeq: number): Promise<boolean> {
    const stored = await this.journal.readHead(this.actorKey).catch(() => undefined);
    if (!stored || stored.head.epoch !== this.head.epoch || stored.head.snapSeq !== snapSeq) return false;
    this.etag = stored.etag;
    this.head = stored.head;
    return true;
  }

  private rejectBatch(batch: readonly PendingAppend[], err: Error): void {
    for (const p of batch) p.reject(err);
  }

  private async writeSnapshot(op: PendingSnapshot): Promise<void> {
    // Snapshots queued out of order must never move the head backwards.
    if (op.seq < this.head.snapSeq) return op.resolve();
    try {
      const { etag, head, cleanup } = await this.journal.commitSnapshot(
        this.actorKey,
        this.etag,
        this.head,
        { epoch: this.head.epoch, seq: this.head.seq, snapSeq: op.seq },
        op.state,
      );
      this.etag = etag;
      this.head = head;
      op.resolve();
      // Deleting covered log rows is housekeeping: it never blocks appends or fails the snapshot.
      this.cleanups = this.cleanups.then(cleanup).catch(() => undefined);
    } catch (err) {
      if (err instanceof StorageUnavailableError && (await this.snapshotLanded(op.seq))) return op.resolve();
      if (!this.handleFatal(err, [op])) op.reject(err as Error);
    }
  }

  /**
   * Anything but a transient outage stops the writer for good: a conflict means a newer
   * activation owns the actor, and any other failure (a bug, corrupt data) leaves memory ahead
   * of the log, which only a fresh activation from storage can repair. Returns true if stopped.
   */
  private handleFatal(err: unknown, inFlight: readonly Pending[]): boolean {
    if (err instanceof StorageUnavailableError) return false;
    this.fencedBy =
      err instanceof ConcurrencyError ? new FencedError(this.actorKey, { cause: err }) : (err as Error);
    for (const p of inFlight) p.reject(this.fencedBy);
    this.failAll(this.fencedBy);
    return true;
  }

  private failAll(err: Error): void {
    for (const p of this.pending.splice(0)) p.reject(err);
  }
}

/** Runs an observer callback; an observer's failure must never break the writer. */
function notify<A extends unknown[]>(callback: ((...args: A) => void) | undefined, ...args: A): void {
  try {
    callback?.(...args);
  } catch {
    // observers are metrics and logs; ignore their failures
  }
}
