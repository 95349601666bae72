import express from "express";
import request from "supertest";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ErrorCode } from "../../protocol/errors.js";
import { buildOpenApi, type RouteDoc } from "../../server/http/apiDocs.js";
import { contentRouteDocs } from "../../server/http/contentRoutes.js";
import { docsRoutes } from "../../server/http/docsRoutes.js";

// biome-ignore lint/suspicious/noExplicitAny: walking a JSON document
type Json = Record<string, any>;

interface TreeNode {
  name: string;
  children: TreeNode[];
}
const TreeNode: z.ZodType<TreeNode> = z.object({
  name: z.string(),
  get children() {
    return z.array(TreeNode);
  },
});
const Shared = z.object({ at: z.iso.datetime() }).meta({ id: "ApiDocsTestShared" });

/** Routes that the content API lacks: auth, a body, shared and recursive schemas, hostile text. */
const fakeRoutes: RouteDoc[] = [
  {
    method: "post",
    path: "/me/trees/{treeId}",
    summary: "Save a tree <script>alert('x')</script> & more",
    tags: ["me"],
    auth: true,
    params: z.object({ treeId: z.string().min(1) }),
    body: z.object({ root: TreeNode, first: Shared, second: Shared }),
    response: TreeNode,
    status: 201,
    errors: [ErrorCode.VALIDATION_FAILED, ErrorCode.STORAGE_UNAVAILABLE, ErrorCode.OVERLOADED],
  },
  { method: "delete", path: "/me/session", summary: "Sign out", tags: ["me"], auth: true, status: 204 },
];

const document = buildOpenApi([...contentRouteDocs, ...fakeRoutes], {
  title: "Lovecraft",
  version: "0.1.0",
}) as Json;

function collectRefs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) collectRefs(v, out);
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "$ref" && typeof v === "string") out.push(v);
      else collectRefs(v, out);
    }
  }
  return out;
}

function resolvePointer(root: unknown, ref: string): unknown {
  if (!ref.startsWith("#/")) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(2).split("/")) {
    const key = decodeURIComponent(raw).replaceAll("~1", "/").replaceAll("~0", "~");
    if (node === null || typeof node !== "object" || !(key in node)) return undefined;
    node = (node as Json)[key];
  }
  return node;
}

describe("buildOpenApi", () => {
  it("produces an OpenAPI 3.1 document served under /api/v1", () => {
    expect(document.openapi).toBe("3.1.0");
    expect(document.info).toEqual({ title: "Lovecraft", version: "0.1.0" });
    expect(document.servers).toEqual([{ url: "/api/v1" }]);
    expect(document.components.securitySchemes.bearer).toEqual({
      type: "http",
      scheme: "bearer",
      bearerFormat: "JWT",
    });
    expect(
      buildOpenApi([], { title: "t", version: "1", serverUrl: "https://api.example.com/" }).servers,
    ).toEqual([{ url: "https://api.example.com/api/v1" }]);
  });

  it("documents every content route once, relative to the server prefix", () => {
    for (const route of contentRouteDocs) {
      expect(route.path.startsWith("/api/")).toBe(false);
      const op = document.paths[route.path]?.[route.method];
      expect(op, `${route.method} ${route.path}`).toBeDefined();
      expect(op.summary).toBe(route.summary);
      expect(op.tags).toEqual(route.tags);
      expect(op.security).toBeUndefined();
    }
    const documented = Object.values(document.paths).flatMap((item) => Object.keys(item as Json));
    expect(documented).toHaveLength(contentRouteDocs.length + fakeRoutes.length);
    const operationIds = Object.values(document.paths).flatMap((item) =>
      Object.values(item as Json).map((op) => op.operationId),
    );
    expect(new Set(operationIds).size).toBe(operationIds.length);
    expect(document.tags.map((t: Json) => t.name)).toEqual(["store", "blog", "events", "forum", "me"]);
  });

  it("types path and query parameters from the route schemas", () => {
    const list = document.paths["/store/items"].get;
    const byName = Object.fromEntries(list.parameters.map((p: Json) => [p.name, p]));
    expect(Object.keys(byName).sort()).toEqual(["category", "cursor", "limit"]);
    expect(byName.limit).toMatchObject({
      in: "query",
      required: false,
      schema: { type: "integer", minimum: 1, maximum: 100, default: 20 },
    });
    expect(byName.cursor).toMatchObject({ in: "query", required: false, schema: { type: "string" } });
    expect(byName.category.schema.pattern).toBe("^[a-z0-9][a-z0-9-]{0,39}$");

    const events = document.paths["/events"].get;
    const from = events.parameters.find((p: Json) => p.name === "from");
    expect(from.schema).toMatchObject({ type: "string", format: "date-time" });

    const replies = document.paths["/forum/topics/{id}/replies"].get;
    expect(replies.parameters.find((p: Json) => p.in === "path")).toMatchObject({
      name: "id",
      required: true,
      schema: { type: "string", pattern: "^[a-z0-9][a-z0-9-]{0,79}$" },
    });
    expect(replies.parameters.filter((p: Json) => p.in === "query").map((p: Json) => p.name)).toEqual([
      "limit",
      "cursor",
    ]);
    for (const item of Object.values(document.paths) as Json[]) {
      for (const op of Object.values(item) as Json[]) {
        for (const p of op.parameters ?? []) {
          expect(p.schema, `${op.operationId} ${p.name}`).toBeTypeOf("object");
          expect(p.schema.$schema).toBeUndefined();
        }
      }
    }
  });

  it("wraps responses in the success envelope, lists as { items, nextCursor }", () => {
    const schema = document.paths["/blog/posts"].get.responses["200"].content["application/json"].schema;
    expect(schema.required).toEqual(["success", "data", "timestamp"]);
    expect(schema.properties.success.const).toBe(true);
    const data = schema.properties.data;
    expect(data.required).toEqual(["items", "nextCursor"]);
    expect(data.properties.nextCursor.type).toEqual(["string", "null"]);
    expect(data.properties.items.items.required).toContain("publishedAt");

    const one = document.paths["/events/{id}"].get.responses["200"].content["application/json"].schema;
    expect(one.properties.data.properties.price.anyOf).toBeDefined();
  });

  it("answers each listed error code with the shared Error envelope and its status", () => {
    const get = document.paths["/store/items/{id}"].get.responses;
    expect(Object.keys(get).sort()).toEqual(["200", "400", "404"]);
    for (const [status, code] of [
      ["400", "VALIDATION_FAILED"],
      ["404", "NOT_FOUND"],
    ] as const) {
      const media = get[status].content["application/json"];
      expect(media.schema).toEqual({ $ref: "#/components/schemas/Error" });
      expect(media.examples[code].value.error.code).toBe(code);
    }
    expect(Object.keys(document.paths["/store/items"].get.responses).sort()).toEqual(["200", "400"]);

    const error = document.components.schemas.Error;
    expect(error.required).toEqual(["success", "error", "timestamp"]);
    expect(error.properties.error.properties.code.enum).toEqual(Object.values(ErrorCode));
    expect(error.properties.error.required).toEqual(["code", "message"]);

    // Codes sharing a status share one response.
    const save = document.paths["/me/trees/{treeId}"].post.responses;
    expect(Object.keys(save).sort()).toEqual(["201", "400", "401", "503"]);
    expect(Object.keys(save["503"].content["application/json"].examples).sort()).toEqual([
      "OVERLOADED",
      "STORAGE_UNAVAILABLE",
    ]);
  });

  it("marks auth routes with bearer security and a 401, and documents bodies", () => {
    const save = document.paths["/me/trees/{treeId}"].post;
    expect(save.security).toEqual([{ bearer: [] }]);
    expect(save.responses["401"].content["application/json"].examples.UNAUTHORIZED).toBeDefined();
    expect(save.requestBody.required).toBe(true);
    expect(save.requestBody.content["application/json"].schema.required).toEqual(["root", "first", "second"]);

    const signOut = document.paths["/me/session"].delete;
    expect(signOut.security).toEqual([{ bearer: [] }]);
    expect(signOut.responses["204"]).toEqual({ description: "No content" });
  });

  it("resolves every $ref inside the document, hoisting shared and recursive schemas", () => {
    const refs = collectRefs(document);
    expect(refs).toContain("#/components/schemas/Error");
    expect(refs).toContain("#/components/schemas/ApiDocsTestShared");
    expect(refs.some((r) => r.startsWith("#/$defs") || r === "#")).toBe(false);
    for (const ref of refs) expect(resolvePointer(document, ref), ref).toBeTypeOf("object");
    // The recursive response points at a component that points at itself.
    const data =
      document.paths["/me/trees/{treeId}"].post.responses["201"].content["application/json"].schema.properties
        .data;
    const tree = resolvePointer(document, data.$ref) as Json;
    expect(tree.properties.children.items).toEqual(data);
  });

  it("rejects a path whose parameters disagree with its params schema", () => {
    expect(() =>
      buildOpenApi([{ method: "get", path: "/things/{id}", summary: "x", tags: [] }], {
        title: "t",
        version: "1",
      }),
    ).toThrow(/path parameters/);
    expect(() =>
      buildOpenApi(
        [
          { method: "get", path: "/things", summary: "x", tags: [] },
          { method: "get", path: "/things", summary: "y", tags: [] },
        ],
        { title: "t", version: "1" },
      ),
    ).toThrow(/documented twice/);
  });
});

describe("docsRoutes", () => {
  const app = express().use(docsRoutes(document));

  it("serves the document with a cache header", async () => {
    const res = await request(app).get("/api/v1/openapi.json").expect(200);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(res.headers["cache-control"]).toBe("public, max-age=300");
    expect(res.body).toEqual(document);
  });

  it("renders a self-contained, escaped HTML reference", async () => {
    const res = await request(app).get("/docs").expect(200);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    const html = res.text;
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\b(?:src|href)="https?:/i);
    expect(html).not.toMatch(/@import|url\(/i);
    for (const route of [...contentRouteDocs, ...fakeRoutes]) {
      expect(html).toContain(`<code class="path">${route.path}</code>`);
    }
    expect(html).toContain("Save a tree &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more");
    // Grouped by tag, with accessible headings and a parameters table.
    for (const tag of ["store", "blog", "events", "forum", "me"]) {
      expect(html).toContain(`<h2 id="tag-${tag}">${tag}</h2>`);
    }
    expect(html).toContain('<span class="method get">GET</span>');
    expect(html).toContain('<span class="method delete">DELETE</span>');
    expect(html.match(/auth required<\/span>/g)).toHaveLength(2);
    expect(html).toContain("<caption");
    expect(html).toContain('<th scope="row"><code>limit</code></th>');
    expect(html).toContain("integer, 1–100, default 20");
    expect(html).toContain('<meta name="viewport"');
    expect(html).toContain("string, ≤ 1500 chars, pattern ^[A-Za-z0-9_-]+$");
    // Request and response schemas as pretty-printed JSON in <details>; the envelope once, on top.
    expect(html).toMatch(
      /<details><summary>Response 200: data<\/summary><pre><code>\{\n {2}&quot;type&quot;: &quot;object&quot;,\n {2}&quot;properties&quot;: \{\n {4}&quot;items&quot;/,
    );
    expect(html).toContain("<details><summary>Request body (application/json)</summary>");
    expect(html).toContain("<p>Response 204: No content</p>");
    expect(html).toContain('<li><span class="status">404</span> <code>NOT_FOUND</code></li>');
  });
});
