import type { SharedKeySlot } from "../../auth/signingKey.js";
import { ConcurrencyError } from "../errors.js";
import type { TableStore } from "../ports.js";

const SLOT = { table: "meta", partitionKey: "secrets", rowKey: "jwt-signing-key" } as const;

/**
 * The generated token-signing key of a development cluster, in the shared storage's `meta`
 * table, so every node verifies every node's tokens. Production configures `JWT_PRIVATE_KEY`
 * (and keeps it in a secret store), which bypasses this.
 */
export function sharedKeySlot(tables: TableStore): SharedKeySlot {
  const read = async () => {
    const row = await tables.get(SLOT.table, SLOT.partitionKey, SLOT.rowKey);
    return row ? String(row.properties.pem) : undefined;
  };
  return {
    read,
    async claim(pem) {
      try {
        await tables.insert(SLOT.table, {
          partitionKey: SLOT.partitionKey,
          rowKey: SLOT.rowKey,
          properties: { pem },
        });
        return pem;
      } catch (err) {
        if (!(err instanceof ConcurrencyError)) throw err;
        return (await read()) ?? pem;
      }
    },
  };
}
