import { resolve } from "node:path";
import { z } from "zod";

/**
 * Configuration, parsed once from the environment at start-up. Nothing else in the server reads
 * `process.env`. A bad value stops the process with one line naming the variable.
 */

const LogLevel = z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

/** Digits only: `Number("  ")` is 0 and `Number("0x50")` is 80, neither of which anyone meant. */
const Port = z
  .string()
  .regex(/^[+-]?\d+(?:\.\d+)?$/, "must be a number")
  .transform(Number)
  .pipe(
    z
      .number()
      .int("must be an integer")
      .min(0, "must be between 0 and 65535")
      .max(65535, "must be between 0 and 65535"),
  );

const PositiveMs = z.coerce
  .number({ error: "must be a number" })
  .int("must be an integer")
  .min(1, "must be positive");

const RedisUrl = z
  .string()
  .regex(/^rediss?:\/\/[^\s]+$/, "must be a redis:// or rediss:// URL")
  .refine((s) => URL.canParse(s), "must be a valid URL");

const AzureConnectionString = z
  .string()
  .refine(
    (s) =>
      /(?:^|;)\s*UseDevelopmentStorage\s*=\s*true/i.test(s) ||
      (/AccountName=/i.test(s) && /AccountKey=|SharedAccessSignature=/i.test(s)),
    "must be an Azure Storage connection string (AccountName=…;AccountKey=… or SharedAccessSignature=…)",
  );

const Pem = z
  .string()
  .refine((s) => s.includes("-----BEGIN PRIVATE KEY-----"), "must be a PKCS#8 PEM private key");

/** A bearer secret: long enough not to be guessed, and a single header token (no whitespace). */
const AdminToken = z
  .string()
  .min(32, "must be at least 32 characters")
  .regex(/^\S+$/, "must not contain whitespace");

const Origins = z
  .string()
  .transform((s) =>
    s
      .split(",")
      .map((o) => o.trim())
      .filter(Boolean),
  )
  .pipe(
    z.array(
      z.union([z.literal("*"), z.url({ protocol: /^https?$/, error: "must list http(s) origins or *" })]),
    ),
  );

const Env = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  HOST: z.string().min(1).default("0.0.0.0"),
  PORT: Port.default(2567),
  PUBLIC_ADDRESS: z
    .string()
    .regex(/^[^\s/:]+(?::\d+)?(?:\/[^\s]*)?$/, "must be host[:port][/path] without a scheme")
    .optional(),
  REDIS_URL: RedisUrl.optional(),
  STORAGE_CONNECTION_STRING: AzureConnectionString.optional(),
  DATA_DIR: z.string().min(1).default("./data"),
  JWT_PRIVATE_KEY: Pem.optional(),
  JWT_ISSUER: z.string().min(1).default("lovecraft"),
  JWT_AUDIENCE: z.string().min(1).default("aloevera-harmony-meet"),
  CORS_ORIGINS: Origins.optional(),
  TRUST_PROXY: z.string().default("loopback"),
  LOG_LEVEL: LogLevel.default("info"),
  SHUTDOWN_TIMEOUT_MS: PositiveMs.default(10_000),
  SEED_CONTENT: z.stringbool({ error: "must be true or false" }).default(true),
  ACTOR_IDLE_MS: PositiveMs.default(300_000),
  ACTOR_LEASE_MS: PositiveMs.default(10_000),
  ACTOR_CALL_TIMEOUT_MS: PositiveMs.default(2_000),
  ACTOR_SNAPSHOT_MAX_AGE_MS: PositiveMs.default(60_000),
  DIRECTORY_SWEEP_MS: PositiveMs.default(15_000),
  ADMIN_TOKEN: AdminToken.optional(),
});

/**
 * Production requirements, checked on the raw environment so they are reported together with
 * any other bad variable (a failed object parse skips refinements).
 */
function productionProblems(env: Record<string, string>): string[] {
  if (env.NODE_ENV !== "production") return [];
  const problems: string[] = [];
  if (!env.JWT_PRIVATE_KEY) problems.push("JWT_PRIVATE_KEY is required when NODE_ENV=production");
  if (!env.CORS_ORIGINS?.split(",").some((o) => o.trim() !== "")) {
    problems.push("CORS_ORIGINS is required when NODE_ENV=production (at least one origin)");
  }
  return problems;
}

/** Values safe to echo in an error: never credentials (a REDIS_URL may carry a password). */
const ECHOABLE =
  /^(NODE_ENV|HOST|PORT|PUBLIC_ADDRESS|DATA_DIR|JWT_ISSUER|JWT_AUDIENCE|CORS_ORIGINS|TRUST_PROXY|LOG_LEVEL|SHUTDOWN_TIMEOUT_MS|SEED_CONTENT|ACTOR_[A-Z_]+|DIRECTORY_SWEEP_MS)$/;

export type Config = ReturnType<typeof toConfig>;

function toConfig(env: z.infer<typeof Env>) {
  const dataDir = resolve(env.DATA_DIR);
  return {
    env: env.NODE_ENV,
    host: env.HOST,
    port: env.PORT,
    /** Address other nodes and clients use to reach this process (Colyseus `publicAddress`). */
    publicAddress: env.PUBLIC_ADDRESS,
    /** Absent: single node with in-process presence. */
    redisUrl: env.REDIS_URL,
    storage: env.STORAGE_CONNECTION_STRING
      ? ({ kind: "azure", connectionString: env.STORAGE_CONNECTION_STRING } as const)
      : ({ kind: "embedded", dataDir } as const),
    dataDir,
    jwt: { privateKeyPem: env.JWT_PRIVATE_KEY, issuer: env.JWT_ISSUER, audience: env.JWT_AUDIENCE },
    /** `"*"` allows any origin (development default); a list allows exactly those. */
    corsOrigins: env.CORS_ORIGINS ?? (env.NODE_ENV === "production" ? [] : ["*"]),
    trustProxy: env.TRUST_PROXY,
    logLevel: env.LOG_LEVEL,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    seedContent: env.SEED_CONTENT,
    actors: {
      idleMs: env.ACTOR_IDLE_MS,
      leaseMs: env.ACTOR_LEASE_MS,
      callTimeoutMs: env.ACTOR_CALL_TIMEOUT_MS,
      snapshotMaxAgeMs: env.ACTOR_SNAPSHOT_MAX_AGE_MS,
      directorySweepMs: env.DIRECTORY_SWEEP_MS,
    },
    /** Bearer secret of the `/admin` routes; absent: they do not exist (404). Never logged. */
    adminToken: env.ADMIN_TOKEN,
  };
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Parses the environment; throws `ConfigError` whose message is one line naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // An empty variable means "not set" (docker-compose and shells often pass VAR= through).
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = Env.safeParse(present);
  const problems = (parsed.success ? [] : parsed.error.issues).map((issue) => {
    const name = String(issue.path[0] ?? "environment");
    // JSON.stringify keeps the message on one line whatever the value contains.
    const got = name in present && ECHOABLE.test(name) ? ` (got ${JSON.stringify(present[name])})` : "";
    return `${name} ${issue.message}${got}`;
  });
  problems.push(...productionProblems(present as Record<string, string>));
  if (!parsed.success || problems.length > 0) {
    throw new ConfigError(`Invalid configuration: ${problems.join("; ")}`);
  }
  return toConfig(parsed.data);
}
