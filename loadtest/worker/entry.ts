/** Worker-thread entry: runs one worker's share of the load test (see runWorker.ts). */
import { parentPort, workerData } from "node:worker_threads";
import type { Channel, FromWorker, ToWorker, WorkerInit } from "./messages.js";
import { runWorker } from "./runWorker.js";

if (!parentPort) throw new Error("loadtest/worker/entry.ts runs as a worker thread");
await runWorker(workerData as WorkerInit, parentPort as unknown as Channel<ToWorker, FromWorker>);
