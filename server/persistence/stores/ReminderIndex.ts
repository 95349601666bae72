import { ConcurrencyError } from "../errors.js";
import type { StoredEntity, TableStore } from "../ports.js";

export const REMINDER_TABLE = "reminders";
const BUCKET_MS = 60_000;
const CURSOR = { table: "meta", partitionKey: "reminders", rowKey: "cursor" } as const;

export function bucketOf(at: number): number {
  return Math.floor(at / BUCKET_MS);
}

export interface DueWake {
  readonly actorKey: string;
  readonly at: number;
  readonly bucket: number;
  readonly etag: string;
}

/**
 * The cluster-wide index of sleeping actors to wake: one row per actor in the partition of the
 * minute its earliest reminder is due (`due-<minute>`), so a sweep reads a few small partitions
 * instead of every actor. The reminder itself lives in the actor's journal; a row here is only a
 * wake-up call, and a stale or duplicate one costs one harmless wake.
 */
export class ReminderIndex {
  constructor(private readonly tables: TableStore) {}

  async schedule(actorKey: string, at: number): Promise<void> {
    await this.tables.upsert(REMINDER_TABLE, {
      partitionKey: `due-${bucketOf(at)}`,
      rowKey: actorKey,
      properties: { at },
    });
  }

  /**
   * Rows due by `now` in buckets `fromBucket` … `bucketOf(now)`, at most `limit`. `unfinished` is
   * the first bucket not read to its end (the limit cut the scan): the cursor must not pass it.
   */
  async due(
    fromBucket: number,
    now: number,
    limit = 1000,
  ): Promise<{ wakes: DueWake[]; unfinished?: number }> {
    const wakes: DueWake[] = [];
    for (let bucket = fromBucket; bucket <= bucketOf(now); bucket++) {
      let after: string | undefined;
      do {
        if (wakes.length >= limit) return { wakes, unfinished: bucket };
        const page = await this.tables.query(REMINDER_TABLE, `due-${bucket}`, {
          limit: Math.min(500, limit - wakes.length),
          ...(after ? { after } : {}),
        });
        for (const row of page.items) if (Number(row.properties.at) <= now) wakes.push(toWake(row, bucket));
        after = page.next;
      } while (after);
    }
    return { wakes };
  }

  /** Removes a row unless it was rescheduled since it was read. */
  async done(wake: DueWake): Promise<void> {
    try {
      await this.tables.delete(
        REMINDER_TABLE,
        { partitionKey: `due-${wake.bucket}`, rowKey: wake.actorKey },
        wake.etag,
      );
    } catch (err) {
      if (!(err instanceof ConcurrencyError)) throw err;
    }
  }

  /** The earliest bucket that may still hold due rows (shared by all nodes). */
  async readCursor(fallback: number): Promise<number> {
    const row = await this.tables.get(CURSOR.table, CURSOR.partitionKey, CURSOR.rowKey);
    return row ? Number(row.properties.bucket) : fallback;
  }

  async writeCursor(bucket: number): Promise<void> {
    await this.tables.upsert(CURSOR.table, { ...CURSOR, properties: { bucket } });
  }
}

function toWake(row: StoredEntity, bucket: number): DueWake {
  return { actorKey: row.rowKey, at: Number(row.properties.at), bucket, etag: row.etag };
}
