/**
 * `npm run loadtest -- --scenario dm --users 1000 --duration 30s --target http://127.0.0.1:2567`
 * (see `--help` and loadtest/README.md). Exits 1 when the ledger found lost, duplicated or
 * misplaced messages, 2 on a usage error or a failed run.
 */
import { parseArgs, USAGE, UsageError } from "./lib/options.js";
import { progressWriter } from "./lib/progress.js";
import { summaryLines } from "./lib/result.js";
import { runLoadTest } from "./runLoadTest.js";

async function main(): Promise<number> {
  let options: ReturnType<typeof parseArgs>;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n\n${USAGE}\n`);
    return 2;
  }
  if ("help" in options) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const progress = progressWriter();
  const controller = new AbortController();
  process.once("SIGINT", () => {
    progress.end();
    process.stderr.write("stopping the traffic (Ctrl-C again to quit now)\n");
    controller.abort();
    process.once("SIGINT", () => process.exit(130));
  });
  try {
    const result = await runLoadTest(options, {
      signal: controller.signal,
      log: (line) => {
        progress.end();
        process.stderr.write(`${line}\n`);
      },
      ...(options.progress ? { progress: progress.write } : {}),
    });
    progress.end();
    process.stdout.write(`${summaryLines(result).join("\n")}\n`);
    return result.ok ? 0 : 1;
  } catch (err) {
    progress.end();
    process.stderr.write(
      `${err instanceof UsageError ? err.message : ((err as Error).stack ?? String(err))}\n`,
    );
    return 2;
  }
}

process.exit(await main());
