import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ErrorCode } from "../../protocol/errors.js";
import { ConfigError, loadConfig } from "../../server/config.js";
import { AppError, toAppError } from "../../server/errors.js";
import { redactUrl } from "../../server/logger.js";
import {
  ConcurrencyError,
  FencedError,
  StorageLimitError,
  StorageUnavailableError,
} from "../../server/persistence/errors.js";
import { assertEntity, assertKey, assertTransaction, TABLE_LIMITS } from "../../server/persistence/limits.js";
import type { Entity, EntityProperties, TableOperation } from "../../server/persistence/ports.js";

const PEM = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIO3x\n-----END PRIVATE KEY-----\n";

/** Runs `loadConfig` expecting a `ConfigError`, and returns its message. */
function configError(env: Record<string, string | undefined>): string {
  let caught: unknown;
  try {
    loadConfig(env);
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ConfigError);
  const error = caught as ConfigError;
  expect(error.name).toBe("ConfigError");
  expect(error.message).not.toMatch(/[\r\n]/);
  expect(error.message).toMatch(/^Invalid configuration: /);
  return error.message;
}

describe("loadConfig", () => {
  it("uses the documented defaults for an empty environment", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      env: "development",
      host: "0.0.0.0",
      port: 2567,
      publicAddress: undefined,
      redisUrl: undefined,
      storage: { kind: "embedded", dataDir: resolve("./data") },
      dataDir: resolve("./data"),
      jwt: { privateKeyPem: undefined, issuer: "lovecraft", audience: "aloevera-harmony-meet" },
      corsOrigins: ["*"],
      trustProxy: "loopback",
      logLevel: "info",
      shutdownTimeoutMs: 10_000,
      seedContent: true,
      actors: { idleMs: 300_000, leaseMs: 10_000, callTimeoutMs: 2_000, snapshotMaxAgeMs: 60_000 },
    });
    expect(config.publicAddress).toBeUndefined();
    expect(config.redisUrl).toBeUndefined();
    expect(config.jwt.privateKeyPem).toBeUndefined();
  });

  it("treats empty and undefined variables as unset", () => {
    const config = loadConfig({
      NODE_ENV: "",
      PORT: "",
      REDIS_URL: "",
      STORAGE_CONNECTION_STRING: "",
      JWT_PRIVATE_KEY: "",
      CORS_ORIGINS: "",
      LOG_LEVEL: "",
      SEED_CONTENT: "",
      SHUTDOWN_TIMEOUT_MS: undefined,
    });
    expect(config).toEqual(loadConfig({}));
  });

  it("parses and coerces every variable", () => {
    const config = loadConfig({
      NODE_ENV: "test",
      HOST: "127.0.0.1",
      PORT: "0",
      PUBLIC_ADDRESS: "game.example.com:443/realtime",
      REDIS_URL: "rediss://cache.example:6380/0",
      DATA_DIR: "/var/lib/lovecraft",
      JWT_PRIVATE_KEY: PEM,
      JWT_ISSUER: "iss",
      JWT_AUDIENCE: "aud",
      TRUST_PROXY: "10.0.0.0/8",
      LOG_LEVEL: "debug",
      SHUTDOWN_TIMEOUT_MS: "2500",
      SEED_CONTENT: "false",
    });
    expect(config).toMatchObject({
      env: "test",
      host: "127.0.0.1",
      port: 0,
      publicAddress: "game.example.com:443/realtime",
      redisUrl: "rediss://cache.example:6380/0",
      storage: { kind: "embedded", dataDir: "/var/lib/lovecraft" },
      dataDir: "/var/lib/lovecraft",
      jwt: { privateKeyPem: PEM, issuer: "iss", audience: "aud" },
      trustProxy: "10.0.0.0/8",
      logLevel: "debug",
      shutdownTimeoutMs: 2500,
      seedContent: false,
    });
    expect(loadConfig({ PORT: "65535" }).port).toBe(65535);
  });

  it("names each bad variable in one line, with its value", () => {
    const message = configError({
      PORT: "abc",
      LOG_LEVEL: "loud",
      REDIS_URL: "http://cache.example",
      SHUTDOWN_TIMEOUT_MS: "0",
      SEED_CONTENT: "maybe",
      PUBLIC_ADDRESS: "game example.com",
      HOST: "fine.example",
    });
    expect(message).toContain('PORT must be a number (got "abc")');
    expect(message).toContain("LOG_LEVEL");
    expect(message).toContain('(got "loud")');
    expect(message).toContain("REDIS_URL must be a redis:// or rediss:// URL");
    expect(message).toContain("SHUTDOWN_TIMEOUT_MS must be positive");
    expect(message).toContain("SEED_CONTENT must be true or false");
    expect(message).toContain("PUBLIC_ADDRESS must be host[:port][/path] without a scheme");
    expect(message).not.toContain("HOST");
    expect(message.split("; ")).toHaveLength(6);
  });

  it.each([
    ["PORT", "65536", "must be between 0 and 65535"],
    ["PORT", "-1", "must be between 0 and 65535"],
    ["PORT", "1.5", "must be an integer"],
    ["PORT", "0x50", "must be a number"],
    ["PORT", "1e3", "must be a number"],
    ["NODE_ENV", "staging", "NODE_ENV"],
    ["SHUTDOWN_TIMEOUT_MS", "soon", "must be a number"],
    ["ACTOR_IDLE_MS", "-5", "must be positive"],
    ["ACTOR_LEASE_MS", "1e400", "must be a number"],
  ])("refuses %s=%s", (name, value, expected) => {
    const message = configError({ [name]: value });
    expect(message).toContain(name);
    expect(message).toContain(expected);
  });

  it("never echoes the value of a secret variable", () => {
    const message = configError({
      JWT_PRIVATE_KEY: "not-a-pem-but-secret-s3cr3t",
      STORAGE_CONNECTION_STRING: "AccountName=acct;Password=hunter2",
    });
    expect(message).toContain("JWT_PRIVATE_KEY must be a PKCS#8 PEM private key");
    expect(message).toContain("STORAGE_CONNECTION_STRING must be an Azure Storage connection string");
    expect(message).not.toContain("s3cr3t");
    expect(message).not.toContain("hunter2");
    expect(message).not.toContain("got");
  });

  it("requires a signing key and CORS origins in production", () => {
    const both = configError({ NODE_ENV: "production" });
    expect(both).toContain("JWT_PRIVATE_KEY is required when NODE_ENV=production");
    expect(both).toContain("CORS_ORIGINS is required when NODE_ENV=production");

    const noCors = configError({ NODE_ENV: "production", JWT_PRIVATE_KEY: PEM });
    expect(noCors).toContain("CORS_ORIGINS");
    expect(noCors).not.toContain("JWT_PRIVATE_KEY");

    const noKey = configError({
      NODE_ENV: "production",
      CORS_ORIGINS: "https://app.example",
      JWT_PRIVATE_KEY: "",
    });
    expect(noKey).toContain("JWT_PRIVATE_KEY");
    expect(noKey).not.toContain("CORS_ORIGINS");

    const config = loadConfig({
      NODE_ENV: "production",
      JWT_PRIVATE_KEY: PEM,
      CORS_ORIGINS: "https://app.example",
    });
    expect(config.env).toBe("production");
    expect(config.corsOrigins).toEqual(["https://app.example"]);
    expect(config.jwt.privateKeyPem).toBe(PEM);
  });

  it("parses CORS_ORIGINS as a trimmed comma-separated list", () => {
    expect(
      loadConfig({ CORS_ORIGINS: " https://a.example , http://b.example:8080,,  " }).corsOrigins,
    ).toEqual(["https://a.example", "http://b.example:8080"]);
    expect(loadConfig({ CORS_ORIGINS: "*" }).corsOrigins).toEqual(["*"]);
    const message = configError({ CORS_ORIGINS: "https://a.example, ftp://files.example" });
    expect(message).toContain("CORS_ORIGINS must list http(s) origins or *");
    expect(configError({ CORS_ORIGINS: "not a url" })).toContain("CORS_ORIGINS");
  });

  it("never echoes a REDIS_URL, which may carry a password", () => {
    const message = configError({ REDIS_URL: "rediss://:s3cretpw@cache.example:6380/ 0" });
    expect(message).toContain("REDIS_URL");
    expect(message).not.toContain("s3cretpw");
    expect(message).not.toContain("cache.example");
    expect(message).not.toContain("got");
  });

  it("refuses a PUBLIC_ADDRESS with a scheme", () => {
    for (const value of ["https://game.example", "http://game.example:8080/realtime", "wss://game.example"]) {
      const message = configError({ PUBLIC_ADDRESS: value });
      expect(message).toContain("PUBLIC_ADDRESS must be host[:port][/path] without a scheme");
    }
    expect(loadConfig({ PUBLIC_ADDRESS: "game.example:8080" }).publicAddress).toBe("game.example:8080");
  });

  it("keeps the message on one line when a bad value contains line breaks", () => {
    for (const value of ["a b\nc", "a b\r\nc", "x\ny\rz w"]) {
      const message = configError({ PUBLIC_ADDRESS: value, LOG_LEVEL: "loud\ninjected" });
      expect(message.split(/\r\n|\r|\n/)).toHaveLength(1);
      expect(message).toContain("PUBLIC_ADDRESS");
      expect(message).toContain("LOG_LEVEL");
      expect(message.split("; ")).toHaveLength(2);
    }
  });

  it("reports production requirements together with other bad variables", () => {
    const message = configError({ NODE_ENV: "production", PORT: "abc" });
    expect(message).toContain("PORT must be a number");
    expect(message).toContain("JWT_PRIVATE_KEY is required when NODE_ENV=production");
    expect(message).toContain("CORS_ORIGINS is required when NODE_ENV=production");
    expect(message.split("; ")).toHaveLength(3);
  });

  it("refuses a production CORS_ORIGINS that lists no origin", () => {
    for (const value of [" , ", ",", "   ", " ,, , "]) {
      const message = configError({ NODE_ENV: "production", JWT_PRIVATE_KEY: PEM, CORS_ORIGINS: value });
      expect(message).toContain("CORS_ORIGINS is required when NODE_ENV=production");
      expect(message).not.toContain("JWT_PRIVATE_KEY");
    }
  });

  it("selects Azure storage when STORAGE_CONNECTION_STRING is set", () => {
    const dev = "UseDevelopmentStorage=true";
    expect(loadConfig({ STORAGE_CONNECTION_STRING: dev }).storage).toEqual({
      kind: "azure",
      connectionString: dev,
    });
    const real =
      "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net";
    expect(loadConfig({ STORAGE_CONNECTION_STRING: real }).storage).toEqual({
      kind: "azure",
      connectionString: real,
    });
    const sas = "BlobEndpoint=https://acct.blob.example;AccountName=acct;SharedAccessSignature=sv=1";
    expect(loadConfig({ STORAGE_CONNECTION_STRING: sas }).storage.kind).toBe("azure");
    expect(loadConfig({ DATA_DIR: "/srv/data" }).storage).toEqual({ kind: "embedded", dataDir: "/srv/data" });
  });
});

// ---------------------------------------------------------------------------------------------

const entity = (properties: EntityProperties, partitionKey = "p", rowKey = "r"): Entity => ({
  partitionKey,
  rowKey,
  properties,
});

const manyProperties = (n: number): EntityProperties =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${i}`, i]));

describe("assertKey", () => {
  it("accepts 1024 characters and refuses 1025", () => {
    expect(() => assertKey("row", "k".repeat(TABLE_LIMITS.maxKeyLength))).not.toThrow();
    expect(() => assertKey("row", "k".repeat(TABLE_LIMITS.maxKeyLength + 1))).toThrow(StorageLimitError);
    expect(() => assertKey("partition", "k".repeat(1025))).toThrow(/partition key longer than 1024/);
    expect(() => assertKey("row", "")).not.toThrow();
  });

  it.each(["a/b", "a\\b", "a#b", "a?b", "a\u0000b", "tab\tkey", "a\u001fb", "a\u007fb", "a\u009fb"])(
    "refuses the forbidden character in %j",
    (key) => {
      expect(() => assertKey("row", key)).toThrow(StorageLimitError);
    },
  );

  it("accepts ordinary punctuation and non-ASCII letters", () => {
    expect(() => assertKey("row", "user_42~2024-01-01T00:00:00.000Z|ключ é")).not.toThrow();
    expect(() => assertKey("row", "a\u00a0b")).not.toThrow();
  });

  it("refuses a key that is not a string", () => {
    expect(() => assertKey("row", 42 as unknown as string)).toThrow(/row key must be a string/);
  });
});

describe("assertEntity", () => {
  it("returns the estimated stored size", () => {
    // 4 + (1 + 1) * 2 for the keys, then 8 + 2 * name length + value bytes per property.
    expect(assertEntity(entity({}))).toBe(8);
    expect(assertEntity(entity({ a: "xy" }))).toBe(8 + 8 + 2 + 4);
    expect(assertEntity(entity({ n: 1, b: true, d: new Date(0), i: 5n }))).toBe(8 + 4 * (8 + 2 + 8));
    expect(assertEntity(entity({ bin: new Uint8Array(10) }))).toBe(8 + 8 + 6 + 10);
  });

  it("accepts 60,000 bytes of binary and refuses 60,001", () => {
    expect(() => assertEntity(entity({ b: new Uint8Array(60_000) }))).not.toThrow();
    expect(() => assertEntity(entity({ b: new Uint8Array(60_001) }))).toThrow(/"b" exceeds 60000 bytes/);
    expect(() => assertEntity(entity({ b: Buffer.alloc(60_001) }))).toThrow(StorageLimitError);
  });

  it("accepts a 30,000-character string and refuses 30,001 (UTF-16 on the wire)", () => {
    expect(() => assertEntity(entity({ s: "x".repeat(30_000) }))).not.toThrow();
    expect(() => assertEntity(entity({ s: "x".repeat(30_001) }))).toThrow(StorageLimitError);
  });

  it("accepts 252 properties and refuses 253", () => {
    expect(() => assertEntity(entity(manyProperties(252)))).not.toThrow();
    expect(() => assertEntity(entity(manyProperties(253)))).toThrow(/more than 252 properties/);
  });

  it.each(["PartitionKey", "RowKey", "Timestamp", "partitionKey", "rowKey", "timestamp", "etag"])(
    "refuses the reserved property name %s",
    (name) => {
      expect(() => assertEntity(entity({ [name]: "v" }))).toThrow(/reserved property name/);
    },
  );

  it.each(["", "1abc", "a-b", "a b", "ä", "x".repeat(256)])("refuses the property name %j", (name) => {
    expect(() => assertEntity(entity({ [name]: 1 }))).toThrow(StorageLimitError);
  });

  it("accepts names of up to 255 characters starting with a letter or underscore", () => {
    expect(() => assertEntity(entity({ ["x".repeat(255)]: 1, _private: 2, Etag2: 3 }))).not.toThrow();
  });

  it("refuses values no adapter can store", () => {
    expect(() => assertEntity(entity({ n: Number.NaN }))).toThrow(/not a finite number/);
    expect(() => assertEntity(entity({ n: Number.POSITIVE_INFINITY }))).toThrow(StorageLimitError);
    expect(() => assertEntity(entity({ d: new Date("nope") }))).toThrow(/invalid date/);
    expect(() => assertEntity(entity({ o: {} as never }))).toThrow(/unsupported type/);
    expect(() => assertEntity(entity({ o: null as never }))).toThrow(/unsupported type/);
    expect(() => assertEntity(entity({ o: [1] as never }))).toThrow(/unsupported type/);
  });

  it("refuses invalid keys and entities over 1 MiB in total", () => {
    expect(() => assertEntity(entity({}, "a/b"))).toThrow(/partition key/);
    expect(() => assertEntity(entity({}, "p", "r#1"))).toThrow(/row key/);
    const chunks = (n: number) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`c${i}`, new Uint8Array(60_000)]));
    expect(() => assertEntity(entity(chunks(17)))).not.toThrow();
    expect(() => assertEntity(entity(chunks(18)))).toThrow(/entity exceeds 1048576 bytes/);
  });
});

describe("assertTransaction", () => {
  const insert = (rowKey: string, partitionKey = "p"): TableOperation => ({
    op: "insert",
    entity: entity({ v: 1 }, partitionKey, rowKey),
  });

  it("accepts up to 100 operations on distinct rows of one partition", () => {
    const ops = Array.from({ length: 100 }, (_, i) => insert(`r${i}`));
    expect(() => assertTransaction("p", ops)).not.toThrow();
    expect(() => assertTransaction("p", [...ops, insert("r100")])).toThrow(/more than 100 operations/);
    expect(() => assertTransaction("p", [])).toThrow(/no operations/);
  });

  it("refuses touching one row twice, whatever the operations", () => {
    expect(() => assertTransaction("p", [insert("a"), insert("a")])).toThrow(/row "a" twice/);
    expect(() =>
      assertTransaction("p", [
        { op: "upsert", entity: entity({}, "p", "a") },
        { op: "delete", rowKey: "a" },
      ]),
    ).toThrow(/twice/);
    expect(() =>
      assertTransaction("p", [
        { op: "replace", entity: entity({}, "p", "a"), etag: "e" },
        { op: "delete", rowKey: "b" },
        insert("c"),
      ]),
    ).not.toThrow();
  });

  it("refuses operations on another partition and invalid keys", () => {
    expect(() => assertTransaction("p", [insert("a"), insert("b", "q")])).toThrow(/share one partition key/);
    expect(() => assertTransaction("p/x", [insert("a", "p/x")])).toThrow(/partition key/);
    expect(() => assertTransaction("p", [{ op: "delete", rowKey: "bad?key" }])).toThrow(/row key/);
    expect(() =>
      assertTransaction("p", [insert("a"), { op: "upsert", entity: entity({ etag: 1 }) }]),
    ).toThrow(/reserved/);
  });

  it("refuses a transaction whose body would exceed the batch size", () => {
    const big = (rowKey: string): TableOperation => ({
      op: "upsert",
      entity: entity(
        Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`c${i}`, new Uint8Array(60_000)])),
        "p",
        rowKey,
      ),
    });
    // Each entity is ~0.96 MB raw, ~1.29 MB once base64 overhead is counted.
    expect(() => assertTransaction("p", [big("a"), big("b"), big("c")])).not.toThrow();
    expect(() => assertTransaction("p", [big("a"), big("b"), big("c"), big("d")])).toThrow(
      /transaction body exceeds/,
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe("redactUrl", () => {
  it("passes empty values through", () => {
    expect(redactUrl(undefined)).toBeUndefined();
    expect(redactUrl("")).toBe("");
  });

  it("redacts token parameters and keeps everything else", () => {
    expect(redactUrl("/matchmake/joinOrCreate/chat?_authToken=eyJ.abc.def&room=1")).toBe(
      "/matchmake/joinOrCreate/chat?_authToken=[redacted]&room=1",
    );
    expect(redactUrl("/ws?room=1&token=abc")).toBe("/ws?room=1&token=[redacted]");
    expect(redactUrl("/cb?access_token=a&refresh_token=b&x=y")).toBe(
      "/cb?access_token=[redacted]&refresh_token=[redacted]&x=y",
    );
    expect(redactUrl("/cb?token=abc#section")).toBe("/cb?token=[redacted]#section");
    expect(redactUrl("/cb?token=&next=1")).toBe("/cb?token=[redacted]&next=1");
  });

  it("matches parameter names case-insensitively", () => {
    expect(redactUrl("/ws?_AUTHTOKEN=abc")).toBe("/ws?_AUTHTOKEN=[redacted]");
    expect(redactUrl("/ws?Token=abc")).toBe("/ws?Token=[redacted]");
  });

  it("leaves paths and similarly named parameters alone", () => {
    expect(redactUrl("/api/v1/store/items?limit=3")).toBe("/api/v1/store/items?limit=3");
    expect(redactUrl("/token=abc")).toBe("/token=abc");
    expect(redactUrl("/x?mytoken=abc&tokens=2")).toBe("/x?mytoken=abc&tokens=2");
  });
});

// ---------------------------------------------------------------------------------------------

describe("toAppError", () => {
  it("returns an AppError unchanged", () => {
    const err = new AppError(ErrorCode.NOT_FOUND, "nope");
    expect(toAppError(err)).toBe(err);
    expect(err.status).toBe(404);
    expect(err.toBody()).toEqual({ code: "NOT_FOUND", message: "nope" });
  });

  it("maps a ZodError to VALIDATION_FAILED with the issues as details", () => {
    const schema = z.object({ limit: z.number().int(), filter: z.object({ tag: z.string() }) });
    const result = schema.safeParse({ limit: 1.5, filter: { tag: 3 } });
    expect(result.success).toBe(false);
    const err = toAppError(result.error);
    expect(err.code).toBe(ErrorCode.VALIDATION_FAILED);
    expect(err.status).toBe(400);
    expect(err.cause).toBe(result.error);
    const body = err.toBody();
    expect(body.retryable).toBeUndefined();
    expect(body.details).toEqual([
      { path: "limit", message: expect.any(String) },
      { path: "filter.tag", message: expect.any(String) },
    ]);
  });

  it("maps StorageUnavailableError to a retryable STORAGE_UNAVAILABLE", () => {
    const cause = new StorageUnavailableError("azure timed out at 10.1.2.3");
    const err = toAppError(cause);
    expect(err.code).toBe(ErrorCode.STORAGE_UNAVAILABLE);
    expect(err.status).toBe(503);
    expect(err.toBody()).toEqual({
      code: "STORAGE_UNAVAILABLE",
      message: "storage is temporarily unavailable",
      retryable: true,
    });
    expect(err.cause).toBe(cause);
  });

  it("maps storage conflicts and limits", () => {
    expect(toAppError(new ConcurrencyError("exists", "row exists")).code).toBe(ErrorCode.CONFLICT);
    expect(toAppError(new FencedError("user_1")).status).toBe(409);
    const limit = toAppError(new StorageLimitError("too big"));
    expect(limit.code).toBe(ErrorCode.PAYLOAD_TOO_LARGE);
    expect(limit.status).toBe(413);
  });

  it("maps body-parser errors by their type", () => {
    const parserError = (type: string, status: number) =>
      Object.assign(new Error(`raw parser detail ${type}`), { type, status, expose: true });
    const tooLarge = toAppError(parserError("entity.too.large", 413));
    expect(tooLarge.code).toBe(ErrorCode.PAYLOAD_TOO_LARGE);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.message).toBe("request body too large");
    expect(toAppError(parserError("entity.parse.failed", 400)).code).toBe(ErrorCode.BAD_REQUEST);
    expect(toAppError(parserError("encoding.unsupported", 415)).code).toBe(ErrorCode.UNSUPPORTED_MEDIA_TYPE);
    expect(toAppError(parserError("charset.unsupported", 415)).status).toBe(415);
    expect(toAppError(parserError("request.aborted", 400)).code).toBe(ErrorCode.BAD_REQUEST);
  });

  it("hides unknown errors behind a generic INTERNAL", () => {
    const secret = new Error("connect ECONNREFUSED postgres://admin:pw@10.0.0.5 /srv/app/secret.ts");
    const err = toAppError(secret);
    expect(err.code).toBe(ErrorCode.INTERNAL);
    expect(err.status).toBe(500);
    expect(err.message).toBe("internal error");
    expect(err.cause).toBe(secret);
    const wire = JSON.stringify(err.toBody());
    expect(wire).not.toContain("ECONNREFUSED");
    expect(wire).not.toContain("pw@");
    expect(err.toBody()).toEqual({ code: "INTERNAL", message: "internal error" });
  });

  it.each([
    ["a string", "boom"],
    ["null", null],
    ["undefined", undefined],
    ["a 500 status", Object.assign(new Error("x"), { status: 500 })],
    ["a TypeError", new TypeError("cannot read properties of undefined")],
  ])("maps %s to INTERNAL", (_label, value) => {
    expect(toAppError(value).code).toBe(ErrorCode.INTERNAL);
  });
});
