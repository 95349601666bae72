import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, rmdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { type Browser, chromium, type Page } from "playwright-core";
import sharp from "sharp";

/** Helpers of the browser suites: Debian's Chromium through playwright-core, the web build, screenshots. */

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOTS = join(ROOT, "docs/screenshots");
const WEB_INDEX = join(ROOT, "web/dist/index.html");
const BUILD_LOCK = join(
  tmpdir(),
  `lovecraft-web-build-${createHash("sha1").update(ROOT).digest("hex").slice(0, 12)}`,
);
const BUILD_TIMEOUT_MS = 240_000;

/**
 * Browser suites call this at load time. Without Chromium they are skipped locally (visibly), but
 * CI sets `REQUIRE_CHROMIUM=1`, and then a missing browser fails the run instead.
 */
export function chromiumAvailability(): { run: boolean } {
  const available = existsSync(CHROMIUM);
  if (!available && process.env.REQUIRE_CHROMIUM === "1") {
    throw new Error(`REQUIRE_CHROMIUM=1 but ${CHROMIUM} does not exist (apt-get install chromium)`);
  }
  return { run: available };
}

/**
 * Builds the web app (`npm run web:build`) if web/dist is missing; bounded, and one build at a
 * time across test processes (a lock directory; a stale lock is taken over after the timeout).
 */
export async function ensureWebBuild(): Promise<void> {
  const deadline = Date.now() + BUILD_TIMEOUT_MS;
  while (!existsSync(WEB_INDEX)) {
    if (takeLock()) {
      try {
        if (!existsSync(WEB_INDEX)) {
          await promisify(execFile)("npm", ["run", "web:build"], {
            cwd: ROOT,
            timeout: BUILD_TIMEOUT_MS,
            maxBuffer: 16 * 1024 * 1024,
          });
        }
      } finally {
        rmdirSync(BUILD_LOCK);
      }
      return;
    }
    if (Date.now() > deadline) throw new Error("timed out waiting for another process to build web/dist");
    await new Promise((r) => setTimeout(r, 500));
  }
}

function takeLock(): boolean {
  try {
    mkdirSync(BUILD_LOCK);
    return true;
  } catch {
    // Another process builds; a lock older than a build can take belongs to a crashed one.
    const age = Date.now() - (statSync(BUILD_LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if (age > BUILD_TIMEOUT_MS) rmdirSync(BUILD_LOCK);
    return false;
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

export const PHONE = { width: 390, height: 844 } as const;
export const DESKTOP = { width: 1280, height: 800 } as const;

/**
 * Screenshots the page at phone and desktop widths (`docs/screenshots/<name>-phone.png`,
 * `…-desktop.png`), then restores the page's own size. The files are palette PNGs (small enough
 * to commit), with the app's scroll area at the top unless `keepScroll`.
 */
export async function screenshot(
  page: Page,
  name: string,
  options: { keepScroll?: boolean } = {},
): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const own = page.viewportSize() ?? DESKTOP;
  for (const [label, size] of [
    ["phone", PHONE],
    ["desktop", DESKTOP],
  ] as const) {
    await page.setViewportSize(size);
    if (!options.keepScroll) await page.evaluate('document.getElementById("main")?.scrollTo(0, 0)');
    await page.waitForTimeout(150); // layout settles (the app has no animations to wait for)
    const png = await page.screenshot();
    await sharp(png)
      .png({ palette: true, colours: 256, effort: 8 })
      .toFile(join(SCREENSHOTS, `${name}-${label}.png`));
  }
  await page.setViewportSize(own);
}

/** Collects what a page reports as broken into `sink`: uncaught errors and CSP violations. */
export function watchProblems(page: Page, who: string, sink: string[]): void {
  page.on("pageerror", (e) => sink.push(`${who}: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text()))
      sink.push(`${who}: ${m.text()}`);
  });
}
