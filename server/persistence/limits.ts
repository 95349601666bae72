import { StorageLimitError } from "./errors.js";
import type { Entity, PropertyValue, TableOperation } from "./ports.js";

/**
 * Azure Table Storage limits, enforced by both adapters so that code which works on the
 * embedded store also works on Azure (Azurite does not enforce all of them; see
 * shared/notes/azure-storage.md).
 */
export const TABLE_LIMITS = {
  maxKeyLength: 1024,
  /** Real Azure allows 64 KiB per property; 60,000 bytes leaves room for encoding overhead. */
  maxPropertyBytes: 60_000,
  maxEntityBytes: 1024 * 1024,
  maxCustomProperties: 252,
  maxBatchOperations: 100,
  /** Azure's limit is 4 MiB per batch body; keep a margin for multipart framing. */
  maxBatchBytes: 4 * 1024 * 1024 - 64 * 1024,
} as const;

const RESERVED_PROPERTIES = new Set([
  "PartitionKey",
  "RowKey",
  "Timestamp",
  "partitionKey",
  "rowKey",
  "timestamp",
  "etag",
]);
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what Azure forbids in keys
const FORBIDDEN_KEY_CHARS = /[/\\#?\u0000-\u001f\u007f-\u009f]/;
const TABLE_NAME = /^[A-Za-z][A-Za-z0-9]{2,62}$/;
const PROPERTY_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,254}$/;

export function assertTableName(table: string): void {
  if (!TABLE_NAME.test(table)) {
    throw new StorageLimitError(`invalid table name "${table}": 3-63 alphanumerics, starting with a letter`);
  }
}

export function assertKey(kind: "partition" | "row", key: string): void {
  if (typeof key !== "string") throw new StorageLimitError(`${kind} key must be a string`);
  if (key.length > TABLE_LIMITS.maxKeyLength) {
    throw new StorageLimitError(`${kind} key longer than ${TABLE_LIMITS.maxKeyLength} characters`);
  }
  if (FORBIDDEN_KEY_CHARS.test(key)) {
    throw new StorageLimitError(
      `${kind} key contains a forbidden character (/ \\ # ? or a control character)`,
    );
  }
}

/** Bytes a property value occupies on the Azure wire model (strings are UTF-16). */
function valueBytes(value: PropertyValue): number {
  if (typeof value === "string") return value.length * 2;
  if (value instanceof Uint8Array) return value.byteLength;
  return 8;
}

function assertPropertyValue(name: string, value: PropertyValue): void {
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new StorageLimitError(`property "${name}" is not a finite number`);
  }
  if (value instanceof Date && Number.isNaN(value.getTime())) {
    throw new StorageLimitError(`property "${name}" is an invalid date`);
  }
  const ok =
    typeof value === "string" ||
    typeof value === "number" ||
    typeof value === "boolean" ||
    typeof value === "bigint" ||
    value instanceof Date ||
    value instanceof Uint8Array;
  if (!ok) throw new StorageLimitError(`property "${name}" has an unsupported type`);
  if (valueBytes(value) > TABLE_LIMITS.maxPropertyBytes) {
    throw new StorageLimitError(`property "${name}" exceeds ${TABLE_LIMITS.maxPropertyBytes} bytes`);
  }
}

/** Validates an entity against every limit and returns its estimated stored size in bytes. */
export function assertEntity(entity: Entity): number {
  assertKey("partition", entity.partitionKey);
  assertKey("row", entity.rowKey);
  const names = Object.keys(entity.properties);
  if (names.length > TABLE_LIMITS.maxCustomProperties) {
    throw new StorageLimitError(`entity has more than ${TABLE_LIMITS.maxCustomProperties} properties`);
  }
  let size = 4 + (entity.partitionKey.length + entity.rowKey.length) * 2;
  for (const name of names) {
    if (!PROPERTY_NAME.test(name) || RESERVED_PROPERTIES.has(name)) {
      throw new StorageLimitError(`invalid or reserved property name "${name}"`);
    }
    const value = entity.properties[name] as PropertyValue;
    assertPropertyValue(name, value);
    size += 8 + name.length * 2 + valueBytes(value);
  }
  if (size > TABLE_LIMITS.maxEntityBytes) {
    throw new StorageLimitError(`entity exceeds ${TABLE_LIMITS.maxEntityBytes} bytes`);
  }
  return size;
}

/** Validates a transaction: one partition, ≤100 operations, bounded body, no duplicate rows. */
export function assertTransaction(partitionKey: string, operations: readonly TableOperation[]): void {
  assertKey("partition", partitionKey);
  if (operations.length === 0) throw new StorageLimitError("transaction has no operations");
  if (operations.length > TABLE_LIMITS.maxBatchOperations) {
    throw new StorageLimitError(`transaction has more than ${TABLE_LIMITS.maxBatchOperations} operations`);
  }
  let bytes = 0;
  const rows = new Set<string>();
  for (const op of operations) {
    const rowKey = op.op === "delete" ? op.rowKey : op.entity.rowKey;
    if (op.op === "delete") {
      assertKey("row", op.rowKey);
    } else {
      if (op.entity.partitionKey !== partitionKey) {
        throw new StorageLimitError("transaction operations must share one partition key");
      }
      // binary travels base64-encoded: count 4/3 of the raw size
      bytes += Math.ceil(assertEntity(op.entity) * 1.34);
    }
    if (rows.has(rowKey)) throw new StorageLimitError(`transaction touches row "${rowKey}" twice`);
    rows.add(rowKey);
  }
  if (bytes > TABLE_LIMITS.maxBatchBytes) {
    throw new StorageLimitError(`transaction body exceeds ${TABLE_LIMITS.maxBatchBytes} bytes`);
  }
}
