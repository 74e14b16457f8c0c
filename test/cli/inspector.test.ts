/**
 * The inspector as users run it: the package built as `npm run build` builds it (tsc, then Vite
 * for the page) into a scratch folder, and `rewind inspect` driven in headless Chromium (one
 * browser for every scenario). Screenshots of each view go to test-artifacts/inspector/. The
 * thread commands on the command line are in thread-commands.test.ts.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSqliteCheckpointer } from "../../src/backends/sqlite/index.js";
import { ROOT } from "../docs/type-check.js";
import { corruptSqliteCheckpoint } from "../storage/sqlite-helpers.js";
import { builtBin } from "../support/built-package.js";
import { wait } from "../support/child-output.js";
import { atFileEnd } from "../support/file-cleanup.js";
import { ask, tripGraph } from "./inspector-graph.js";

let BIN = "";
const ARTIFACTS = join(ROOT, "test-artifacts", "inspector");
const CHROMIUM = "/usr/bin/chromium";

const node = (...args: string[]) =>
  wait(spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] }));
const rewind = (...args: string[]) => node(BIN, ...args);

beforeAll(async () => {
  BIN = await builtBin();
}, 600_000);

const DIR = mkdtempSync(join(ROOT, ".scratch-inspector-data-"));
atFileEnd(() => rmSync(DIR, { recursive: true, force: true }));

/** A running `rewind inspect`: its URL (with the token) and its process. */
async function serve(...args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [BIN, "inspect", ...args, "--port", "0"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  servers.push(child);
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d) => {
      out += d;
      const found = /open (http:\/\/127\.0\.0\.1:\d+\/#token=\S+)/.exec(out);
      if (found) resolve(found[1]!);
    });
    child.stderr!.on("data", (d) => (out += d));
    child.on("close", () => reject(new Error(`inspect exited: ${out}`)));
  });
  return { url, child };
}

const servers: ChildProcess[] = [];
let browser: Browser | undefined;

describe("rewind inspect in Chromium", () => {
  const file = join(DIR, "travel.sqlite");
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`no ${CHROMIUM}: install Debian's chromium package (.ci/run does)`);
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    // A database made by the demo, plus threads for the scenarios the demo does not cover.
    const demo = await node("--import", "tsx", join(ROOT, "examples", "demo.ts"), file);
    expect(demo.code, demo.stdout + demo.stderr).toBe(0);
    const seeding = Date.now();
    // Seeded without an fsync per commit (2,000 of them below); what is seeded is the same.
    const checkpointer = createSqliteCheckpointer(file, { synchronous: "normal" });
    const app = tripGraph(checkpointer);
    for (const threadId of ["ask", "fork-me", "broken", "stale"]) {
      await app.invoke(ask("Find me a flight"), { threadId });
    }
    const many = Array.from({ length: 1000 }, (_, i) => ({
      id: `m${i}`,
      role: "user",
      content: `message ${i} ${"x".repeat(60)}`,
    }));
    await app.invoke({ messages: many, destination: "Lisbon" }, { threadId: "big" });
    await app.invoke(ask("For a tenant"), { threadId: "trip", tenantId: "acme" });
    await app.invoke(ask("Long"), { threadId: "long" });
    for (let i = 0; i < 2000; i++)
      await app.updateState({ threadId: "long" }, { destination: `d${i}` });
    const broken = await app.getLineage({ threadId: "broken" });
    const agentStep = [...broken.nodes.values()].find((n) => n.step === 0)!;
    await checkpointer.close();
    corruptSqliteCheckpoint(file, {
      threadId: "broken",
      ns: "",
      checkpointId: agentStep.checkpointId,
    });
    console.log(`seeded in ${Date.now() - seeding} ms`);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    for (const child of servers) child.kill("SIGINT");
    if (Object.keys(timings).length === 0) return; // setup failed: its own error says why
    writeFileSync(join(ARTIFACTS, "timings.json"), `${JSON.stringify(timings, null, 2)}\n`);
    console.log("inspector render times (ms):", timings);
  });

  async function open(url: string): Promise<Page> {
    const page = await browser!.newPage({ viewport: { width: 1400, height: 820 } });
    await page.goto(url);
    return page;
  }
  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  // Waits for this thread's history (a selected row alone may still be the previous thread's).
  const thread = async (page: Page, id: string) => {
    await page.click(`[data-thread="${id}"]`);
    await page.waitForSelector(`[data-history="${id}"] .row.selected`);
  };

  it("walks the demo's thread: its tree with the fork point, then the diff of two checkpoints", async () => {
    const { url } = await serve(file);
    const page = await open(url);
    await page.click('[data-thread^="trip-"]');
    await page.waitForSelector(".row.selected");
    expect(await page.locator(".badge.fork").count()).toBe(1);
    expect(await page.locator(".badge.current").count()).toBe(1);
    expect(await page.locator(".source.fork").count()).toBe(1);
    await shot(page, "tree");
    // The same step on both branches: the edited first message and the new search, by id.
    const rows = page.locator(".row");
    await rows.nth(3).click();
    await page.locator(".row .source.fork").click({ modifiers: ["Shift"] });
    await page.waitForSelector(".diff");
    expect(await page.locator(".diff").textContent()).toContain("messages.0.content");
    expect(await page.locator(".change.changed").count()).toBeGreaterThan(0);
    await shot(page, "tree-and-diff");
    // A tenant's threads, by the tenant filter; its thread opens like any other.
    await page.fill('input[placeholder="tenant"]', "acme");
    await page.waitForFunction("document.querySelectorAll('.thread').length === 1");
    expect(await page.locator(".thread .tenant").textContent()).toBe("acme/");
    await page.click('[data-thread="trip"]');
    await page.locator("h2", { hasText: "2 checkpoints" }).waitFor();
    expect(await page.locator(".interrupts").textContent()).toContain("Book Tokyo?");
    await page.close();
  }, 120_000);

  it("shows the database's storage and biggest threads; a metadata filter narrows the list", async () => {
    const { url } = await serve(file);
    const page = await open(url);
    await page.waitForSelector(".database .biggest li");
    const database = await page.locator(".database").textContent();
    expect(database).toContain("Biggest threads");
    expect(database).toContain("acme");
    // The two largest threads seeded above lead the list.
    const leaders = await page
      .locator("[data-biggest]")
      .evaluateAll((links) => links.slice(0, 2).map((a) => a.getAttribute("data-biggest")));
    expect(leaders.sort()).toEqual(["big", "long"]);
    await shot(page, "database");
    await page.click('[data-biggest="long"]');
    await page.locator("h2", { hasText: "checkpoints" }).waitFor();
    // Only "long" has a head written by updateState (metadata source "update").
    await page.fill('input[aria-label="metadata filter"]', '{"source":"update"}');
    await page.press('input[aria-label="metadata filter"]', "Enter");
    await page.waitForFunction("!document.querySelector('[data-thread=\"big\"]')");
    expect(await page.locator('[data-thread="long"]').count()).toBe(1);
    const refused = await page.evaluate(() =>
      fetch("api/threads?metadata=%5B1%5D").then((r) => r.status),
    );
    expect(refused).toBe(400);
    await page.close();
  }, 120_000);

  it("answers an interrupt; the graph's next run continues with the answer", async () => {
    const { url } = await serve(file);
    const page = await open(url);
    await thread(page, "ask");
    expect(await page.locator(".interrupts").textContent()).toContain("Book Tokyo?");
    await shot(page, "interrupt");
    await page.getByRole("button", { name: "Approve" }).click();
    await page.waitForSelector(".banner.notice");
    expect(await page.locator(".banner.notice").textContent()).toContain("Answer recorded");
    const checkpointer = createSqliteCheckpointer(file);
    try {
      const done = await tripGraph(checkpointer).invoke(null, { threadId: "ask" });
      expect(done.values.approved).toBe(true);
      expect(done.values.messages.at(-1)!.content).toBe("Booked Tokyo");
    } finally {
      await checkpointer.close();
    }
    await page.close();
  }, 120_000);

  it("forks with an edited state (no side effects tracked) and the new branch appears", async () => {
    const { url } = await serve(file);
    const page = await open(url);
    await thread(page, "fork-me");
    expect(await page.locator(".row").count()).toBe(2);
    // From the first checkpoint, so the fork starts a second branch beside the paused one.
    await page.locator(".row").nth(0).click();
    await page.waitForSelector(".detail >> text=Step -1");
    await page.waitForSelector(".effects >> text=None recorded");
    const editor = page.locator('textarea[name="fork-state"]');
    const state = JSON.parse(await editor.inputValue());
    await editor.fill(JSON.stringify({ ...state, destination: "Osaka" }, null, 2));
    await page.getByRole("button", { name: "Fork with these values" }).click();
    await page.waitForSelector(".banner.notice >> text=Forked");
    await page.waitForSelector(".row .source.fork");
    expect(await page.locator(".row").count()).toBe(3);
    expect(await page.locator(".badge.fork").count()).toBe(1);
    await page.locator(".detail .leaf", { hasText: "Osaka" }).waitFor();
    expect(await page.locator("h2").textContent()).toContain("2 branches");
    await shot(page, "fork");
    // A write without the token is refused, whatever the page does.
    const status = await page.evaluate(async () => {
      const r = await fetch("api/threads/fork-me/resume", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ answer: true }),
      });
      return r.status;
    });
    expect(status).toBe(401);
    // A request naming another host (a DNS-rebinding page) is refused before any route.
    const { port } = new URL(url);
    const rebound = await new Promise<number | undefined>((resolve, reject) => {
      get(
        { host: "127.0.0.1", port, path: "/api/info", headers: { host: `evil.test:${port}` } },
        (r) => {
          r.resume();
          resolve(r.statusCode);
        },
      ).on("error", reject);
    });
    expect(rebound).toBe(403);
    await page.close();
  }, 120_000);

  it("read-only mode refuses a fork and stores nothing", async () => {
    const { url } = await serve(file, "--read-only");
    // A second inspector on a port in use says so and ends, exit code 1.
    const taken = await rewind("inspect", file, "--port", new URL(url).port);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain("EADDRINUSE");
    const page = await open(url);
    await page.waitForSelector(".badge.ro");
    await thread(page, "fork-me");
    const before = await page.locator(".row").count();
    const editor = page.locator('textarea[name="fork-state"]');
    const state = JSON.parse(await editor.inputValue());
    await editor.fill(JSON.stringify({ ...state, destination: "Rome" }));
    await page.getByRole("button", { name: "Fork with these values" }).click();
    await page.waitForSelector(".banner.error");
    expect(await page.locator(".banner.error").textContent()).toContain("read-only");
    await shot(page, "read-only");
    await thread(page, "fork-me");
    expect(await page.locator(".row").count()).toBe(before);
    await page.close();
  }, 120_000);

  it("shows a corrupted checkpoint as such, its parent still renders; a deleted thread is reported", async () => {
    const { url } = await serve(file);
    const page = await open(url);
    await thread(page, "broken");
    const rows = page.locator(".row");
    await rows.nth(1).click();
    await page.waitForSelector(".detail .banner.error");
    expect(await page.locator(".detail .banner.error").textContent()).toContain("CORRUPTED");
    await shot(page, "corrupted");
    await rows.nth(0).click();
    await page.waitForSelector(".detail .panel");
    expect(await page.locator(".detail .panel").first().textContent()).toContain("Step -1");

    await thread(page, "stale");
    const checkpointer = createSqliteCheckpointer(file);
    await checkpointer.deleteThread("stale");
    await checkpointer.close();
    await page.locator(".row").nth(0).click();
    await page.waitForSelector(".detail .banner.error");
    expect(await page.locator(".detail .banner.error").textContent()).toMatch(/not found|deleted/i);
    await shot(page, "stale");
    await page.close();
  }, 120_000);

  it("renders a 1,000-message state and a 2,000-checkpoint history (times reported, not asserted)", async () => {
    const { url } = await serve(file);
    const page = await open(url);
    let start = Date.now();
    await page.click('[data-thread="big"]');
    await page.locator(".detail .count", { hasText: "[1001]" }).waitFor();
    timings.state1000Messages = Date.now() - start;
    await page.locator(".toggle", { hasText: "messages" }).click();
    expect(await page.locator(".children .children > .node").count()).toBe(1001);
    await shot(page, "big-state");
    start = Date.now();
    await page.click('[data-thread="long"]');
    await page.locator("h2", { hasText: "2002 checkpoints" }).waitFor();
    await page.waitForSelector(".row.selected");
    timings.history2000Checkpoints = Date.now() - start;
    // The head is picked and in view; only the rows near the view are in the page.
    expect(await page.locator(".row.selected .badge.current").isVisible()).toBe(true);
    expect(await page.locator(".row").count()).toBeLessThan(200);
    // Its storage, and what keeping the last 10 checkpoints would free (a dry run).
    const storage = page.locator(".storage .keep");
    await page.locator(".storage .keep", { hasText: "frees about" }).waitFor();
    const freed = Number(/\((\d+) checkpoints/.exec((await storage.textContent())!)![1]);
    expect(freed).toBeGreaterThan(1900);
    await shot(page, "long-history");
    await page.locator(".history").evaluate((el) => {
      el.scrollTop = 0;
    });
    await page.locator(".row", { hasText: "step -1" }).waitFor();
    const checkpointer = createSqliteCheckpointer(file);
    expect((await checkpointer.door.footprint("long"))!.checkpoints).toHaveLength(2002);
    await checkpointer.close();
    await page.close();
  }, 180_000);
});
