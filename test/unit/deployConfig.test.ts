import { spawnSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import express from "express";
import request from "supertest";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { findNginx, localNginxVars } from "../../scripts/localCluster.js";
import {
  NGINX_TEMPLATE_PATH,
  NODE_PLACEHOLDERS,
  parseNodeList,
  ROOT,
  readNginxTemplate,
  renderNginxTemplate,
  templatePlaceholders,
  wrapMainConfig,
} from "../../scripts/nginxConfig.js";
import { loadConfig } from "../../server/config.js";
import { healthRoutes } from "../../server/http/healthRoutes.js";

/**
 * Static consistency of the deployment files (no Docker engine here): docker-compose.yml, the
 * Dockerfile, the nginx template and its two renderers, against the server's configuration and
 * routes.
 */

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: string[] | Record<string, unknown>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test?: string[] | string };
}

const file = (path: string) => readFileSync(resolve(ROOT, path), "utf8");
const compose = parse(file("docker-compose.yml"), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const dockerfile = file("Dockerfile");
const template = readNginxTemplate();

function environment(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const eq = entry.indexOf("=");
        return eq < 0 ? [entry, ""] : [entry.slice(0, eq), entry.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? "" : String(v)]));
}

/** Compose variable interpolation: `${V}`, `${V:-default}`, `${V-default}`, `${V:?err}`, `$$`. */
function interpolate(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (whole, name, op, arg) => {
    if (whole === "$$") return "$";
    const set = vars[name];
    const empty = set === undefined || (op?.startsWith(":") && set === "");
    if (op?.endsWith("-")) return empty ? arg : (set as string);
    if (op?.endsWith("?")) {
      if (empty) throw new Error(`compose requires ${name}: ${arg}`);
      return set as string;
    }
    return set ?? "";
  });
}

/** The variables server/config.ts reads (the keys of its zod `Env` object). */
function configVariables(): string[] {
  const source = file("server/config.ts");
  const block = /const Env = z\.object\(\{([\s\S]*?)\n\}\);/.exec(source)?.[1];
  if (!block) throw new Error("could not find `const Env = z.object({…});` in server/config.ts");
  return [...block.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1] as string);
}

const dependsOn = (s: Service) =>
  Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
const nodeServices = Object.entries(services).filter(([, s]) => s.image === "lovecraft:local" || s.build);
const nginxEnv = environment(services.nginx ?? {});
const lbNodes = parseNodeList(nginxEnv.LOVECRAFT_NODES ?? "");
const PEM = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
/** What a developer sets for `docker compose up`; everything else takes the file's defaults. */
const composeVars = { JWT_PRIVATE_KEY: PEM };

describe("docker-compose.yml", () => {
  it("defines redis, azurite, nginx and the nodes, and every depends_on names a service", () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(["redis", "azurite", "nginx"]));
    expect(nodeServices.length).toBeGreaterThanOrEqual(2);
    for (const [name, service] of Object.entries(services)) {
      for (const dep of dependsOn(service))
        expect(Object.keys(services), `${name} depends on ${dep}`).toContain(dep);
    }
  });

  it("sets only configuration variables the server knows, with values it accepts", () => {
    const known = configVariables();
    expect(known).toEqual(
      expect.arrayContaining(["PORT", "PUBLIC_ADDRESS", "REDIS_URL", "STORAGE_CONNECTION_STRING"]),
    );
    for (const [name, service] of nodeServices) {
      const env = environment(service);
      for (const key of Object.keys(env)) expect(known, `${name} sets ${key}`).toContain(key);
      const resolved = Object.fromEntries(
        Object.entries(env).map(([k, v]) => [k, interpolate(v, composeVars)]),
      );
      const config = loadConfig(resolved);
      expect(config.env).toBe("production");
      expect(config.redisUrl).toBeDefined();
      expect(config.storage.kind).toBe("azure");
    }
  });

  it("routes each node named in the balancer's LOVECRAFT_NODES to a node service with that PUBLIC_ADDRESS prefix", () => {
    expect(lbNodes.map((n) => n.name).sort()).toEqual(nodeServices.map(([name]) => name).sort());
    const published = (services.nginx?.ports ?? []).map((p) => interpolate(String(p), composeVars));
    const lbPort = published.map((p) => /^(?:[\d.]+:)?(\d+):(\d+)$/.exec(p)).find(Boolean);
    expect(lbPort, `nginx publishes a port (${published})`).toBeTruthy();
    expect(lbPort?.[2]).toBe(nginxEnv.LISTEN_PORT);
    const addresses = new Set<string>();
    for (const node of lbNodes) {
      const [host, port] = node.addr.split(":");
      const service = services[host as string];
      expect(service, `service ${host} for node ${node.name}`).toBeDefined();
      const env = environment(service as Service);
      const publicAddress = interpolate(env.PUBLIC_ADDRESS ?? "", composeVars);
      // Clients reach the node through the balancer's published port, under the node's prefix.
      expect(publicAddress).toBe(`localhost:${lbPort?.[1]}/${node.name}`);
      expect(port).toBe(env.PORT ?? "2567");
      addresses.add(publicAddress);
    }
    expect(addresses.size).toBe(lbNodes.length);
  });

  it("mounts the template and its renderer where the nginx command reads them", () => {
    const nginx = services.nginx as Service;
    const mounts = new Map(
      (nginx.volumes ?? []).map((v) => {
        const [source, target] = v.split(":");
        return [target as string, source as string];
      }),
    );
    expect(resolve(ROOT, mounts.get("/etc/lovecraft/lovecraft.conf.template") ?? "")).toBe(
      NGINX_TEMPLATE_PATH,
    );
    expect(resolve(ROOT, mounts.get("/etc/lovecraft/render.sh") ?? "")).toBe(
      resolve(ROOT, "ops/nginx/render.sh"),
    );
    const command = Array.isArray(nginx.command) ? nginx.command.join(" ") : (nginx.command ?? "");
    expect(command).toContain("/etc/lovecraft/render.sh");
    expect(command).toMatch(/nginx -g 'daemon off;'/);
    // render.sh's defaults are the mounted template and the image's conf.d.
    const script = file("ops/nginx/render.sh");
    expect(script).toMatch(/^template="\$\{1:-\/etc\/lovecraft\/lovecraft\.conf\.template\}"$/m);
    expect(script).toMatch(/^output="\$\{2:-\/etc\/nginx\/conf\.d\/default\.conf\}"$/m);
  });
});

describe("ops/nginx/lovecraft.conf.template", () => {
  const { global, perNode } = templatePlaceholders(template);

  it("gets every placeholder from the compose nginx service and from scripts/localCluster.ts", () => {
    expect(global.length).toBeGreaterThan(0);
    expect(perNode).toEqual([...NODE_PLACEHOLDERS].sort());
    for (const name of global) expect(Object.keys(nginxEnv), `compose nginx sets ${name}`).toContain(name);
    const local = localNginxVars({ lbPort: 8080, logDir: "/tmp/logs" });
    expect(Object.keys(local).sort()).toEqual(global);
  });

  it("names no node itself: nodes come from LOVECRAFT_NODES or the local cluster", () => {
    expect(template).not.toMatch(/\bnode\d+\b/);
    expect(template).not.toMatch(/lovecraft_node_(?!\$\{NODE_NAME\})/);
  });

  it("sends the public routes to any node and keeps /metrics and /admin off the balancer", () => {
    const m = /location ~ (\^\/\(\?:[^ ]+\)) \{/.exec(template);
    expect(m, "the REST location regex").not.toBeNull();
    const rest = new RegExp(m?.[1] as string);
    for (const path of [
      "/api/v1/auth/login",
      "/matchmake/joinById/user_1",
      "/health/ready",
      "/health/live",
      "/media/photos/u/p",
      "/.well-known/jwks.json",
      "/docs",
    ]) {
      expect(rest.test(path), path).toBe(true);
    }
    for (const path of ["/metrics", "/admin", "/admin/x", "/docsx", "/node1/a/b", "/"]) {
      expect(rest.test(path), path).toBe(false);
    }
    const blocked = /location ~\* (\S+) \{\s*return 404/.exec(template);
    expect(blocked, "the case-insensitive /metrics and /admin block").not.toBeNull();
    const block = new RegExp(blocked?.[1] as string, "i");
    for (const path of [
      "/metrics",
      "/metrics/",
      "/METRICS",
      "/admin",
      "/Admin/cluster",
      "/admin/monitor/x",
    ]) {
      expect(block.test(path), path).toBe(true);
    }
    for (const path of ["/metricsx", "/api/v1/metrics", "/administrator"])
      expect(block.test(path), path).toBe(false);
    // The catch-all (the web client) is read-only.
    expect(template).toMatch(/location \/ \{\s*limit_except GET HEAD \{\s*deny all;/);
  });

  it("redacts the query (and so _authToken) from the access log", () => {
    const format = /log_format lovecraft_json[\s\S]*?;\n/.exec(template)?.[0] ?? "";
    expect(format).toContain("$uri");
    expect(format).not.toMatch(/\$request\b|\$request_uri|\$args|\$query_string|\$arg_/);
    expect(template).toMatch(/access_log \$\{ACCESS_LOG\} lovecraft_json;/);
  });

  it("renders the same bytes with ops/nginx/render.sh (the container) as with scripts/nginxConfig.ts", () => {
    const expected = renderNginxTemplate(template, nginxEnv, lbNodes);
    const result = spawnSync("sh", [resolve(ROOT, "ops/nginx/render.sh"), NGINX_TEMPLATE_PATH, "-"], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...nginxEnv },
      encoding: "utf8",
    });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toBe(expected);
    expect(expected).toContain("location ~ ^/node2/");
    expect(expected).toContain("server node3:2567 max_fails=3 fail_timeout=10s;");
  });

  it("refuses missing placeholders, bad node names and unsafe values", () => {
    expect(() => renderNginxTemplate(template, {}, lbNodes)).toThrow(/without a value: ACCESS_LOG/);
    const vars = localNginxVars({ lbPort: 8080, logDir: "/tmp/logs" });
    expect(() => renderNginxTemplate(template, vars, [{ name: "api", addr: "a:1" }])).toThrow(
      /invalid node name/,
    );
    expect(() => renderNginxTemplate(template, vars, [{ name: "Node1", addr: "a:1" }])).toThrow(
      /invalid node name/,
    );
    expect(() => renderNginxTemplate(template, vars, [])).toThrow(/at least one node/);
    expect(() => renderNginxTemplate(template, { ...vars, ACCESS_LOG: "/x; evil" }, lbNodes)).toThrow(
      /unsafe/,
    );
    const bad = spawnSync("sh", [resolve(ROOT, "ops/nginx/render.sh"), NGINX_TEMPLATE_PATH, "-"], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LOVECRAFT_NODES: "node1=a:1" },
      encoding: "utf8",
    });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/placeholders without a value/);
  });

  const nginxBin = findNginx();
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  it.runIf(nginxBin)("is valid nginx syntax as compose renders it (nginx -t, node hosts on loopback)", () => {
    const dir = mkdtempSync(join(tmpdir(), "lovecraft-nginx-t-"));
    dirs.push(dir);
    mkdirSync(join(dir, "temp"));
    const loopback = lbNodes.map((n, i) => ({ name: n.name, addr: `127.0.0.1:${20000 + i}` }));
    const conf = join(dir, "nginx.conf");
    writeFileSync(
      conf,
      wrapMainConfig({
        dir,
        errorLog: join(dir, "error.log"),
        http: renderNginxTemplate(template, { ...nginxEnv, LISTEN_HOST: "127.0.0.1" }, loopback),
      }),
    );
    // stdout and stderr are files: nginx opens /dev/stdout and /dev/stderr (the compose log
    // paths), which fails on the sockets Node uses for pipes.
    const out = openSync(join(dir, "stdout"), "w");
    const err = openSync(join(dir, "stderr"), "w");
    const result = spawnSync(
      nginxBin as string,
      ["-t", "-p", dir, "-c", conf, "-e", join(dir, "error.log")],
      {
        stdio: ["ignore", out, err],
      },
    );
    closeSync(out);
    closeSync(err);
    const stderr = readFileSync(join(dir, "stderr"), "utf8");
    expect(stderr).toContain("syntax is ok");
    expect(result.status, stderr).toBe(0);
  });
});

describe("Dockerfile", () => {
  const instructions = dockerfile
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const all = (keyword: string) => instructions.filter((l) => l.toUpperCase().startsWith(`${keyword} `));

  it("is multi-stage on node:24-slim, installs production dependencies only and runs as a non-root user", () => {
    const from = all("FROM");
    expect(from.length).toBeGreaterThanOrEqual(2);
    for (const f of from) expect(f).toMatch(/^FROM node:24-slim\b/);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    const user = all("USER").at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^USER (root|0)(:|$)/);
    for (const copy of all("COPY").filter((c) => !c.includes("--from"))) {
      for (const source of copy.split(/\s+/).slice(1, -1)) {
        expect(existsSync(resolve(ROOT, source)), `${copy}: ${source}`).toBe(true);
      }
    }
  });

  it("runs the server as PID 1 in exec form so SIGTERM starts the graceful drain", () => {
    const cmd = all("CMD").at(-1) ?? "";
    const args = JSON.parse(cmd.slice(4)) as string[];
    expect(args[0]).toBe("node");
    // The compiled server (scripts/build.mjs, run in the image) of an existing entry point.
    expect(args.at(-1)).toBe("dist/server/main.js");
    expect(existsSync(resolve(ROOT, "server/main.ts"))).toBe(true);
    expect(dockerfile).toMatch(/RUN node scripts\/build\.mjs/);
    const stop = all("STOPSIGNAL").at(-1);
    expect(stop === undefined || stop === "STOPSIGNAL SIGTERM").toBe(true);
  });

  it("sets only known variables and exposes the port it listens on", () => {
    const known = [...configVariables(), "UV_THREADPOOL_SIZE", "NODE_OPTIONS"];
    const env = all("ENV").join(" ");
    const names = [...env.matchAll(/([A-Z][A-Z0-9_]*)=/g)].map((m) => m[1] as string);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(known, `ENV ${name}`).toContain(name);
    const port = /\bPORT=(\d+)/.exec(env)?.[1];
    expect(all("EXPOSE")).toContain(`EXPOSE ${port}`);
  });

  it("health-checks a route the server serves", async () => {
    const healthcheck = all("HEALTHCHECK").at(-1) ?? "";
    const path = /\/health\/(?:live|ready)\b/.exec(healthcheck)?.[0];
    expect(path, healthcheck).toBeDefined();
    const app = express().use(healthRoutes({ checks: [], isDraining: () => false }));
    const res = await request(app).get(path as string);
    expect(res.status).toBe(200);
    // The compose balancer's own health check goes through a route it forwards.
    const nginxCheck = JSON.stringify(services.nginx?.healthcheck?.test ?? "");
    expect(nginxCheck).toMatch(/\/health\/(live|ready)/);
  });
});
