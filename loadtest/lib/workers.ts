import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { MessageChannel, Worker } from "node:worker_threads";
import type { Channel, FromWorker, ToWorker, WorkerInit } from "../worker/messages.js";
import { runWorker } from "../worker/runWorker.js";

/**
 * Worker threads run what the main thread runs: the compiled JavaScript under `dist/` (what
 * `npm run loadtest` starts), or the TypeScript sources through tsx (tests, `--import tsx`).
 */
const COMPILED = import.meta.url.endsWith(".js");
const ENTRY = new URL(`../worker/entry.${COMPILED ? "js" : "ts"}`, import.meta.url);
const EXEC_ARGV = COMPILED
  ? []
  : [
      "--import",
      pathToFileURL(
        join(dirname(createRequire(import.meta.url).resolve("tsx/package.json")), "dist/loader.mjs"),
      ).href,
    ];

export interface WorkerHandle {
  post(message: ToWorker): void;
  /** Ends the thread (or closes the in-process channel). */
  stop(): Promise<void>;
}

/**
 * Starts one worker: a worker thread, or with `inProcess` a MessageChannel to `runWorker` in
 * this thread (`--workers 0`, for debugging and profiling). Crashes arrive as `fatal`.
 */
export function startWorker(
  init: WorkerInit,
  inProcess: boolean,
  onMessage: (message: FromWorker) => void,
): WorkerHandle {
  if (inProcess) {
    const { port1, port2 } = new MessageChannel();
    port1.on("message", onMessage);
    void runWorker(init, port2 as unknown as Channel<ToWorker, FromWorker>);
    return {
      post: (m) => port1.postMessage(m),
      stop: async () => {
        port1.close();
        port2.close();
      },
    };
  }
  const worker = new Worker(ENTRY, { workerData: init, execArgv: EXEC_ARGV });
  worker.on("message", onMessage);
  worker.on("error", (err) => onMessage({ type: "fatal", message: err.stack ?? String(err) }));
  worker.on("exit", (code) => {
    if (code !== 0) onMessage({ type: "fatal", message: `worker ${init.worker} exited with ${code}` });
  });
  return {
    post: (m) => worker.postMessage(m),
    stop: async () => {
      worker.removeAllListeners("exit");
      await worker.terminate();
    },
  };
}
