import { TableServiceClient } from "@azure/data-tables";
import { BlobServiceClient } from "@azure/storage-blob";
import type { Storage } from "../ports.js";
import { AzureBlobStore } from "./AzureBlobStore.js";
import { AzureTableStore } from "./AzureTableStore.js";
import { mapAzureError } from "./azureErrors.js";

export interface AzureStorageOptions {
  readonly connectionString: string;
  /** Tables and containers to create at boot (others are created on first use). */
  readonly tables: readonly string[];
  readonly containers: readonly string[];
}

/** Whether the connection string points at plain http (Azurite, a local emulator). */
function isInsecure(connectionString: string): boolean {
  return (
    /(?:^|;)\s*(?:DefaultEndpointsProtocol\s*=\s*http|UseDevelopmentStorage\s*=\s*true)(?:;|$)/i.test(
      connectionString,
    ) || /(?:Table|Blob)Endpoint\s*=\s*http:/i.test(connectionString)
  );
}

/** Opens Azure Table + Blob storage and creates the known tables and containers. */
export async function openAzureStorage(options: AzureStorageOptions): Promise<Storage> {
  const insecure = isInsecure(options.connectionString);
  const tables = new AzureTableStore(options.connectionString, insecure);
  const tableService = TableServiceClient.fromConnectionString(options.connectionString, {
    allowInsecureConnection: insecure,
  });
  const blobService = BlobServiceClient.fromConnectionString(options.connectionString);
  const blobs = new AzureBlobStore(blobService);
  await Promise.all([tables.ensureTables(options.tables), blobs.ensureContainers(options.containers)]);
  return {
    kind: "azure",
    tables,
    blobs,
    async ping() {
      try {
        await Promise.all([
          tableService.listTables().byPage({ maxPageSize: 1 }).next(),
          blobService.getProperties(),
        ]);
      } catch (err) {
        throw mapAzureError(err, "ping");
      }
    },
    async close() {
      // The SDK clients hold no sockets that need closing beyond the shared keep-alive agent.
    },
  };
}
