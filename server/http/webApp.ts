import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import express, { type RequestHandler, Router } from "express";

/**
 * Where `npm run web:build` writes the web client (vite build of web/): `web/dist` of the
 * project, found upwards from this module — it runs from `server/http` (sources) or from
 * `dist/server/http` (the compiled build).
 */
export const WEB_DIST = join(projectRoot(dirname(fileURLToPath(import.meta.url))), "web/dist");

function projectRoot(from: string): string {
  for (let dir = from, i = 0; i < 8; i++, dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
  }
  return resolve(from, "../..");
}

/** Paths the web app never answers: the API, Colyseus, operations and media. */
export const RESERVED_PREFIXES = [
  "/api",
  "/matchmake",
  "/health",
  "/metrics",
  "/docs",
  "/admin",
  "/media",
  "/.well-known",
] as const;

const isReserved = (path: string) =>
  RESERVED_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));

/** A file request (`/x.js`, `/assets/a.css`) that was not found is a 404, never the app's page. */
const looksLikeFile = (path: string) => /\.[A-Za-z0-9]+$/.test(path.slice(path.lastIndexOf("/") + 1));

/**
 * `/` is always the app; other paths only for requests that ask for HTML by name (browsers'
 * navigations do), so API clients and scripts probing unknown paths keep getting the JSON 404.
 */
const wantsPage = (path: string, accept: string | undefined) =>
  path === "/" || (accept ?? "").toLowerCase().includes("text/html");

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Lovecraft: web app not built</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}
code{background:#f1f1f1;padding:.1rem .3rem;border-radius:3px}</style></head>
<body><h1>The web app is not built yet</h1>
<p>This Lovecraft server serves the web client from <code>web/dist</code>, which does not exist.
Run <code>npm run web:build</code> (or <code>npm run web:dev</code> for development with hot reload on
port 5173), then reload this page.</p>
<p>The API is up: see <a href="/docs">/docs</a> and <a href="/health/ready">/health/ready</a>.</p>
</body></html>
`;

/**
 * The web client (web/, built by Vite) as static files at `/`, with an SPA fallback: a GET for a
 * page the app routes itself (`/chats/…`, `/profile`) answers `index.html`. The fallback never
 * shadows the reserved prefixes above, file-like paths or non-HTML requests (they fall through to
 * the JSON 404). Without a build, pages answer a short note telling the developer to run
 * `npm run web:build`. Mount it right before the 404 handler.
 */
export function webApp(options: { dir?: string } = {}): Router {
  const dir = options.dir ?? WEB_DIST;
  const index = join(dir, "index.html");
  const router = Router();

  router.use(
    express.static(dir, {
      index: false,
      redirect: false,
      setHeaders: (res, path) => {
        // Vite's hashed bundles never change under the same name; everything else revalidates.
        const hashed = path.startsWith(join(dir, "assets"));
        res.setHeader("Cache-Control", hashed ? "public, max-age=31536000, immutable" : "no-cache");
      },
    }),
  );

  const fallback: RequestHandler = (req, res, next) => {
    if (req.method !== "GET" && req.method !== "HEAD") return next();
    if (isReserved(req.path) || looksLikeFile(req.path) || !wantsPage(req.path, req.get("accept")))
      return next();
    if (!existsSync(index)) {
      res.status(503).setHeader("Cache-Control", "no-store").type("html").send(NOT_BUILT_PAGE);
      return;
    }
    res.setHeader("Cache-Control", "no-cache");
    res.sendFile(index, (err) => {
      if (err && !res.headersSent) next(err);
    });
  };
  router.use(fallback);
  return router;
}
