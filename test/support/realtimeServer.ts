import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import type { LovecraftClient } from "../../client/index.js";
import { connectedUser, type TestUser } from "./realtimeUsers.js";
import { type ServerProcess, startServerProcess } from "./serverProcess.js";

/**
 * One server process (embedded storage in a temporary directory) for a test file, and the SDK
 * clients its tests open: all closed, the process stopped and the directory removed afterwards.
 * Call it inside `describe`.
 */
export function useRealtimeServer(prefix: string) {
  let server: ServerProcess | undefined;
  let dir = "";
  const clients: LovecraftClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), prefix));
    server = await startServerProcess({ cwd: dir, env: { DATA_DIR: join(dir, "data") } });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  return {
    get baseUrl(): string {
      if (!server) throw new Error("the server is not started yet");
      return server.baseUrl;
    },
    /** Closes this client after the file's tests. */
    track(client: LovecraftClient): void {
      clients.push(client);
    },
    /** A registered, connected user, closed after the file's tests. */
    async user(name: string): Promise<TestUser> {
      const u = await connectedUser(this.baseUrl, name);
      clients.push(u.client);
      return u;
    },
  };
}
