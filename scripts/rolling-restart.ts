/**
 * `npm run rolling-restart -- --dir <cluster dir>` (or `--pid <pid>`): asks a running
 * `npm run cluster` to restart its nodes one at a time. Each node drains on SIGTERM (devices are
 * told to move and reconnect through the load balancer, actors flush and release), restarts on
 * the same port and data, and the next one follows only once it is ready. The cluster process
 * prints the progress.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { dir: { type: "string" }, pid: { type: "string" } } });
const pid = Number(values.pid ?? (values.dir ? readFileSync(join(values.dir, "cluster.pid"), "utf8") : NaN));
if (!Number.isInteger(pid) || pid <= 0) {
  process.stderr.write("usage: npm run rolling-restart -- --dir <cluster dir> | --pid <pid>\n");
  process.exit(2);
}
try {
  process.kill(pid, "SIGHUP");
  process.stdout.write(`rolling restart requested from cluster ${pid}; see its output\n`);
} catch (err) {
  process.stderr.write(`no cluster process ${pid}: ${(err as Error).message}\n`);
  process.exit(1);
}
