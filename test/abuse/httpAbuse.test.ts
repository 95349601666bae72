import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import sharp from "sharp";
import request from "supertest";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RouteDoc } from "../../server/http/apiDocs.js";
import {
  type AbuseApp,
  buildAbuseApp,
  concretePath,
  listen,
  paramNames,
  ROUTE_TABLE,
  rawRequest,
  routeKey,
} from "../support/abuseApp.js";
import {
  fetchBounded,
  openSocket,
  type RawSocket,
  type RawUser,
  randomIp,
  registerUser,
} from "../support/abuseSockets.js";
import { buildTestApp } from "../support/authDeps.js";
import type { Json } from "../support/http.js";
import { type ServerProcess, startServerProcess } from "../support/serverProcess.js";

/**
 * HTTP abuse (the "Abuse (every case a test)"), generated from the route table wherever
 * the table says enough: BOLA on every authenticated route with an id, mass assignment on every
 * JSON body, injection and traversal in every id, hostile bodies, prototype keys, CORS, and the
 * login throttle cases the auth tests do not cover yet. In-process (supertest / a loopback
 * listener) except the routes that need actors, which run against a real server process.
 */

const ALLOWED_ORIGIN = "https://app.example";

interface Who {
  readonly id: string;
  readonly email: string;
  readonly password: string;
  readonly token: string;
  readonly refreshToken: string;
}

let abuse: AbuseApp;
let port: number;
let stopListening: () => Promise<void>;
let alice: Who;
let bob: Who;
/** Only ever the target of `DELETE /users/me` abuse: never Alice, so a wrong answer cannot erase her. */
let victim: Who;
let section: string;
let topic: string;

async function who(name: string): Promise<Who> {
  const email = `${name.toLowerCase()}-${randomUUID()}@example.com`;
  const password = `violet gramophone ${randomUUID()}`;
  const session = await abuse.auth.service.register({ email, password, displayName: name }, randomIp());
  return {
    id: session.user.id,
    email,
    password,
    token: session.accessToken,
    refreshToken: session.refreshToken,
  };
}

beforeAll(async () => {
  abuse = await buildAbuseApp({ corsOrigins: [ALLOWED_ORIGIN] });
  const listener = await listen(abuse.app);
  port = listener.port;
  stopListening = listener.close;
  [alice, bob, victim] = await Promise.all([who("Alice"), who("Bob"), who("Victim")]);
  const sections = await abuse.stores.forum.listSections({ limit: 100 });
  section = sections.items[0]?.id as string;
  const topics = await abuse.stores.forum.listTopics(section, { limit: 100 });
  topic = topics.items.find((t) => !t.locked)?.id as string;
  expect(section).toBeTruthy();
  expect(topic).toBeTruthy();
});

afterAll(async () => {
  await stopListening?.();
  await abuse?.close();
});

afterEach(() => {
  // No request of any test may have polluted this process's Object.prototype.
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.hasOwn(Object.prototype, "polluted")).toBe(false);
});

/** Everything an abusive request could have changed, as far as the in-process app owns it. */
async function fingerprint() {
  const sections = await abuse.stores.forum.listSections({ limit: 100 });
  const topicCounts: Record<string, number> = {};
  for (const s of sections.items) {
    topicCounts[s.id] = (await abuse.stores.forum.listTopics(s.id, { limit: 100 })).items.length;
  }
  const replies = (await abuse.stores.forum.listReplies(topic, { limit: 100 })).items.length;
  const [alicePhotos, bobPhotos, victimAccount, aliceFamilies] = await Promise.all([
    abuse.stores.photos.list(alice.id),
    abuse.stores.photos.list(bob.id),
    abuse.stores.accounts.getById(victim.id),
    abuse.stores.refreshTokens.listFamilyIds(alice.id),
  ]);
  return {
    topicCounts,
    replies,
    alicePhotos: [...alicePhotos].sort(),
    bobPhotos: [...bobPhotos].sort(),
    victimExists: victimAccount !== undefined,
    aliceSessions: aliceFamilies.length,
    seats: abuse.seatCalls.length,
  };
}

/** Asserts the error envelope and returns the error. */
function errorOf(res: { status: number; body: Json }, status: number | readonly number[], codes?: string[]) {
  const statuses = typeof status === "number" ? [status] : status;
  expect(statuses, `status ${res.status}: ${JSON.stringify(res.body)}`).toContain(res.status);
  expect(res.body?.success).toBe(false);
  if (codes) expect(codes).toContain(res.body.error.code);
  return res.body.error as { code: string; message: string; details?: unknown };
}

const smallJpeg = () =>
  sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 30, b: 60 } } })
    .jpeg()
    .toBuffer();

// --- the route table ----------------------------------------------------------------------------

const hasIdParam = (r: RouteDoc) => paramNames(r).length > 0;
const AUTHED_WITH_ID = ROUTE_TABLE.filter((r) => r.auth === true && hasIdParam(r));
const WITH_ID = ROUTE_TABLE.filter(hasIdParam);
const WITH_BODY = ROUTE_TABLE.filter((r) => r.body !== undefined);

/** A valid value for each path parameter of a route (the injection tests vary one at a time). */
function validParams(r: RouteDoc): Record<string, string> {
  const values: Record<string, string> = {};
  for (const name of paramNames(r)) {
    if (name === "photoId") values[name] = randomUUID();
    else if (r.path.startsWith("/users/")) values[name] = bob.id;
    else if (r.path.startsWith("/forum/sections/")) values[name] = section;
    else if (r.path.startsWith("/forum/topics/")) values[name] = topic;
    else values[name] = "no-such-thing";
  }
  return values;
}

/**
 * A valid body per JSON-body route, and what must not have changed when that body is refused.
 * Keyed by the route table: a new body route fails the coverage test until it is added here.
 */
const BODIES: Record<
  string,
  {
    readonly body: () => Record<string, unknown>;
    readonly token?: () => string;
    readonly unchanged?: () => Promise<void>;
  }
> = {
  "POST /auth/register": {
    body: () => ({
      email: `mass-${randomUUID()}@example.com`,
      password: "violet gramophone tuesday",
      displayName: "M",
    }),
  },
  "POST /auth/login": { body: () => ({ email: alice.email, password: alice.password }) },
  "POST /auth/refresh": {
    body: () => ({ refreshToken: alice.refreshToken }),
    unchanged: async () => {
      const [familyId] = alice.refreshToken.split(".") as [string];
      const family = await abuse.stores.refreshTokens.family(familyId);
      expect(family?.revokedAt).toBeUndefined();
    },
  },
  "POST /auth/logout": {
    body: () => ({ refreshToken: alice.refreshToken }),
    unchanged: async () => {
      const [familyId] = alice.refreshToken.split(".") as [string];
      expect((await abuse.stores.refreshTokens.family(familyId))?.revokedAt).toBeUndefined();
    },
  },
  "POST /forum/sections/{id}/topics": { body: () => ({ title: "A topic title", body: "Opening post" }) },
  "POST /forum/topics/{id}/replies": { body: () => ({ body: "A reply" }) },
  "DELETE /users/me": { body: () => ({ password: victim.password }), token: () => victim.token },
  "POST /realtime/connect": { body: () => ({ protocol: 1 }) },
};

function send(
  r: Pick<RouteDoc, "method" | "path">,
  path: string,
  options: {
    token?: string;
    body?: unknown;
    raw?: string;
    contentType?: string;
    headers?: Record<string, string>;
  } = {},
) {
  let req = request(abuse.app)[r.method](path);
  if (options.token !== undefined) req = req.set("Authorization", `Bearer ${options.token}`);
  if (options.headers) req = req.set(options.headers);
  if (options.raw !== undefined) {
    return req.set("Content-Type", options.contentType ?? "application/json").send(options.raw);
  }
  if (options.body !== undefined) {
    if (options.contentType) req = req.set("Content-Type", options.contentType);
    return req.send(options.body as object);
  }
  return req;
}

const tokenFor = (r: RouteDoc) => BODIES[routeKey(r)]?.token?.() ?? alice.token;

describe("the route table", () => {
  it("documents routes with ids and bodies (the generated cases below are not empty)", () => {
    expect(AUTHED_WITH_ID.length).toBeGreaterThanOrEqual(5);
    expect(WITH_ID.length).toBeGreaterThanOrEqual(10);
    expect(WITH_BODY.length).toBeGreaterThanOrEqual(6);
  });

  it("has a valid body and an 'unchanged' check for every JSON-body route", () => {
    expect(WITH_BODY.map(routeKey).sort()).toEqual(Object.keys(BODIES).sort());
  });
});

// --- BOLA -----------------------------------------------------------------------------------------

/**
 * One scenario per authenticated route with an id: user B calls it with an id that belongs to
 * (or was made by) user A, and nothing of A's may change or leak. Routes that need actors run
 * in the server-process block at the end of this file.
 */
const BOLA: Record<string, { readonly where: "in-process" | "server"; readonly run?: () => Promise<void> }> =
  {
    "POST /forum/sections/{id}/topics": {
      where: "in-process",
      run: async () => {
        const key = `bola-topic-${randomUUID()}`;
        const path = `/api/v1/forum/sections/${section}/topics`;
        const headers = { "Idempotency-Key": key };
        const mine = await request(abuse.app)
          .post(path)
          .set("Authorization", `Bearer ${alice.token}`)
          .set(headers)
          .send({ title: "Alice's topic", body: "by Alice" });
        expect(mine.status).toBe(201);
        const aliceTopic = mine.body.data.topic as Json;
        // Bob replays Alice's idempotency key: he gets a topic of his own, never hers.
        const theirs = await request(abuse.app)
          .post(path)
          .set("Authorization", `Bearer ${bob.token}`)
          .set(headers)
          .send({ title: "Bob's topic", body: "by Bob" });
        expect(theirs.status).toBe(201);
        expect(theirs.body.data.topic.id).not.toBe(aliceTopic.id);
        expect(theirs.body.data.topic).toMatchObject({ authorId: bob.id, title: "Bob's topic" });
        expect(await abuse.stores.forum.getTopic(aliceTopic.id)).toMatchObject({
          authorId: alice.id,
          title: "Alice's topic",
          replyCount: aliceTopic.replyCount,
        });
      },
    },
    "POST /forum/topics/{id}/replies": {
      where: "in-process",
      run: async () => {
        const created = await request(abuse.app)
          .post(`/api/v1/forum/sections/${section}/topics`)
          .set("Authorization", `Bearer ${alice.token}`)
          .send({ title: "Alice asks", body: "question" });
        expect(created.status).toBe(201);
        const topicId = created.body.data.topic.id as string;
        const key = `bola-reply-${randomUUID()}`;
        const aliceReply = await request(abuse.app)
          .post(`/api/v1/forum/topics/${topicId}/replies`)
          .set("Authorization", `Bearer ${alice.token}`)
          .set("Idempotency-Key", key)
          .send({ body: "Alice's own reply" });
        expect(aliceReply.status).toBe(201);
        // Same key from Bob: a separate reply by Bob; Alice's reply and authorship stay hers.
        const bobReply = await request(abuse.app)
          .post(`/api/v1/forum/topics/${topicId}/replies`)
          .set("Authorization", `Bearer ${bob.token}`)
          .set("Idempotency-Key", key)
          .send({ body: "Bob's reply" });
        expect(bobReply.status).toBe(201);
        expect(bobReply.body.data.id).not.toBe(aliceReply.body.data.id);
        expect(bobReply.body.data).toMatchObject({ authorId: bob.id, body: "Bob's reply" });
        const replies = (await abuse.stores.forum.listReplies(topicId, { limit: 100 })).items;
        expect(replies.find((r) => r.id === aliceReply.body.data.id)).toMatchObject({
          authorId: alice.id,
          body: "Alice's own reply",
        });
        // The author can never be chosen by the body (mass assignment on a foreign topic).
        const forged = await request(abuse.app)
          .post(`/api/v1/forum/topics/${topicId}/replies`)
          .set("Authorization", `Bearer ${bob.token}`)
          .send({ body: "as Alice", authorId: alice.id, authorName: "Alice" });
        errorOf(forged, 400, ["VALIDATION_FAILED"]);
        expect((await abuse.stores.forum.getTopic(topicId))?.replyCount).toBe(3);
      },
    },
    "DELETE /users/me/photos/{photoId}": {
      where: "in-process",
      run: async () => {
        const uploaded = await request(abuse.app)
          .post("/api/v1/users/me/photos")
          .set("Authorization", `Bearer ${alice.token}`)
          .set("Content-Type", "image/jpeg")
          .send(await smallJpeg());
        expect(uploaded.status, uploaded.text).toBe(201);
        const photoId = uploaded.body.data.id as string;
        const res = await request(abuse.app)
          .delete(`/api/v1/users/me/photos/${photoId}`)
          .set("Authorization", `Bearer ${bob.token}`);
        errorOf(res, 404, ["NOT_FOUND"]);
        expect(await abuse.stores.photos.list(alice.id)).toContain(photoId);
        // Her signed URL re-pointed at Bob's id (or his at hers) is refused too.
        const url = uploaded.body.data.url as string;
        const moved = url.replace(`/${alice.id}/`, `/${bob.id}/`);
        expect((await request(abuse.app).get(moved)).status).toBe(403);
      },
    },
    "PUT /events/{id}/registration": { where: "server" },
    "DELETE /events/{id}/registration": { where: "server" },
    "GET /events/{id}/registration": { where: "server" },
    "GET /users/{id}": { where: "server" },
  };

describe("BOLA, generated from the route table", () => {
  it("has a scenario for every authenticated route with an id parameter", () => {
    expect(AUTHED_WITH_ID.map(routeKey).sort()).toEqual(Object.keys(BOLA).sort());
  });

  const inProcess = AUTHED_WITH_ID.filter((r) => BOLA[routeKey(r)]?.where === "in-process");
  it.each(inProcess.map((r) => [routeKey(r)]))(
    "%s: user B cannot reach or change user A's object",
    async (key) => {
      await BOLA[key]?.run?.();
    },
  );
});

// --- mass assignment ------------------------------------------------------------------------------

const EXTRA_FIELDS: [string, unknown][] = [
  ["isAdmin", true],
  ["role", "owner"],
  ["userId", "00000000-0000-4000-8000-000000000000"],
  ["authorId", "00000000-0000-4000-8000-000000000000"],
  ["id", "chosen-id"],
  ["tokenVersion", 0],
  ["createdAt", "2000-01-01T00:00:00.000Z"],
  ["pinned", true],
];

describe("mass assignment: an extra field in any JSON body", () => {
  const cases = WITH_BODY.flatMap((r) =>
    EXTRA_FIELDS.map(([field, value]) => [routeKey(r), field, value, r] as const),
  );
  it.each(cases.map(([key, field, value, r]) => [key, field, value, r]))(
    "%s with %s → 400 VALIDATION_FAILED, nothing changed",
    async (key, field, value, r) => {
      const route = r as RouteDoc;
      const spec = BODIES[key as string];
      if (!spec) throw new Error(`no body for ${key}`);
      const before = await fingerprint();
      const body = { ...spec.body(), [field as string]: value };
      const res = await send(route, concretePath(route, validParams(route)), {
        token: tokenFor(route),
        body,
      });
      const error = errorOf(res, 400, ["VALIDATION_FAILED"]);
      expect(JSON.stringify(error.details)).toContain(field as string);
      expect(await fingerprint()).toEqual(before);
      await spec.unchanged?.();
      if (key === "POST /auth/register")
        expect(await abuse.stores.accounts.getByEmail(body.email as string)).toBeUndefined();
    },
  );
});

// --- injection and traversal in ids ---------------------------------------------------------------

/** [label, the path segment exactly as sent]: each decodes to something no id schema accepts. */
const INJECTIONS: [string, string][] = [
  ["single quote", "'"],
  ["odata quote break", encodeURIComponent("x' or PartitionKey ne 'x")],
  ["double quote", encodeURIComponent('"')],
  ["literal %27", encodeURIComponent("%27")],
  ["encoded slash", encodeURIComponent("a/b")],
  ["backslash", encodeURIComponent("a\\b")],
  ["raw backslash", "a\\b"],
  ["encoded #", encodeURIComponent("a#b")],
  ["encoded ?", encodeURIComponent("a?b")],
  ["dot-dot", ".."],
  ["dot", "."],
  ["unicode letter", encodeURIComponent("café")],
  ["emoji", encodeURIComponent("😀")],
  ["right-to-left override", encodeURIComponent("a\u202eb")],
  ["NUL", "%00"],
  ["CRLF", encodeURIComponent("a\r\nSet-Cookie: x=1")],
  ["space", "a%20b"],
  ["1000 characters", "a".repeat(1000)],
  ["$filter", encodeURIComponent("$filter=true")],
  ["malformed percent", "%"],
  ["truncated escape", "%E0%A4%A"],
  ["overlong UTF-8", "%c0%ae%c0%ae"],
];

describe("injection characters in every id parameter", () => {
  const cases = WITH_ID.flatMap((r) =>
    paramNames(r).flatMap((param) =>
      INJECTIONS.map(([label, segment]) => [routeKey(r), param, label, segment, r] as const),
    ),
  );

  it("covers every id parameter of the table", () => {
    expect(new Set(cases.map(([key, param]) => `${key} ${param}`)).size).toBe(
      WITH_ID.reduce((n, r) => n + paramNames(r).length, 0),
    );
  });

  it.each(cases.map(([key, param, label, segment, r]) => [key, param, label, segment, r]))(
    "%s {%s} = %s → 400, never 5xx, nothing changed",
    async (key, param, _label, segment, r) => {
      const route = r as RouteDoc;
      const before = await fingerprint();
      const path = concretePath(route, { ...validParams(route), [param as string]: segment as string });
      const spec = BODIES[key as string];
      const body = spec ? JSON.stringify(spec.body()) : undefined;
      const headers: Record<string, string> = { authorization: `Bearer ${tokenFor(route)}` };
      if (body !== undefined) headers["content-type"] = "application/json";
      const res = await rawRequest(port, {
        method: route.method.toUpperCase(),
        path,
        headers,
        ...(body ? { body } : {}),
      });
      expect(res.status, `${path} → ${res.status} ${res.text.slice(0, 200)}`).toBe(400);
      expect(["VALIDATION_FAILED", "BAD_REQUEST"]).toContain(JSON.parse(res.text).error.code);
      expect(await fingerprint()).toEqual(before);
    },
  );

  it("refuses hostile Idempotency-Key headers on the forum writes (400, nothing stored)", async () => {
    const before = await fingerprint();
    for (const key of [
      "'",
      "../../etc/passwd",
      "a".repeat(1000),
      "x' or '1' eq '1",
      "short",
      "ünïcödé-key",
    ]) {
      const res = await request(abuse.app)
        .post(`/api/v1/forum/topics/${topic}/replies`)
        .set("Authorization", `Bearer ${alice.token}`)
        .set("Idempotency-Key", key)
        .send({ body: "keyed" });
      errorOf(res, 400, ["VALIDATION_FAILED"]);
    }
    expect(await fingerprint()).toEqual(before);
  });
});

describe("path traversal in any name", () => {
  const TRAVERSALS = [
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%2e%2e/%2e%2e/etc/passwd",
    "..%252f..%252fetc%252fpasswd",
    "..%5c..%5cetc%5cpasswd",
    "..\\..\\etc\\passwd",
    "%c0%ae%c0%ae%c0%afetc%c0%afpasswd",
    "....//....//etc/passwd",
    "..;/..;/etc/passwd",
    "%u002e%u002e%u2215etc%u2215passwd",
  ];
  const targets: [string, (t: string) => string][] = [
    ...WITH_ID.flatMap((r) =>
      paramNames(r).map(
        (param) =>
          [
            `${routeKey(r)} {${param}}`,
            (t: string) => concretePath(r, { ...validParams(r), [param]: t }),
          ] as [string, (t: string) => string],
      ),
    ),
    ["GET /media/photos/{userId}/{photoId}", (t) => `/media/photos/${alice.id}/${t}?exp=9999999999&sig=x`],
    ["GET /media/photos/{userId}", (t) => `/media/photos/${t}/${randomUUID()}?exp=9999999999&sig=x`],
    ["GET /api/v1/{anything}", (t) => `/api/v1/${t}`],
    ["GET /docs/{anything}", (t) => `/docs/${t}`],
  ];
  const byPath = new Map(WITH_ID.map((r) => [routeKey(r), r]));

  it.each(targets.map(([label, build]) => [label, build]))(
    "%s: 400/404 for every traversal, never 5xx, never a file",
    async (label, build) => {
      const before = await fingerprint();
      const route = byPath.get((label as string).replace(/ \{[^}]+\}$/, ""));
      const method = route ? route.method.toUpperCase() : "GET";
      const spec = route ? BODIES[routeKey(route)] : undefined;
      for (const traversal of TRAVERSALS) {
        const path = (build as (t: string) => string)(traversal);
        const headers: Record<string, string> = {
          authorization: `Bearer ${route ? tokenFor(route) : alice.token}`,
        };
        const body = spec ? JSON.stringify(spec.body()) : undefined;
        if (body) headers["content-type"] = "application/json";
        const res = await rawRequest(port, { method, path, headers, ...(body ? { body } : {}) });
        expect([400, 404], `${method} ${path} → ${res.status} ${res.text.slice(0, 200)}`).toContain(
          res.status,
        );
        expect(res.text).not.toMatch(/root:|\[boot loader\]|BEGIN PRIVATE KEY/);
        expect(JSON.parse(res.text).success).toBe(false);
      }
      expect(await fingerprint()).toEqual(before);
    },
  );
});

// --- hostile bodies -------------------------------------------------------------------------------

describe("oversize, deep, compressed and wrong-type bodies on every JSON-body route", () => {
  const deepArray = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;
  const deepObject = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
  type Hostile = {
    label: string;
    raw: string | Buffer;
    contentType?: string;
    headers?: Record<string, string>;
    expect: number[];
  };
  const hostile = (r: RouteDoc): Hostile[] => {
    const valid = BODIES[routeKey(r)]?.body() ?? {};
    const firstField = Object.keys(valid)[0] ?? "x";
    // DELETE is not a body method for `requireJsonBody`; a non-JSON body then simply fails validation.
    const wrongType = r.method === "delete" ? [400, 415] : [415];
    return [
      {
        label: "110 kB of JSON",
        raw: JSON.stringify({ ...valid, pad: "x".repeat(110 * 1024) }),
        expect: [413],
      },
      {
        label: "a gzip bomb (16 MB of zeros inflated from ~16 kB)",
        raw: gzipSync(Buffer.from(`{"pad":"${"0".repeat(16 * 1024 * 1024)}"}`)),
        headers: { "Content-Encoding": "gzip" },
        expect: [413],
      },
      {
        label: "garbage declared as deflate",
        raw: Buffer.from("not deflate at all"),
        headers: { "Content-Encoding": "deflate" },
        expect: [400],
      },
      {
        label: "an unknown content encoding",
        raw: JSON.stringify(valid),
        headers: { "Content-Encoding": "xz" },
        expect: [415],
      },
      {
        label: "charset latin1",
        raw: JSON.stringify(valid),
        contentType: "application/json; charset=latin1",
        expect: [415],
      },
      { label: "40,000-deep array", raw: deepArray(40_000), expect: [400] },
      {
        label: "10,000-deep object in a field",
        raw: `{"${firstField}":${deepObject(10_000)}}`,
        expect: [400],
      },
      { label: "an array", raw: "[]", expect: [400] },
      { label: "a string", raw: '"hello"', expect: [400] },
      { label: "a number", raw: "42", expect: [400] },
      { label: "null", raw: "null", expect: [400] },
      { label: "an empty object", raw: "{}", expect: [400] },
      {
        label: "an operator object as a field",
        raw: JSON.stringify({ ...valid, [firstField]: { $gt: "" } }),
        expect: [400],
      },
      {
        label: "an array as a field",
        raw: JSON.stringify({ ...valid, [firstField]: ["a", "b"] }),
        expect: [400],
      },
      { label: "a number as a field", raw: JSON.stringify({ ...valid, [firstField]: 1e308 }), expect: [400] },
      {
        label: "6,000 unknown keys (under the size limit)",
        raw: JSON.stringify(Object.fromEntries(Array.from({ length: 6_000 }, (_, i) => [`k${i}`, i]))),
        expect: [400],
      },
      { label: "text/plain", raw: JSON.stringify(valid), contentType: "text/plain", expect: wrongType },
      {
        label: "a form",
        raw: "email=a&password=b",
        contentType: "application/x-www-form-urlencoded",
        expect: wrongType,
      },
      {
        label: "multipart",
        raw: "--x\r\n\r\n--x--",
        contentType: "multipart/form-data; boundary=x",
        expect: wrongType,
      },
    ];
  };

  it.each(WITH_BODY.map((r) => [routeKey(r), r]))(
    "%s: 413/415/400 with the envelope, never 5xx",
    async (_key, r) => {
      const route = r as RouteDoc;
      const before = await fingerprint();
      for (const h of hostile(route)) {
        // Sent byte for byte (supertest would JSON-encode a Buffer body).
        const res = await rawRequest(port, {
          method: route.method.toUpperCase(),
          path: concretePath(route, validParams(route)),
          headers: {
            authorization: `Bearer ${tokenFor(route)}`,
            "content-type": h.contentType ?? "application/json",
            ...h.headers,
          },
          body: h.raw,
        });
        expect(h.expect, `${h.label}: ${res.status} ${res.text.slice(0, 300)}`).toContain(res.status);
        expect(JSON.parse(res.text).success, h.label).toBe(false);
      }
      expect(await fingerprint()).toEqual(before);
    },
  );
});

describe("__proto__ and constructor keys in JSON bodies", () => {
  const payloads = (valid: Record<string, unknown>) => {
    const inner = JSON.stringify(valid).slice(1, -1);
    const sep = inner ? "," : "";
    return [
      `{"__proto__":{"polluted":"yes"}${sep}${inner}}`,
      `{${inner}${sep}"__proto__":{"polluted":"yes","isAdmin":true}}`,
      `{"constructor":{"prototype":{"polluted":"yes"}}${sep}${inner}}`,
      `{${inner}${sep}"nested":{"__proto__":{"polluted":"yes"}}}`,
      `{"__proto__":null${sep}${inner}}`,
    ];
  };

  it.each(WITH_BODY.map((r) => [routeKey(r), r]))("%s → 400, Object.prototype untouched", async (_key, r) => {
    const route = r as RouteDoc;
    const before = await fingerprint();
    const spec = BODIES[routeKey(route)];
    for (const raw of payloads(spec?.body() ?? {})) {
      const res = await send(route, concretePath(route, validParams(route)), { token: tokenFor(route), raw });
      errorOf(res, 400, ["VALIDATION_FAILED"]);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    }
    expect(await fingerprint()).toEqual(before);
  });

  it("query strings with prototype keys do not pollute either", async () => {
    for (const path of [
      "/api/v1/store/items?__proto__[polluted]=yes",
      "/api/v1/store/items?constructor[prototype][polluted]=yes",
      "/api/v1/events?__proto__.polluted=yes&from=2020-01-01T00:00:00Z",
    ]) {
      const res = await request(abuse.app).get(path);
      expect(res.status).toBeLessThan(500);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

// --- CORS ---------------------------------------------------------------------------------------

describe("CORS with an origin allowlist", () => {
  const DISALLOWED = [
    "https://evil.example",
    "https://app.example.evil.example",
    "https://evil-app.example",
    "https://evilapp.example",
    "http://app.example",
    "https://app.example:8443",
    "https://APP.EXAMPLE",
    "https://app.example/",
    "null",
    "file://",
    "https://app.example\r\nX-Injected: 1",
  ].filter((o) => !/[\r\n]/.test(o));
  const PATHS: [string, string][] = [
    ["GET", "/api/v1/store/items"],
    ["GET", "/api/v1/auth/me"],
    ["POST", "/api/v1/auth/login"],
    ["GET", "/api/v1/no-such-route"],
    ["GET", "/health/live"],
    ["GET", "/api/v1/openapi.json"],
    ["GET", "/api/v1/users/me/photos"],
  ];

  it.each(DISALLOWED.map((o) => [o]))(
    "gives %s no Access-Control-Allow-Origin, simple or preflight",
    async (origin) => {
      for (const [method, path] of PATHS) {
        const simple = await request(abuse.app)
          [method === "POST" ? "post" : "get"](path)
          .set("Origin", origin as string)
          .set("Authorization", `Bearer ${alice.token}`);
        expect(simple.headers["access-control-allow-origin"], `${method} ${path}`).toBeUndefined();
        expect(simple.headers["access-control-allow-credentials"]).toBeUndefined();
        const preflight = await request(abuse.app)
          .options(path)
          .set("Origin", origin as string)
          .set("Access-Control-Request-Method", method === "GET" ? "DELETE" : method)
          .set("Access-Control-Request-Headers", "authorization, content-type");
        expect(preflight.status).toBeLessThan(500);
        expect(preflight.headers["access-control-allow-origin"], `preflight ${path}`).toBeUndefined();
      }
    },
  );

  it("answers the allowed origin exactly, with Vary: Origin and without credentials", async () => {
    const res = await request(abuse.app).get("/api/v1/store/items").set("Origin", ALLOWED_ORIGIN);
    expect(res.headers["access-control-allow-origin"]).toBe(ALLOWED_ORIGIN);
    expect(res.headers.vary).toMatch(/Origin/i);
    expect(res.headers["access-control-allow-credentials"]).toBeUndefined();
    const preflight = await request(abuse.app)
      .options("/api/v1/auth/login")
      .set("Origin", ALLOWED_ORIGIN)
      .set("Access-Control-Request-Method", "POST");
    expect(preflight.headers["access-control-allow-origin"]).toBe(ALLOWED_ORIGIN);
    // Responses to disallowed origins must also vary on Origin, or a shared cache serves them the allowed answer.
    const other = await request(abuse.app).get("/api/v1/store/items").set("Origin", "https://evil.example");
    expect(other.headers.vary).toMatch(/Origin/i);
  });
});

// --- login throttling (what test/http/auth.test.ts does not cover yet) -----------------------------

describe("login throttling: the cases missing from the auth tests", () => {
  const login = (app: Parameters<typeof request>[0], email: string, password: string, ip: string) =>
    request(app).post("/api/v1/auth/login").set("X-Forwarded-For", ip).send({ email, password });

  it("locks an account after 5 failures spread over 5 IPs (rotating addresses does not help)", async () => {
    const { app } = await buildTestApp(abuse.stores);
    const target = await who("Rotated");
    for (let i = 0; i < 5; i++) {
      const res = await login(app, target.email, `wrong guess ${i}`, `203.0.113.${10 + i}`);
      errorOf(res, 401, ["UNAUTHORIZED"]);
    }
    const locked = await login(app, target.email, target.password, "203.0.113.99");
    errorOf(locked, 429, ["RATE_LIMITED"]);
  });

  it("counts padded and case-variant spellings of the email against the same lock", async () => {
    const { app } = await buildTestApp(abuse.stores);
    const target = await who("Padded");
    const variants = [
      `  ${target.email}`,
      `${target.email}  `,
      target.email.toUpperCase(),
      `\t${target.email}`,
      target.email,
    ];
    for (const [i, variant] of variants.entries()) {
      errorOf(await login(app, variant, "wrong guess", `203.0.113.${40 + i}`), 401, ["UNAUTHORIZED"]);
    }
    errorOf(await login(app, ` ${target.email.toUpperCase()} `, target.password, "203.0.113.60"), 429, [
      "RATE_LIMITED",
    ]);
  });

  it("does not let concurrent wrong passwords exceed the per-account budget of 5 checks", async () => {
    const { app } = await buildTestApp(abuse.stores);
    const target = await who("Raced");
    // An attacker fires 20 guesses at once, from 20 addresses: each must be counted before the
    // next is checked, so at most 5 are really verified (401) and the rest are refused (429).
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        login(app, target.email, `parallel guess ${i}`, `203.0.113.${100 + i}`),
      ),
    );
    const statuses = answers.map((r) => r.status);
    expect(
      statuses.every((s) => s === 401 || s === 429 || s === 503),
      String(statuses),
    ).toBe(true);
    const checked = statuses.filter((s) => s === 401).length;
    expect(
      checked,
      `password checks performed: ${checked} (statuses ${statuses.join(",")})`,
    ).toBeLessThanOrEqual(5);
  });

  it("does not turn DELETE /users/me into an unthrottled password oracle", async () => {
    const { app, auth } = await buildTestApp(abuse.stores);
    const email = `oracle-${randomUUID()}@example.com`;
    const password = "violet gramophone oracle";
    const session = await auth.service.register({ email, password, displayName: "Oracle" }, randomIp());
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await request(app)
        .delete("/api/v1/users/me")
        .set("Authorization", `Bearer ${session.accessToken}`)
        .send({ password: `wrong guess ${i}` });
      statuses.push(res.status);
      expect(res.status).not.toBe(200);
    }
    expect(await abuse.stores.accounts.getByEmail(email)).toBeDefined();
    // A stolen access token must not allow unlimited guesses at the password through the
    // erasure confirmation: after the same 5 failures as a login, the answer is 429.
    expect(statuses, `statuses: ${statuses.join(",")}`).toContain(429);
  });
});

// --- routes that need actors: a real server process -----------------------------------------------

describe("BOLA on actor-backed routes (real server process)", () => {
  let server: ServerProcess;
  let dir: string;
  const sockets: RawSocket[] = [];
  let a: RawUser;
  let b: RawUser;
  let eventId: string;

  const api = async (
    user: RawUser | undefined,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const h: Record<string, string> = { ...headers };
    if (user) h.authorization = `Bearer ${user.accessToken}`;
    if (body !== undefined) h["content-type"] = "application/json";
    const res = await fetchBounded(`${server.baseUrl}/api/v1${path}`, {
      method,
      headers: h,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lovecraft-abuse-bola-"));
    server = await startServerProcess({ cwd: dir, env: { DATA_DIR: join(dir, "data") } });
    [a, b] = await Promise.all([
      registerUser(server.baseUrl, "BolaA"),
      registerUser(server.baseUrl, "BolaB"),
    ]);
    // A first connect writes each user's profile card: from then on they exist for others.
    for (const u of [a, b]) {
      const socket = await openSocket(server.baseUrl, u.accessToken);
      sockets.push(socket);
      expect((await socket.command("sync")).ok).toBe(true);
    }
    const events = await api(a, "GET", "/events?limit=50");
    const open = (events.body.data.items as { id: string; capacity: number }[]).find((e) => e.capacity >= 10);
    eventId = open?.id as string;
    expect(eventId).toBeTruthy();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  afterEach(() => {
    expect(server.child.exitCode).toBeNull();
  });

  it("covers exactly the routes the table marks as actor-backed", () => {
    const serverRoutes = AUTHED_WITH_ID.filter((r) => BOLA[routeKey(r)]?.where === "server").map(routeKey);
    expect(serverRoutes.sort()).toEqual([
      "DELETE /events/{id}/registration",
      "GET /events/{id}/registration",
      "GET /users/{id}",
      "PUT /events/{id}/registration",
    ]);
  });

  it("PUT/DELETE/GET /events/{id}/registration act on the caller only, whatever the body or key says", async () => {
    const key = `bola-event-${randomUUID()}`;
    const registered = await api(a, "PUT", `/events/${eventId}/registration`, undefined, {
      "Idempotency-Key": key,
    });
    expect(registered.status, JSON.stringify(registered.body)).toBe(200);
    const attendees = registered.body.data.attendees as number;

    // B unregisters with A's id in the body and A's idempotency key: only B's own (absent) registration.
    const removed = await api(
      b,
      "DELETE",
      `/events/${eventId}/registration`,
      { userId: a.id },
      { "Idempotency-Key": key },
    );
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    expect(removed.body.data).toMatchObject({ status: "not-registered", attendees });

    // B's status read says nothing about A.
    const bStatus = await api(b, "GET", `/events/${eventId}/registration`);
    expect(bStatus.body.data).toMatchObject({ registered: false, attendees });

    // B registers "as A" through the body: B is registered, A's registration is unchanged.
    const asA = await api(b, "PUT", `/events/${eventId}/registration`, { userId: a.id });
    expect(asA.status).toBe(200);
    expect(asA.body.data).toMatchObject({ status: "registered", attendees: attendees + 1 });
    const aStatus = await api(a, "GET", `/events/${eventId}/registration`);
    expect(aStatus.body.data).toMatchObject({ registered: true, attendees: attendees + 1 });
    // And B's unregister takes only B off.
    const bOff = await api(b, "DELETE", `/events/${eventId}/registration`);
    expect(bOff.body.data).toMatchObject({ status: "unregistered", attendees });
    expect((await api(a, "GET", `/events/${eventId}/registration`)).body.data).toMatchObject({
      registered: true,
    });
  });

  it("GET /users/{id} shows a matches-only profile to nobody else, and unknown ids are 404", async () => {
    const [socketA] = sockets as [RawSocket];
    expect((await api(b, "GET", `/users/${a.id}`)).status).toBe(200);
    const hidden = await socketA.command("settings.update", { privacy: { profileVisibility: "matches" } });
    expect(hidden.ok, JSON.stringify(hidden)).toBe(true);
    errorOf(await api(b, "GET", `/users/${a.id}`), 404, ["NOT_FOUND"]);
    // Not a match either through a forged body or query: the viewer is the token's user.
    errorOf(await api(b, "GET", `/users/${a.id}?viewer=${a.id}`), 404, ["NOT_FOUND"]);
    // The owner still sees their own profile.
    expect((await api(a, "GET", `/users/${a.id}`)).status).toBe(200);
    const shown = await socketA.command("settings.update", { privacy: { profileVisibility: "everyone" } });
    expect(shown.ok).toBe(true);
    expect((await api(b, "GET", `/users/${a.id}`)).status).toBe(200);
    errorOf(await api(b, "GET", `/users/${randomUUID()}`), 404, ["NOT_FOUND"]);
    for (const bad of ["'", "..", "a%2Fb", "x".repeat(65), "%00"]) {
      const res = await fetchBounded(`${server.baseUrl}/api/v1/users/${bad}`, {
        headers: { authorization: `Bearer ${b.accessToken}` },
      });
      expect([400, 404], `${bad} → ${res.status}`).toContain(res.status);
    }
  });

  it("still serves after all of it", async () => {
    const res = await fetchBounded(`${server.baseUrl}/health/live`);
    expect(res.status).toBe(200);
    expect(server.output()).not.toMatch(/uncaught|"level":60/i);
  });
});
