import type { ChildProcess } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const PRELOAD = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), "gcPreload.ts")).href;

/**
 * Environment for a server process whose heap a test wants to measure: exposes `gc` and preloads
 * `gcPreload.ts` (SIGUSR2 → full GC). Test-only: the server itself has no such hook.
 */
export function gcPreloadEnv(): Record<string, string> {
  return { NODE_OPTIONS: `--expose-gc --import=${PRELOAD}` };
}

/** Asks a process started with `gcPreloadEnv()` to collect garbage, and gives it time to. */
export async function collectGarbage(child: ChildProcess): Promise<void> {
  for (let i = 0; i < 2; i++) {
    child.kill("SIGUSR2");
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Unlabelled samples of a Prometheus text page, by metric name (`lovecraft_sockets` → 2). */
export async function scrapeGauges(baseUrl: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const values = new Map<string, number>();
  for (const m of text.matchAll(/^([a-z_]+) (-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)$/gm)) {
    values.set(m[1] as string, Number(m[2]));
  }
  return values;
}
