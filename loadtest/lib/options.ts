import { availableParallelism } from "node:os";
import { parseArgs as parseNodeArgs } from "node:util";
import { SocketLimits } from "../../protocol/realtime.js";

/**
 * Options of `npm run loadtest` and of `runLoadTest()`. Parsing is pure (argv in, options or a
 * `UsageError` out) so it is unit-tested; `defaults()` fills what a programmatic caller omits.
 */

export const SCENARIOS = ["connect", "dm", "group", "mixed", "login-storm"] as const;
export type Scenario = (typeof SCENARIOS)[number];
export const BASELINES = ["ws", "socketio"] as const;
export type Baseline = (typeof BASELINES)[number];

export interface LoadTestOptions {
  readonly scenario: Scenario;
  readonly users: number;
  /** Traffic (or hold) time after every user is connected and every chat is set up, ms. */
  readonly durationMs: number;
  /** `http://host:port` of a Lovecraft node, or `ws://host:port` of a baseline server. */
  readonly target: string;
  readonly workers: number;
  /**
   * dm: messages/s per pair; group: messages/s per group; mixed: actions/s per user;
   * login-storm: logins/s in total.
   */
  readonly rate: number;
  readonly groupSize: number;
  /** Socket connects started per second, over all workers. */
  readonly connectRate: number;
  /** How long to wait after the traffic for outstanding acks and deliveries, ms. */
  readonly drainMs: number;
  /** Chats whose history is checked at the end: a number, or "all". 0 skips the check. */
  readonly historyChats: number | "all";
  /** Register users through `/auth/register` instead of `/bench/sessions`. */
  readonly register: boolean;
  /** Registrations per second (argon2 on the target). */
  readonly registerRate: number;
  /** Distinct `X-Forwarded-For` addresses the login storm spreads over (1: none sent). */
  readonly clientIps: number;
  readonly baseline?: Baseline;
  readonly serverPid?: number;
  /** Report directory; default `loadtest/reports/<timestamp>/`. */
  readonly out?: string;
  /** Text length of each chat message (its unique id, padded). */
  readonly messageBytes: number;
  /** Print the live progress line. */
  readonly progress: boolean;
  /**
   * Where the `/bench/*` routes are when `target` is a load balancer in front of bench nodes (the
   * balancer lets only GET through outside the API). Programmatic only; default: the target.
   */
  readonly benchUrl?: string;
  /** Keep every ack and delivery with its chat and members in `result.samples` (programmatic only). */
  readonly collectSamples?: boolean;
}

export class UsageError extends Error {
  override readonly name = "UsageError";
}

export const USAGE = `Usage: npm run loadtest -- --scenario <${SCENARIOS.join("|")}> [options]

  --scenario <name>       traffic shape (default dm)
  --users <n>             virtual users (default 100)
  --duration <time>       traffic time after setup: 30s, 2m, 500ms (default 30s)
  --target <url>          http://host:port of a Lovecraft node (default http://127.0.0.1:2567),
                          or ws://host:port of a baseline server with --baseline
                          (default ws://127.0.0.1:8081 for ws, ws://127.0.0.1:8082 for socketio)
  --workers <n>           worker threads driving the sockets (default: CPU count; 0 = in-process)
  --rate <n>              dm: msgs/s per pair (default 1); group: msgs/s per group (default 1);
                          mixed: actions/s per user (default 0.5); login-storm: logins/s (default 5)
  --group-size <n>        members per group chat, 2-50 (default 50)
  --connect-rate <n>      socket connects per second during the ramp (default 200)
  --drain <time>          wait for outstanding deliveries after the traffic (default 10s)
  --history <n|all>       chats whose history is checked at the end (default 100; 0 = off)
  --register              register users via /auth/register (target without /bench routes)
  --register-rate <n>     registrations per second (default 10)
  --client-ips <n>        login-storm: spread logins over n X-Forwarded-For addresses (default 1)
  --baseline <ws|socketio>  drive a baseline server (loadtest/baselines) with dm/group traffic
  --server-pid <pid>      sample the target's RSS and CPU from /proc (local target)
  --message-bytes <n>     length of each message text (default 40)
  --out <dir>             report directory (default loadtest/reports/<timestamp>/)
  --quiet                 no progress line
  --help

Pre-seeded sessions need the target started with \`npm run loadtest:target\` (a bench node,
compiled); baselines: npm run loadtest:ws, npm run loadtest:socketio.
Exit code: 0 ok, 1 lost/duplicated/misplaced messages, 2 usage error or failed run.`;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `30s`, `2m`, `1.5h`, `500ms`; a bare number is seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new UsageError(`invalid duration "${text}" (use e.g. 30s, 2m, 500ms)`);
  return Math.round(Number(m[1]) * (UNITS[m[2] ?? "s"] as number));
}

function number(name: string, text: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER) {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`--${name} must be a number between ${min} and ${max}, got "${text}"`);
  return n;
}

function oneOf<T extends string>(name: string, text: string | undefined, allowed: readonly T[]) {
  if (text === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(text))
    throw new UsageError(`--${name} must be one of ${allowed.join(", ")}, got "${text}"`);
  return text as T;
}

const DEFAULT_TARGET: Record<Baseline | "lovecraft", string> = {
  lovecraft: "http://127.0.0.1:2567",
  ws: "ws://127.0.0.1:8081",
  socketio: "ws://127.0.0.1:8082",
};

const DEFAULT_RATE: Record<Scenario, number> = { connect: 0, dm: 1, group: 1, mixed: 0.5, "login-storm": 5 };

/** Fills in the defaults of everything a caller left out, then validates the combination. */
export function defaults(partial: Partial<LoadTestOptions> & { scenario?: Scenario }): LoadTestOptions {
  const scenario = partial.scenario ?? "dm";
  const options: LoadTestOptions = {
    scenario,
    users: partial.users ?? 100,
    durationMs: partial.durationMs ?? 30_000,
    target: partial.target ?? DEFAULT_TARGET[partial.baseline ?? "lovecraft"],
    workers: partial.workers ?? availableParallelism(),
    rate: partial.rate ?? DEFAULT_RATE[scenario],
    groupSize: partial.groupSize ?? 50,
    connectRate: partial.connectRate ?? 200,
    drainMs: partial.drainMs ?? 10_000,
    historyChats: partial.historyChats ?? 100,
    register: partial.register ?? false,
    registerRate: partial.registerRate ?? 10,
    clientIps: partial.clientIps ?? 1,
    messageBytes: partial.messageBytes ?? 40,
    progress: partial.progress ?? true,
    ...(partial.baseline ? { baseline: partial.baseline } : {}),
    ...(partial.serverPid !== undefined ? { serverPid: partial.serverPid } : {}),
    ...(partial.out ? { out: partial.out } : {}),
    ...(partial.benchUrl ? { benchUrl: partial.benchUrl.replace(/\/$/, "") } : {}),
    ...(partial.collectSamples ? { collectSamples: true } : {}),
  };
  validate(options);
  return options;
}

function validate(o: LoadTestOptions): void {
  if (o.baseline) {
    if (o.scenario !== "dm" && o.scenario !== "group" && o.scenario !== "connect")
      throw new UsageError("--baseline drives the connect, dm and group scenarios only");
    if (!/^wss?:\/\//.test(o.target)) throw new UsageError("--baseline needs --target ws://host:port");
  } else if (!/^https?:\/\//.test(o.target)) {
    throw new UsageError("--target must be http://host:port (a Lovecraft node)");
  }
  if (o.benchUrl !== undefined && !/^https?:\/\//.test(o.benchUrl))
    throw new UsageError("benchUrl must be http://host:port (a bench node)");
  if ((o.scenario === "dm" || o.scenario === "mixed") && o.users < 2)
    throw new UsageError(`--users must be at least 2 for ${o.scenario}`);
  if (o.scenario === "group" && (o.groupSize < 2 || o.groupSize > 50))
    throw new UsageError("--group-size must be between 2 and 50 (a group has at most 49 invited members)");
  if (o.scenario === "login-storm" && o.rate <= 0) throw new UsageError("--rate must be above 0");
}

/**
 * Per-socket command rate the options ask for, so the CLI can warn before the server's flood
 * control (SocketLimits.commandsPerSecond) refuses commands and closes sockets.
 */
export function perSocketRate(o: LoadTestOptions): number {
  if (o.scenario === "dm") return o.rate / 2;
  if (o.scenario === "group") return o.rate / Math.min(o.groupSize, o.users);
  if (o.scenario === "mixed") return o.rate;
  return 0;
}

export function warnings(o: LoadTestOptions): string[] {
  const out: string[] = [];
  if (!o.baseline && perSocketRate(o) > SocketLimits.commandsPerSecond * 0.9)
    out.push(
      `${perSocketRate(o)} commands/s per socket is near or above the server's limit of ${SocketLimits.commandsPerSecond}/s: expect RATE_LIMITED and ABUSE closes`,
    );
  if (o.scenario === "login-storm" && o.users > 50)
    out.push("login-storm registers every user through argon2: a small set (≤ 50) is enough");
  if (o.register && o.users > 500)
    out.push(
      `registering ${o.users} users at ${o.registerRate}/s takes ${Math.ceil(o.users / o.registerRate)} s`,
    );
  return out;
}

/** Parses `process.argv.slice(2)`; `{ help: true }` when --help was given. */
export function parseArgs(argv: readonly string[]): LoadTestOptions | { help: true } {
  const strings = [
    "scenario",
    "users",
    "duration",
    "target",
    "workers",
    "rate",
    "group-size",
    "connect-rate",
    "drain",
    "history",
    "register-rate",
    "client-ips",
    "baseline",
    "server-pid",
    "message-bytes",
    "out",
  ];
  const spec: Record<string, { type: "string" | "boolean" }> = { register: { type: "boolean" } };
  for (const name of strings) spec[name] = { type: "string" };
  spec.quiet = { type: "boolean" };
  spec.help = { type: "boolean" };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseNodeArgs({ args: [...argv], strict: true, allowPositionals: false, options: spec }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return { help: true };
  const s = (name: string) => values[name] as string | undefined;
  const history = s("history");
  const baseline = oneOf("baseline", s("baseline"), BASELINES);
  const duration = s("duration");
  const drain = s("drain");
  return defaults({
    scenario: oneOf("scenario", s("scenario"), SCENARIOS) ?? "dm",
    users: number("users", s("users"), 1, 1_000_000),
    durationMs: duration === undefined ? undefined : parseDuration(duration),
    target: s("target"),
    workers: number("workers", s("workers"), 0, 256),
    rate: number("rate", s("rate"), 0),
    groupSize: number("group-size", s("group-size"), 2, 50),
    connectRate: number("connect-rate", s("connect-rate"), 0.1),
    drainMs: drain === undefined ? undefined : parseDuration(drain),
    historyChats: history === "all" ? "all" : number("history", history, 0),
    register: values.register === true,
    registerRate: number("register-rate", s("register-rate"), 0.1),
    clientIps: number("client-ips", s("client-ips"), 1, 65_536),
    baseline,
    serverPid: number("server-pid", s("server-pid"), 1),
    messageBytes: number("message-bytes", s("message-bytes"), 1, 4000),
    out: s("out"),
    progress: values.quiet !== true,
  } as Partial<LoadTestOptions>);
}
