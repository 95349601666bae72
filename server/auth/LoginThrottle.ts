import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";

export class ThrottledError extends Error {
  override readonly name = "ThrottledError";
  constructor(readonly retryAfterSeconds: number) {
    super("too many attempts; try again later");
  }
}

const WINDOW_S = 15 * 60;
/** Login and registration attempts per IP per window. */
const IP_POINTS = 50;
/** Password attempts per account per window (a success resets it) before it is locked. */
const ACCOUNT_FAILURES = 5;

/**
 * Login throttling per IP and per account (OWASP ASVS V6.3). Redis-backed in cluster mode so
 * limits hold across nodes, with an in-memory limiter as insurance while Redis is unreachable.
 * Accounts are keyed by a hash of the email, so no address is written to Redis.
 */
export class LoginThrottle {
  private readonly perIp: RateLimiterMemory | RateLimiterRedis;
  private readonly perAccount: RateLimiterMemory | RateLimiterRedis;

  constructor(redis?: Redis) {
    const make = (keyPrefix: string, points: number) =>
      redis
        ? new RateLimiterRedis({
            storeClient: redis,
            keyPrefix,
            points,
            duration: WINDOW_S,
            insuranceLimiter: new RateLimiterMemory({ keyPrefix, points, duration: WINDOW_S }),
          })
        : new RateLimiterMemory({ keyPrefix, points, duration: WINDOW_S });
    this.perIp = make("rl:auth:ip", IP_POINTS);
    this.perAccount = make("rl:auth:acct", ACCOUNT_FAILURES);
  }

  /** Counts one attempt from `ip`; throws `ThrottledError` past the limit. */
  async attempt(ip: string): Promise<void> {
    try {
      await this.perIp.consume(ip);
    } catch (err) {
      throw toThrottled(err);
    }
  }

  /**
   * Counts one password attempt on the account BEFORE the password is checked, and throws
   * `ThrottledError` past the limit. Counting first (one atomic consume) is what bounds parallel
   * guesses: checking a lock and counting failures afterwards let 20 concurrent guesses through.
   * A correct password resets the count (`recordSuccess`).
   */
  async consumeAccount(email: string): Promise<void> {
    try {
      await this.perAccount.consume(accountKey(email));
    } catch (err) {
      throw toThrottled(err);
    }
  }

  async recordSuccess(email: string): Promise<void> {
    await this.perAccount.delete(accountKey(email)).catch(() => undefined);
  }
}

function accountKey(email: string): string {
  return createHash("sha256").update(email.trim().toLowerCase()).digest("hex");
}

function toThrottled(err: unknown): Error {
  if (err instanceof RateLimiterRes) return new ThrottledError(Math.ceil(err.msBeforeNext / 1000));
  return err as Error;
}
