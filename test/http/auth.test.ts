import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as argon2 from "argon2";
import type { Express } from "express";
import { createLocalJWKSet, jwtVerify, SignJWT } from "jose";
import request from "supertest";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { AuthDependencies } from "../../server/auth/AuthService.js";
import { PasswordHasher } from "../../server/auth/PasswordHasher.js";
import type { Storage } from "../../server/persistence/ports.js";
import { openEmbeddedStorage } from "../../server/persistence/sqlite/openEmbeddedStorage.js";
import { createStores, type Stores } from "../../server/persistence/stores/index.js";
import { buildTestApp, TEST_AUDIENCE, TEST_ISSUER } from "../support/authDeps.js";
import type { Json } from "../support/http.js";

// The real argon2, wrapped so tests can count the work a request does.
vi.mock("argon2", async (importOriginal) => {
  const real = await importOriginal<typeof import("argon2")>();
  return { ...real, hash: vi.fn(real.hash), verify: vi.fn(real.verify) };
});

const PASSWORD = "correct horse battery staple";

let dir: string;
let storage: Storage;
let stores: Stores;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "lovecraft-auth-"));
  storage = openEmbeddedStorage(dir);
  stores = createStores(storage);
});

afterAll(async () => {
  await storage?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  vi.mocked(argon2.hash).mockClear();
  vi.mocked(argon2.verify).mockClear();
});

/** A fresh app (own signing key, own in-memory login throttle) over the shared store. */
async function makeApp(overrides: Partial<AuthDependencies> = {}) {
  const { app, auth } = await buildTestApp(stores, overrides);
  return { app, ...auth };
}

const newEmail = () => `user-${randomUUID()}@example.com`;

/** Asserts the success envelope and returns its data. */
function okData(res: request.Response, status = 200): Json {
  expect(res.status, res.text).toBe(status);
  expect(res.headers["content-type"]).toMatch(/^application\/json/);
  expect(Object.keys(res.body).sort()).toEqual(["data", "success", "timestamp"]);
  expect(res.body.success).toBe(true);
  return res.body.data;
}

/** Asserts the error envelope and returns its `error`. */
function errorBody(res: request.Response, status: number, code: string) {
  expect(res.status, res.text).toBe(status);
  expect(res.headers["content-type"]).toMatch(/^application\/json/);
  expect(Object.keys(res.body).sort()).toEqual(["error", "success", "timestamp"]);
  expect(res.body.success).toBe(false);
  expect(res.body.error.code).toBe(code);
  expect(typeof res.body.error.message).toBe("string");
  return res.body.error as { code: string; message: string; details?: unknown; retryable?: boolean };
}

const post = (app: Express, path: string, body: unknown, ip?: string) => {
  const req = request(app).post(`/api/v1/auth/${path}`);
  if (ip) req.set("X-Forwarded-For", ip);
  return req.send(body as object);
};

async function register(app: Express, email = newEmail(), password = PASSWORD) {
  const data = okData(await post(app, "register", { email, password, displayName: "Tester" }), 201);
  return data as { user: Json; accessToken: string; refreshToken: string; expiresIn: number };
}

const login = (app: Express, email: string, password = PASSWORD, ip?: string) =>
  post(app, "login", { email, password }, ip);
const refresh = (app: Express, refreshToken: string) => post(app, "refresh", { refreshToken });
const me = (app: Express, token?: string) => {
  const req = request(app).get("/api/v1/auth/me");
  return token === undefined ? req : req.set("Authorization", `Bearer ${token}`);
};

const REFRESH_FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[A-Za-z0-9_-]{43}$/;
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("register", () => {
  it("answers 201 with the public user and a token pair, never cached", async () => {
    const { app, tokens } = await makeApp();
    const email = newEmail();
    const res = await post(app, "register", { email, password: PASSWORD, displayName: "  Ann  " });
    const data = okData(res, 201);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(Object.keys(data).sort()).toEqual(["accessToken", "expiresIn", "refreshToken", "user"]);
    expect(Object.keys(data.user).sort()).toEqual(["createdAt", "displayName", "email", "id"]);
    expect(data.user).toMatchObject({ email, displayName: "Ann" });
    expect(res.text).not.toContain("passwordHash");
    expect(res.text).not.toContain("$argon2");
    expect(res.text).not.toContain(PASSWORD);
    expect(data.expiresIn).toBe(900);
    expect(data.refreshToken).toMatch(REFRESH_FORMAT);
    expect(await tokens.verifyAccess(data.accessToken)).toEqual({
      userId: data.user.id,
      tokenVersion: 0,
      familyId: data.refreshToken.split(".")[0],
      expiresAt: expect.any(Number),
    });
    // Stored as an argon2id hash with the configured parameters, not as the password.
    const stored = await stores.accounts.getByEmail(email);
    expect(stored?.account.passwordHash).toMatch(/^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    expect(stored?.account.passwordHash).not.toContain(PASSWORD);
  });

  it("normalizes the email and refuses a duplicate in any case with 409", async () => {
    const { app } = await makeApp();
    const local = `Mixed.Case-${randomUUID()}`;
    const session = await register(app, `${local}@Example.COM`);
    expect(session.user.email).toBe(`${local.toLowerCase()}@example.com`);

    for (const variant of [`${local.toLowerCase()}@example.com`, `${local.toUpperCase()}@EXAMPLE.COM`]) {
      const res = await post(app, "register", {
        email: variant,
        password: "another long passphrase",
        displayName: "Mallory",
      });
      expect(errorBody(res, 409, "CONFLICT").message).toBe("email already registered");
    }
    // The original account is untouched: its password still works, the intruder's does not.
    expect(okData(await login(app, `${local}@example.com`)).user.id).toBe(session.user.id);
    errorBody(await login(app, `${local}@example.com`, "another long passphrase"), 401, "UNAUTHORIZED");
  });

  it.each([
    ["7 characters", "a".repeat(7)],
    ["129 characters", "a".repeat(129)],
    ["a common password", "password123"],
    ["a common password in another case", "PassWord123"],
  ])("refuses a password of %s with 400 and creates no account", async (_label, password) => {
    const { app } = await makeApp();
    const email = newEmail();
    const res = await post(app, "register", { email, password, displayName: "Tester" });
    const error = errorBody(res, 400, "VALIDATION_FAILED");
    expect(error.details).toEqual([{ path: "password", message: expect.any(String) }]);
    expect(await stores.accounts.getByEmail(email)).toBeUndefined();
  });

  it("accepts passwords of exactly 8 and 128 characters", async () => {
    const { app } = await makeApp();
    await register(app, newEmail(), "kq7#vLp2");
    await register(app, newEmail(), "kq7#vLp2".repeat(16));
  });

  it.each([
    ["isAdmin", true],
    ["id", "00000000-0000-4000-8000-000000000000"],
    ["tokenVersion", -1],
    ["passwordHash", "$argon2id$v=19$m=1,t=1,p=1$c2FsdHNhbHQ$aGFzaA"],
    ["createdAt", "2000-01-01T00:00:00.000Z"],
  ])(
    "refuses an unknown field %s with 400 and creates no account (mass assignment)",
    async (field, value) => {
      const { app } = await makeApp();
      const email = newEmail();
      const body = { email, password: PASSWORD, displayName: "Tester", [field]: value };
      const error = errorBody(await post(app, "register", body), 400, "VALIDATION_FAILED");
      expect(JSON.stringify(error.details)).toContain(field);
      expect(await stores.accounts.getByEmail(email)).toBeUndefined();
    },
  );

  it("refuses a __proto__ key in the JSON body", async () => {
    const { app } = await makeApp();
    const email = newEmail();
    const res = await request(app)
      .post("/api/v1/auth/register")
      .set("Content-Type", "application/json")
      .send(`{"email":"${email}","password":"${PASSWORD}","displayName":"T","__proto__":{"isAdmin":true}}`);
    errorBody(res, 400, "VALIDATION_FAILED");
    expect(await stores.accounts.getByEmail(email)).toBeUndefined();
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  });

  it.each([
    ["an invalid email", { email: "not-an-email", password: PASSWORD, displayName: "T" }],
    ["a blank display name", { email: newEmail(), password: PASSWORD, displayName: "   " }],
    ["a missing password", { email: newEmail(), displayName: "T" }],
    ["a non-string password", { email: newEmail(), password: 12345678, displayName: "T" }],
  ])("refuses %s with 400", async (_label, body) => {
    const { app } = await makeApp();
    errorBody(await post(app, "register", body), 400, "VALIDATION_FAILED");
  });

  it("answers 415 for a text/plain body and creates no account", async () => {
    const { app } = await makeApp();
    const email = newEmail();
    const res = await request(app)
      .post("/api/v1/auth/register")
      .set("Content-Type", "text/plain")
      .send(JSON.stringify({ email, password: PASSWORD, displayName: "Tester" }));
    errorBody(res, 415, "UNSUPPORTED_MEDIA_TYPE");
    expect(await stores.accounts.getByEmail(email)).toBeUndefined();
  });

  it("answers 400 BAD_REQUEST for malformed JSON", async () => {
    const { app } = await makeApp();
    const res = await request(app)
      .post("/api/v1/auth/register")
      .set("Content-Type", "application/json")
      .send('{"email": "a@b.c", "password": ');
    expect(errorBody(res, 400, "BAD_REQUEST").message).toBe("malformed JSON body");
  });
});

describe("login", () => {
  it("answers 200 with a session for the right password, whatever the email's case", async () => {
    const { app, tokens } = await makeApp();
    const email = newEmail();
    const registered = await register(app, email);
    const res = await login(app, email.toUpperCase());
    const data = okData(res);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(data.user).toEqual(registered.user);
    expect(data.refreshToken).toMatch(REFRESH_FORMAT);
    // A new login is a new session family.
    expect(data.refreshToken.split(".")[0]).not.toBe(registered.refreshToken.split(".")[0]);
    expect((await tokens.verifyAccess(data.accessToken)).userId).toBe(registered.user.id);
    expect(res.text).not.toContain("$argon2");
  });

  it("answers a wrong password and an unknown email identically", async () => {
    const { app } = await makeApp();
    const email = newEmail();
    await register(app, email);
    const wrong = await login(app, email, "not the password at all");
    const unknown = await login(app, newEmail(), "not the password at all");
    const a = errorBody(wrong, 401, "UNAUTHORIZED");
    const b = errorBody(unknown, 401, "UNAUTHORIZED");
    expect(a).toEqual(b);
    expect(a).toEqual({ code: "UNAUTHORIZED", message: "invalid credentials" });
    expect(wrong.headers["www-authenticate"]).toBe(unknown.headers["www-authenticate"]);
  });

  it("does the same argon2 work for a wrong password and an unknown email", async () => {
    class CountingHasher extends PasswordHasher {
      readonly verified: (string | undefined)[] = [];
      override verify(stored: string | undefined, password: string) {
        this.verified.push(stored);
        return super.verify(stored, password);
      }
    }
    const hasher = new CountingHasher();
    const { app } = await makeApp({ hasher });
    const email = newEmail();
    await register(app, email);
    const storedHash = (await stores.accounts.getByEmail(email))?.account.passwordHash as string;
    const argonVerify = vi.mocked(argon2.verify);
    const argonHash = vi.mocked(argon2.hash);

    /** Logs in and returns the argon2 work done: hashes, and each verify's target and result. */
    const work = async (loginEmail: string) => {
      hasher.verified.length = 0;
      argonVerify.mockClear();
      argonHash.mockClear();
      errorBody(await login(app, loginEmail, "not the password at all"), 401, "UNAUTHORIZED");
      const verifies = await Promise.all(
        argonVerify.mock.calls.map(async ([target], i) => ({
          target,
          result: await argonVerify.mock.results[i]?.value,
        })),
      );
      return { hasherCalls: [...hasher.verified], verifies, hashes: argonHash.mock.calls.length };
    };

    const unknownCold = await work(newEmail());
    const wrongPassword = await work(email);
    const unknown = await work(newEmail());

    // Exactly one PasswordHasher.verify and one real argon2 verification in every case.
    expect(wrongPassword.hasherCalls).toEqual([storedHash]);
    expect(wrongPassword.verifies).toEqual([{ target: storedHash, result: false }]);
    for (const u of [unknownCold, unknown]) {
      expect(u.hasherCalls).toEqual([undefined]);
      expect(u.verifies).toHaveLength(1);
      const [{ target, result }] = u.verifies as [{ target: string; result: unknown }];
      // Against a real argon2id hash with the same cost as a real account's, not a shortcut.
      expect(target).not.toBe(storedHash);
      expect(target.split("$").slice(0, 4)).toEqual(storedHash.split("$").slice(0, 4));
      expect(result).toBe(false);
    }
    expect(unknown.verifies[0]?.target).toBe(unknownCold.verifies[0]?.target);
    // Once the dummy hash exists, no extra hashing distinguishes the two cases.
    expect(unknown.hashes).toBe(0);
    expect(wrongPassword.hashes).toBe(0);
  });

  it("refuses unknown fields and non-JSON bodies", async () => {
    const { app } = await makeApp();
    const email = newEmail();
    await register(app, email);
    errorBody(
      await post(app, "login", { email, password: PASSWORD, remember: true }),
      400,
      "VALIDATION_FAILED",
    );
    errorBody(await post(app, "login", { email, password: "x".repeat(129) }), 400, "VALIDATION_FAILED");
    const res = await request(app)
      .post("/api/v1/auth/login")
      .set("Content-Type", "text/plain")
      .send(JSON.stringify({ email, password: PASSWORD }));
    errorBody(res, 415, "UNSUPPORTED_MEDIA_TYPE");
  });
});

describe("login throttling", () => {
  function expectRateLimited(res: request.Response) {
    const error = errorBody(res, 429, "RATE_LIMITED");
    expect(error.retryable).toBe(true);
    const retryAfter = Number(res.headers["retry-after"]);
    expect(retryAfter).toBeGreaterThan(1);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    expect(error.details).toEqual({ retryAfterSeconds: retryAfter });
  }

  it("locks an account after 5 failures, even for the right password; other accounts still work", async () => {
    const { app } = await makeApp();
    const victim = newEmail();
    const other = newEmail();
    await register(app, victim);
    await register(app, other);
    // The lock is keyed case-insensitively, like the account.
    for (const variant of [victim, victim.toUpperCase(), victim, victim.toUpperCase(), victim]) {
      errorBody(await login(app, variant, "wrong password guess"), 401, "UNAUTHORIZED");
    }
    expectRateLimited(await login(app, victim));
    expectRateLimited(await login(app, victim.toUpperCase(), "wrong password guess"));
    // Same IP, another account.
    okData(await login(app, other));
  });

  it("locks an unknown email the same way (no enumeration through the lock)", async () => {
    const { app } = await makeApp();
    const ghost = newEmail();
    for (let i = 0; i < 5; i++) {
      errorBody(await login(app, ghost, "wrong password guess"), 401, "UNAUTHORIZED");
    }
    expectRateLimited(await login(app, ghost, "wrong password guess"));
  });

  it("clears the failure count on a successful login", async () => {
    const { app } = await makeApp();
    const email = newEmail();
    await register(app, email);
    for (let i = 0; i < 4; i++)
      errorBody(await login(app, email, "wrong password guess"), 401, "UNAUTHORIZED");
    okData(await login(app, email));
    for (let i = 0; i < 4; i++)
      errorBody(await login(app, email, "wrong password guess"), 401, "UNAUTHORIZED");
    okData(await login(app, email));
  });

  it("limits one IP to 50 attempts per window; other IPs are unaffected", async () => {
    const { app } = await makeApp();
    const ip = "203.0.113.7";
    let limitedAt = -1;
    for (let i = 0; i < 60; i++) {
      // A different email each time, so only the per-IP limit can trigger.
      const res = await login(app, newEmail(), "wrong password guess", ip);
      if (res.status === 429) {
        expectRateLimited(res);
        limitedAt = i;
        break;
      }
      errorBody(res, 401, "UNAUTHORIZED");
    }
    expect(limitedAt).toBe(50);
    // Registration counts against the same budget.
    const blocked = await post(
      app,
      "register",
      { email: newEmail(), password: PASSWORD, displayName: "T" },
      ip,
    );
    expectRateLimited(blocked);
    errorBody(await login(app, newEmail(), "wrong password guess", "203.0.113.8"), 401, "UNAUTHORIZED");
  });
});

describe("me", () => {
  it("answers 200 with the account for a valid token", async () => {
    const { app } = await makeApp();
    const session = await register(app);
    const res = await me(app, session.accessToken);
    expect(okData(res)).toEqual(session.user);
    expect(res.headers["cache-control"]).toBe("no-store");
  });

  it("answers 401 with WWW-Authenticate without a token", async () => {
    const { app } = await makeApp();
    const res = await me(app);
    errorBody(res, 401, "UNAUTHORIZED");
    expect(res.headers["www-authenticate"]).toBe('Bearer realm="lovecraft"');
  });

  it.each([
    ["Bearer garbage", "Bearer garbage"],
    ["Basic credentials", `Basic ${Buffer.from("a:b").toString("base64")}`],
    ["a bare token", "eyJhbGciOiJFZERTQSJ9.e30.c2ln"],
  ])("answers 401 with WWW-Authenticate for %s", async (_label, header) => {
    const { app } = await makeApp();
    const res = await request(app).get("/api/v1/auth/me").set("Authorization", header);
    errorBody(res, 401, "UNAUTHORIZED");
    expect(res.headers["www-authenticate"]).toMatch(/^Bearer realm="lovecraft"/);
  });

  it("answers 401 for alg=none tokens, with or without a signature part", async () => {
    const { app } = await makeApp();
    const session = await register(app);
    const [, payload, signature] = session.accessToken.split(".");
    const header = b64url({ alg: "none", typ: "at+jwt" });
    for (const token of [`${header}.${payload}.`, `${header}.${payload}.${signature}`]) {
      const res = await me(app, token);
      errorBody(res, 401, "UNAUTHORIZED");
      expect(res.headers["www-authenticate"]).toMatch(/^Bearer realm="lovecraft"/);
    }
    // Control: the genuine token with the same payload is accepted.
    okData(await me(app, session.accessToken));
  });

  it("answers 401 invalid_token for expired, foreign-key and HS256 tokens", async () => {
    const { app, key } = await makeApp();
    const session = await register(app);
    const other = await makeApp();
    const foreign = (await register(other.app)).accessToken;
    const build = () =>
      new SignJWT({ ver: 0, fam: session.refreshToken.split(".")[0] })
        .setSubject(session.user.id)
        .setIssuer(TEST_ISSUER)
        .setAudience(TEST_AUDIENCE);
    const now = Math.floor(Date.now() / 1000);
    const expired = await build()
      .setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: "at+jwt" })
      .setIssuedAt(now - 3600)
      .setExpirationTime(now - 60)
      .sign(key.privateKey);
    const hs256 = await build()
      .setProtectedHeader({ alg: "HS256", kid: key.kid, typ: "at+jwt" })
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode("x".repeat(32)));
    const valid = await build()
      .setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: "at+jwt" })
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(key.privateKey);
    for (const token of [expired, foreign, hs256]) {
      const res = await me(app, token);
      errorBody(res, 401, "UNAUTHORIZED");
      expect(res.headers["www-authenticate"]).toBe('Bearer realm="lovecraft", error="invalid_token"');
    }
    // Control: the same builder with the real key and a future expiry is accepted.
    expect(okData(await me(app, valid)).id).toBe(session.user.id);
  });

  it("answers 401 once the account's token version is bumped", async () => {
    const { app, tokens } = await makeApp();
    const session = await register(app);
    okData(await me(app, session.accessToken));
    const stored = await stores.accounts.getById(session.user.id);
    if (!stored) throw new Error("account not stored");
    await stores.accounts.update(
      { ...stored.account, tokenVersion: stored.account.tokenVersion + 1 },
      stored.etag,
    );
    // The token still verifies statelessly: the 401 comes from the version check.
    await expect(tokens.verifyAccess(session.accessToken)).resolves.toMatchObject({ tokenVersion: 0 });
    const error = errorBody(await me(app, session.accessToken), 401, "UNAUTHORIZED");
    expect(error.message).toBe("session is no longer valid");
  });
});

describe("refresh", () => {
  /** An app whose AuthService clock the test moves, recording revocations. */
  async function clockedApp() {
    const clock = { now: Date.now() };
    const revoked: string[] = [];
    const built = await makeApp({ now: () => clock.now, onRevoked: (userId) => revoked.push(userId) });
    return { ...built, clock, revoked };
  }

  it("returns a new pair in the same family; the old access token stays valid", async () => {
    const { app, tokens } = await clockedApp();
    const session = await register(app);
    const res = await refresh(app, session.refreshToken);
    const pair = okData(res);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(Object.keys(pair).sort()).toEqual(["accessToken", "expiresIn", "refreshToken"]);
    expect(pair.refreshToken).toMatch(REFRESH_FORMAT);
    expect(pair.refreshToken).not.toBe(session.refreshToken);
    expect(pair.refreshToken).toBe(tokens.successorOf(session.refreshToken).token);
    expect(pair.refreshToken.split(".")[0]).toBe(session.refreshToken.split(".")[0]);
    expect(pair.accessToken).not.toBe(session.accessToken);
    expect(pair.expiresIn).toBe(900);
    expect(okData(await me(app, pair.accessToken)).id).toBe(session.user.id);
    // Access tokens are stateless: rotation does not revoke the old one.
    expect(okData(await me(app, session.accessToken)).id).toBe(session.user.id);
  });

  it("answers a retry with the old token within 30 s with the same successor", async () => {
    const { app, clock, revoked } = await clockedApp();
    const session = await register(app);
    const first = okData(await refresh(app, session.refreshToken));
    const retry = okData(await refresh(app, session.refreshToken));
    expect(retry.refreshToken).toBe(first.refreshToken);
    clock.now += 29_000;
    const lateRetry = okData(await refresh(app, session.refreshToken));
    expect(lateRetry.refreshToken).toBe(first.refreshToken);
    expect(okData(await me(app, retry.accessToken)).id).toBe(session.user.id);
    // The successor still works: nothing was revoked.
    const next = okData(await refresh(app, first.refreshToken));
    expect(next.refreshToken).not.toBe(first.refreshToken);
    expect(revoked).toEqual([]);
  });

  it("revokes the whole family when the old token is presented after the grace window", async () => {
    const { app, clock, revoked } = await clockedApp();
    const session = await register(app);
    const first = okData(await refresh(app, session.refreshToken));
    clock.now += 31_000;
    const reuse = errorBody(await refresh(app, session.refreshToken), 401, "UNAUTHORIZED");
    expect(reuse.message).toMatch(/reuse/);
    expect(revoked).toEqual([session.user.id]);
    // The successor, never used, is dead too, and so is the original on another try.
    errorBody(await refresh(app, first.refreshToken), 401, "UNAUTHORIZED");
    errorBody(await refresh(app, session.refreshToken), 401, "UNAUTHORIZED");
  });

  it("revokes the family when a rotated token is replayed after its successor was used, even within 30 s", async () => {
    const { app, revoked } = await clockedApp();
    const session = await register(app);
    const b = okData(await refresh(app, session.refreshToken));
    const c = okData(await refresh(app, b.refreshToken));
    errorBody(await refresh(app, session.refreshToken), 401, "UNAUTHORIZED");
    expect(revoked).toEqual([session.user.id]);
    errorBody(await refresh(app, c.refreshToken), 401, "UNAUTHORIZED");
  });

  it("revokes only the reused family; another session of the same user survives", async () => {
    const { app, clock } = await clockedApp();
    const email = newEmail();
    const one = await register(app, email);
    const two = okData(await login(app, email));
    okData(await refresh(app, one.refreshToken));
    clock.now += 31_000;
    errorBody(await refresh(app, one.refreshToken), 401, "UNAUTHORIZED");
    okData(await refresh(app, two.refreshToken));
  });

  it("follows a chain of rotations, each successor derived from the last", async () => {
    const { app, clock, tokens, revoked } = await clockedApp();
    const session = await register(app);
    const seen = new Set([session.refreshToken]);
    let current = session.refreshToken;
    for (let i = 0; i < 5; i++) {
      clock.now += 60_000;
      const pair = okData(await refresh(app, current));
      expect(pair.refreshToken).toBe(tokens.successorOf(current).token);
      expect(seen.has(pair.refreshToken)).toBe(false);
      seen.add(pair.refreshToken);
      expect(okData(await me(app, pair.accessToken)).id).toBe(session.user.id);
      current = pair.refreshToken;
    }
    expect(revoked).toEqual([]);
  });

  it("answers concurrent refreshes with the same token with the same successor", async () => {
    const { app, revoked } = await clockedApp();
    const session = await register(app);
    const answers = await Promise.all([
      refresh(app, session.refreshToken),
      refresh(app, session.refreshToken),
      refresh(app, session.refreshToken),
    ]);
    const pairs = answers.map((res) => okData(res));
    expect(new Set(pairs.map((p) => p.refreshToken)).size).toBe(1);
    expect(pairs[0].refreshToken).not.toBe(session.refreshToken);
    expect(revoked).toEqual([]);
    // The family is intact: the shared successor rotates normally.
    okData(await refresh(app, pairs[0].refreshToken));
  });

  it("answers both of two refreshes that read the token before either rotated it", async () => {
    const { app, revoked } = await clockedApp();
    const session = await register(app);
    const familyId = session.refreshToken.split(".")[0] as string;
    const store = stores.refreshTokens;
    const realFind = store.find.bind(store);
    const realRotate = store.rotate.bind(store);
    // Hold the first two lookups of this family until both happened, so both requests see the
    // token unused and race to rotate it: the store lets one win, the other must not fail.
    const held: (() => void)[] = [];
    const find = vi.spyOn(store, "find").mockImplementation(async (id, hash) => {
      const found = await realFind(id, hash);
      if (id === familyId && held.length < 2) {
        await new Promise<void>((resolve) => {
          held.push(resolve);
          if (held.length === 2) for (const release of held) release();
        });
      }
      return found;
    });
    const rotate = vi.spyOn(store, "rotate").mockImplementation(realRotate);
    let successor = "";
    try {
      const answers = await Promise.all([
        refresh(app, session.refreshToken),
        refresh(app, session.refreshToken),
      ]);
      const [a, b] = answers.map((res) => okData(res));
      expect(a.refreshToken).toBe(b.refreshToken);
      expect(a.refreshToken).not.toBe(session.refreshToken);
      successor = a.refreshToken;
      // Both really tried to rotate; exactly one lost with a conflict.
      expect(rotate).toHaveBeenCalledTimes(2);
      const outcomes = await Promise.all(
        rotate.mock.results.map((r) =>
          (r.value as Promise<void>).then(
            () => "ok",
            (err: Error) => err.name,
          ),
        ),
      );
      expect(outcomes.sort()).toEqual(["ConcurrencyError", "ok"]);
    } finally {
      find.mockRestore();
      rotate.mockRestore();
    }
    expect(revoked).toEqual([]);
    // The family is intact: the shared successor rotates normally.
    okData(await refresh(app, successor));
  });

  it("answers 401 for an expired refresh token", async () => {
    const { app, clock } = await clockedApp();
    const session = await register(app);
    clock.now += 30 * 24 * 60 * 60 * 1000;
    const error = errorBody(await refresh(app, session.refreshToken), 401, "UNAUTHORIZED");
    expect(error.message).toBe("refresh token expired");
  });

  it("answers 401 for malformed, unknown and forged refresh tokens", async () => {
    const { app } = await clockedApp();
    const session = await register(app);
    const [familyId, secret] = session.refreshToken.split(".") as [string, string];
    const flipped = `${secret.slice(0, -1)}${secret.endsWith("A") ? "B" : "A"}`;
    for (const token of [
      "garbage",
      `${familyId}.${secret}x`,
      `${familyId}.${"A".repeat(43)}`,
      `${randomUUID()}.${secret}`,
      `${familyId}.${flipped}`,
      session.accessToken.slice(0, 200),
    ]) {
      errorBody(await refresh(app, token), 401, "UNAUTHORIZED");
    }
    // None of these burned the real token.
    okData(await refresh(app, session.refreshToken));
  });

  it("answers 400 for unknown fields, a missing token or an oversized one", async () => {
    const { app } = await clockedApp();
    const session = await register(app);
    for (const body of [
      { refreshToken: session.refreshToken, userId: randomUUID() },
      {},
      { refreshToken: "" },
      { refreshToken: "x".repeat(201) },
      { refreshToken: 42 },
    ]) {
      errorBody(await post(app, "refresh", body), 400, "VALIDATION_FAILED");
    }
    okData(await refresh(app, session.refreshToken));
  });
});

describe("logout", () => {
  it("revokes the session, answers twice, and reports the user to onRevoked", async () => {
    const revoked: string[] = [];
    const { app } = await makeApp({ onRevoked: (userId) => revoked.push(userId) });
    const session = await register(app);
    const res = await post(app, "logout", { refreshToken: session.refreshToken });
    expect(okData(res)).toEqual({ loggedOut: true });
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(revoked).toContain(session.user.id);
    expect(new Set(revoked)).toEqual(new Set([session.user.id]));
    errorBody(await refresh(app, session.refreshToken), 401, "UNAUTHORIZED");
    expect(okData(await post(app, "logout", { refreshToken: session.refreshToken }))).toEqual({
      loggedOut: true,
    });
  });

  it("revokes the whole family, including the grace retry of an older token", async () => {
    const { app } = await makeApp();
    const session = await register(app);
    const next = okData(await refresh(app, session.refreshToken));
    okData(await post(app, "logout", { refreshToken: next.refreshToken }));
    errorBody(await refresh(app, next.refreshToken), 401, "UNAUTHORIZED");
    errorBody(await refresh(app, session.refreshToken), 401, "UNAUTHORIZED");
  });

  it("does not touch other sessions of the same user", async () => {
    const { app } = await makeApp();
    const email = newEmail();
    const one = await register(app, email);
    const two = okData(await login(app, email));
    okData(await post(app, "logout", { refreshToken: one.refreshToken }));
    okData(await refresh(app, two.refreshToken));
  });

  it("answers 400 for an unknown field", async () => {
    const { app } = await makeApp();
    const session = await register(app);
    const body = { refreshToken: session.refreshToken, everywhere: true };
    errorBody(await post(app, "logout", body), 400, "VALIDATION_FAILED");
    okData(await refresh(app, session.refreshToken));
  });
});

describe("overload", () => {
  it("answers 503 OVERLOADED with Retry-After when too many password checks are in flight", async () => {
    const { app } = await makeApp({ hasher: new PasswordHasher(1, 0) });
    const email = newEmail();
    await register(app, email);
    const answers = await Promise.all(Array.from({ length: 8 }, () => login(app, email)));
    const statuses = answers.map((r) => r.status);
    expect(statuses).not.toContain(500);
    // Every attempt counts against the account before hashing, so past 5 at once the rest are 429.
    expect(
      statuses.every((s) => s === 200 || s === 503 || s === 429),
      String(statuses),
    ).toBe(true);
    expect(statuses).toContain(200);
    const overloaded = answers.filter((r) => r.status === 503);
    expect(overloaded.length).toBeGreaterThan(0);
    for (const res of overloaded) {
      const error = errorBody(res, 503, "OVERLOADED");
      expect(error.retryable).toBe(true);
      expect(Number(res.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    }
  });
});

describe("JWKS", () => {
  it("publishes the public signing key, which verifies issued tokens", async () => {
    const { app, key } = await makeApp();
    const res = await request(app).get("/.well-known/jwks.json");
    expect(res.status).toBe(200);
    expect(res.headers["cache-control"]).toBe("public, max-age=300");
    expect(res.body.keys).toHaveLength(1);
    const [jwk] = res.body.keys;
    expect(jwk).toMatchObject({ kty: "OKP", crv: "Ed25519", kid: key.kid, alg: "EdDSA", use: "sig" });
    expect(jwk).not.toHaveProperty("d");
    const session = await register(app);
    const { payload, protectedHeader } = await jwtVerify(session.accessToken, createLocalJWKSet(res.body), {
      issuer: TEST_ISSUER,
      audience: TEST_AUDIENCE,
      algorithms: ["EdDSA"],
    });
    expect(payload.sub).toBe(session.user.id);
    expect(protectedHeader.kid).toBe(key.kid);
  });
});
