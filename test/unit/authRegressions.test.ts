import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadSigningKey } from "../../server/auth/signingKey.js";
import { TokenService } from "../../server/auth/TokenService.js";
import { openEmbeddedStorage } from "../../server/persistence/sqlite/openEmbeddedStorage.js";
import { createStores } from "../../server/persistence/stores/index.js";
import { buildAuth } from "../support/authDeps.js";

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "lovecraft-authreg-"));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("auth regressions found in review", () => {
  it("a refresh token stops working once the account's token version is bumped", async () => {
    const storage = openEmbeddedStorage(tempDir());
    try {
      const stores = createStores(storage);
      const { service } = await buildAuth(stores);
      const session = await service.register(
        { email: "ver@example.com", password: "a long password", displayName: "V" },
        "127.0.0.1",
      );
      const stored = await stores.accounts.getById(session.user.id);
      await stores.accounts.update({ ...stored!.account, tokenVersion: 1 }, stored!.etag);
      await expect(service.refresh(session.refreshToken)).rejects.toMatchObject({ code: "UNAUTHORIZED" });
      // A new login starts a session at the new version, which refreshes normally.
      const fresh = await service.login(
        { email: "ver@example.com", password: "a long password" },
        "127.0.0.1",
      );
      await expect(service.refresh(fresh.refreshToken)).resolves.toMatchObject({ expiresIn: 900 });
    } finally {
      await storage.close();
    }
  });

  it("derives the same refresh successor from the same key whatever its line endings", async () => {
    const dir = tempDir();
    const generated = await loadSigningKey({ pem: undefined, dataDir: dir });
    const pem = readFileSync(join(dir, "jwt-signing-key.pem"), "utf8");
    const crlf = await loadSigningKey({ pem: pem.replaceAll("\n", "\r\n"), dataDir: dir });
    const a = new TokenService(generated, "i", "a");
    const b = new TokenService(crlf, "i", "a");
    const token = a.newRefreshToken().token;
    expect(b.successorOf(token).token).toBe(a.successorOf(token).token);
  });
});
