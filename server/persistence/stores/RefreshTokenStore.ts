import type { TableStore } from "../ports.js";

export const REFRESH_TABLES = { families: "refreshTokens", sessions: "userSessions" } as const;
const FAMILY_ROW = "family";
const TOKEN_PREFIX = "t-";

/** One login session: every refresh token rotated from one login shares a family. */
export interface TokenFamily {
  readonly familyId: string;
  readonly userId: string;
  readonly createdAt: string;
  readonly revokedAt?: string;
  /** The account's token version at login; a later bump ends the family at its next refresh. */
  readonly tokenVersion?: number;
}

export interface RefreshTokenRecord {
  /** SHA-256 (hex) of the opaque token; the token itself is never stored. */
  readonly hash: string;
  readonly issuedAt: string;
  readonly expiresAt: string;
  /** Set when the token was exchanged; a second use of a used token revokes the family. */
  readonly usedAt?: string;
  readonly successorHash?: string;
}

export interface StoredRefreshToken {
  readonly family: TokenFamily;
  readonly token: RefreshTokenRecord;
  readonly etag: string;
}

/**
 * Refresh-token families. All tokens of a family live in the family's partition, so rotation —
 * marking the old token used and inserting its successor — is one atomic, ETag-conditional
 * transaction: two concurrent refreshes with the same token cannot both succeed. Each user's
 * families are listed in `userSessions` for "log out everywhere".
 */
export class RefreshTokenStore {
  constructor(private readonly tables: TableStore) {}

  async createFamily(family: TokenFamily, first: RefreshTokenRecord): Promise<void> {
    await this.tables.upsert(REFRESH_TABLES.sessions, {
      partitionKey: family.userId,
      rowKey: family.familyId,
      properties: { createdAt: family.createdAt },
    });
    await this.tables.transact(REFRESH_TABLES.families, family.familyId, [
      {
        op: "insert",
        entity: {
          partitionKey: family.familyId,
          rowKey: FAMILY_ROW,
          properties: { doc: JSON.stringify(family) },
        },
      },
      { op: "insert", entity: tokenEntity(family.familyId, first) },
    ]);
  }

  async family(familyId: string): Promise<TokenFamily | undefined> {
    const row = await this.tables.get(REFRESH_TABLES.families, familyId, FAMILY_ROW);
    return row ? (JSON.parse(String(row.properties.doc)) as TokenFamily) : undefined;
  }

  async find(familyId: string, hash: string): Promise<StoredRefreshToken | undefined> {
    const [familyRow, tokenRow] = await Promise.all([
      this.tables.get(REFRESH_TABLES.families, familyId, FAMILY_ROW),
      this.tables.get(REFRESH_TABLES.families, familyId, TOKEN_PREFIX + hash),
    ]);
    if (!familyRow || !tokenRow) return undefined;
    return {
      family: JSON.parse(String(familyRow.properties.doc)) as TokenFamily,
      token: JSON.parse(String(tokenRow.properties.doc)) as RefreshTokenRecord,
      etag: tokenRow.etag,
    };
  }

  /**
   * Marks `current` used and adds `successor`, atomically, if `current` is unchanged since read.
   * Throws `ConcurrencyError` when another request rotated it first.
   */
  async rotate(
    familyId: string,
    current: StoredRefreshToken,
    successor: RefreshTokenRecord,
    usedAt: string,
  ): Promise<void> {
    const used: RefreshTokenRecord = { ...current.token, usedAt, successorHash: successor.hash };
    await this.tables.transact(REFRESH_TABLES.families, familyId, [
      { op: "replace", entity: tokenEntity(familyId, used), etag: current.etag },
      { op: "insert", entity: tokenEntity(familyId, successor) },
    ]);
  }

  async revokeFamily(familyId: string, revokedAt: string): Promise<void> {
    const row = await this.tables.get(REFRESH_TABLES.families, familyId, FAMILY_ROW);
    if (!row) return;
    const family = JSON.parse(String(row.properties.doc)) as TokenFamily;
    if (family.revokedAt) return;
    await this.tables.upsert(REFRESH_TABLES.families, {
      partitionKey: familyId,
      rowKey: FAMILY_ROW,
      properties: { doc: JSON.stringify({ ...family, revokedAt }) },
    });
  }

  async listFamilyIds(userId: string): Promise<string[]> {
    const ids: string[] = [];
    let after: string | undefined;
    do {
      const page = await this.tables.query(REFRESH_TABLES.sessions, userId, after ? { after } : {});
      ids.push(...page.items.map((r) => r.rowKey));
      after = page.next;
    } while (after);
    return ids;
  }
}

function tokenEntity(familyId: string, token: RefreshTokenRecord) {
  return {
    partitionKey: familyId,
    rowKey: TOKEN_PREFIX + token.hash,
    properties: { doc: JSON.stringify(token) },
  };
}
