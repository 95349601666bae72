import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Each file runs in its own process: Colyseus keeps module-level matchmaker state.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
