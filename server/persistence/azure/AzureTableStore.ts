import { odata, TableClient, type TableEntity, type TransactionAction } from "@azure/data-tables";
import { assertEntity, assertKey, assertTableName, assertTransaction } from "../limits.js";
import type {
  Entity,
  EntityKey,
  EntityProperties,
  PropertyValue,
  QueryPage,
  RowRange,
  StoredEntity,
  TableOperation,
  TableStore,
} from "../ports.js";
import { prefixUpperBound } from "../rowRange.js";
import { mapAzureError, statusOf } from "./azureErrors.js";

const DEFAULT_LIMIT = 1000;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const METADATA = new Set(["partitionKey", "rowKey", "etag", "timestamp", "odata.metadata", "odata.etag"]);

type AzureValue = PropertyValue | { value: string | number; type: "Double" };

/** Non-int32 numbers are sent as explicit Doubles; untyped JSON integers would become Int32. */
function toAzureEntity(entity: Entity): TableEntity<Record<string, AzureValue>> {
  const out: TableEntity<Record<string, AzureValue>> = {
    partitionKey: entity.partitionKey,
    rowKey: entity.rowKey,
  };
  for (const [name, value] of Object.entries(entity.properties)) {
    const isInt32 =
      typeof value === "number" && Number.isInteger(value) && value >= INT32_MIN && value <= INT32_MAX;
    out[name] = typeof value === "number" && !isInt32 ? { value, type: "Double" } : value;
  }
  return out;
}

function fromAzureEntity(raw: Record<string, unknown>): StoredEntity {
  const properties: EntityProperties = {};
  for (const [name, value] of Object.entries(raw)) {
    if (METADATA.has(name) || value === null || value === undefined) continue;
    properties[name] =
      value instanceof Uint8Array && !Buffer.isBuffer(value)
        ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
        : (value as PropertyValue);
  }
  return {
    partitionKey: raw.partitionKey as string,
    rowKey: raw.rowKey as string,
    etag: raw.etag as string,
    properties,
  };
}

function rangeFilter(partitionKey: string, range: RowRange): string {
  const parts = [odata`PartitionKey eq ${partitionKey}`];
  if (range.after !== undefined) parts.push(odata`RowKey gt ${range.after}`);
  if (range.from !== undefined) parts.push(odata`RowKey ge ${range.from}`);
  if (range.before !== undefined) parts.push(odata`RowKey lt ${range.before}`);
  if (range.prefix) {
    parts.push(odata`RowKey ge ${range.prefix}`);
    const upper = prefixUpperBound(range.prefix);
    if (upper !== undefined) parts.push(odata`RowKey lt ${upper}`);
  }
  return parts.join(" and ");
}

/**
 * Azure Table Storage adapter. Tables are created on first use (and at boot through
 * `ensureTables`); every limit is checked before the request leaves, because Azurite does not
 * enforce all of them and real Azure would reject the write.
 */
export class AzureTableStore implements TableStore {
  private readonly clients = new Map<string, Promise<TableClient>>();

  constructor(
    private readonly connectionString: string,
    private readonly allowInsecureConnection: boolean,
  ) {}

  /** Creates the named tables if missing; safe to call repeatedly and concurrently. */
  async ensureTables(tables: readonly string[]): Promise<void> {
    await Promise.all(tables.map((t) => this.client(t)));
  }

  async get(table: string, partitionKey: string, rowKey: string): Promise<StoredEntity | undefined> {
    assertKey("partition", partitionKey);
    assertKey("row", rowKey);
    const client = await this.client(table);
    try {
      return fromAzureEntity(await client.getEntity(partitionKey, rowKey));
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw mapAzureError(err, `get ${table}/${partitionKey}/${rowKey}`);
    }
  }

  async insert(table: string, entity: Entity): Promise<string> {
    assertEntity(entity);
    const client = await this.client(table);
    try {
      return (await client.createEntity(toAzureEntity(entity))).etag ?? "";
    } catch (err) {
      throw mapAzureError(err, `insert ${table}/${entity.partitionKey}/${entity.rowKey}`);
    }
  }

  async replace(table: string, entity: Entity, etag: string): Promise<string> {
    assertEntity(entity);
    const client = await this.client(table);
    try {
      return (await client.updateEntity(toAzureEntity(entity), "Replace", { etag })).etag ?? "";
    } catch (err) {
      throw mapAzureError(err, `replace ${table}/${entity.partitionKey}/${entity.rowKey}`);
    }
  }

  async upsert(table: string, entity: Entity): Promise<string> {
    assertEntity(entity);
    const client = await this.client(table);
    try {
      return (await client.upsertEntity(toAzureEntity(entity), "Replace")).etag ?? "";
    } catch (err) {
      throw mapAzureError(err, `upsert ${table}/${entity.partitionKey}/${entity.rowKey}`);
    }
  }

  async delete(table: string, key: EntityKey, etag?: string): Promise<void> {
    assertKey("partition", key.partitionKey);
    assertKey("row", key.rowKey);
    const client = await this.client(table);
    try {
      await client.deleteEntity(key.partitionKey, key.rowKey, etag ? { etag } : {});
    } catch (err) {
      if (statusOf(err) === 404 && etag === undefined) return;
      throw mapAzureError(err, `delete ${table}/${key.partitionKey}/${key.rowKey}`);
    }
  }

  async transact(
    table: string,
    partitionKey: string,
    operations: readonly TableOperation[],
  ): Promise<string[]> {
    assertTransaction(partitionKey, operations);
    const client = await this.client(table);
    const actions: TransactionAction[] = operations.map((op): TransactionAction => {
      switch (op.op) {
        case "insert":
          return ["create", toAzureEntity(op.entity)];
        case "replace":
          return ["update", toAzureEntity(op.entity), "Replace", { etag: op.etag }];
        case "upsert":
          return ["upsert", toAzureEntity(op.entity), "Replace"];
        case "delete":
          return ["delete", { partitionKey, rowKey: op.rowKey }];
        default: {
          const never: never = op;
          throw new Error(`unknown operation ${JSON.stringify(never)}`);
        }
      }
    });
    try {
      const result = await client.submitTransaction(actions);
      return operations.map((op, i) => (op.op === "delete" ? "" : (result.subResponses[i]?.etag ?? "")));
    } catch (err) {
      throw mapAzureError(err, `transaction on ${table}/${partitionKey}`);
    }
  }

  async query(table: string, partitionKey: string, range: RowRange = {}): Promise<QueryPage> {
    assertKey("partition", partitionKey);
    const limit = range.limit ?? DEFAULT_LIMIT;
    const client = await this.client(table);
    const items: StoredEntity[] = [];
    try {
      // Azure may return short pages with a continuation token: keep reading until one row past
      // the limit (to know whether another page exists) or the end.
      const pages = client
        .listEntities<Record<string, unknown>>({ queryOptions: { filter: rangeFilter(partitionKey, range) } })
        .byPage({ maxPageSize: Math.min(limit + 1, 1000) });
      for await (const page of pages) {
        for (const raw of page) items.push(fromAzureEntity(raw));
        if (items.length > limit) break;
      }
    } catch (err) {
      throw mapAzureError(err, `query ${table}/${partitionKey}`);
    }
    const page = items.slice(0, limit);
    const last = page.at(-1);
    return items.length > limit && last ? { items: page, next: last.rowKey } : { items: page };
  }

  private client(table: string): Promise<TableClient> {
    assertTableName(table);
    let pending = this.clients.get(table);
    if (!pending) {
      const client = TableClient.fromConnectionString(this.connectionString, table, {
        allowInsecureConnection: this.allowInsecureConnection,
      });
      pending = client.createTable().then(
        () => client,
        (err: unknown) => {
          this.clients.delete(table);
          throw mapAzureError(err, `create table ${table}`);
        },
      );
      this.clients.set(table, pending);
    }
    return pending;
  }
}
