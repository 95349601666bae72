import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import type { Storage } from "../../server/persistence/ports.js";
import { openEmbeddedStorage } from "../../server/persistence/sqlite/openEmbeddedStorage.js";
import { describeStorageContract } from "./storageContract.js";
import { describeStoresContract } from "./storesContract.js";

let dir: string;
let storage: Storage;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "lovecraft-contract-"));
  storage = openEmbeddedStorage(dir);
});

afterAll(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

describeStorageContract("embedded (SQLite + files)", () => storage);
describeStoresContract("embedded (SQLite + files)", () => storage);
