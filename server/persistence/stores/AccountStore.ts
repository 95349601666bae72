import { createHash } from "node:crypto";
import { ConcurrencyError } from "../errors.js";
import type { TableStore } from "../ports.js";

export const ACCOUNT_TABLES = { accounts: "accounts", emails: "accountEmails" } as const;
const ACCOUNT_ROW = "account";
const EMAIL_ROW = "email";
/** An email claim with no account for this long was left by an interrupted registration. */
const ORPHAN_AFTER_MS = 60_000;

export interface Account {
  readonly id: string;
  /** Normalized (trimmed, lowercased) email. */
  readonly email: string;
  readonly passwordHash: string;
  readonly displayName: string;
  readonly createdAt: string;
  /** Bumped to invalidate every token issued before it (password change, "log out everywhere"). */
  readonly tokenVersion: number;
}

export interface StoredAccount {
  readonly account: Account;
  readonly etag: string;
}

export class EmailTakenError extends Error {
  override readonly name = "EmailTakenError";
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Emails may contain `/`, `#` or `?`, which keys may not: index them by their SHA-256. */
function emailKey(email: string): string {
  return createHash("sha256").update(normalizeEmail(email)).digest("hex");
}

/**
 * Accounts by id, with a unique email index. Creating an account first claims the email row
 * (an insert, so two registrations of one address cannot both win), then writes the account.
 * A claim left behind by a crash between the two writes points at no account and is taken over
 * by the next registration of that address.
 */
export class AccountStore {
  constructor(private readonly tables: TableStore) {}

  async create(account: Account): Promise<StoredAccount> {
    const email = normalizeEmail(account.email);
    const claim = {
      partitionKey: emailKey(email),
      rowKey: EMAIL_ROW,
      properties: { userId: account.id, claimedAt: Date.now() },
    };
    try {
      await this.tables.insert(ACCOUNT_TABLES.emails, claim);
    } catch (err) {
      if (!(err instanceof ConcurrencyError)) throw err;
      const existing = await this.tables.get(ACCOUNT_TABLES.emails, claim.partitionKey, EMAIL_ROW);
      const owner = existing ? await this.getById(String(existing.properties.userId)) : undefined;
      if (!existing || owner) throw new EmailTakenError(`email already registered`);
      // A claim without its account is either a registration in progress or one interrupted by a
      // crash; only an old one is an orphan (the account write follows the claim within moments).
      const claimedAt = Number(existing.properties.claimedAt ?? 0);
      if (Date.now() - claimedAt < ORPHAN_AFTER_MS) throw new EmailTakenError("email already registered");
      // An orphaned claim from an interrupted registration: take it over, conditionally.
      await this.tables.replace(ACCOUNT_TABLES.emails, claim, existing.etag).catch((e: unknown) => {
        throw e instanceof ConcurrencyError ? new EmailTakenError("email already registered") : e;
      });
    }
    const stored = { ...account, email };
    const etag = await this.tables.insert(ACCOUNT_TABLES.accounts, {
      partitionKey: account.id,
      rowKey: ACCOUNT_ROW,
      properties: { doc: JSON.stringify(stored) },
    });
    return { account: stored, etag };
  }

  async getById(id: string): Promise<StoredAccount | undefined> {
    const row = await this.tables.get(ACCOUNT_TABLES.accounts, id, ACCOUNT_ROW);
    return row ? { account: JSON.parse(String(row.properties.doc)) as Account, etag: row.etag } : undefined;
  }

  async getByEmail(email: string): Promise<StoredAccount | undefined> {
    const claim = await this.tables.get(ACCOUNT_TABLES.emails, emailKey(email), EMAIL_ROW);
    if (!claim) return undefined;
    const found = await this.getById(String(claim.properties.userId));
    return found && found.account.email === normalizeEmail(email) ? found : undefined;
  }

  /** Replaces the account if unchanged since `etag` was read; the email cannot change here. */
  async update(account: Account, etag: string): Promise<StoredAccount> {
    const next = await this.tables.replace(
      ACCOUNT_TABLES.accounts,
      { partitionKey: account.id, rowKey: ACCOUNT_ROW, properties: { doc: JSON.stringify(account) } },
      etag,
    );
    return { account, etag: next };
  }

  /** Erases the account and frees its email (data-rights deletion). */
  async delete(account: Account): Promise<void> {
    await this.tables.delete(ACCOUNT_TABLES.accounts, { partitionKey: account.id, rowKey: ACCOUNT_ROW });
    await this.tables.delete(ACCOUNT_TABLES.emails, {
      partitionKey: emailKey(account.email),
      rowKey: EMAIL_ROW,
    });
  }
}
