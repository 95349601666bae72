import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AccountRights } from "../../server/auth/AccountRights.js";
import { type AuthDependencies, AuthService } from "../../server/auth/AuthService.js";
import { LoginThrottle } from "../../server/auth/LoginThrottle.js";
import { PasswordHasher } from "../../server/auth/PasswordHasher.js";
import { loadSigningKey } from "../../server/auth/signingKey.js";
import { TokenService } from "../../server/auth/TokenService.js";
import { createHttpApp } from "../../server/http/createHttpApp.js";
import { createLogger } from "../../server/logger.js";
import { createMetrics } from "../../server/metrics.js";
import type { Stores } from "../../server/persistence/stores/index.js";

export const TEST_ISSUER = "lovecraft";
export const TEST_AUDIENCE = "aloevera-harmony-meet";

/** Real auth components over the given stores, with a fresh signing key in a temp dir. */
export async function buildAuth(stores: Stores, overrides: Partial<AuthDependencies> = {}) {
  const key = await loadSigningKey({
    pem: undefined,
    dataDir: mkdtempSync(join(tmpdir(), "lovecraft-key-")),
  });
  const tokens = new TokenService(key, TEST_ISSUER, TEST_AUDIENCE);
  const throttle = overrides.throttle ?? new LoginThrottle();
  const service = new AuthService({
    accounts: stores.accounts,
    refreshTokens: stores.refreshTokens,
    hasher: new PasswordHasher(),
    tokens,
    throttle,
    ...overrides,
  });
  // The same limiter as logins: erasure's password check counts against the account's attempts.
  const rights = new AccountRights({ ...stores, hasher: new PasswordHasher(), throttle });
  return { service, tokens, key, rights };
}

/** For in-process HTTP tests that do not exercise actor-backed routes: fails loudly if called. */
export const noActors = {
  call(): never {
    throw new Error("this test does not run actors; use an integration test for actor-backed routes");
  },
};

/** The REST app over real stores and real auth, as the in-process HTTP tests use it. */
export async function buildTestApp(stores: Stores, overrides: Partial<AuthDependencies> = {}) {
  const auth = await buildAuth(stores, overrides);
  const app = createHttpApp({
    logger: createLogger({ level: "silent" }),
    metrics: createMetrics(),
    stores,
    auth,
    actors: noActors,
    health: { checks: [], isDraining: () => false },
    corsOrigins: ["*"],
    trustProxy: "loopback",
  });
  return { app, auth };
}
