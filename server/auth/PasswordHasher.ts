import * as argon2 from "argon2";

/**
 * argon2id at OWASP's minimum (m = 19 MiB, t = 2, p = 1), set explicitly: the package defaults
 * cost 100–160 ms per hash here (shared/notes/security.md).
 */
export const ARGON2_PARAMS = {
  type: argon2.argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

export class HasherOverloadedError extends Error {
  override readonly name = "HasherOverloadedError";
}

/**
 * Password hashing with bounded concurrency. Hashes share libuv's thread pool with jose's
 * WebCrypto: 8 logins in flight pushed token verification from 0.2 ms to 50–85 ms (measured). At
 * most `maxInFlight` hashes run at once and at most `maxQueued` wait; beyond that callers get
 * `HasherOverloadedError` (answered 503 + Retry-After) instead of a growing queue.
 */
export class PasswordHasher {
  private inFlight = 0;
  private readonly queue: (() => void)[] = [];
  /** Computed once up front, so the first unknown-email login costs the same as any other. */
  private readonly dummyHash: Promise<string>;

  constructor(
    private readonly maxInFlight = 2,
    private readonly maxQueued = 64,
  ) {
    this.dummyHash = argon2.hash("dummy password never used", ARGON2_PARAMS);
  }

  hash(password: string): Promise<string> {
    return this.run(() => argon2.hash(password, ARGON2_PARAMS));
  }

  /**
   * Verifies a password. With no stored hash (unknown user) it verifies against a dummy hash, so
   * an unknown email and a wrong password take the same time and give the same answer.
   */
  async verify(stored: string | undefined, password: string): Promise<{ ok: boolean; needsRehash: boolean }> {
    const target = stored ?? (await this.dummyHash);
    const ok = await this.run(() => argon2.verify(target, password).catch(() => false));
    if (!ok || stored === undefined) return { ok: false, needsRehash: false };
    return { ok: true, needsRehash: argon2.needsRehash(stored, ARGON2_PARAMS) };
  }

  private async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.inFlight >= this.maxInFlight) {
      if (this.queue.length >= this.maxQueued)
        throw new HasherOverloadedError("too many password checks in progress");
      await new Promise<void>((resolve) => this.queue.push(resolve));
    } else {
      this.inFlight++;
    }
    try {
      return await task();
    } finally {
      const next = this.queue.shift();
      if (next) next();
      else this.inFlight--;
    }
  }
}
