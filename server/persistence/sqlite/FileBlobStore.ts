import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { dirname, join, sep } from "node:path";
import { assertBlobName, assertContainerName } from "../blobNames.js";
import { StorageUnavailableError } from "../errors.js";
import type { BlobContent, BlobStore } from "../ports.js";

/**
 * Blobs as files under `root/<container>/<name>`. Each file starts with one JSON header line
 * (the content type) followed by the bytes. Writes go to a temporary file that is fsync'd and
 * renamed over the target, and the directory is fsync'd, so a crash leaves either the old or the
 * new object, never a torn one.
 */
export class FileBlobStore implements BlobStore {
  constructor(private readonly root: string) {}

  async put(container: string, name: string, data: Uint8Array, contentType: string): Promise<void> {
    const path = this.pathOf(container, name);
    const dir = dirname(path);
    const temp = join(dir, `.tmp-${randomBytes(6).toString("hex")}`);
    try {
      await mkdir(dir, { recursive: true });
      const header = Buffer.from(`${JSON.stringify({ contentType })}\n`);
      const file = await open(temp, "w", 0o600);
      try {
        await file.writev([header, data]);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, path);
      await fsyncDirectory(dir);
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw new StorageUnavailableError(`could not write blob ${container}/${name}`, { cause: err });
    }
  }

  async get(container: string, name: string): Promise<BlobContent | undefined> {
    let raw: Buffer;
    try {
      raw = await readFile(this.pathOf(container, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new StorageUnavailableError(`could not read blob ${container}/${name}`, { cause: err });
    }
    const newline = raw.indexOf(10);
    const header = JSON.parse(raw.subarray(0, newline).toString("utf8")) as { contentType: string };
    return { data: raw.subarray(newline + 1), contentType: header.contentType };
  }

  async delete(container: string, name: string): Promise<void> {
    const path = this.pathOf(container, name);
    try {
      await rm(path, { force: true });
      await fsyncDirectory(dirname(path)).catch(() => undefined);
    } catch (err) {
      throw new StorageUnavailableError(`could not delete blob ${container}/${name}`, { cause: err });
    }
  }

  async list(container: string, prefix: string): Promise<string[]> {
    assertContainerName(container);
    const base = join(this.root, container);
    // Read only the folder the prefix points into, not the whole container.
    const folder = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : "";
    if (folder) assertBlobName(folder);
    let entries: string[];
    try {
      entries = await readdir(join(base, ...folder.split("/").filter(Boolean)), { recursive: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw new StorageUnavailableError(`could not list container ${container}`, { cause: err });
    }
    const names: string[] = [];
    for (const entry of entries) {
      const name = [folder, entry.split(sep).join("/")].filter(Boolean).join("/");
      const leaf = name.split("/").at(-1) ?? "";
      if (leaf.startsWith(".tmp-") || !name.startsWith(prefix)) continue;
      if (await isFile(join(base, ...name.split("/")))) names.push(name);
    }
    return names.sort();
  }

  private pathOf(container: string, name: string): string {
    assertContainerName(container);
    assertBlobName(name);
    return join(this.root, container, ...name.split("/"));
  }
}

/** A file deleted between listing and this check is simply not listed. */
async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
