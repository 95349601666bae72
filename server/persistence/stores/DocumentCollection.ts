import type { z } from "zod";
import { ConcurrencyError } from "../errors.js";
import type { TableStore } from "../ports.js";
import { fromStringChunks, toChunks } from "./chunks.js";

/** Where a document appears in a listing: partition `partition`, ordered by `sortKey`. */
export interface IndexEntry {
  readonly partition: string;
  readonly sortKey: string;
}

export interface Page<T> {
  readonly items: T[];
  /** Opaque cursor for the next page; absent on the last page. */
  readonly next?: string;
}

const BY_ID = "id";
const MAX_DOC_CHUNKS = 30;
/**
 * Optimistic retries of a contended document (a hot topic's reply counter): writers that collide
 * back off for a random few milliseconds, so N concurrent updates settle in about N rounds.
 */
const UPDATE_ATTEMPTS = 40;
const backoff = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 * (attempt + 1))));

/**
 * JSON documents in one table, the Azure Table way: one row per document in partition `id`
 * (point reads by id) plus a full copy in each index partition, keyed `<sortKey>~<id>`, so a
 * listing is a single-partition range read in the wanted order. Rows are validated against the
 * schema on the way in and on the way out.
 *
 * Index rows are maintained best-effort across partitions (Azure cannot transact across them):
 * suited to content written by seeds and editors, not to per-user hot data.
 */
export class DocumentCollection<S extends z.ZodType<{ id: string }>> {
  constructor(
    private readonly tables: TableStore,
    private readonly table: string,
    private readonly schema: S,
    private readonly indexesOf: (doc: z.infer<S>) => IndexEntry[],
  ) {}

  async get(id: string): Promise<z.infer<S> | undefined> {
    const row = await this.tables.get(this.table, BY_ID, id);
    return row ? this.decode(row.properties) : undefined;
  }

  /** Inserts or replaces a document and moves its index rows. */
  async put(input: z.infer<S>): Promise<z.infer<S>> {
    const doc = this.schema.parse(input);
    const previous = await this.get(doc.id);
    await this.tables.upsert(this.table, {
      partitionKey: BY_ID,
      rowKey: doc.id,
      properties: this.encode(doc),
    });
    await this.writeIndexes(doc, previous);
    return doc;
  }

  /**
   * Read-modify-write of one document, conditional on its ETag (retried on a conflict), so
   * concurrent updates never lose each other's changes in the document itself. Index copies are
   * rewritten afterwards and may briefly lag under contention; the next update repairs them.
   */
  async update(id: string, change: (doc: z.infer<S>) => z.infer<S>): Promise<z.infer<S> | undefined> {
    for (let attempt = 0; attempt < UPDATE_ATTEMPTS; attempt++) {
      const row = await this.tables.get(this.table, BY_ID, id);
      if (!row) return undefined;
      const previous = this.decode(row.properties);
      const next = this.schema.parse(change(previous));
      try {
        await this.tables.replace(
          this.table,
          { partitionKey: BY_ID, rowKey: id, properties: this.encode(next) },
          row.etag,
        );
      } catch (err) {
        if (!(err instanceof ConcurrencyError)) throw err;
        await backoff(attempt);
        continue;
      }
      await this.writeIndexes(next, previous);
      return next;
    }
    throw new ConcurrencyError("etag-mismatch", `document ${id} in ${this.table} is too contended; retry`);
  }

  /** Removes a document and its index rows (missing ones are fine). */
  async delete(id: string): Promise<void> {
    const previous = await this.get(id);
    if (!previous) return;
    await Promise.all(
      this.indexesOf(previous).map((e) =>
        this.tables.delete(this.table, { partitionKey: e.partition, rowKey: rowKeyOf(e, id) }),
      ),
    );
    await this.tables.delete(this.table, { partitionKey: BY_ID, rowKey: id });
  }

  private async writeIndexes(doc: z.infer<S>, previous: z.infer<S> | undefined): Promise<void> {
    const properties = this.encode(doc);
    const next = this.indexesOf(doc);
    const nextKeys = new Set(next.map((e) => `${e.partition}\n${rowKeyOf(e, doc.id)}`));
    await Promise.all(
      next.map((e) =>
        this.tables.upsert(this.table, {
          partitionKey: e.partition,
          rowKey: rowKeyOf(e, doc.id),
          properties,
        }),
      ),
    );
    if (!previous) return;
    const stale = this.indexesOf(previous).filter(
      (e) => !nextKeys.has(`${e.partition}\n${rowKeyOf(e, doc.id)}`),
    );
    await Promise.all(
      stale.map((e) =>
        this.tables.delete(this.table, { partitionKey: e.partition, rowKey: rowKeyOf(e, doc.id) }),
      ),
    );
  }

  private encode(doc: z.infer<S>) {
    return toChunks("doc", JSON.stringify(doc), MAX_DOC_CHUNKS);
  }

  /** Pages through one index partition in sort-key order; `from` starts at a sort key. */
  async list(
    partition: string,
    options: { after?: string; from?: string; limit: number },
  ): Promise<Page<z.infer<S>>> {
    const page = await this.tables.query(this.table, partition, {
      limit: options.limit,
      ...(options.after !== undefined ? { after: options.after } : {}),
      ...(options.from !== undefined ? { from: options.from } : {}),
    });
    const items = page.items.map((row) => this.decode(row.properties));
    return page.next !== undefined ? { items, next: page.next } : { items };
  }

  private decode(properties: Record<string, unknown>): z.infer<S> {
    return this.schema.parse(JSON.parse(fromStringChunks("doc", properties as never)));
  }
}

function rowKeyOf(entry: IndexEntry, id: string): string {
  return `${entry.sortKey}~${id}`;
}

/** A sort key that orders newer timestamps first (Azure only sorts ascending). */
export function newestFirst(iso: string): string {
  return String(9_999_999_999_999 - Date.parse(iso)).padStart(13, "0");
}

/** Turns free text (a city, a tag) into a key-safe partition suffix. */
export function keySlug(text: string): string {
  return (
    text
      .normalize("NFKD")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}]+/gu, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 100) || "none"
  );
}
