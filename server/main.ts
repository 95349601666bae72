import { ConfigError, loadConfig } from "./config.js";
import { createLogger } from "./logger.js";
import { startNode } from "./node.js";

/**
 * Process entry point: parse configuration (one clear line and exit 1 on error), start the node,
 * and turn SIGTERM/SIGINT into a bounded graceful shutdown.
 */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger({ level: config.logLevel });
  process.on("unhandledRejection", (err) => logger.error({ err }, "unhandled rejection"));

  let node: Awaited<ReturnType<typeof startNode>>;
  try {
    node = await startNode(config, logger);
  } catch (err) {
    logger.fatal({ err }, "failed to start");
    process.exit(1);
  }

  const shutdown = (signal: string) => {
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, "shutdown timed out; exiting");
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    node.stop(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

void main();
