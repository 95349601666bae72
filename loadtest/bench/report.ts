import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fmt } from "./stats.js";

const FILE = "BENCHMARKS.md";

export function machineLine(): string {
  return `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, ${fmt(totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}`;
}

/** Replaces (or appends) one `## <title>` section of BENCHMARKS.md, keeping the others. */
export function writeSection(title: string, body: string): void {
  const header =
    "# Benchmarks\n\nWritten by `npm run bench`; each section records the run that produced it.\n";
  const current = existsSync(FILE) ? readFileSync(FILE, "utf8") : header;
  const sections = current.split(/^## /m);
  sections.shift(); // the header is always rewritten, so old wording never lingers
  const kept = sections.filter((s) => !s.startsWith(`${title}\n`));
  const stamped = `${title}\n\n_${new Date().toISOString().slice(0, 16)}Z — ${machineLine()}_\n\n${body.trim()}\n\n`;
  writeFileSync(FILE, [`${header.trimEnd()}\n\n`, ...kept.map((s) => `## ${s}`), `## ${stamped}`].join(""));
}
