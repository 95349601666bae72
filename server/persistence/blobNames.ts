import { StorageLimitError } from "./errors.js";

const CONTAINER = /^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/;
const SEGMENT = /^[A-Za-z0-9._-]{1,200}$/;

/** Container names follow Azure's rules (3-63 lowercase letters, digits and single dashes). */
export function assertContainerName(container: string): void {
  if (!CONTAINER.test(container)) throw new StorageLimitError(`invalid container name "${container}"`);
}

/**
 * Blob names are `/`-separated segments of safe characters, so the same name is a valid Azure
 * blob name and a safe relative file path (no `..`, no absolute paths).
 */
export function assertBlobName(name: string): void {
  const segments = name.split("/");
  if (name.length > 1024 || segments.some((s) => !SEGMENT.test(s) || s === "." || s === "..")) {
    throw new StorageLimitError(`invalid blob name "${name}"`);
  }
}
