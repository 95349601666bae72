import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");
let built = false;

/**
 * The bench node as production runs the server: compiled by `scripts/build.mjs` (once per
 * benchmark process) and started with plain `node`, so the figures are not those of the tsx
 * loader (which costs memory per closure and compiles at start).
 */
export function compiledBenchNode(): string {
  if (!built) {
    const run = spawnSync(process.execPath, [join(ROOT, "scripts/build.mjs")], { stdio: "inherit" });
    if (run.status !== 0) throw new Error("scripts/build.mjs failed");
    built = true;
  }
  return "dist/loadtest/bench/benchNode.js";
}
