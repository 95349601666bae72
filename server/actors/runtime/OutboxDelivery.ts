import { ErrorCode } from "../../../protocol/errors.js";
import type { OutboxEntry } from "./ActivationState.js";
import { roomIdOf } from "./ActorRef.js";
import type { ActorRef, CallEnvelope, CallResult } from "./types.js";

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;

export interface OutboxSource {
  /** The sending actor. */
  readonly self: ActorRef;
  /** Entries not yet delivered, in outbox-number order. */
  pending(): Iterable<OutboxEntry>;
  /** Highest outbox number whose turn is durable: later entries must wait. */
  deliverableUpTo(): number;
  /** False once the activation stops serving: deliveries end (the entries stay durable). */
  isActive(): boolean;
  deliver(envelope: CallEnvelope): Promise<CallResult>;
  /** The receiver accepted (or definitively refused) entry `n`. */
  delivered(n: number): void;
}

/**
 * Delivers one actor's outbox: per destination strictly in order and one at a time, retrying
 * retryable failures with backoff. Order is what lets the receiver deduplicate with a single
 * high-water mark per sender; the durability watermark is what keeps a re-activation from
 * reusing the number of an entry that was delivered but never stored.
 */
export class OutboxDelivery {
  private readonly running = new Set<string>();

  constructor(private readonly source: OutboxSource) {}

  /** Starts (or keeps) delivering to `to`; a no-op while a loop for it runs. */
  start(to: ActorRef): void {
    const destination = roomIdOf(to);
    if (this.running.has(destination)) return;
    this.running.add(destination);
    void this.run(destination).finally(() => this.running.delete(destination));
  }

  private async run(destination: string): Promise<void> {
    let attempt = 0;
    while (this.source.isActive()) {
      const next = this.nextFor(destination);
      if (!next || next.n > this.source.deliverableUpTo()) return;
      const result = await this.source
        .deliver({ to: next.to, from: this.source.self, key: String(next.n), command: next.command })
        .catch(
          (err: Error): CallResult => ({
            ok: false,
            error: { code: ErrorCode.ACTOR_UNAVAILABLE, message: err.message, retryable: true },
          }),
        );
      if (!result.ok && result.error.retryable) {
        attempt++;
        await new Promise((r) => setTimeout(r, Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** attempt)));
        continue;
      }
      attempt = 0;
      this.source.delivered(next.n);
    }
  }

  private nextFor(destination: string): OutboxEntry | undefined {
    for (const entry of this.source.pending()) if (roomIdOf(entry.to) === destination) return entry;
    return undefined;
  }
}
