import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  findNginx,
  hasRedisServer,
  type LocalCluster,
  MissingToolError,
  NGINX_MISSING,
  REDIS_MISSING,
  startLocalCluster,
} from "./localCluster.js";

/**
 * `npm run cluster [-- --nodes N --port P --host H --dir PATH --keep]`: Redis, Azurite, N nodes and
 * an nginx load balancer on this machine (see scripts/localCluster.ts). Ctrl-C or SIGTERM stops
 * everything it started.
 */

const USAGE = `Usage: npm run cluster -- [options]
  --nodes N     number of nodes (default 3)
  --port P      load balancer port (default 8080; 0 = any free port)
  --host H      host clients use for the balancer, put in each node's PUBLIC_ADDRESS (default 127.0.0.1)
  --dir PATH    working directory for node data and logs (kept on exit; default: a temporary one)
  --keep        keep the temporary directory (logs) on exit
  -h, --help    this text
Configuration variables set in the environment (LOG_LEVEL, ACTOR_*, JWT_*, …) are passed to every node.`;

/** Config variables a developer may set for the nodes; the cluster sets the rest itself. */
const PASS_THROUGH =
  /^(NODE_ENV|JWT_[A-Z_]+|CORS_ORIGINS|TRUST_PROXY|LOG_LEVEL|SHUTDOWN_TIMEOUT_MS|SEED_CONTENT|ACTOR_[A-Z_]+|DIRECTORY_SWEEP_MS)$/;

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

function fail(message: string): never {
  process.stderr.write(`cluster: ${message}\n`);
  process.exit(1);
}

function parse() {
  return parseArgs({
    options: {
      nodes: { type: "string", default: "3" },
      port: { type: "string", default: "8080" },
      host: { type: "string", default: "127.0.0.1" },
      dir: { type: "string" },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  }).values;
}

async function main(): Promise<void> {
  let values: ReturnType<typeof parse>;
  try {
    values = parse();
  } catch (err) {
    fail(`${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const nodes = Number(values.nodes);
  const port = Number(values.port);
  if (!/^\d+$/.test(values.nodes) || nodes < 1 || nodes > 32)
    fail(`--nodes must be 1..32 (got ${values.nodes})`);
  if (!/^\d+$/.test(values.port) || port > 65535) fail(`--port must be 0..65535 (got ${values.port})`);

  const env = Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => PASS_THROUGH.test(e[0]) && !!e[1]),
  );
  let cluster: LocalCluster | undefined;
  let stopping: Promise<void> | undefined;
  const shutdown = (signal: string) => {
    if (stopping) {
      process.stderr.write("cluster: already stopping (at most 30 s)\n");
      return;
    }
    process.stdout.write(`\ncluster: ${signal}: stopping nginx, the nodes, Redis and Azurite…\n`);
    stopping = (cluster?.stop() ?? Promise.resolve()).then(
      () => {
        process.stdout.write("cluster: stopped\n");
        process.exit(0);
      },
      (err: unknown) => fail(`stop failed: ${(err as Error).message}`),
    );
    // A drain that hangs must not keep the terminal: the exit hook SIGKILLs what is left.
    setTimeout(() => fail("stop took longer than 30 s; killed what was left"), 30_000).unref();
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  // SIGHUP (`npm run rolling-restart`): restart the nodes one by one, each after the previous is
  // ready again — a rolling deploy on this machine.
  let rolling: Promise<void> | undefined;
  process.on("SIGHUP", () => {
    if (!cluster || stopping || rolling) return;
    process.stdout.write("cluster: rolling restart…\n");
    rolling = cluster
      .rollingRestart((name, phase) => void process.stdout.write(`cluster: ${name} ${phase}\n`))
      .then(
        () => void process.stdout.write("cluster: rolling restart done\n"),
        (err: unknown) =>
          void process.stderr.write(`cluster: rolling restart failed: ${(err as Error).message}\n`),
      )
      .finally(() => {
        rolling = undefined;
      });
  });

  if (!findNginx()) fail(NGINX_MISSING);
  if (!hasRedisServer()) fail(REDIS_MISSING);
  if (port !== 0 && !(await portFree(port)))
    fail(`port ${port} is in use: pass --port P (0 = any free port)`);
  process.stdout.write(`cluster: starting Redis, Azurite, ${nodes} node(s) and nginx…\n`);
  try {
    cluster = await startLocalCluster({
      nodes,
      ...(port !== 0 ? { lbPort: port } : {}),
      publicHost: values.host,
      ...(values.dir ? { dir: values.dir } : {}),
      keep: values.keep,
      env,
      onUnexpectedExit: (name, code) =>
        process.stderr.write(`cluster: ${name} exited (${code}); the others keep running\n`),
    });
  } catch (err) {
    if (err instanceof MissingToolError) fail(err.message);
    fail(`could not start: ${(err as Error).message}`);
  }
  if (stopping) return; // Ctrl-C during the start: shutdown() is on it.

  const rows: [string, string][] = [
    [
      "load balancer",
      `${cluster.lbUrl}   (web client, REST, matchmaking and websockets; try ${cluster.lbUrl}/health/ready)`,
    ],
    ...cluster.nodes.map((n): [string, string] => [
      n.name,
      `${n.url}   (direct; /metrics here)   PUBLIC_ADDRESS=${n.publicAddress}`,
    ]),
    ["redis", cluster.redisUrl],
    ["azurite blob", cluster.azurite.blobUrl],
    ["azurite table", cluster.azurite.tableUrl],
    ["logs", `${cluster.dir}/logs   (access.log is nginx's)`],
  ];
  writeFileSync(join(cluster.dir, "cluster.pid"), String(process.pid));
  rows.push([
    "rolling restart",
    `npm run rolling-restart -- --dir ${cluster.dir}   (or kill -HUP ${process.pid})`,
  ]);
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(
    `cluster: ready\n${rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join("\n")}\n` +
      `cluster: ${values.keep || values.dir ? "directory kept on exit" : "directory removed on exit (--keep keeps it)"}; Ctrl-C stops everything\n`,
  );
}

void main();
