import { LovecraftClient, LovecraftError, type Session } from "./sdk";

const SESSION_KEY = "lovecraft.session";
const seqKey = (userId: string) => `lovecraft.lastSeqs.${userId}`;

function read<T>(key: string): T | undefined {
  try {
    const raw = localStorage.getItem(key);
    return raw ? (JSON.parse(raw) as T) : undefined;
  } catch {
    return undefined;
  }
}

function write(key: string, value: unknown): void {
  try {
    if (value === undefined) localStorage.removeItem(key);
    else localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Private mode or a full quota: the app still works, it just forgets on reload.
  }
}

export const savedSession = () => read<Session>(SESSION_KEY);
export const savedLastSeqs = (userId: string) => read<Record<string, number>>(seqKey(userId));
export const saveLastSeqs = (userId: string, seqs: Record<string, number>) => write(seqKey(userId), seqs);

export function forgetSession(userId?: string): void {
  write(SESSION_KEY, undefined);
  if (userId) write(seqKey(userId), undefined);
}

/**
 * The SDK client, remembering every session it obtains. Refresh tokens rotate on each use, so the
 * stored session must follow the SDK's own refreshes (on reconnect, on an expired token): this
 * subclass overrides the SDK's public `register`/`login`/`refresh`/`useSession` to see them.
 */
export class WebClient extends LovecraftClient {
  private current: Session | undefined;

  constructor(url: string, lastSeqs?: Record<string, number>) {
    super({ url, ...(lastSeqs ? { lastSeqs } : {}) });
  }

  override async register(input: { email: string; password: string; displayName: string }) {
    return this.remember(await super.register(input));
  }

  override async login(input: { email: string; password: string }) {
    return this.remember(await super.login(input));
  }

  override async refresh() {
    // Another tab of this browser may have rotated the tokens already: this tab's refresh token
    // is then spent (presenting it again would revoke the session), so continue from theirs.
    const stored = savedSession();
    const current = this.current;
    if (
      stored &&
      current &&
      stored.user.id === current.user.id &&
      stored.refreshToken !== current.refreshToken
    ) {
      this.useSession(stored);
    }
    return this.remember(await super.refresh());
  }

  override useSession(session: Session): void {
    super.useSession(session);
    this.current = session;
  }

  /** `rest` with the session's token, refreshing it once when the server says it expired. */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await this.rest<T>(method, path, body);
    } catch (err) {
      if (!(err instanceof LovecraftError) || err.code !== "UNAUTHORIZED" || !this.current) throw err;
      await this.refresh();
      return this.rest<T>(method, path, body);
    }
  }

  /**
   * A request with a raw body (photo upload), which the SDK's JSON-only `rest` cannot send. Same
   * envelope and errors as `rest`; refreshes the access token once on `UNAUTHORIZED`.
   */
  async upload<T>(path: string, body: Blob, contentType: string): Promise<T> {
    const attempt = async () => {
      const response = await fetch(`/api/v1${path}`, {
        method: "POST",
        headers: {
          "content-type": contentType,
          ...(this.current ? { authorization: `Bearer ${this.current.accessToken}` } : {}),
        },
        body,
      });
      const envelope = (await response.json().catch(() => ({}))) as {
        success?: boolean;
        data?: T;
        error?: { code: string; message: string; retryable?: boolean; details?: unknown };
      };
      if (envelope.success) return envelope.data as T;
      const error = envelope.error ?? { code: "INTERNAL", message: `HTTP ${response.status}` };
      throw new LovecraftError(error.code, error.message, error.retryable ?? false, error.details);
    };
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof LovecraftError) || err.code !== "UNAUTHORIZED" || !this.current) throw err;
      await this.refresh();
      return attempt();
    }
  }

  private remember(session: Session): Session {
    this.current = session;
    write(SESSION_KEY, session);
    return session;
  }
}
