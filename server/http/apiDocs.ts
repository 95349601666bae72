import { z } from "zod";
import { ErrorCode, HTTP_STATUS } from "../../protocol/errors.js";

/**
 * A tiny route-documentation registry: each router exports `RouteDoc`s built from the very zod
 * schemas it validates with, and `buildOpenApi` turns them into an OpenAPI 3.1 document, so the
 * published contract cannot drift from what the handlers accept.
 */

type AnyZodObject = z.ZodObject<z.core.$ZodShape, z.core.$ZodObjectConfig>;

export type RouteDoc = {
  readonly method: "get" | "post" | "put" | "patch" | "delete";
  /** Relative to `/api/v1`, OpenAPI style: `/store/items/{id}`. */
  readonly path: string;
  readonly summary: string;
  readonly tags: readonly string[];
  /** Requires `Authorization: Bearer <JWT>`; implies a 401 `UNAUTHORIZED` response. */
  readonly auth?: boolean;
  readonly params?: AnyZodObject;
  readonly query?: AnyZodObject;
  readonly body?: z.ZodType;
  /** The `data` of the success envelope. */
  readonly response?: z.ZodType;
  /** Success status, default 200 (204 documents no body). */
  readonly status?: number;
  readonly errors?: readonly ErrorCode[];
};

export interface ApiInfo {
  readonly title: string;
  readonly version: string;
  /** Origin the API is served from (`https://api.example.com`); default: same origin. */
  readonly serverUrl?: string;
}

export const API_PREFIX = "/api/v1";

type JsonSchema = Record<string, unknown>;

const COMPONENT_PREFIX = "#/components/schemas/";
const ERROR_REF = { $ref: `${COMPONENT_PREFIX}Error` };
const TIMESTAMP: JsonSchema = { type: "string", format: "date-time" };

const ERROR_SCHEMA: JsonSchema = {
  type: "object",
  description: "Every failed request answers this envelope, with the HTTP status of its code.",
  properties: {
    success: { type: "boolean", const: false },
    error: {
      type: "object",
      properties: {
        code: { type: "string", enum: Object.values(ErrorCode) },
        message: { type: "string" },
        details: { description: "Code-specific detail, e.g. the failing fields of VALIDATION_FAILED." },
        retryable: { type: "boolean", description: "Present (true) when a later retry may succeed." },
      },
      required: ["code", "message"],
    },
    timestamp: TIMESTAMP,
  },
  required: ["success", "error", "timestamp"],
};

/** Converts zod schemas, hoisting shared and recursive definitions into `components.schemas`. */
class SchemaConverter {
  readonly components: Record<string, JsonSchema> = { Error: ERROR_SCHEMA };

  convert(schema: z.ZodType, nameHint: string): JsonSchema {
    const json = z.toJSONSchema(schema, { target: "draft-2020-12", io: "input" }) as JsonSchema;
    delete json.$schema;
    const defs = (json.$defs ?? {}) as Record<string, JsonSchema>;
    delete json.$defs;

    // Registered ids (`.meta({ id })`) are unique per registry and keep their name; anonymous
    // definitions (cycles) get a fresh one per conversion.
    const names = new Map<string, string>();
    for (const name of Object.keys(defs)) {
      names.set(name, name.startsWith("__schema") ? this.freshName(nameHint) : sanitize(name));
    }
    const selfName = containsRef(json, "#") ? this.freshName(nameHint) : undefined;
    const rewrite = (ref: string): string => {
      if (ref === "#" && selfName !== undefined) return COMPONENT_PREFIX + selfName;
      const def = ref.startsWith("#/$defs/") ? names.get(ref.slice("#/$defs/".length)) : undefined;
      return def !== undefined ? COMPONENT_PREFIX + def : ref;
    };
    for (const [name, def] of Object.entries(defs)) {
      this.components[names.get(name)!] = rewriteRefs(def, rewrite) as JsonSchema;
    }
    const root = rewriteRefs(json, rewrite) as JsonSchema;
    if (selfName === undefined) return root;
    this.components[selfName] = root;
    return { $ref: COMPONENT_PREFIX + selfName };
  }

  private freshName(hint: string): string {
    const base = sanitize(hint);
    let n = 1;
    while (`${base}${n}` in this.components) n++;
    return `${base}${n}`;
  }
}

function sanitize(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "_");
}

function containsRef(value: unknown, ref: string): boolean {
  if (Array.isArray(value)) return value.some((v) => containsRef(v, ref));
  if (value === null || typeof value !== "object") return false;
  return Object.entries(value).some(([k, v]) => (k === "$ref" && v === ref) || containsRef(v, ref));
}

function rewriteRefs(value: unknown, rewrite: (ref: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteRefs(v, rewrite));
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      k === "$ref" && typeof v === "string" ? rewrite(v) : rewriteRefs(v, rewrite),
    ]),
  );
}

/** `get /forum/topics/{id}/replies` → `getForumTopicsByIdReplies`. */
function operationId(route: RouteDoc): string {
  const words = route.path
    .split("/")
    .filter((s) => s !== "")
    .map((s) => {
      const param = /^\{(.+)\}$/.exec(s);
      return param ? `By-${param[1]}` : s;
    })
    .flatMap((s) => s.split(/[^A-Za-z0-9]+/))
    .filter((w) => w !== "");
  return route.method + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");
}

function parameters(
  converter: SchemaConverter,
  where: "path" | "query",
  schema: AnyZodObject,
  hint: string,
): JsonSchema[] {
  const json = converter.convert(schema, hint);
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, propSchema]) => ({
    name,
    in: where,
    required: where === "path" || required.has(name),
    ...(typeof propSchema.description === "string" ? { description: propSchema.description } : {}),
    schema: propSchema,
  }));
}

function successResponse(converter: SchemaConverter, route: RouteDoc, hint: string): JsonSchema {
  const status = route.status ?? 200;
  if (status === 204) return { description: "No content" };
  const data = route.response ? converter.convert(route.response, hint) : {};
  return {
    description: "Success",
    content: {
      "application/json": {
        schema: {
          type: "object",
          properties: { success: { type: "boolean", const: true }, data, timestamp: TIMESTAMP },
          required: ["success", "data", "timestamp"],
        },
      },
    },
  };
}

/** One response per status; codes sharing a status (several 503s) share it, one example each. */
function errorResponses(codes: readonly ErrorCode[]): Record<string, JsonSchema> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = HTTP_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<string, JsonSchema> = {};
  for (const [status, group] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: group.join(" or "),
      content: {
        "application/json": {
          schema: ERROR_REF,
          examples: Object.fromEntries(
            group.map((code) => [
              code,
              {
                value: {
                  success: false,
                  error: { code, message: code.toLowerCase().replaceAll("_", " ") },
                  timestamp: "2025-01-01T00:00:00.000Z",
                },
              },
            ]),
          ),
        },
      },
    };
  }
  return responses;
}

/** Builds an OpenAPI 3.1 document; throws on a route whose path and `params` disagree. */
export function buildOpenApi(routes: readonly RouteDoc[], info: ApiInfo): Record<string, unknown> {
  const converter = new SchemaConverter();
  const paths: Record<string, Record<string, unknown>> = {};
  const tags: string[] = [];

  for (const route of routes) {
    const opId = operationId(route);
    const where = `${route.method.toUpperCase()} ${route.path}`;
    if (!route.path.startsWith("/")) throw new Error(`${where}: path must start with /`);
    if (paths[route.path]?.[route.method]) throw new Error(`${where}: documented twice`);

    const pathParams = parameters(converter, "path", route.params ?? z.object({}), `${opId}Params`);
    const templated = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!).sort();
    const declared = pathParams.map((p) => p.name as string).sort();
    if (templated.join() !== declared.join()) {
      throw new Error(`${where}: path parameters {${templated}} but params schema has {${declared}}`);
    }
    const params = [
      ...pathParams,
      ...(route.query ? parameters(converter, "query", route.query, `${opId}Query`) : []),
    ];

    const errors = [...(route.auth ? [ErrorCode.UNAUTHORIZED] : []), ...(route.errors ?? [])];
    const operation: Record<string, unknown> = {
      operationId: opId,
      summary: route.summary,
      tags: [...route.tags],
      ...(params.length > 0 ? { parameters: params } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: { "application/json": { schema: converter.convert(route.body, `${opId}Body`) } },
            },
          }
        : {}),
      responses: {
        [String(route.status ?? 200)]: successResponse(converter, route, `${opId}Response`),
        ...errorResponses(errors),
      },
      ...(route.auth ? { security: [{ bearer: [] }] } : {}),
    };
    paths[route.path] = { ...paths[route.path], [route.method]: operation };
    for (const tag of route.tags) if (!tags.includes(tag)) tags.push(tag);
  }

  return {
    openapi: "3.1.0",
    info: { title: info.title, version: info.version },
    servers: [{ url: `${(info.serverUrl ?? "").replace(/\/+$/, "")}${API_PREFIX}` }],
    tags: tags.map((name) => ({ name })),
    paths,
    components: {
      schemas: converter.components,
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" },
      },
    },
  };
}
