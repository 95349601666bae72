import { randomUUID } from "node:crypto";
import { ErrorCode } from "../../protocol/errors.js";
import { AppError } from "../errors.js";
import { ConcurrencyError } from "../persistence/errors.js";
import {
  type Account,
  type AccountStore,
  EmailTakenError,
  normalizeEmail,
} from "../persistence/stores/AccountStore.js";
import type { RefreshTokenStore, StoredRefreshToken } from "../persistence/stores/RefreshTokenStore.js";
import { isCommonPassword } from "./commonPasswords.js";
import { type LoginThrottle, ThrottledError } from "./LoginThrottle.js";
import { HasherOverloadedError, type PasswordHasher } from "./PasswordHasher.js";
import {
  ACCESS_TOKEN_TTL_S,
  type AccessClaims,
  InvalidTokenError,
  parseRefreshToken,
  REFRESH_TOKEN_TTL_S,
  type TokenService,
} from "./TokenService.js";

/** A retried refresh within this window gets the same successor instead of revoking the family. */
const REFRESH_GRACE_MS = 30_000;

export interface PublicAccount {
  readonly id: string;
  readonly email: string;
  readonly displayName: string;
  readonly createdAt: string;
}

export interface Session {
  readonly user: PublicAccount;
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresIn: number;
}

export interface AuthDependencies {
  readonly accounts: AccountStore;
  readonly refreshTokens: RefreshTokenStore;
  readonly hasher: PasswordHasher;
  readonly tokens: TokenService;
  readonly throttle: LoginThrottle;
  readonly now?: () => number;
  /** Called when a user's sessions are revoked, to close their open sockets. */
  /** A session family (or, without `familyId`, every session) of the user was revoked. */
  readonly onRevoked?: (userId: string, familyId?: string) => void;
}

const unauthorized = (message = "invalid credentials") => new AppError(ErrorCode.UNAUTHORIZED, message);

export function toPublic(account: Account): PublicAccount {
  return {
    id: account.id,
    email: account.email,
    displayName: account.displayName,
    createdAt: account.createdAt,
  };
}

/**
 * Registration, login, refresh-token rotation and logout. Expected failures are `AppError`s with
 * stable codes; an unknown email and a wrong password are indistinguishable (same answer, same
 * argon2 work).
 */
export class AuthService {
  private readonly now: () => number;

  constructor(private readonly deps: AuthDependencies) {
    this.now = deps.now ?? Date.now;
  }

  async register(
    input: { email: string; password: string; displayName: string },
    ip: string,
  ): Promise<Session> {
    await this.guard(() => this.deps.throttle.attempt(ip));
    if (isCommonPassword(input.password)) {
      throw new AppError(ErrorCode.VALIDATION_FAILED, "password is too common", [
        { path: "password", message: "choose a less common password" },
      ]);
    }
    const passwordHash = await this.guard(() => this.deps.hasher.hash(input.password));
    const account: Account = {
      id: randomUUID(),
      email: normalizeEmail(input.email),
      passwordHash,
      displayName: input.displayName.trim(),
      createdAt: new Date(this.now()).toISOString(),
      tokenVersion: 0,
    };
    try {
      await this.deps.accounts.create(account);
    } catch (err) {
      if (err instanceof EmailTakenError) throw new AppError(ErrorCode.CONFLICT, "email already registered");
      throw err;
    }
    return this.startSession(account);
  }

  async login(input: { email: string; password: string }, ip: string): Promise<Session> {
    await this.guard(() => this.deps.throttle.attempt(ip));
    await this.guard(() => this.deps.throttle.consumeAccount(input.email));
    const stored = await this.deps.accounts.getByEmail(input.email);
    const result = await this.guard(() =>
      this.deps.hasher.verify(stored?.account.passwordHash, input.password),
    );
    if (!stored || !result.ok) throw unauthorized();
    await this.deps.throttle.recordSuccess(input.email);
    let account = stored.account;
    if (result.needsRehash) {
      // Upgrade hashes made with older parameters; losing this race only delays the upgrade.
      const passwordHash = await this.guard(() => this.deps.hasher.hash(input.password));
      account = await this.deps.accounts
        .update({ ...account, passwordHash }, stored.etag)
        .then((s) => s.account)
        .catch(() => account);
    }
    return this.startSession(account);
  }

  /** Exchanges a refresh token for a new pair (rotation); reuse of a rotated token revokes the family. */
  async refresh(refreshToken: string): Promise<Omit<Session, "user">> {
    const parsed = this.parse(refreshToken);
    const found = await this.deps.refreshTokens.find(parsed.familyId, parsed.hash);
    if (!found || found.family.revokedAt) throw unauthorized("refresh token is not valid");
    if (Date.parse(found.token.expiresAt) <= this.now()) throw unauthorized("refresh token expired");
    const successor = this.deps.tokens.successorOf(refreshToken);
    if (found.token.usedAt) return this.answerReuse(found, successor.token);

    const account = (await this.deps.accounts.getById(found.family.userId))?.account;
    if (!account) throw unauthorized("refresh token is not valid");
    if ((found.family.tokenVersion ?? 0) !== account.tokenVersion) {
      // "Log out everywhere" or a password change happened since this session began.
      await this.deps.refreshTokens.revokeFamily(parsed.familyId, new Date(this.now()).toISOString());
      throw unauthorized("session is no longer valid");
    }
    const issuedAt = new Date(this.now());
    try {
      await this.deps.refreshTokens.rotate(
        parsed.familyId,
        found,
        { hash: successor.hash, issuedAt: issuedAt.toISOString(), expiresAt: expiry(issuedAt) },
        issuedAt.toISOString(),
      );
    } catch (err) {
      if (!(err instanceof ConcurrencyError)) throw err;
      // A concurrent refresh with the same token won; answer like a retry within the grace window.
      const now = await this.deps.refreshTokens.find(parsed.familyId, parsed.hash);
      if (!now) throw unauthorized("refresh token is not valid");
      return this.answerReuse(now, successor.token);
    }
    return this.pair(account, parsed.familyId, successor.token);
  }

  async logout(refreshToken: string): Promise<void> {
    const parsed = this.parse(refreshToken);
    const found = await this.deps.refreshTokens.find(parsed.familyId, parsed.hash);
    if (!found || found.family.revokedAt) return; // logging out twice is not an error
    await this.deps.refreshTokens.revokeFamily(parsed.familyId, new Date(this.now()).toISOString());
    this.deps.onRevoked?.(found.family.userId, found.family.familyId);
  }

  /** The caller's account, if the token's version is still current. */
  async me(claims: AccessClaims): Promise<PublicAccount> {
    const stored = await this.deps.accounts.getById(claims.userId);
    if (!stored || stored.account.tokenVersion !== claims.tokenVersion)
      throw unauthorized("session is no longer valid");
    return toPublic(stored.account);
  }

  /**
   * For long-lived uses of an access token (opening a socket): the account still exists, its
   * token version is current and the token's session family was not revoked (logout).
   */
  async assertSessionActive(claims: AccessClaims): Promise<void> {
    const [stored, family] = await Promise.all([
      this.deps.accounts.getById(claims.userId),
      this.deps.refreshTokens.family(claims.familyId),
    ]);
    if (
      !stored ||
      stored.account.tokenVersion !== claims.tokenVersion ||
      !family ||
      family.userId !== claims.userId ||
      family.revokedAt
    ) {
      throw unauthorized("session is no longer valid");
    }
  }

  /**
   * A presented token was already rotated. Within the grace window, and while its successor is
   * itself unused, this is a client retry (a lost answer): return the same successor. Anything
   * else is reuse of a stolen or leaked token: revoke the whole family (RFC 9700).
   */
  private async answerReuse(found: StoredRefreshToken, successor: string): Promise<Omit<Session, "user">> {
    const usedAt = Date.parse(found.token.usedAt ?? "");
    const successorHash = parseRefreshToken(successor).hash;
    if (this.now() - usedAt <= REFRESH_GRACE_MS && found.token.successorHash === successorHash) {
      const [next, stored] = await Promise.all([
        this.deps.refreshTokens.find(found.family.familyId, successorHash),
        this.deps.accounts.getById(found.family.userId),
      ]);
      if (next && !next.token.usedAt && !next.family.revokedAt && stored) {
        return this.pair(stored.account, found.family.familyId, successor);
      }
    }
    await this.deps.refreshTokens.revokeFamily(found.family.familyId, new Date(this.now()).toISOString());
    this.deps.onRevoked?.(found.family.userId, found.family.familyId);
    throw unauthorized("refresh token reuse detected; the session was revoked");
  }

  private async startSession(account: Account): Promise<Session> {
    const refresh = this.deps.tokens.newRefreshToken();
    const issuedAt = new Date(this.now());
    await this.deps.refreshTokens.createFamily(
      {
        familyId: refresh.familyId,
        userId: account.id,
        createdAt: issuedAt.toISOString(),
        tokenVersion: account.tokenVersion,
      },
      { hash: refresh.hash, issuedAt: issuedAt.toISOString(), expiresAt: expiry(issuedAt) },
    );
    return { user: toPublic(account), ...(await this.pair(account, refresh.familyId, refresh.token)) };
  }

  private async pair(
    account: Account,
    familyId: string,
    refreshToken: string,
  ): Promise<Omit<Session, "user">> {
    const accessToken = await this.deps.tokens.issueAccess({
      userId: account.id,
      tokenVersion: account.tokenVersion,
      familyId,
    });
    return { accessToken, refreshToken, expiresIn: ACCESS_TOKEN_TTL_S };
  }

  private parse(refreshToken: string) {
    try {
      return parseRefreshToken(refreshToken);
    } catch (err) {
      if (err instanceof InvalidTokenError) throw unauthorized("refresh token is not valid");
      throw err;
    }
  }

  /** Maps throttling and hasher overload to coded errors. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ThrottledError) {
        throw new AppError(ErrorCode.RATE_LIMITED, err.message, { retryAfterSeconds: err.retryAfterSeconds });
      }
      if (err instanceof HasherOverloadedError) throw new AppError(ErrorCode.OVERLOADED, err.message);
      throw err;
    }
  }
}

function expiry(issuedAt: Date): string {
  return new Date(issuedAt.getTime() + REFRESH_TOKEN_TTL_S * 1000).toISOString();
}
