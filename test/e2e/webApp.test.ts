import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import express from "express";
import request from "supertest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorHandler, notFound } from "../../server/http/middleware.js";
import { RESERVED_PREFIXES, webApp } from "../../server/http/webApp.js";
import { createLogger } from "../../server/logger.js";

/** How the Express app serves the built web client (server/http/webApp.ts), without a browser. */

const HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

function appServing(dir: string) {
  const app = express();
  app.get("/api/v1/ping", (_req, res) => {
    res.json({ pong: true });
  });
  app.use(webApp({ dir }));
  app.use(notFound);
  app.use(errorHandler(createLogger({ level: "silent" })));
  return app;
}

describe("web app serving", () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "lovecraft-web-"));
    mkdirSync(join(dir, "assets"));
    writeFileSync(join(dir, "index.html"), "<!doctype html><title>app</title><div id=app></div>");
    writeFileSync(join(dir, "assets", "index-abc123.js"), "console.log(1)");
    writeFileSync(join(dir, "favicon.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>");
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("serves index.html at / and for app paths the browser navigates to", async () => {
    const app = appServing(dir);
    const root = await request(app).get("/").expect(200);
    expect(root.text).toContain("<div id=app>");
    expect(root.headers["cache-control"]).toBe("no-cache");
    for (const path of ["/chats/d-0123", "/profile", "/blog/some-post"]) {
      const page = await request(app).get(path).set("Accept", HTML).expect(200);
      expect(page.headers["content-type"]).toMatch(/^text\/html/);
    }
    await request(app).head("/discover").set("Accept", HTML).expect(200);
  });

  it("serves hashed assets as immutable and other files as revalidated", async () => {
    const app = appServing(dir);
    const asset = await request(app).get("/assets/index-abc123.js").expect(200);
    expect(asset.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    const icon = await request(app).get("/favicon.svg").expect(200);
    expect(icon.headers["cache-control"]).toBe("no-cache");
  });

  it("never shadows the API, operations routes, missing files or non-page requests", async () => {
    const app = appServing(dir);
    await request(app).get("/api/v1/ping").expect(200, { pong: true });
    for (const prefix of RESERVED_PREFIXES) {
      for (const path of [prefix, `${prefix}/anything`]) {
        const res = await request(app).get(path).set("Accept", HTML);
        expect(res.status, path).toBe(404);
        expect(res.body.error.code, path).toBe("NOT_FOUND");
      }
    }
    // A missing file is a 404, not the app's page; so are API clients probing unknown paths.
    await request(app).get("/assets/missing.js").set("Accept", HTML).expect(404);
    await request(app).get("/no-such-route").expect(404);
    await request(app).get("/no-such-route").set("Accept", "application/json").expect(404);
    await request(app).post("/").set("Accept", HTML).expect(404);
    // A path that merely starts like a reserved one is the app's.
    await request(app).get("/apiary").set("Accept", HTML).expect(200);
  });

  it("tells the developer to build the app when web/dist is missing", async () => {
    const app = appServing(join(dir, "does-not-exist"));
    const res = await request(app).get("/").expect(503);
    expect(res.headers["content-type"]).toMatch(/^text\/html/);
    expect(res.text).toContain("npm run web:build");
    await request(app).get("/chats").set("Accept", HTML).expect(503);
    await request(app).get("/api/v1/ping").expect(200);
    await request(app).get("/health/live").set("Accept", HTML).expect(404);
  });
});
