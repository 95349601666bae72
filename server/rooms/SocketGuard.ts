import { SocketLimits } from "../../protocol/realtime.js";

export type Verdict = "ok" | "refuse" | "close";

/**
 * Per-socket flood control: a token bucket for commands (sustained rate plus a burst), and a
 * count of refused frames (invalid or over the rate) per minute; past that the socket is closed
 * with the ABUSE code. Pure and clock-injected so it is unit-tested without sockets.
 */
export class SocketGuard {
  private tokens: number;
  private refilledAt: number;
  private violations = 0;
  private windowStart: number;

  constructor(
    now: number,
    private readonly limits: Pick<
      typeof SocketLimits,
      "commandsPerSecond" | "burst" | "violationsPerMinute"
    > = SocketLimits,
  ) {
    this.tokens = limits.burst;
    this.refilledAt = now;
    this.windowStart = now;
  }

  /** Whether a command arriving now may run. */
  admit(now: number): Verdict {
    this.tokens = Math.min(
      this.limits.burst,
      this.tokens + ((now - this.refilledAt) / 1000) * this.limits.commandsPerSecond,
    );
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return "ok";
    }
    return this.violation(now);
  }

  /** Records a refused frame (invalid, unknown type); "close" once there were too many. */
  violation(now: number): Verdict {
    if (now - this.windowStart >= 60_000) {
      this.windowStart = now;
      this.violations = 0;
    }
    this.violations++;
    return this.violations > this.limits.violationsPerMinute ? "close" : "refuse";
  }
}
