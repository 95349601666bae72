import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/**
 * The Lovecraft web client. `npm run web:build` writes static files to web/dist, which the
 * Express app serves at `/` (server/http/webApp.ts); `npm run web:dev` serves them with hot
 * reload and proxies the API and the websockets to a server on :2567 (`npm start`).
 */
const root = fileURLToPath(new URL(".", import.meta.url));
const repo = fileURLToPath(new URL("..", import.meta.url));
const api = process.env.LOVECRAFT_URL ?? "http://localhost:2567";

export default defineConfig({
  root,
  base: "/",
  publicDir: "public",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    port: 5173,
    strictPort: false,
    // The app imports the SDK from ../client and the protocol from ../protocol.
    fs: { allow: [repo] },
    proxy: {
      "/api": { target: api, changeOrigin: true },
      "/matchmake": { target: api, changeOrigin: true },
      "/media": { target: api, changeOrigin: true },
      "/health": { target: api, changeOrigin: true },
      "/docs": { target: api, changeOrigin: true },
      "/.well-known": { target: api, changeOrigin: true },
      // The SDK opens the socket at /<processId>/user_<id>: forward those upgrades.
      "^/[A-Za-z0-9_-]+/user_[A-Za-z0-9-]+": { target: api, changeOrigin: true, ws: true },
    },
  },
  preview: { port: 4173 },
});
