/**
 * Child process for the crash-durability test: writes to the embedded store as fast as it can and
 * prints `ack <n>` only after each write resolved (the moment a client would be told "done").
 * Bounded: stops by itself after MAX_WRITES or MAX_MS.
 */
import { openEmbeddedStorage } from "../../server/persistence/sqlite/openEmbeddedStorage.js";
import { createStores } from "../../server/persistence/stores/index.js";

const MAX_WRITES = 50_000;
const MAX_MS = 20_000;
const dataDir = process.env.DATA_DIR as string;
const mode = process.env.MODE as "table" | "journal";
const started = Date.now();
const stores = createStores(openEmbeddedStorage(dataDir));

if (mode === "table") {
  for (let i = 0; i < MAX_WRITES && Date.now() - started < MAX_MS; i++) {
    await stores.storage.tables.insert("crash", {
      partitionKey: "p",
      rowKey: String(i).padStart(8, "0"),
      properties: { i },
    });
    process.stdout.write(`ack ${i}\n`);
  }
} else {
  const { writer } = await stores.journal.open("chat_crash");
  // Many appends in flight at once: acks arrive per group-committed batch.
  for (let i = 0; i < MAX_WRITES && Date.now() - started < MAX_MS; i++) {
    const { seq, durable } = writer.append(Buffer.from(`message ${i}`));
    void durable.then(() => process.stdout.write(`ack ${seq}\n`));
    if (i % 50 === 49) await durable;
  }
}
process.stdout.write("done\n");
