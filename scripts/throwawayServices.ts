import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/**
 * How the local cluster and the tests start their throwaway backing services: one definition,
 * so a flag fixed for one (persistence off, loopback only) is fixed for all.
 */

/** `redis-server` on loopback with no persistence (a restart loses everything, like a fresh one). */
export function redisServerArgs(port: number): string[] {
  return [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--save",
    "",
    "--appendonly",
    "no",
    "--protected-mode",
    "no",
  ];
}

/**
 * Azurite (Blob + Table in memory, ephemeral ports) as `node <args>`. `--skipApiVersionCheck`
 * because current SDKs send an API version newer than Azurite knows (shared/notes).
 */
export function azuriteArgs(): string[] {
  const entry = join(
    dirname(createRequire(import.meta.url).resolve("azurite/package.json")),
    "dist/src/azurite.js",
  );
  return [
    entry,
    "--silent",
    "--disableTelemetry",
    "--skipApiVersionCheck",
    "--inMemoryPersistence",
    "--blobHost",
    "127.0.0.1",
    "--tableHost",
    "127.0.0.1",
    "--queueHost",
    "127.0.0.1",
    "--blobPort",
    "0",
    "--queuePort",
    "0",
    "--tablePort",
    "0",
  ];
}
