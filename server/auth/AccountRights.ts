import { ErrorCode } from "../../protocol/errors.js";
import { AppError } from "../errors.js";
import type { AccountStore } from "../persistence/stores/AccountStore.js";
import type { ForumStore } from "../persistence/stores/contentStores.js";
import type { PhotoStore } from "../persistence/stores/PhotoStore.js";
import type { RefreshTokenStore } from "../persistence/stores/RefreshTokenStore.js";
import { toPublic } from "./AuthService.js";
import { type LoginThrottle, ThrottledError } from "./LoginThrottle.js";
import type { PasswordHasher } from "./PasswordHasher.js";

export interface AccountRightsDependencies {
  readonly accounts: AccountStore;
  readonly refreshTokens: RefreshTokenStore;
  readonly photos: PhotoStore;
  readonly forum: ForumStore;
  readonly hasher: PasswordHasher;
  readonly onRevoked?: (userId: string) => void;
  /** Password confirmations count against the same per-account limit as logins. */
  readonly throttle?: Pick<LoginThrottle, "consumeAccount" | "recordSuccess">;
  /** What the user's actor holds (profile, matches, chats, notifications): exported and erased. */
  readonly actorData?: {
    export(userId: string): Promise<unknown>;
    /** Resets the actor, unmatches partners, anonymizes the user's chat messages. */
    erase(userId: string): Promise<{ chats: number; matches: number }>;
  };
}

/**
 * Data rights (GDPR art. 15 and 17): export everything held about the caller, and erase the
 * account. Erasure revokes every session first (so nothing can act as the user meanwhile),
 * deletes photos, anonymizes forum posts (they stay readable in shared threads) and deletes the
 * account and its email claim last, so an interrupted erasure can simply be run again.
 */
export class AccountRights {
  constructor(private readonly deps: AccountRightsDependencies) {}

  async export(userId: string) {
    const stored = await this.deps.accounts.getById(userId);
    if (!stored) throw new AppError(ErrorCode.NOT_FOUND, "account not found");
    const familyIds = await this.deps.refreshTokens.listFamilyIds(userId);
    const [photos, forum, realtime] = await Promise.all([
      this.deps.photos.list(userId),
      this.deps.forum.listByAuthor(userId),
      this.deps.actorData?.export(userId),
    ]);
    return {
      exportedAt: new Date().toISOString(),
      account: toPublic(stored.account),
      sessions: familyIds.map((familyId) => ({ familyId })),
      photos: photos.map((id) => ({ id })),
      forum,
      ...(realtime !== undefined ? { realtime } : {}),
    };
  }

  async erase(
    userId: string,
    password: string,
  ): Promise<{ photos: number; forumPosts: number; chats: number; matches: number }> {
    const stored = await this.deps.accounts.getById(userId);
    if (!stored) throw new AppError(ErrorCode.NOT_FOUND, "account not found");
    try {
      await this.deps.throttle?.consumeAccount(stored.account.email);
    } catch (err) {
      if (!(err instanceof ThrottledError)) throw err;
      throw new AppError(ErrorCode.RATE_LIMITED, err.message, { retryAfterSeconds: err.retryAfterSeconds });
    }
    const check = await this.deps.hasher.verify(stored.account.passwordHash, password);
    if (!check.ok) throw new AppError(ErrorCode.UNAUTHORIZED, "password does not match");
    await this.deps.throttle?.recordSuccess(stored.account.email);
    const now = new Date().toISOString();
    for (const familyId of await this.deps.refreshTokens.listFamilyIds(userId)) {
      await this.deps.refreshTokens.revokeFamily(familyId, now);
    }
    this.deps.onRevoked?.(userId);
    const realtime = (await this.deps.actorData?.erase(userId)) ?? { chats: 0, matches: 0 };
    const photos = await this.deps.photos.list(userId);
    for (const photoId of photos) await this.deps.photos.delete(userId, photoId);
    const forumPosts = await this.deps.forum.anonymizeAuthor(userId);
    await this.deps.accounts.delete(stored.account);
    return { photos: photos.length, forumPosts, ...realtime };
  }
}
