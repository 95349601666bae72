import { type ChildProcess, spawn } from "node:child_process";
import { azuriteArgs } from "../../scripts/throwawayServices.js";

/** The documented, public Azurite development account key. */
const DEV_ACCOUNT = "devstoreaccount1";
const DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface RunningAzurite {
  readonly connectionString: string;
  readonly tablePort: number;
  readonly blobPort: number;
  stop(): Promise<void>;
}

/** A connection string for the development account at the given ports (e.g. a fault proxy's). */
export function azuriteConnectionString(tablePort: number, blobPort: number): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};` +
    `BlobEndpoint=http://127.0.0.1:${blobPort}/${DEV_ACCOUNT};` +
    `TableEndpoint=http://127.0.0.1:${tablePort}/${DEV_ACCOUNT};`
  );
}

/**
 * Starts Azurite (Blob + Table, in memory, ephemeral ports) as a child process and returns a
 * connection string for the real Azure SDKs. `--skipApiVersionCheck` because current SDKs send an
 * API version newer than Azurite knows (shared/notes/azure-storage.md).
 */
export async function startAzurite(): Promise<RunningAzurite> {
  const child = spawn(process.execPath, azuriteArgs(), { stdio: ["ignore", "pipe", "pipe"] });
  const ports = await readPorts(child);
  return {
    connectionString: azuriteConnectionString(ports.table, ports.blob),
    tablePort: ports.table,
    blobPort: ports.blob,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  };
}

function readPorts(child: ChildProcess): Promise<{ blob: number; table: number }> {
  return new Promise((resolve, reject) => {
    const found: Record<string, number> = {};
    let output = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`Azurite did not start within 20 s:\n${output}`));
    }, 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const m of output.matchAll(
        /Azurite (Blob|Table) service is successfully listening at http:\/\/[^:]+:(\d+)/g,
      )) {
        found[(m[1] as string).toLowerCase()] = Number(m[2]);
      }
      if (found.blob && found.table) {
        clearTimeout(timer);
        child.stdout?.off("data", onData);
        resolve({ blob: found.blob, table: found.table });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited with ${code}:\n${output}`));
    });
  });
}
