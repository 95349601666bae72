import { LovecraftError } from "./sdk";

/** One line a person can read: the error's code and message as the server or the SDK sent them. */
export function describeError(error: unknown): string {
  if (error instanceof LovecraftError) {
    const details = describeDetails(error.details);
    return `${error.code}: ${error.message}${details ? ` (${details})` : ""}${error.retryable ? " — you can try again" : ""}`;
  }
  if (error instanceof TypeError) return `NETWORK: the server could not be reached (${error.message})`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return `ERROR: ${String(error)}`;
}

/** The error code, or NETWORK/UNKNOWN for failures that never reached the server. */
export function codeOf(error: unknown): string {
  if (error instanceof LovecraftError) return error.code;
  return error instanceof TypeError ? "NETWORK" : "UNKNOWN";
}

/** `VALIDATION_FAILED` details are `[{path, message}]`: name the fields. */
function describeDetails(details: unknown): string {
  if (!Array.isArray(details)) return "";
  return details
    .map((d: { path?: unknown; message?: unknown }) =>
      [Array.isArray(d.path) ? d.path.join(".") : d.path, d.message].filter(Boolean).join(": "),
    )
    .filter(Boolean)
    .join("; ");
}

const CLOSE_REASONS: Record<number, string> = {
  1000: "the connection closed",
  1001: "the server went away",
  1005: "the connection closed without a reason",
  1006: "the connection was lost",
  1009: "a message was too large",
  4000: "you left",
  4001: "the server is shutting down",
  4002: "the server dropped the connection after an error",
  4010: "the server is restarting",
  4401: "your sign-in expired and is being renewed",
  4403: "this session was signed out (REVOKED)",
  4409: "this app speaks another protocol version (PROTOCOL_MISMATCH): reload to update",
  4429: "too many refused messages (ABUSE): pausing for 10 seconds",
  4503: "your account is moving to another server (MOVING)",
};

/** Words for a websocket close code the SDK reported with a status change. */
export function describeClose(code: number | undefined): string {
  if (code === undefined) return "";
  return `${CLOSE_REASONS[code] ?? "the connection closed"} (code ${code})`;
}
