import { createHash, randomUUID } from "node:crypto";
import { exportJWK, exportPKCS8, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { loadSigningKey, type SigningKey } from "../../server/auth/signingKey.js";
import {
  ACCESS_TOKEN_TTL_S,
  type AccessClaims,
  InvalidTokenError,
  parseRefreshToken,
  TokenService,
} from "../../server/auth/TokenService.js";

const ISSUER = "lovecraft";
const AUDIENCE = "aloevera-harmony-meet";

/** A fresh Ed25519 signing key, loaded the way production loads `JWT_PRIVATE_KEY`. */
async function newSigningKey(): Promise<{ key: SigningKey; pem: string }> {
  const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const pem = await exportPKCS8(privateKey);
  // With a PEM the data dir is never touched.
  return { key: await loadSigningKey({ pem, dataDir: "/nonexistent" }), pem };
}

let key: SigningKey;
let pem: string;
let otherKey: SigningKey;
let tokens: TokenService;

beforeAll(async () => {
  ({ key, pem } = await newSigningKey());
  ({ key: otherKey } = await newSigningKey());
  tokens = new TokenService(key, ISSUER, AUDIENCE);
});

const claims: Omit<AccessClaims, "expiresAt"> = {
  userId: randomUUID(),
  tokenVersion: 3,
  familyId: randomUUID(),
};
const nowS = () => Math.floor(Date.now() / 1000);
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

interface Forge {
  /** Header fields merged over the real header (`undefined` removes one). */
  header?: Record<string, unknown>;
  /** Payload fields merged over the real claims (`undefined` removes one). */
  payload?: Record<string, unknown>;
  /** Signs with this key (or HMAC secret) instead of the real private key. */
  signWith?: SigningKey["privateKey"] | Uint8Array;
}

/** Builds, with jose directly, a token like `issueAccess` would, with the given alterations. */
async function forge({ header = {}, payload = {}, signWith = key.privateKey }: Forge = {}): Promise<string> {
  const iat = nowS();
  const fullPayload: Record<string, unknown> = {
    sub: claims.userId,
    ver: claims.tokenVersion,
    fam: claims.familyId,
    iss: ISSUER,
    aud: AUDIENCE,
    iat,
    exp: iat + ACCESS_TOKEN_TTL_S,
    jti: randomUUID(),
    ...payload,
  };
  const fullHeader: Record<string, unknown> = { alg: "EdDSA", kid: key.kid, typ: "at+jwt", ...header };
  for (const [k, v] of Object.entries(fullPayload)) if (v === undefined) delete fullPayload[k];
  for (const [k, v] of Object.entries(fullHeader)) if (v === undefined) delete fullHeader[k];
  return new SignJWT(fullPayload as JWTPayload)
    .setProtectedHeader(fullHeader as { alg: string })
    .sign(signWith);
}

async function expectRejected(token: string): Promise<void> {
  await expect(tokens.verifyAccess(token)).rejects.toBeInstanceOf(InvalidTokenError);
}

describe("access tokens", () => {
  it("verifies an issued token to its claims", async () => {
    const token = await tokens.issueAccess(claims);
    expect(await tokens.verifyAccess(token)).toMatchObject({ ...claims, expiresAt: expect.any(Number) });
    const [header] = token.split(".");
    expect(JSON.parse(Buffer.from(header as string, "base64url").toString())).toEqual({
      alg: "EdDSA",
      kid: key.kid,
      typ: "at+jwt",
    });
  });

  it("accepts the unaltered forged token (control for the rejections below)", async () => {
    expect(await tokens.verifyAccess(await forge())).toMatchObject({
      ...claims,
      expiresAt: expect.any(Number),
    });
  });

  it("accepts a token expired by less than the 5 s clock tolerance", async () => {
    const token = await forge({ payload: { iat: nowS() - 60, exp: nowS() - 2 } });
    expect(await tokens.verifyAccess(token)).toMatchObject({ ...claims, expiresAt: expect.any(Number) });
  });

  it("rejects an unsecured token (alg: none)", async () => {
    const payload = { sub: claims.userId, ver: 3, fam: claims.familyId, iss: ISSUER, aud: AUDIENCE };
    const full = { ...payload, iat: nowS(), exp: nowS() + 600 };
    await expectRejected(`${b64url({ alg: "none", typ: "at+jwt" })}.${b64url(full)}.`);
    await expectRejected(`${b64url({ alg: "none", typ: "at+jwt", kid: key.kid })}.${b64url(full)}.`);
    // A real signature glued onto an alg=none header does not help either.
    const signature = (await forge()).split(".")[2] as string;
    await expectRejected(`${b64url({ alg: "none", typ: "at+jwt" })}.${b64url(full)}.${signature}`);
  });

  it("rejects a token signed by another Ed25519 key that claims the same kid", async () => {
    await expectRejected(await forge({ signWith: otherKey.privateKey }));
  });

  it("rejects a token carrying its own key in the header (embedded jwk)", async () => {
    await expectRejected(
      await forge({ header: { jwk: otherKey.publicJwk, kid: undefined }, signWith: otherKey.privateKey }),
    );
  });

  it("rejects HS256 tokens, whatever the secret (algorithm confusion)", async () => {
    await expectRejected(
      await forge({ header: { alg: "HS256" }, signWith: new TextEncoder().encode("a".repeat(32)) }),
    );
    // The classic confusion: the public key's bytes used as the HMAC secret.
    const publicBytes = Buffer.from(key.publicJwk.x as string, "base64url");
    await expectRejected(await forge({ header: { alg: "HS256" }, signWith: publicBytes }));
  });

  it("rejects a tampered payload", async () => {
    const [h, , s] = (await forge()).split(".");
    const payload = { sub: randomUUID(), ver: 3, fam: claims.familyId, iss: ISSUER, aud: AUDIENCE };
    const full = { ...payload, iat: nowS(), exp: nowS() + 600 };
    await expectRejected(`${h}.${b64url(full)}.${s}`);
  });

  it("rejects a token expired beyond the clock tolerance", async () => {
    // Signed by jose's own builder with the real private key.
    const token = await new SignJWT({ ver: claims.tokenVersion, fam: claims.familyId })
      .setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: "at+jwt" })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(nowS() - 3600)
      .setExpirationTime(nowS() - 30)
      .sign(key.privateKey);
    await expectRejected(token);
  });

  it("rejects a token not yet valid (nbf in the future)", async () => {
    await expectRejected(await forge({ payload: { nbf: nowS() + 600 } }));
  });

  it.each([
    ["wrong audience", { aud: "someone-else" }],
    ["wrong issuer", { iss: "evil" }],
    ["missing exp", { exp: undefined }],
    ["missing iat", { iat: undefined }],
    ["missing sub", { sub: undefined }],
    ["missing ver", { ver: undefined }],
    ["missing fam", { fam: undefined }],
    ["ver that is not a number", { ver: "3" }],
    ["fam that is not a string", { fam: 42 }],
  ])("rejects a token with %s", async (_label, payload) => {
    await expectRejected(await forge({ payload }));
  });

  it.each([
    ["typ JWT", { typ: "JWT" }],
    ["no typ", { typ: undefined }],
    ["an unknown kid", { kid: "not-our-key" }],
  ])("rejects a token with %s", async (_label, header) => {
    await expectRejected(await forge({ header }));
  });

  it.each(["", "garbage", "a.b.c", "a.b", `${"x".repeat(20)}..`])("rejects %j", async (token) => {
    await expectRejected(token);
  });
});

describe("refresh tokens", () => {
  const FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.[A-Za-z0-9_-]{43}$/;

  it("are `<uuid>.<43 base64url chars>`, random, and stored only as SHA-256 of the secret", () => {
    const a = tokens.newRefreshToken();
    const b = tokens.newRefreshToken();
    expect(a.token).toMatch(FORMAT);
    expect(a.token).not.toBe(b.token);
    expect(a.familyId).not.toBe(b.familyId);
    const [familyId, secret] = a.token.split(".") as [string, string];
    expect(a.familyId).toBe(familyId);
    expect(a.hash).toBe(createHash("sha256").update(secret).digest("hex"));
    expect(a.hash).not.toContain(secret);
    expect(parseRefreshToken(a.token)).toEqual({ familyId, secret, hash: a.hash });
  });

  it("derive a deterministic successor in the same family", () => {
    const first = tokens.newRefreshToken();
    const next = tokens.successorOf(first.token);
    expect(next.token).toMatch(FORMAT);
    expect(next.token).not.toBe(first.token);
    expect(next.hash).not.toBe(first.hash);
    expect(next.familyId).toBe(first.familyId);
    expect(tokens.successorOf(first.token)).toEqual(next);
    // Another node with the same key (another instance) derives the same successor.
    expect(new TokenService(key, ISSUER, AUDIENCE).successorOf(first.token)).toEqual(next);
    const third = tokens.successorOf(next.token);
    expect(third.token).not.toBe(next.token);
    expect(third.token).not.toBe(first.token);
  });

  it("derive successors from the secret signing key, not from public data", async () => {
    const first = tokens.newRefreshToken();
    const mine = tokens.successorOf(first.token);
    // Same public parameters, different private key: a different successor.
    const other = new TokenService(otherKey, ISSUER, AUDIENCE).successorOf(first.token);
    expect(other.familyId).toBe(mine.familyId);
    expect(other.token).not.toBe(mine.token);
    // The same private key loaded again gives the same successor.
    const reloaded = await loadSigningKey({ pem, dataDir: "/nonexistent" });
    expect(new TokenService(reloaded, ISSUER, AUDIENCE).successorOf(first.token)).toEqual(mine);
  });

  it.each([
    ["empty", ""],
    ["no dot", "abc"],
    ["uuid only", randomUUID()],
    ["secret only", "A".repeat(43)],
    ["42-char secret", `${randomUUID()}.${"A".repeat(42)}`],
    ["44-char secret", `${randomUUID()}.${"A".repeat(44)}`],
    ["standard base64 characters", `${randomUUID()}.${"A".repeat(41)}+/`],
    ["padding", `${randomUUID()}.${"A".repeat(42)}=`],
    ["upper-case family id", `${randomUUID().toUpperCase()}.${"A".repeat(43)}`],
    ["trailing newline", `${randomUUID()}.${"A".repeat(43)}\n`],
    ["leading space", ` ${randomUUID()}.${"A".repeat(43)}`],
    ["two dots", `${randomUUID()}.${"A".repeat(21)}.${"A".repeat(21)}`],
    ["a JWT", "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln"],
  ])("parseRefreshToken rejects %s", (_label, token) => {
    expect(() => parseRefreshToken(token)).toThrow(InvalidTokenError);
    expect(() => tokens.successorOf(token)).toThrow(InvalidTokenError);
  });
});

describe("publicJwks", () => {
  it("publishes the public key with kid and alg, and no private material", async () => {
    const jwks = tokens.publicJwks();
    expect(jwks.keys).toHaveLength(1);
    const [jwk] = jwks.keys;
    expect(jwk).toMatchObject({ kty: "OKP", crv: "Ed25519", kid: key.kid, alg: "EdDSA", use: "sig" });
    expect(jwk).not.toHaveProperty("d");
    const privateJwk = await exportJWK(key.privateKey);
    expect(typeof privateJwk.d).toBe("string");
    expect(JSON.stringify(jwks)).not.toContain(privateJwk.d as string);
  });
});
