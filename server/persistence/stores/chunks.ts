import { StorageLimitError } from "../errors.js";
import { TABLE_LIMITS } from "../limits.js";
import type { EntityProperties } from "../ports.js";

/** Characters per string chunk: 30,000 UTF-16 code units = 60,000 bytes, under the property limit. */
const STRING_CHUNK = TABLE_LIMITS.maxPropertyBytes / 2;
const BINARY_CHUNK = TABLE_LIMITS.maxPropertyBytes;

/**
 * Splits a value across numbered properties (`<prefix>0`, `<prefix>1`, …) so payloads larger than
 * one property fit in one entity. `maxChunks` bounds the entity size (10 × 60,000 ≈ 600 KB).
 */
export function toChunks(prefix: string, value: string | Buffer, maxChunks: number): EntityProperties {
  const size = typeof value === "string" ? STRING_CHUNK : BINARY_CHUNK;
  const count = Math.max(1, Math.ceil(value.length / size));
  if (count > maxChunks) {
    throw new StorageLimitError(
      `value of ${value.length} units needs ${count} chunks, more than ${maxChunks}`,
    );
  }
  const props: EntityProperties = {};
  for (let i = 0; i < count; i++) props[`${prefix}${i}`] = value.slice(i * size, (i + 1) * size);
  return props;
}

export function fromStringChunks(prefix: string, props: EntityProperties): string {
  let out = "";
  for (let i = 0; typeof props[`${prefix}${i}`] === "string"; i++) out += props[`${prefix}${i}`];
  return out;
}

export function fromBinaryChunks(prefix: string, props: EntityProperties): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; Buffer.isBuffer(props[`${prefix}${i}`]); i++) parts.push(props[`${prefix}${i}`] as Buffer);
  return Buffer.concat(parts);
}
