import { Router } from "express";
import { API_PREFIX } from "./apiDocs.js";

/**
 * Serves the OpenAPI document and a human-readable reference rendered from it. The page is built
 * once, fully server-side: no scripts, fonts or CDNs (offline deployments, helmet's
 * `script-src 'self'`); only an inline <style>, which the CSP allows.
 */

const MAX_AGE_S = 300;
const METHODS = ["get", "post", "put", "patch", "delete"] as const;

type Json = Record<string, unknown>;

export function docsRoutes(document: object): Router {
  const json = JSON.stringify(document);
  const html = renderDocsPage(document);
  const router = Router();
  router.get(`${API_PREFIX}/openapi.json`, (_req, res) => {
    res.setHeader("Cache-Control", `public, max-age=${MAX_AGE_S}`);
    res.type("application/json").send(json);
  });
  router.get("/docs", (_req, res) => {
    res.setHeader("Cache-Control", `public, max-age=${MAX_AGE_S}`);
    res.type("html").send(html);
  });
  return router;
}

export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** Tagged template that escapes every interpolation unless it is already `Html`. */
class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => {
    out += render(value) + strings[i + 1]!;
  });
  return new Html(out);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === undefined || value === null || value === false) return "";
  return escapeHtml(String(value));
}

const obj = (value: unknown): Json =>
  value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Json) : {};
const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** `tag-Store items` → `tag-Store-items`: valid, unique enough fragment ids. */
function anchor(prefix: string, name: string): string {
  return `${prefix}-${name.replace(/[^A-Za-z0-9_-]+/g, "-")}`;
}

/** A one-line reading of a parameter schema: `integer, 1–100, default 20`. */
function schemaSummary(schema: Json): string {
  const parts: string[] = [];
  const type = schema.type;
  const ref = str(schema.$ref);
  parts.push(
    Array.isArray(type)
      ? type.join(" | ")
      : (str(type) ?? (ref ? ref.slice(ref.lastIndexOf("/") + 1) : "any")),
  );
  if (str(schema.format)) parts.push(str(schema.format)!);
  if (Array.isArray(schema.enum))
    parts.push(`one of ${schema.enum.map((v) => JSON.stringify(v)).join(", ")}`);
  const range = (min: unknown, max: unknown, unit = "") => {
    if (min !== undefined && max !== undefined) parts.push(`${min}–${max}${unit}`);
    else if (min !== undefined) parts.push(`≥ ${min}${unit}`);
    else if (max !== undefined) parts.push(`≤ ${max}${unit}`);
  };
  range(schema.minimum, schema.maximum);
  range(schema.minLength, schema.maxLength, " chars");
  range(schema.minItems, schema.maxItems, " items");
  if (str(schema.pattern) && !str(schema.format)) parts.push(`pattern ${schema.pattern}`);
  if (schema.default !== undefined) parts.push(`default ${JSON.stringify(schema.default)}`);
  return parts.join(", ");
}

function jsonBlock(label: string, value: unknown): Html {
  return html`<details><summary>${label}</summary><pre><code>${JSON.stringify(value, null, 2)}</code></pre></details>`;
}

interface Operation {
  readonly method: (typeof METHODS)[number];
  readonly path: string;
  readonly op: Json;
}

function renderParameters(op: Json, id: string): Html {
  const params = list(op.parameters).map(obj);
  if (params.length === 0) return html``;
  const rows = params.map((p) => {
    const schema = obj(p.schema);
    return html`<tr><th scope="row"><code>${str(p.name)}</code></th><td>${str(p.in)}</td><td>${schemaSummary(schema)}</td><td>${p.required === true ? "yes" : "no"}</td><td>${str(p.description) ?? ""}</td></tr>`;
  });
  return html`<div class="scroll" role="region" aria-labelledby="${id}-params" tabindex="0"><table>
<caption id="${id}-params">Parameters</caption>
<thead><tr><th scope="col">Name</th><th scope="col">In</th><th scope="col">Type</th><th scope="col">Required</th><th scope="col">Description</th></tr></thead>
<tbody>${rows}</tbody></table></div>`;
}

function renderResponses(op: Json): Html {
  const entries = Object.entries(obj(op.responses));
  const success = entries.filter(([status]) => status.startsWith("2"));
  const failures = entries.filter(([status]) => !status.startsWith("2"));
  const body = obj(obj(obj(op.requestBody).content)["application/json"]).schema;
  return html`${body !== undefined ? jsonBlock("Request body (application/json)", body) : ""}
${success.map(([status, response]) => {
  const schema = obj(obj(obj(response).content)["application/json"]).schema;
  const properties = obj(obj(schema).properties);
  // The envelope is explained once at the top; show what varies, its `data`.
  if (properties.success !== undefined && properties.data !== undefined) {
    return jsonBlock(`Response ${status}: data`, properties.data);
  }
  return schema !== undefined
    ? jsonBlock(`Response ${status}`, schema)
    : html`<p>Response ${status}: ${str(obj(response).description) ?? ""}</p>`;
})}
${
  failures.length > 0
    ? html`<h4>Errors</h4><ul class="errors">${failures.map(
        ([status, response]) =>
          html`<li><span class="status">${status}</span> <code>${str(obj(response).description) ?? ""}</code></li>`,
      )}</ul>`
    : ""
}`;
}

function renderOperation({ method, path, op }: Operation, tag: string): Html {
  const id = anchor(`op-${tag}`, str(op.operationId) ?? `${method}-${path}`);
  const auth = list(op.security).length > 0;
  return html`<li><article class="op" aria-labelledby="${id}">
<h3 id="${id}"><span class="method ${method}">${method.toUpperCase()}</span> <code class="path">${path}</code>${
    auth
      ? html` <span class="auth" title="Requires Authorization: Bearer &lt;JWT&gt;">auth required</span>`
      : ""
  }</h3>
${str(op.summary) ? html`<p>${str(op.summary)}</p>` : ""}
${str(op.description) ? html`<p>${str(op.description)}</p>` : ""}
${renderParameters(op, id)}
${renderResponses(op)}
</article></li>`;
}

const STYLE = `
:root { color-scheme: light dark; --fg: #1b1b1f; --bg: #fff; --muted: #5b5b66; --line: #d8d8de; --code: #f3f3f6; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e8e8ee; --bg: #16161a; --muted: #a8a8b3; --line: #3a3a44; --code: #22222a; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header, main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
header { border-bottom: 1px solid var(--line); }
h1 { margin: 0 0 .25rem; font-size: 1.6rem; }
h2 { margin: 2rem 0 .5rem; padding-bottom: .25rem; border-bottom: 1px solid var(--line); text-transform: capitalize; }
h3 { margin: 0 0 .25rem; font-size: 1.05rem; display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; }
h4 { margin: .75rem 0 .25rem; font-size: .95rem; }
a { color: inherit; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
.path { overflow-wrap: anywhere; }
.muted { color: var(--muted); }
nav ul, ul.ops { list-style: none; padding: 0; margin: 0; }
nav ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; }
.op { border: 1px solid var(--line); border-radius: .5rem; padding: .75rem; margin: .75rem 0; }
.op p { margin: .25rem 0; }
.method { display: inline-block; min-width: 4.2rem; text-align: center; border-radius: .25rem; padding: 0 .4rem; font: 700 .8rem/1.6 ui-monospace, monospace; color: #fff; }
.get { background: #1a6b3c; } .post { background: #1f4f9e; } .put { background: #8a5a00; } .patch { background: #6b3fa0; } .delete { background: #a31d1d; }
.auth { font-size: .8rem; border: 1px solid currentColor; border-radius: 1rem; padding: 0 .5rem; color: var(--muted); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; font-size: .9rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { text-align: left; vertical-align: top; border-bottom: 1px solid var(--line); padding: .3rem .5rem .3rem 0; }
details { margin: .35rem 0; }
summary { cursor: pointer; font-weight: 600; }
pre { background: var(--code); border-radius: .35rem; padding: .75rem; overflow-x: auto; margin: .35rem 0; }
ul.errors { margin: 0; padding-left: 1.25rem; }
.status { font-weight: 700; }
`;

/** Renders the whole reference page from an OpenAPI 3.x document. */
export function renderDocsPage(document: object): string {
  const doc = obj(document);
  const info = obj(doc.info);
  const title = str(info.title) ?? "API";
  const server = str(obj(list(doc.servers)[0]).url) ?? "/";

  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(obj(doc.paths))) {
    for (const method of METHODS) {
      const op = obj(item)[method];
      if (op !== undefined) operations.push({ method, path, op: obj(op) });
    }
  }
  // Tags in the document's order, then any used only on operations; untagged ones last.
  const tagNames = list(doc.tags).flatMap((t) => str(obj(t).name) ?? []);
  for (const { op } of operations) {
    for (const tag of list(op.tags))
      if (typeof tag === "string" && !tagNames.includes(tag)) tagNames.push(tag);
  }
  const groups = tagNames.map((tag) => ({
    tag,
    ops: operations.filter(({ op }) => list(op.tags).includes(tag)),
  }));
  const untagged = operations.filter(({ op }) => list(op.tags).length === 0);
  if (untagged.length > 0) groups.push({ tag: "other", ops: untagged });

  const schemas = Object.entries(obj(obj(doc.components).schemas));

  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} — API reference</title>
<style>${new Html(STYLE)}</style>
</head>
<body>
<header>
<h1>${title} <span class="muted">${str(info.version) ? `v${str(info.version)}` : ""}</span></h1>
<p>Base URL <code>${server}</code> · <a href="${API_PREFIX}/openapi.json">OpenAPI 3.1 document</a></p>
<p class="muted">Every answer is an envelope: <code>{ "success": true, "data", "timestamp" }</code> or <code>{ "success": false, "error": { "code", "message", "details"?, "retryable"? }, "timestamp" }</code>.</p>
<nav aria-label="Sections"><ul>${groups.map(
    ({ tag }) => html`<li><a href="#${anchor("tag", tag)}">${tag}</a></li>`,
  )}${schemas.length > 0 ? html`<li><a href="#schemas">schemas</a></li>` : ""}</ul></nav>
</header>
<main>
${groups.map(
  ({ tag, ops }) => html`<section aria-labelledby="${anchor("tag", tag)}">
<h2 id="${anchor("tag", tag)}">${tag}</h2>
<ul class="ops">${ops.map((op) => renderOperation(op, tag))}</ul>
</section>`,
)}
${
  schemas.length > 0
    ? html`<section aria-labelledby="schemas"><h2 id="schemas">Schemas</h2>${schemas.map(([name, schema]) =>
        jsonBlock(name, schema),
      )}</section>`
    : ""
}
</main>
</body>
</html>
`.value;
}
