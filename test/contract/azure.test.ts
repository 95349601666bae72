import { afterAll, beforeAll } from "vitest";
import { openAzureStorage } from "../../server/persistence/azure/openAzureStorage.js";
import type { Storage } from "../../server/persistence/ports.js";
import { type RunningAzurite, startAzurite } from "../support/azurite.js";
import { describeStorageContract } from "./storageContract.js";
import { describeStoresContract } from "./storesContract.js";

let azurite: RunningAzurite;
let storage: Storage;

beforeAll(async () => {
  azurite = await startAzurite();
  storage = await openAzureStorage({
    connectionString: azurite.connectionString,
    tables: [],
    containers: [],
  });
});

afterAll(async () => {
  await storage?.close();
  await azurite?.stop();
});

describeStorageContract("azure (Azurite, real SDKs)", () => storage);
describeStoresContract("azure (Azurite, real SDKs)", () => storage);
