import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LovecraftClient } from "../../client/index.js";
import { type ServerProcess, startServerProcess } from "../support/serverProcess.js";
import {
  chromiumAvailability,
  DESKTOP,
  ensureWebBuild,
  launchChromium,
  PHONE,
  screenshot,
  watchProblems,
} from "./browser.js";

/**
 * The web client (web/) end to end: one real server process (embedded store in a temp dir)
 * serving the built app, and two people in two Chromium contexts — Alice at desktop width, Bob at
 * phone width — who register, find and like each other, chat with typing and read receipts, and
 * catch up after going offline. Screenshots of the main screens go to docs/screenshots.
 */

const chromium = chromiumAvailability();
const PASSWORD = "correct horse battery";
const STEP_MS = 120_000;

interface Person {
  readonly name: string;
  readonly email: string;
  readonly context: BrowserContext;
  page: Page;
}

describe.skipIf(!chromium.run)("web client, two people in two browsers", () => {
  let server: ServerProcess;
  let browser: Browser;
  let dataDir: string;
  let alice: Person;
  let bob: Person;
  let chatPath = "";
  const problems: string[] = [];

  async function person(name: string, viewport: { width: number; height: number }): Promise<Person> {
    const context = await browser.newContext({ viewport, locale: "en-GB", timezoneId: "Europe/Berlin" });
    context.setDefaultTimeout(20_000);
    const page = await context.newPage();
    watchProblems(page, name, problems);
    const email = `${name.toLowerCase()}-${Date.now()}@example.com`;
    return { name, email, context, page };
  }

  const nav = (p: Person, label: string) =>
    p.page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: label }).click();

  beforeAll(async () => {
    await ensureWebBuild();
    dataDir = mkdtempSync(join(tmpdir(), "lovecraft-e2e-"));
    server = await startServerProcess({ cwd: dataDir, env: { DATA_DIR: dataDir } });
    browser = await launchChromium();
    alice = await person("Alice", DESKTOP);
    bob = await person("Bob", PHONE);
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it(
    "registers both, each finds the other in discovery, and a mutual like is a match",
    async () => {
      for (const p of [alice, bob]) {
        await p.page.goto(`${server.baseUrl}/`);
        await p.page.getByRole("heading", { name: "Find people who love the same music" }).waitFor();
      }
      await screenshot(alice.page, "sign-up");
      for (const p of [alice, bob]) {
        const form = p.page.getByRole("form", { name: "Create account" });
        await form.getByLabel("Display name").fill(p.name);
        await form.getByLabel("Email").fill(p.email);
        await form.getByLabel("Password").fill(PASSWORD);
        await form.getByRole("button", { name: "Create account" }).click();
        await p.page.getByRole("status", { name: "Connection: Online" }).waitFor();
        await p.page.getByRole("heading", { name: "Discover" }).waitFor();
      }

      // Alice fills in her profile first: her discovery card shows it.
      await nav(alice, "Profile");
      await alice.page.getByLabel("Bio").fill("Singer-songwriter. Vinyl Sundays, festival summers.");
      await alice.page.getByLabel("Birth year").fill("1994");
      await alice.page.getByLabel("City", { exact: true }).fill("Berlin");
      await alice.page.getByLabel("Interests").fill("folk, vinyl, cycling");
      await alice.page.getByRole("button", { name: "Save profile" }).click();
      await alice.page.getByText("Profile saved.").waitFor();
      await nav(alice, "Discover");

      // Users become discoverable after their first connect: refresh until the other shows up.
      const find = async (p: Person, other: string) => {
        const like = p.page.getByRole("button", { name: `Like ${other}` });
        for (let i = 0; i < 20 && !(await like.isVisible()); i++) {
          await p.page.getByRole("button", { name: "Refresh" }).click();
          await like.waitFor({ timeout: 1_000 }).catch(() => undefined);
        }
        await like.waitFor();
        return like;
      };
      await (await find(alice, "Bob")).click();
      await alice.page.getByText("No one new to discover right now.").waitFor();
      await bob.page.getByRole("button", { name: "Refresh" }).click(); // after Alice's profile change
      const likeAlice = await find(bob, "Alice");
      await bob.page.getByRole("list", { name: "Interests" }).getByText("vinyl").waitFor();
      await screenshot(bob.page, "discover");
      await likeAlice.click();

      for (const p of [alice, bob]) {
        await p.page.getByRole("dialog", { name: "It's a match!" }).waitFor();
      }
      await screenshot(bob.page, "match");
      await bob.page.getByRole("button", { name: "Keep browsing" }).click();
      await alice.page.getByRole("button", { name: "Send Bob a message" }).click();
      await alice.page.waitForURL(/\/chats\/d-[0-9a-f]{32}$/);
      chatPath = new URL(alice.page.url()).pathname;
    },
    STEP_MS,
  );

  it(
    "delivers messages live with unread badges, read receipts and typing",
    async () => {
      await nav(bob, "Chats");
      const row = bob.page.getByRole("link", { name: /Alice/ });
      await row.waitFor();

      const composer = alice.page.getByLabel("Message to Bob");
      await composer.fill("Hi Bob! Coffee on Friday?");
      await composer.press("Enter");
      const first = alice.page.getByRole("listitem").filter({ hasText: "Hi Bob! Coffee on Friday?" });
      await first.getByText("Sent").waitFor();

      // Bob's list: the preview, an unread badge and Alice's presence.
      await row.getByText("Hi Bob! Coffee on Friday?").waitFor();
      await row.getByText("1 unread", { exact: true }).waitFor();
      await row.getByRole("img", { name: "online" }).waitFor();
      await screenshot(bob.page, "chats");

      await row.click();
      await bob.page
        .getByRole("log", { name: "Messages with Alice" })
        .getByText("Hi Bob! Coffee on Friday?")
        .waitFor();
      await first.getByText("Read").waitFor(); // Bob had the chat open and visible

      const reply = bob.page.getByLabel("Message to Alice");
      await reply.pressSequentially("Sure! Where?", { delay: 20 });
      await alice.page.getByText("Bob is typing…").waitFor();
      await reply.press("Enter");
      await alice.page.getByRole("log", { name: "Messages with Bob" }).getByText("Sure! Where?").waitFor();
      await bob.page.getByRole("listitem").filter({ hasText: "Sure! Where?" }).getByText("Read").waitFor();
    },
    STEP_MS,
  );

  it(
    "edits, reacts to and deletes messages on both screens",
    async () => {
      // Alice reacts to Bob's message.
      const bobsMessage = alice.page.getByRole("listitem").filter({ hasText: "Sure! Where?" });
      await bobsMessage.getByRole("button", { name: /^Actions for message/ }).click();
      await bobsMessage.getByRole("button", { name: "React ❤️" }).click();
      await bob.page.getByRole("button", { name: "❤️ 1" }).waitFor();

      // Bob edits it.
      const mine = bob.page.getByRole("listitem").filter({ hasText: "Sure! Where?" });
      await mine.getByRole("button", { name: /^Actions for message/ }).click();
      await mine.getByRole("button", { name: "Edit" }).click();
      await bob.page.getByLabel("Edit message").fill("Sure! The place by the river?");
      await bob.page.getByRole("button", { name: "Save" }).click();
      const edited = alice.page.getByRole("listitem").filter({ hasText: "Sure! The place by the river?" });
      await edited.getByText("edited").waitFor();

      // Alice sends one message too many and deletes it.
      const composer = alice.page.getByLabel("Message to Bob");
      await composer.fill("oops, wrong chat");
      await composer.press("Enter");
      const bobsLog = bob.page.getByRole("log", { name: "Messages with Alice" });
      await bobsLog.getByText("oops, wrong chat").waitFor();
      const oops = alice.page.getByRole("listitem").filter({ hasText: "oops, wrong chat" });
      await oops.getByRole("button", { name: /^Actions for message/ }).click();
      await oops.getByRole("button", { name: "Delete" }).click();
      await oops.getByRole("button", { name: "Delete for everyone" }).click();
      await bobsLog.getByText("Message deleted").waitFor();
      expect(await bobsLog.getByText("oops, wrong chat").count()).toBe(0);

      // The conversation as it reads now, with Bob typing again.
      await bob.page.getByLabel("Message to Alice").pressSequentially("See you", { delay: 20 });
      await alice.page.getByText("Bob is typing…").waitFor();
      await screenshot(alice.page, "chat", { keepScroll: true });
      await bob.page.getByLabel("Message to Alice").press("Enter");
    },
    STEP_MS,
  );

  it(
    "shows the reconnect banner offline and catches up on what was missed",
    async () => {
      await bob.context.setOffline(true);
      try {
        await bob.page.getByText("Reconnecting…").waitFor();
        await bob.page.getByRole("status", { name: "Connection: Offline" }).waitFor();
        await screenshot(bob.page, "offline");

        const composer = alice.page.getByLabel("Message to Bob");
        for (const text of ["Are you there?", "The river café at 7, then"]) {
          await composer.fill(text);
          await composer.press("Enter");
          await alice.page.getByRole("listitem").filter({ hasText: text }).getByText("Sent").waitFor();
        }
        expect(await bob.page.getByRole("log").getByText("Are you there?").count()).toBe(0);
      } finally {
        await bob.context.setOffline(false);
      }
      const log = bob.page.getByRole("log", { name: "Messages with Alice" });
      await log.getByText("Are you there?").waitFor({ timeout: 30_000 });
      await log.getByText("The river café at 7, then").waitFor();
      await bob.page.getByRole("status", { name: "Connection: Online" }).waitFor();
      // Back and reading: Alice's last message shows as read.
      await alice.page
        .getByRole("listitem")
        .filter({ hasText: "The river café at 7, then" })
        .getByText("Read")
        .waitFor({ timeout: 30_000 });
    },
    STEP_MS,
  );

  it(
    "keeps the session across a reload and pages back through the history",
    async () => {
      // A second device of Alice's (the SDK in this test process) sends a long burst.
      const device = new LovecraftClient({ url: server.baseUrl });
      await device.login({ email: alice.email, password: PASSWORD });
      await device.connect();
      const chatId = chatPath.split("/").pop()!;
      for (let i = 1; i <= 35; i++)
        await device.send("chat.send", { chatId, text: `Line ${i} of the burst` });
      await device.close();
      await bob.page
        .getByRole("log", { name: "Messages with Alice" })
        .getByText("Line 35 of the burst")
        .waitFor();

      // Closing the page and opening the app again: the stored session reconnects.
      await bob.page.close();
      bob.page = await bob.context.newPage();
      watchProblems(bob.page, "Bob (reopened)", problems);
      await bob.page.goto(`${server.baseUrl}${chatPath}`);
      const log = bob.page.getByRole("log", { name: "Messages with Alice" });
      await log.getByText("Line 35 of the burst").waitFor();
      expect(await log.getByText("Hi Bob! Coffee on Friday?").count()).toBe(0); // older than a page
      await bob.page.getByRole("button", { name: "Load earlier messages" }).click();
      await log.getByText("Hi Bob! Coffee on Friday?").waitFor();
      await log.getByText("Line 1 of the burst", { exact: true }).waitFor();
    },
    STEP_MS,
  );

  it(
    "lists events with registration, the store and the blog",
    async () => {
      await nav(alice, "Events");
      await alice.page.getByRole("heading", { name: "Events" }).waitFor();
      const register = alice.page.getByRole("button", { name: /^Register for / }).first();
      await register.click();
      await alice.page.getByText("You're going").first().waitFor();
      await alice.page
        .getByText(/1 of \d+ going/)
        .first()
        .waitFor();
      await screenshot(alice.page, "events");

      await nav(alice, "Store");
      await alice.page
        .getByRole("link", { name: /View in the shop/ })
        .first()
        .waitFor();
      await screenshot(alice.page, "store");

      await nav(alice, "Blog");
      const post = alice.page.getByRole("main").getByRole("heading", { level: 2 }).first().getByRole("link");
      const title = (await post.textContent()) ?? "";
      await screenshot(alice.page, "blog");
      await post.click();
      await alice.page.getByRole("heading", { level: 1, name: title }).waitFor();
    },
    STEP_MS,
  );

  it(
    "edits the profile and uploads a photo",
    async () => {
      await nav(bob, "Profile");
      await bob.page.getByLabel("Bio").fill("Bass player. Loves river walks and loud guitars.");
      await bob.page.getByLabel("City", { exact: true }).fill("Berlin");
      await bob.page.getByLabel("Interests").fill("rock, vinyl, hiking");
      await bob.page.getByRole("button", { name: "Save profile" }).click();
      await bob.page.getByText("Profile saved.").waitFor();

      const png = await sharp({
        create: { width: 320, height: 320, channels: 3, background: { r: 42, g: 110, b: 160 } },
      })
        .png()
        .toBuffer();
      await bob.page
        .getByLabel("Upload a photo")
        .setInputFiles({ name: "me.png", mimeType: "image/png", buffer: png });
      const photo = bob.page.getByRole("img", { name: "You (1 of 1)" });
      await photo.waitFor();
      await expect
        .poll(() => photo.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth))
        .toBeGreaterThan(0);

      await bob.page.getByLabel("Show when I was last online").check();
      await bob.page.getByRole("button", { name: "Save settings" }).click();
      await bob.page.getByText("Settings saved.").waitFor();
      await screenshot(bob.page, "profile");
    },
    STEP_MS,
  );

  it(
    "says what went wrong, in words, when signing in fails",
    async () => {
      const context = await browser.newContext({ viewport: PHONE });
      const page = await context.newPage();
      await page.goto(`${server.baseUrl}/`);
      await page.getByRole("button", { name: "Sign in" }).click();
      const form = page.getByRole("form", { name: "Sign in" });
      await form.getByLabel("Email").fill(alice.email);
      await form.getByLabel("Password").fill("not the password");
      await form.getByRole("button", { name: "Sign in" }).click();
      await page
        .getByRole("alert")
        .getByText(/^UNAUTHORIZED: /)
        .waitFor();
      await context.close();

      expect(problems).toEqual([]); // no uncaught error and no CSP violation on any page
    },
    STEP_MS,
  );
});
