import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Renders `ops/nginx/lovecraft.conf.template` (the load balancer's `http {}` configuration).
 * `ops/nginx/render.sh` does the same in the nginx container of docker-compose.yml; a unit test
 * checks that both produce the same bytes.
 *
 * Template syntax: `${NAME}` (upper case) is a placeholder; the lines between `# @each-node` and
 * `# @end-each-node` are repeated once per node with `${NODE_NAME}` and `${NODE_ADDR}` set.
 */

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const NGINX_TEMPLATE_PATH = resolve(ROOT, "ops/nginx/lovecraft.conf.template");

/** A node behind the balancer: its path prefix and the `host:port` nginx proxies to. */
export interface LbNode {
  readonly name: string;
  readonly addr: string;
}

/** Placeholders set per node inside `@each-node` sections. */
export const NODE_PLACEHOLDERS = ["NODE_NAME", "NODE_ADDR"] as const;

/** Path prefixes the balancer routes itself: a node may not be named like one of them. */
export const RESERVED_NODE_NAMES = [
  "api",
  "matchmake",
  "health",
  "media",
  "docs",
  "metrics",
  "admin",
  "well-known",
] as const;

/** A node name is one lower-case path segment (it becomes part of PUBLIC_ADDRESS and an upstream name). */
export const NODE_NAME_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

const PLACEHOLDER = /\$\{([A-Z][A-Z0-9_]*)\}/g;
const BEGIN = /^\s*# @each-node\s*$/;
const END = /^\s*# @end-each-node\s*$/;
/** Values are pasted into nginx syntax unquoted: nothing that could end or open a directive. */
const SAFE_VALUE = /^[^\s;{}'"\\$#]+$/;

export function readNginxTemplate(): string {
  return readFileSync(NGINX_TEMPLATE_PATH, "utf8");
}

interface Section {
  readonly perNode: boolean;
  readonly lines: string[];
}

function sections(template: string): Section[] {
  const result: Section[] = [];
  let current: Section = { perNode: false, lines: [] };
  const lines = template.split("\n");
  lines.forEach((line, i) => {
    if (BEGIN.test(line)) {
      if (current.perNode) throw new Error(`nginx template line ${i + 1}: nested # @each-node`);
      result.push(current);
      current = { perNode: true, lines: [] };
    } else if (END.test(line)) {
      if (!current.perNode) throw new Error(`nginx template line ${i + 1}: # @end-each-node without a start`);
      result.push(current);
      current = { perNode: false, lines: [] };
    } else {
      current.lines.push(line);
    }
  });
  if (current.perNode) throw new Error("nginx template: # @each-node is never closed");
  result.push(current);
  return result;
}

/**
 * The placeholders of a template: `global` ones take their value from the variables (wherever they
 * appear), `perNode` ones (`NODE_NAME`, `NODE_ADDR`) are set per node inside `@each-node` sections.
 */
export function templatePlaceholders(template: string): { global: string[]; perNode: string[] } {
  const global = new Set<string>();
  const perNode = new Set<string>();
  for (const section of sections(template)) {
    for (const line of section.lines) {
      for (const m of line.matchAll(PLACEHOLDER)) {
        const name = m[1] as string;
        if (!(NODE_PLACEHOLDERS as readonly string[]).includes(name)) global.add(name);
        else if (section.perNode) perNode.add(name);
        else throw new Error(`nginx template: \${${name}} outside a # @each-node section`);
      }
    }
  }
  return { global: [...global].sort(), perNode: [...perNode].sort() };
}

export function validateNodes(nodes: readonly LbNode[]): void {
  if (nodes.length === 0) throw new Error("the load balancer needs at least one node");
  const seen = new Set<string>();
  for (const node of nodes) {
    if (
      !NODE_NAME_PATTERN.test(node.name) ||
      (RESERVED_NODE_NAMES as readonly string[]).includes(node.name)
    ) {
      throw new Error(
        `invalid node name ${JSON.stringify(node.name)}: one lower-case path segment, not one of ${RESERVED_NODE_NAMES.join(", ")}`,
      );
    }
    if (seen.has(node.name)) throw new Error(`duplicate node name ${node.name}`);
    seen.add(node.name);
    if (!/^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(node.addr)) {
      throw new Error(`invalid address for node ${node.name}: ${JSON.stringify(node.addr)} (host:port)`);
    }
  }
}

/**
 * Renders the template: per-node sections once per node (in order), then every placeholder from
 * `vars`. Throws, naming them, when placeholders are missing or a value is not safe to paste.
 */
export function renderNginxTemplate(
  template: string,
  vars: Readonly<Record<string, string>>,
  nodes: readonly LbNode[],
): string {
  validateNodes(nodes);
  const missing = new Set<string>();
  const fill = (line: string, node?: LbNode) =>
    line.replace(PLACEHOLDER, (whole, name: string) => {
      if (node && name === "NODE_NAME") return node.name;
      if (node && name === "NODE_ADDR") return node.addr;
      const value = vars[name];
      if (value === undefined || value === "") {
        missing.add(name);
        return whole;
      }
      if (!SAFE_VALUE.test(value)) {
        throw new Error(`nginx template value ${name}=${JSON.stringify(value)} is unsafe`);
      }
      return value;
    });
  const out: string[] = [];
  for (const section of sections(template)) {
    if (section.perNode) {
      for (const node of nodes) out.push(...section.lines.map((line) => fill(line, node)));
    } else {
      out.push(...section.lines.map((line) => fill(line)));
    }
  }
  if (missing.size > 0) {
    throw new Error(`nginx template placeholders without a value: ${[...missing].sort().join(", ")}`);
  }
  return out.join("\n");
}

/** Parses `LOVECRAFT_NODES` ("node1=node1:2567 node2=node2:2567"), as render.sh does. */
export function parseNodeList(value: string): LbNode[] {
  return value
    .split(/\s+/)
    .filter(Boolean)
    .map((entry) => {
      const eq = entry.indexOf("=");
      if (eq <= 0) throw new Error(`LOVECRAFT_NODES entry ${JSON.stringify(entry)} is not name=host:port`);
      return { name: entry.slice(0, eq), addr: entry.slice(eq + 1) };
    });
}

/**
 * A complete nginx.conf for an unprivileged nginx started with `-p <prefix>`: pid, error log and
 * temporary files under `dir`, the rendered template inlined into `http {}`.
 */
export function wrapMainConfig(options: { dir: string; errorLog: string; http: string }): string {
  const { dir } = options;
  for (const value of [dir, options.errorLog]) {
    if (!SAFE_VALUE.test(value)) throw new Error(`path ${JSON.stringify(value)} is unsafe in nginx.conf`);
  }
  return [
    "# Generated by scripts/localCluster.ts from ops/nginx/lovecraft.conf.template: do not edit.",
    "worker_processes 1;",
    `pid ${dir}/nginx.pid;`,
    `error_log ${options.errorLog} warn;`,
    "events {",
    "    worker_connections 4096;",
    "}",
    "http {",
    `    client_body_temp_path ${dir}/temp/client_body;`,
    `    proxy_temp_path ${dir}/temp/proxy;`,
    `    fastcgi_temp_path ${dir}/temp/fastcgi;`,
    `    uwsgi_temp_path ${dir}/temp/uwsgi;`,
    `    scgi_temp_path ${dir}/temp/scgi;`,
    ...options.http.split("\n").map((line) => (line === "" ? "" : `    ${line}`)),
    "}",
    "",
  ].join("\n");
}
