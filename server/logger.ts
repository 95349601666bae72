import { type Logger, pino } from "pino";

export type { Logger };

/** Paths whose values never reach a log line (tokens, passwords, keys). */
const REDACT = [
  "password",
  "*.password",
  "token",
  "*.token",
  "refreshToken",
  "*.refreshToken",
  "accessToken",
  "*.accessToken",
  "req.headers.authorization",
  "req.headers.cookie",
  'res.headers["set-cookie"]',
  "connectionString",
  "*.connectionString",
  "adminToken",
  "*.adminToken",
];

/** Structured JSON logs on stdout with secrets redacted. */
export function createLogger(options: { level: string; name?: string }): Logger {
  return pino({
    level: options.level,
    name: options.name ?? "lovecraft",
    redact: { paths: REDACT, censor: "[redacted]" },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/**
 * Removes credentials from a URL before it is logged: the Colyseus client sends its token as the
 * `_authToken` query parameter of the websocket URL (shared/notes/colyseus-0.18.md).
 */
export function redactUrl(url: string | undefined): string | undefined {
  if (!url) return url;
  return url.replace(/([?&](?:_authToken|token|access_token|refresh_token|sig)=)[^&#]*/gi, "$1[redacted]");
}
