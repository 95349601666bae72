import { createHash, createHmac, randomBytes, randomUUID } from "node:crypto";
import { createLocalJWKSet, type JWK, jwtVerify, SignJWT } from "jose";
import { JWT_ALGORITHM, type SigningKey } from "./signingKey.js";

export const ACCESS_TOKEN_TTL_S = 15 * 60;
export const REFRESH_TOKEN_TTL_S = 30 * 24 * 60 * 60;
const ACCESS_TYPE = "at+jwt";

export interface AccessClaims {
  readonly userId: string;
  /** Account token version when issued; bumping it on the account invalidates older tokens. */
  readonly tokenVersion: number;
  readonly familyId: string;
  /** When the token expires (ms since the epoch): sockets opened with it close then. */
  readonly expiresAt: number;
}

export class InvalidTokenError extends Error {
  override readonly name = "InvalidTokenError";
}

/** An opaque refresh token: `<familyId>.<secret>`; only SHA-256(secret) is stored. */
export interface RefreshToken {
  readonly token: string;
  readonly familyId: string;
  readonly hash: string;
}

/**
 * Issues and verifies tokens. Access tokens are short-lived EdDSA JWTs with `kid`; verification
 * pins the algorithm, issuer, audience and `typ` and requires `exp`/`iat`/`sub` (jose accepts a
 * token without `exp` unless told otherwise — shared/notes/security.md). The same verifier guards
 * REST routes and websocket joins.
 */
export class TokenService {
  private readonly jwks: ReturnType<typeof createLocalJWKSet>;
  private readonly rotationKey: Buffer;

  constructor(
    private readonly key: SigningKey,
    private readonly issuer: string,
    private readonly audience: string,
  ) {
    this.jwks = createLocalJWKSet({ keys: [key.publicJwk] });
    // Successor refresh tokens are derived (not random) so a retried refresh within the grace
    // window can be answered with the same successor. The key is secret (derived from the private
    // signing key): with a public key, a stolen old token would reveal every future successor.
    this.rotationKey = createHmac("sha256", key.derivedSecret).update("refresh-rotation").digest();
  }

  /** The public keys, for `/.well-known/jwks.json`. */
  publicJwks(): { keys: JWK[] } {
    return { keys: [this.key.publicJwk] };
  }

  async issueAccess(claims: Omit<AccessClaims, "expiresAt">): Promise<string> {
    return new SignJWT({ ver: claims.tokenVersion, fam: claims.familyId })
      .setProtectedHeader({ alg: JWT_ALGORITHM, kid: this.key.kid, typ: ACCESS_TYPE })
      .setSubject(claims.userId)
      .setIssuer(this.issuer)
      .setAudience(this.audience)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(`${ACCESS_TOKEN_TTL_S}s`)
      .sign(this.key.privateKey);
  }

  async verifyAccess(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, this.jwks, {
        algorithms: [JWT_ALGORITHM],
        issuer: this.issuer,
        audience: this.audience,
        typ: ACCESS_TYPE,
        requiredClaims: ["exp", "iat", "sub"],
        clockTolerance: 5,
      });
      if (
        typeof payload.sub !== "string" ||
        typeof payload.ver !== "number" ||
        typeof payload.fam !== "string"
      ) {
        throw new InvalidTokenError("token is missing claims");
      }
      return {
        userId: payload.sub,
        tokenVersion: payload.ver,
        familyId: payload.fam,
        expiresAt: (payload.exp as number) * 1000,
      };
    } catch (err) {
      throw err instanceof InvalidTokenError
        ? err
        : new InvalidTokenError("invalid access token", { cause: err });
    }
  }

  /** A new refresh token starting a family. */
  newRefreshToken(): RefreshToken {
    return this.refreshFrom(randomUUID(), randomBytes(32).toString("base64url"));
  }

  /** The deterministic successor of a refresh token (same family). */
  successorOf(current: string): RefreshToken {
    const { familyId, secret } = parseRefreshToken(current);
    return this.refreshFrom(
      familyId,
      createHmac("sha256", this.rotationKey).update(secret).digest("base64url"),
    );
  }

  private refreshFrom(familyId: string, secret: string): RefreshToken {
    return { token: `${familyId}.${secret}`, familyId, hash: hashSecret(secret) };
  }
}

const REFRESH_FORMAT = /^([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/;

export function parseRefreshToken(token: string): { familyId: string; secret: string; hash: string } {
  const match = REFRESH_FORMAT.exec(token);
  if (!match) throw new InvalidTokenError("malformed refresh token");
  const [, familyId, secret] = match as unknown as [string, string, string];
  return { familyId, secret, hash: hashSecret(secret) };
}

function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}
