/**
 * Preloaded into a server process by leak tests only (`NODE_OPTIONS`, see `serverMemory.ts`):
 * with `--expose-gc`, SIGUSR2 runs full garbage collections, so heap gauges read afterwards count
 * live objects rather than whatever garbage the last burst left behind. No imports and no type
 * syntax: Node loads it natively, before the tsx loader of the server's command line.
 */
process.on("SIGUSR2", () => {
  globalThis.gc?.();
  globalThis.gc?.();
});
