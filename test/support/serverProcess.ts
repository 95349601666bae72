import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** tsx as an in-process loader: one process per server, so a signal reaches the server itself. */
const TSX_LOADER = pathToFileURL(
  join(dirname(createRequire(import.meta.url).resolve("tsx/package.json")), "dist/loader.mjs"),
).href;

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly baseUrl: string;
  /** Everything the process wrote so far (stdout + stderr). */
  output(): string;
  /** Sends a signal and resolves with the exit code (or signal name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * Runs a TypeScript entry through tsx in `cwd` — or, for a `.js` path (the compiled build in
 * dist/, as `npm start` and the benchmarks run it), with plain `node`.
 */
export function spawnTs(script: string, options: { cwd: string; env: Record<string, string> }): ChildProcess {
  const loader = script.endsWith(".js") ? [] : ["--import", TSX_LOADER];
  return spawn(process.execPath, [...loader, join(ROOT, script)], {
    cwd: options.cwd,
    // A clean environment: only PATH and what the test passes, so no developer variable leaks in.
    env: { PATH: process.env.PATH ?? "", ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

export function waitForExit(child: ChildProcess): Promise<number | string> {
  return new Promise((resolvePromise) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolvePromise(child.exitCode ?? (child.signalCode as string));
      return;
    }
    child.once("exit", (code, signal) => resolvePromise(code ?? (signal as string)));
  });
}

/**
 * Starts `server/main.ts` as a child process on an ephemeral port and resolves once it logs that
 * it listens (the port is read from that structured log line).
 */
export async function startServerProcess(options: {
  cwd: string;
  env?: Record<string, string>;
  timeoutMs?: number;
  /** Entry script; `test/support/testNode.ts` adds the test actor kind and `/test` routes. */
  script?: string;
}): Promise<ServerProcess> {
  const child = spawnTs(options.script ?? "server/main.ts", {
    cwd: options.cwd,
    env: { PORT: "0", ...options.env },
  });
  let output = "";
  child.stdout?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on("data", (c: Buffer) => {
    output += c.toString();
  });
  const port = await new Promise<number>((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`server did not start within ${options.timeoutMs ?? 30_000} ms:\n${output}`));
    }, options.timeoutMs ?? 30_000);
    const onData = () => {
      const m = /"port":(\d+)[^\n]*"msg":"lovecraft node listening"/.exec(output);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        resolvePromise(Number(m[1]));
      }
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${output}`));
    });
  });
  return {
    child,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => output,
    stop: (signal = "SIGTERM") => {
      const exited = waitForExit(child);
      child.kill(signal);
      return exited;
    },
  };
}
