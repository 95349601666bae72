import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { deflateRaw, inflateRaw } from "node:zlib";
import { ConcurrencyError, StorageCorruptionError } from "../errors.js";
import type { BlobStore, EntityProperties, StoredEntity, TableOperation, TableStore } from "../ports.js";
import { fromBinaryChunks, toChunks } from "./chunks.js";
import { JournalWriter } from "./JournalWriter.js";

const compress = promisify(deflateRaw);
const decompress = promisify(inflateRaw);

export const ACTOR_TABLE = "actors";
export const SNAPSHOT_CONTAINER = "snapshots";
const HEAD = "head";
const SNAP = "snap";
const LOG_PREFIX = "log-";
/** Snapshots up to 10 × 60,000 compressed bytes stay in the table; larger ones spill to a blob. */
const INLINE_SNAPSHOT_CHUNKS = 10;
/** One event may use up to 4 property chunks (240,000 bytes). */
export const MAX_EVENT_BYTES = 4 * 60_000;

export function logRowKey(seq: number): string {
  return `${LOG_PREFIX}${String(seq).padStart(12, "0")}`;
}

export interface JournalEvent {
  readonly seq: number;
  readonly data: Buffer;
}

/** What an activation starts from: the latest snapshot and every event appended after it. */
export interface ActorRecovery {
  readonly epoch: number;
  /** Sequence number of the last durable event (0 when none). */
  readonly seq: number;
  readonly snapshot?: { readonly seq: number; readonly data: Buffer };
  readonly events: JournalEvent[];
}

/** The `head` row: the fencing point of every write to the actor's partition. */
export interface HeadState {
  readonly epoch: number;
  readonly seq: number;
  readonly snapSeq: number;
  /** `none`, `inline` (chunks in the `snap` row) or `blob` (name in `snapBlob`). */
  readonly snapEncoding: "none" | "inline" | "blob";
  readonly snapBlob?: string;
}

export function headEntity(
  actorKey: string,
  head: HeadState,
): { partitionKey: string; rowKey: string; properties: EntityProperties } {
  const properties: EntityProperties = {
    epoch: head.epoch,
    seq: head.seq,
    snapSeq: head.snapSeq,
    snapEncoding: head.snapEncoding,
  };
  if (head.snapBlob) properties.snapBlob = head.snapBlob;
  return { partitionKey: actorKey, rowKey: HEAD, properties };
}

function parseHead(row: StoredEntity): HeadState {
  const p = row.properties;
  return {
    epoch: Number(p.epoch),
    seq: Number(p.seq),
    snapSeq: Number(p.snapSeq),
    snapEncoding: (p.snapEncoding as HeadState["snapEncoding"]) ?? "none",
    ...(typeof p.snapBlob === "string" ? { snapBlob: p.snapBlob } : {}),
  };
}

/** Thrown by `open` when a newer activation already claimed the actor. */
export class StaleEpochError extends ConcurrencyError {
  constructor(
    actorKey: string,
    epoch: number,
    /** The epoch in storage: a lease counter that was reset (Redis restarted) must move past it. */
    readonly stored: number,
  ) {
    super("etag-mismatch", `actor ${actorKey}: epoch ${epoch} is not newer than stored epoch ${stored}`);
  }
}

/**
 * Durable state of every actor: an append-only event log plus snapshots, all in the actor's own
 * partition of the `actors` table so that each write can be one atomic transaction with the
 * `head` row. The head carries the activation **epoch** and is replaced with its ETag on every
 * append and snapshot: once a newer activation claims the head, every write of an older one
 * fails as a whole (fencing), whatever that older process believes about its lease.
 */
export class ActorJournal {
  constructor(
    private readonly tables: TableStore,
    private readonly blobs: BlobStore,
  ) {}

  /**
   * Claims the actor for a new activation and returns its state and a writer. `epoch` (from the
   * cluster lease) must exceed the stored one; without it the stored epoch + 1 is used. The log is
   * read after the claim, so no older activation can append behind the reader's back.
   */
  async open(
    actorKey: string,
    options: { epoch?: number } = {},
  ): Promise<{ recovery: ActorRecovery; writer: JournalWriter }> {
    const row = await this.tables.get(ACTOR_TABLE, actorKey, HEAD);
    const stored = row ? parseHead(row) : undefined;
    const epoch = options.epoch ?? (stored?.epoch ?? 0) + 1;
    if (stored && epoch <= stored.epoch) throw new StaleEpochError(actorKey, epoch, stored.epoch);
    const head: HeadState = stored
      ? { ...stored, epoch }
      : { epoch, seq: 0, snapSeq: 0, snapEncoding: "none" };
    const etag = row
      ? await this.tables.replace(ACTOR_TABLE, headEntity(actorKey, head), row.etag)
      : await this.tables.insert(ACTOR_TABLE, headEntity(actorKey, head));
    const recovery = await this.readBody(actorKey, head);
    const writer = new JournalWriter(this, actorKey, head, etag);
    return { recovery, writer };
  }

  /** The current head row and its ETag, if the actor was ever written. */
  async readHead(actorKey: string): Promise<{ head: HeadState; etag: string } | undefined> {
    const row = await this.tables.get(ACTOR_TABLE, actorKey, HEAD);
    return row ? { head: parseHead(row), etag: row.etag } : undefined;
  }

  /** Reads an actor's durable state without claiming it (inspection and tests). */
  async read(actorKey: string): Promise<ActorRecovery | undefined> {
    const row = await this.tables.get(ACTOR_TABLE, actorKey, HEAD);
    return row ? this.readBody(actorKey, parseHead(row)) : undefined;
  }

  /** @internal Commits one batch of events together with the new head. Returns the new ETag. */
  async commitEvents(
    actorKey: string,
    etag: string,
    head: HeadState,
    events: readonly JournalEvent[],
  ): Promise<string> {
    const operations: TableOperation[] = [
      { op: "replace", entity: headEntity(actorKey, head), etag },
      ...events.map(
        (e): TableOperation => ({
          op: "insert",
          entity: {
            partitionKey: actorKey,
            rowKey: logRowKey(e.seq),
            properties: { epoch: head.epoch, ...toChunks("d", e.data, 4) },
          },
        }),
      ),
    ];
    const etags = await this.tables.transact(ACTOR_TABLE, actorKey, operations);
    return etags[0] as string;
  }

  /**
   * @internal Writes a snapshot covering events up to `head.snapSeq`: small ones in the `snap`
   * row in the same transaction as the head, large ones to a blob first with the head pointing
   * at it. Returns the new ETag and a cleanup for what the snapshot made obsolete.
   */
  async commitSnapshot(
    actorKey: string,
    etag: string,
    previous: HeadState,
    head: Omit<HeadState, "snapEncoding" | "snapBlob">,
    state: Buffer,
  ): Promise<{ etag: string; head: HeadState; cleanup: () => Promise<void> }> {
    const packed = await compress(state);
    const inline = packed.length <= INLINE_SNAPSHOT_CHUNKS * 60_000;
    let next: HeadState;
    let operations: TableOperation[];
    if (inline) {
      next = { ...head, snapEncoding: "inline" };
      operations = [
        { op: "replace", entity: headEntity(actorKey, next), etag },
        {
          op: "upsert",
          entity: {
            partitionKey: actorKey,
            rowKey: SNAP,
            properties: {
              seq: head.snapSeq,
              epoch: head.epoch,
              ...toChunks("c", packed, INLINE_SNAPSHOT_CHUNKS),
            },
          },
        },
      ];
    } else {
      const blobName = `${actorKey}/${head.snapSeq}-${head.epoch}-${randomBytes(4).toString("hex")}`;
      await this.blobs.put(SNAPSHOT_CONTAINER, blobName, packed, "application/octet-stream");
      next = { ...head, snapEncoding: "blob", snapBlob: blobName };
      operations = [{ op: "replace", entity: headEntity(actorKey, next), etag }];
      if (previous.snapEncoding === "inline") operations.push({ op: "delete", rowKey: SNAP });
    }
    let newEtag: string;
    try {
      [newEtag] = (await this.tables.transact(ACTOR_TABLE, actorKey, operations)) as [string];
    } catch (err) {
      // Only a refused transaction surely did not land; after a timeout the head may point at the
      // new blob, so it is kept (an orphan at worst, never a dangling pointer).
      if (next.snapBlob && err instanceof ConcurrencyError) {
        await this.blobs.delete(SNAPSHOT_CONTAINER, next.snapBlob).catch(() => undefined);
      }
      throw err;
    }
    const cleanup = async () => {
      if (previous.snapBlob && previous.snapBlob !== next.snapBlob) {
        await this.blobs.delete(SNAPSHOT_CONTAINER, previous.snapBlob);
      }
      await this.deleteLogUpTo(actorKey, head.snapSeq);
    };
    return { etag: newEtag, head: next, cleanup };
  }

  /** Deletes log rows covered by a snapshot, 100 per transaction. */
  private async deleteLogUpTo(actorKey: string, seq: number): Promise<void> {
    for (;;) {
      const page = await this.tables.query(ACTOR_TABLE, actorKey, {
        prefix: LOG_PREFIX,
        before: logRowKey(seq + 1),
        limit: 100,
      });
      if (page.items.length === 0) return;
      await this.tables.transact(
        ACTOR_TABLE,
        actorKey,
        page.items.map((row) => ({ op: "delete" as const, rowKey: row.rowKey })),
      );
      if (!page.next) return;
    }
  }

  private async readBody(actorKey: string, head: HeadState): Promise<ActorRecovery> {
    const snapshot = await this.readSnapshot(actorKey, head);
    const events: JournalEvent[] = [];
    let after = logRowKey(head.snapSeq);
    for (;;) {
      const page = await this.tables.query(ACTOR_TABLE, actorKey, {
        after,
        before: logRowKey(head.seq + 1),
        limit: 1000,
      });
      for (const row of page.items) {
        events.push({
          seq: Number(row.rowKey.slice(LOG_PREFIX.length)),
          data: fromBinaryChunks("d", row.properties),
        });
      }
      if (!page.next) break;
      after = page.next;
    }
    const expected = head.seq - head.snapSeq;
    if (events.length !== expected) {
      throw new StorageCorruptionError(
        `actor ${actorKey}: log has ${events.length} events after the snapshot, head says ${expected}`,
      );
    }
    return { epoch: head.epoch, seq: head.seq, events, ...(snapshot ? { snapshot } : {}) };
  }

  private async readSnapshot(actorKey: string, head: HeadState): Promise<ActorRecovery["snapshot"]> {
    switch (head.snapEncoding) {
      case "none":
        return undefined;
      case "inline": {
        const row = await this.tables.get(ACTOR_TABLE, actorKey, SNAP);
        if (!row)
          throw new StorageCorruptionError(`actor ${actorKey}: head points at a missing snapshot row`);
        return { seq: head.snapSeq, data: await decompress(fromBinaryChunks("c", row.properties)) };
      }
      case "blob": {
        const blob = head.snapBlob ? await this.blobs.get(SNAPSHOT_CONTAINER, head.snapBlob) : undefined;
        if (!blob)
          throw new StorageCorruptionError(`actor ${actorKey}: head points at a missing snapshot blob`);
        return { seq: head.snapSeq, data: await decompress(blob.data) };
      }
      default: {
        const never: never = head.snapEncoding;
        throw new Error(`unknown snapshot encoding ${String(never)}`);
      }
    }
  }
}
