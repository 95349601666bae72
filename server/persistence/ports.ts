/**
 * Storage ports: the only persistence interfaces the rest of Lovecraft sees.
 *
 * The model is Azure Table Storage's (partition key + row key, ETags, single-partition
 * transactions of at most 100 operations) because that is the production backend; the embedded
 * SQLite adapter implements exactly the same semantics and limits, so code written against these
 * ports behaves identically on a laptop and in the cluster. One contract suite
 * (`test/contract/`) runs against both implementations.
 */

/** Property values that survive a round trip through both adapters unchanged. */
export type PropertyValue = string | number | boolean | bigint | Date | Uint8Array;

export type EntityProperties = Record<string, PropertyValue>;

export interface EntityKey {
  readonly partitionKey: string;
  readonly rowKey: string;
}

export interface Entity extends EntityKey {
  readonly properties: EntityProperties;
}

/** An entity as read back, with the opaque ETag to pass to conditional writes. */
export interface StoredEntity extends Entity {
  readonly etag: string;
}

/** One operation inside a single-partition transaction. */
export type TableOperation =
  | { readonly op: "insert"; readonly entity: Entity }
  | { readonly op: "replace"; readonly entity: Entity; readonly etag: string }
  | { readonly op: "upsert"; readonly entity: Entity }
  /** Deletes an existing row; a missing row fails the whole transaction (as on Azure). */
  | { readonly op: "delete"; readonly rowKey: string };

export interface RowRange {
  /** Only rows whose key starts with this prefix. */
  readonly prefix?: string;
  /** Exclusive lower bound: rows strictly after this key (the continuation cursor). */
  readonly after?: string;
  /** Inclusive lower bound. */
  readonly from?: string;
  /** Exclusive upper bound. */
  readonly before?: string;
  /** Maximum rows returned; defaults to 1000. */
  readonly limit?: number;
}

export interface QueryPage {
  readonly items: StoredEntity[];
  /** Row key to pass as `after` for the next page; absent on the last page. */
  readonly next?: string;
}

/**
 * A keyed table store with Azure Table semantics. Rows come back in ascending row-key order
 * (Azure cannot sort descending: encode reverse orders into the key).
 */
export interface TableStore {
  get(table: string, partitionKey: string, rowKey: string): Promise<StoredEntity | undefined>;
  /** Creates the row; throws `ConcurrencyError` (reason `exists`) when it is already there. */
  insert(table: string, entity: Entity): Promise<string>;
  /** Replaces the row when its ETag still matches; `ConcurrencyError` otherwise. */
  replace(table: string, entity: Entity, etag: string): Promise<string>;
  /** Unconditional insert-or-replace. */
  upsert(table: string, entity: Entity): Promise<string>;
  /** Deletes the row; with an ETag only if it matches. A missing row without ETag is not an error. */
  delete(table: string, key: EntityKey, etag?: string): Promise<void>;
  /**
   * Applies all operations atomically (all or none) within one partition. Returns the new ETag
   * of each operation in order (`""` for deletes). At most 100 operations.
   */
  transact(table: string, partitionKey: string, operations: readonly TableOperation[]): Promise<string[]>;
  /** Rows of one partition in ascending row-key order. */
  query(table: string, partitionKey: string, range?: RowRange): Promise<QueryPage>;
}

export interface BlobContent {
  readonly data: Buffer;
  readonly contentType: string;
}

/** A private object store (Azure Blob Storage or files). Names are `a/b/c` paths. */
export interface BlobStore {
  /** Durably writes the whole object (replacing any previous one) before resolving. */
  put(container: string, name: string, data: Uint8Array, contentType: string): Promise<void>;
  get(container: string, name: string): Promise<BlobContent | undefined>;
  /** Deleting a missing blob is not an error. */
  delete(container: string, name: string): Promise<void>;
  /** Names under a prefix, sorted. */
  list(container: string, prefix: string): Promise<string[]>;
}

/** Everything the composition root opens for one backend. */
export interface Storage {
  readonly kind: "embedded" | "azure";
  readonly tables: TableStore;
  readonly blobs: BlobStore;
  /** Resolves when the backend answers a cheap request; used by readiness. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
