import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import {
  accessSync,
  chmodSync,
  constants,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  type WriteStream,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type LbNode, ROOT, readNginxTemplate, renderNginxTemplate, wrapMainConfig } from "./nginxConfig.js";
import { azuriteArgs, redisServerArgs } from "./throwawayServices.js";

/**
 * A whole Lovecraft cluster on this machine, with no root and no Docker: a throwaway
 * `redis-server`, Azurite (Azure Table + Blob, in memory), N nodes running `server/main.ts` and an
 * nginx load balancer configured from `ops/nginx/lovecraft.conf.template`. Used by
 * `npm run cluster` (scripts/cluster.ts) and by test/cluster/loadBalancer.test.ts.
 *
 * Every child runs in its own process group, so a Ctrl-C in the terminal reaches only the
 * orchestrator, which then stops them in order: nginx, the nodes (graceful drain, which needs Redis
 * and storage), then Redis and Azurite.
 */

export interface LocalClusterOptions {
  /** Number of nodes (default 3), named node1…nodeN. */
  readonly nodes?: number;
  /** Load balancer port (default: a free one). */
  readonly lbPort?: number;
  /** Host clients use to reach the balancer, in each node's PUBLIC_ADDRESS (default 127.0.0.1). */
  readonly publicHost?: string;
  /** Working directory (node data, logs, nginx files). Default: a new temporary directory. */
  readonly dir?: string;
  /** Keep the directory on stop (always kept when `dir` is given). */
  readonly keep?: boolean;
  /** Extra environment for every node (config variables such as LOG_LEVEL or ACTOR_LEASE_MS). */
  readonly env?: Readonly<Record<string, string>>;
  /** Node entry script relative to the repository (default `server/main.ts`). */
  readonly script?: string;
  /** Bound on the whole start (default 120 s). */
  readonly startTimeoutMs?: number;
  /** Called when a child exits while the cluster is running (not during stop). */
  readonly onUnexpectedExit?: (name: string, code: number | string) => void;
}

export interface LocalClusterNode {
  readonly name: string;
  readonly port: number;
  /** Direct URL of the node (includes /metrics, which the balancer does not serve). */
  readonly url: string;
  readonly publicAddress: string;
  readonly process: ChildProcess;
  readonly logFile: string;
}

export interface LocalCluster {
  readonly lbUrl: string;
  readonly dir: string;
  readonly nodes: readonly LocalClusterNode[];
  readonly redisUrl: string;
  readonly azurite: {
    readonly connectionString: string;
    readonly blobUrl: string;
    readonly tableUrl: string;
  };
  readonly nginx: {
    readonly process: ChildProcess;
    readonly configFile: string;
    readonly accessLog: string;
    readonly errorLog: string;
  };
  /**
   * Restarts one node: SIGTERM (it drains: devices are told to move, actors flush and release),
   * waits for the exit, starts it again on the same port and data directory, and resolves once
   * it is ready.
   */
  restartNode(name: string): Promise<void>;
  /** Restarts every node, one at a time, each only after the previous one is ready again. */
  rollingRestart(onStep?: (name: string, phase: "draining" | "ready") => void): Promise<void>;
  /** Stops everything this cluster started (idempotent) and removes the directory unless kept. */
  stop(): Promise<void>;
}

export class MissingToolError extends Error {
  override readonly name = "MissingToolError";
}

/** The documented, public Azurite development account key. */
const AZURITE_ACCOUNT = "devstoreaccount1";
const AZURITE_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const NGINX_LOCATIONS = ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx"];
const NODE_STOP_GRACE_MS = 15_000;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The nginx binary: `NGINX_BIN`, else `nginx` on the PATH, else the usual sbin locations. */
export function findNginx(): string | undefined {
  const candidates = process.env.NGINX_BIN
    ? [process.env.NGINX_BIN]
    : [
        ...(process.env.PATH ?? "")
          .split(delimiter)
          .filter(Boolean)
          .map((d) => join(d, "nginx")),
        ...NGINX_LOCATIONS,
      ];
  return candidates.find(
    (path) => executable(path) && spawnSync(path, ["-v"], { stdio: "ignore" }).status === 0,
  );
}

export function hasRedisServer(): boolean {
  return spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
}

export const NGINX_MISSING =
  "nginx is not installed: run `sudo apt-get install nginx-light` (or set NGINX_BIN=/path/to/nginx)";
export const REDIS_MISSING = "redis-server is not installed: run `sudo apt-get install redis-server`";

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

/** The template's values for this machine (also read by the deploy-config test). */
export function localNginxVars(options: { lbPort: number; logDir: string }): Record<string, string> {
  return {
    LISTEN_HOST: "127.0.0.1",
    LISTEN_PORT: String(options.lbPort),
    ACCESS_LOG: join(options.logDir, "access.log"),
    ERROR_LOG: join(options.logDir, "error.log"),
  };
}

/** A child process whose output goes to a log file; the last 16 KiB are kept for error messages. */
interface Service {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly exited: Promise<number | string>;
  recent(): string;
  /** Resolves with the first match of `pattern` in the output (bounded by `timeoutMs`). */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
}

function startService(
  name: string,
  command: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; logFile: string },
): Service {
  const log: WriteStream = createWriteStream(options.logFile, { flags: "a" });
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
    // Own process group: a terminal's Ctrl-C goes to the orchestrator only, which stops the
    // children in order (nodes drain while Redis and storage are still up).
    detached: true,
  });
  let recent = "";
  const watchers = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    log.write(chunk);
    recent = (recent + chunk.toString()).slice(-16_384);
    for (const w of watchers) w();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<number | string>((resolveExit) => {
    child.once("error", (err) => {
      recent += `\n${err.message}`;
      resolveExit("spawn-error");
    });
    child.once("exit", (code, signal) => resolveExit(code ?? (signal as string)));
  });
  let done = false;
  void exited.then(() => {
    done = true;
    for (const w of watchers) w();
    // Let the pipes drain into the log before closing it.
    setTimeout(() => log.end(), 100);
  });
  return {
    name,
    child,
    logFile: options.logFile,
    exited,
    recent: () => recent,
    waitFor: (pattern, timeoutMs) =>
      new Promise((resolveMatch, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(new Error(`${name} did not start within ${timeoutMs} ms:\n${recent.slice(-4000)}`));
        }, timeoutMs);
        function check() {
          const m = pattern.exec(recent);
          if (m) {
            clearTimeout(timer);
            watchers.delete(check);
            resolveMatch(m);
          } else if (done) {
            clearTimeout(timer);
            watchers.delete(check);
            reject(new Error(`${name} exited before it was ready:\n${recent.slice(-4000)}`));
          }
        }
        watchers.add(check);
        check();
      }),
  };
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null && child.pid !== undefined;
}

/** Kills a child's whole process group (nginx workers included). Only while its leader lives. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (!alive(child)) return;
  try {
    process.kill(-(child.pid as number), signal);
  } catch {
    child.kill(signal);
  }
}

async function stopService(service: Service, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (!alive(service.child)) return;
  service.child.kill(signal);
  const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), graceMs).unref());
  if ((await Promise.race([service.exited, timeout])) === "timeout") {
    killGroup(service.child, "SIGKILL");
    await Promise.race([service.exited, new Promise((r) => setTimeout(r, 5_000).unref())]);
  }
}

/** Polls `url` until it answers 200 (bounded). Fails early when `service` exits. */
async function waitForHttp(url: string, service: Service, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (!alive(service.child)) {
      throw new Error(`${service.name} exited before ${url} answered:\n${service.recent().slice(-4000)}`);
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(
    `${url} did not answer 200 within ${timeoutMs} ms (${last}):\n${service.recent().slice(-4000)}`,
  );
}

const TSX_LOADER = pathToFileURL(
  join(dirname(createRequire(import.meta.url).resolve("tsx/package.json")), "dist/loader.mjs"),
).href;

/** The balancer's port was bound by someone else between picking and binding it. */
class LbPortTakenError extends Error {}

/**
 * Starts the cluster; when the balancer's port was picked automatically and got taken before
 * nginx bound it (a race with other processes on a busy machine), starts again on new ports.
 */
export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startLocalClusterOnce(options);
    } catch (err) {
      if (!(err instanceof LbPortTakenError) || options.lbPort !== undefined || attempt >= 3) throw err;
    }
  }
}

async function startLocalClusterOnce(options: LocalClusterOptions): Promise<LocalCluster> {
  const count = options.nodes ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > 32)
    throw new Error(`--nodes must be 1..32 (got ${count})`);
  const nginxBin = findNginx();
  if (!nginxBin) throw new MissingToolError(NGINX_MISSING);
  if (!hasRedisServer()) throw new MissingToolError(REDIS_MISSING);

  const keep = options.keep === true || options.dir !== undefined;
  const dir = options.dir ? resolve(options.dir) : mkdtempSync(join(tmpdir(), "lovecraft-cluster-"));
  mkdirSync(dir, { recursive: true });
  const logDir = join(dir, "logs");
  const nginxDir = join(dir, "nginx");
  mkdirSync(logDir, { recursive: true });
  mkdirSync(join(nginxDir, "temp"), { recursive: true });
  // nginx started as root runs its workers as `nobody`: they must be able to reach temp files.
  for (const d of [dir, nginxDir, join(nginxDir, "temp")]) chmodSync(d, 0o755);

  const startTimeoutMs = options.startTimeoutMs ?? 120_000;
  const deadline = Date.now() + startTimeoutMs;
  const remaining = () => Math.max(1_000, deadline - Date.now());
  const services: Service[] = [];
  let stopping = false;
  /** Nodes being restarted on purpose (their exit is not "unexpected"). */
  const restartingNames = new Set<string>();
  const baseEnv = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? dir };

  const launch = (
    name: string,
    command: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv = baseEnv,
  ) => {
    const service = startService(name, command, args, {
      cwd: dir,
      env,
      logFile: join(logDir, `${name}.log`),
    });
    services.push(service);
    void service.exited.then((code) => {
      if (!stopping && !restartingNames.has(name)) options.onUnexpectedExit?.(name, code);
    });
    return service;
  };

  // Last resort if the orchestrator exits without stop() (an uncaught error, process.exit).
  const killAll = () => {
    for (const s of services) killGroup(s.child, "SIGKILL");
    try {
      if (!keep) rmSync(dir, { recursive: true, force: true });
    } catch {
      // a child killed just now may still be writing; the temporary directory is all that is left
    }
  };
  process.once("exit", killAll);

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      stopping = true;
      const byName = (prefix: string) => services.filter((s) => s.name.startsWith(prefix));
      await Promise.all(byName("nginx").map((s) => stopService(s, "SIGTERM", 5_000)));
      await Promise.all(byName("node").map((s) => stopService(s, "SIGTERM", NODE_STOP_GRACE_MS)));
      await Promise.all(
        [...byName("redis"), ...byName("azurite")].map((s) => stopService(s, "SIGTERM", 5_000)),
      );
      process.off("exit", killAll);
      if (!keep) rmSync(dir, { recursive: true, force: true });
    })();
    return stopped;
  };

  try {
    const lbPort = options.lbPort ?? (await freePort());
    const publicHost = options.publicHost ?? "127.0.0.1";
    const lbUrl = `http://${publicHost}:${lbPort}`;

    const redisPort = await freePort();
    const redis = launch("redis", "redis-server", redisServerArgs(redisPort));
    const azurite = launch("azurite", process.execPath, azuriteArgs());
    await redis.waitFor(/Ready to accept connections/, remaining());
    const redisUrl = `redis://127.0.0.1:${redisPort}`;
    const blob = await azurite.waitFor(
      /Azurite Blob service is successfully listening at (http:\/\/\S+)/,
      remaining(),
    );
    const table = await azurite.waitFor(
      /Azurite Table service is successfully listening at (http:\/\/\S+)/,
      remaining(),
    );
    const blobUrl = `${blob[1]}/${AZURITE_ACCOUNT}`;
    const tableUrl = `${table[1]}/${AZURITE_ACCOUNT}`;
    const connectionString =
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};` +
      `BlobEndpoint=${blobUrl};TableEndpoint=${tableUrl};`;

    const script = resolve(ROOT, options.script ?? "server/main.ts");
    const nodes: LocalClusterNode[] = [];
    const nodeServices = new Map<string, Service>();
    const startNode = async (i: number, fixedPort?: number) => {
      const name = `node${i}`;
      const port = fixedPort ?? (await freePort());
      const publicAddress = `${publicHost}:${lbPort}/${name}`;
      const service = launch(name, process.execPath, ["--import", TSX_LOADER, script], {
        ...baseEnv,
        ...options.env,
        HOST: "127.0.0.1",
        PORT: String(port),
        PUBLIC_ADDRESS: publicAddress,
        REDIS_URL: redisUrl,
        STORAGE_CONNECTION_STRING: connectionString,
        DATA_DIR: join(dir, name),
      });
      nodeServices.set(name, service);
      const url = `http://127.0.0.1:${port}`;
      await waitForHttp(`${url}/health/live`, service, fixedPort === undefined ? remaining() : 60_000);
      const entry = { name, port, url, publicAddress, process: service.child, logFile: service.logFile };
      const at = nodes.findIndex((n) => n.name === name);
      if (at >= 0) nodes[at] = entry;
      else nodes.push(entry);
    };
    const restartNode = async (name: string) => {
      const node = nodes.find((n) => n.name === name);
      const service = nodeServices.get(name);
      if (!node || !service) throw new Error(`no node ${name}`);
      await stopService(service, "SIGTERM", NODE_STOP_GRACE_MS);
      services.splice(services.indexOf(service), 1);
      await startNode(Number(name.slice("node".length)), node.port);
      await waitForHttp(`${node.url}/health/ready`, nodeServices.get(name) as Service, 60_000);
    };
    // The first node claims the shared development signing key and seeds content; the others
    // start together once it is up.
    await startNode(1);
    await Promise.all(Array.from({ length: count - 1 }, (_, i) => startNode(i + 2)));
    nodes.sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));

    const vars = localNginxVars({ lbPort, logDir });
    const lbNodes: LbNode[] = nodes.map((n) => ({ name: n.name, addr: `127.0.0.1:${n.port}` }));
    const configFile = join(nginxDir, "nginx.conf");
    writeFileSync(
      configFile,
      wrapMainConfig({
        dir: nginxDir,
        errorLog: vars.ERROR_LOG as string,
        http: renderNginxTemplate(readNginxTemplate(), vars, lbNodes),
      }),
    );
    const nginx = launch("nginx", nginxBin, [
      "-p",
      nginxDir,
      "-c",
      configFile,
      "-e",
      vars.ERROR_LOG as string,
      "-g",
      "daemon off;",
    ]);
    await waitForHttp(`http://127.0.0.1:${lbPort}/health/ready`, nginx, remaining());
    // The port was free when picked, but another process may have bound it since: then nginx
    // exited and whatever holds the port answered the probe. Only our nginx logs the probe.
    await new Promise((r) => setTimeout(r, 100));
    const logged = existsSync(vars.ACCESS_LOG as string)
      ? readFileSync(vars.ACCESS_LOG as string, "utf8")
      : "";
    if (!alive(nginx.child) || !logged.includes("/health/ready")) {
      throw new LbPortTakenError(`the balancer port ${lbPort} was taken by another process`);
    }

    return {
      lbUrl,
      dir,
      nodes,
      redisUrl,
      azurite: { connectionString, blobUrl, tableUrl },
      nginx: {
        process: nginx.child,
        configFile,
        accessLog: vars.ACCESS_LOG as string,
        errorLog: vars.ERROR_LOG as string,
      },
      restartNode: async (name) => {
        restartingNames.add(name);
        try {
          await restartNode(name);
        } finally {
          restartingNames.delete(name);
        }
      },
      rollingRestart: async (onStep) => {
        for (const { name } of [...nodes]) {
          onStep?.(name, "draining");
          restartingNames.add(name);
          try {
            await restartNode(name);
          } finally {
            restartingNames.delete(name);
          }
          onStep?.(name, "ready");
        }
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
