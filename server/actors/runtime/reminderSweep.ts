import type { Logger } from "../../logger.js";
import { bucketOf, type ReminderIndex } from "../../persistence/stores/ReminderIndex.js";
import { parseRoomId } from "./ActorRef.js";
import type { ActorRef, CallResult } from "./types.js";

/** How far back a node with no stored cursor looks for overdue reminders. */
const LOOKBACK_MS = 10 * 60_000;

export interface ReminderSweepDependencies {
  readonly reminders: ReminderIndex;
  readonly logger: Logger;
  /** Whether this node knows the actor kind (unknown kinds' rows are dropped). */
  readonly knows: (kind: string) => boolean;
  readonly wake: (ref: ActorRef) => Promise<CallResult>;
}

/**
 * Wakes every actor whose reminder is due. Every node sweeps (no leader to elect or lose); a
 * duplicate wake only re-checks an actor's reminders. The shared cursor skips buckets that were
 * fully handled and never passes a bucket with a failed wake or one the scan did not finish.
 */
export async function sweepReminders(deps: ReminderSweepDependencies, now = Date.now()): Promise<void> {
  const { reminders, logger } = deps;
  try {
    const from = await reminders.readCursor(bucketOf(now - LOOKBACK_MS));
    const { wakes, unfinished } = await reminders.due(from, now);
    let earliestFailed: number | undefined = unfinished;
    await Promise.all(
      wakes.map(async (wake) => {
        const ref = parseRoomId(wake.actorKey);
        const result =
          ref && deps.knows(ref.kind) ? await deps.wake(ref) : { ok: true as const, value: null };
        if (result.ok) await reminders.done(wake);
        else earliestFailed = Math.min(earliestFailed ?? wake.bucket, wake.bucket);
      }),
    );
    const next = earliestFailed ?? bucketOf(now);
    if (next > from) await reminders.writeCursor(next);
  } catch (err) {
    logger.warn({ err }, "reminder sweep failed; will retry");
  }
}
