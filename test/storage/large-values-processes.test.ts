/**
 * Garbage collection of large values while another OS process writes rows referencing them
 * (SQLite, the same database): the collector runs again and again while the writer puts
 * checkpoints that re-reference a value stored long ago and referenced by nothing when the
 * collection began. Every row the writer committed must read back, and only values that nothing
 * references and nobody touched within the grace period may go. The same with a store writing
 * items in the other process while the checkpointer collects: the file's one table of values
 * serves both, and each side's collection counts the other's references.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSqliteCheckpointer, createSqliteStore } from "../../src/backends/sqlite/index.js";
import { collectLargeValues } from "../../src/large-values/index.js";
import { runWorker } from "../support/process.js";
import { putFile } from "./large-value-fixtures.js";

const WORKER = join(dirname(fileURLToPath(import.meta.url)), "large-values-worker.ts");
const SHARED = "a file every turn carries, ".repeat(1_500);
const HOURS_AGO = 2 * 60 * 60 * 1000;
const SOAK = process.env.REWIND_SOAK === "1";

describe("collecting large values while another process writes", () => {
  let dir: string;
  let db: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "rewind-large-gc-"));
    db = join(dir, "shared.sqlite");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("never removes a value a concurrent writer references, and removes the forgotten ones", async () => {
    // Two hours ago: the shared value and one of its own were stored, then their threads deleted.
    const old = createSqliteCheckpointer(db, {
      largeValues: { thresholdBytes: 16 * 1024, now: () => Date.now() - HOURS_AGO },
    });
    for (const [threadId, file] of [
      ["old-shared", SHARED],
      ["old-own", `${SHARED}forgotten`],
    ] as const) {
      await putFile(old, threadId, file);
      await old.deleteThread(threadId);
    }
    await old.close();

    const collector = createSqliteCheckpointer(db, { largeValues: { thresholdBytes: 16 * 1024 } });
    try {
      const writer = runWorker(WORKER, db, SOAK ? "400" : "40", SHARED);
      let done = false;
      void writer.finally(() => {
        done = true;
      });
      let rounds = 0;
      let removed = 0;
      while (!done || rounds < 3) {
        removed += (await collectLargeValues(collector, { graceMs: 60_000 })).removed;
        rounds++;
        await new Promise((resolve) => setImmediate(resolve));
      }
      const { code, stderr, result } = await writer;
      expect(code, stderr).toBe(0);
      // The forgotten value goes; the shared one may go too, before the writer first touched it
      // (it then stores it again), never while a row the writer committed references it.
      expect([1, 2]).toContain(removed);
      for (const [threadId, checkpointId, which] of result.written as string[][]) {
        const read = await collector.get(threadId!, { checkpointId });
        expect(read?.checkpoint.values.file).toBe(
          which === "shared" ? SHARED : `${SHARED}${which}`,
        );
      }
      // What is left is exactly what rows reference: the shared value and the writer's own ones.
      expect(await collectLargeValues(collector, { graceMs: 0 })).toMatchObject({
        values: 1 + (result.written as string[][]).filter((w) => w[2] !== "shared").length,
        removed: 0,
      });
    } finally {
      await collector.close();
    }
  });

  it("keeps what a store in another process references while the checkpointer collects", async () => {
    // The shared text was a checkpoint value two hours ago: a store item's string of the same
    // text is the same body (one table, one name), so the store re-references it.
    const old = createSqliteCheckpointer(db, {
      largeValues: { thresholdBytes: 16 * 1024, now: () => Date.now() - HOURS_AGO },
    });
    await putFile(old, "old-shared", SHARED);
    await old.deleteThread("old-shared");
    await old.close();

    const collector = createSqliteCheckpointer(db, { largeValues: { thresholdBytes: 16 * 1024 } });
    const reader = createSqliteStore(db, { largeValues: { thresholdBytes: 16 * 1024 } });
    try {
      const writer = runWorker(WORKER, db, SOAK ? "400" : "40", SHARED, "store");
      let done = false;
      void writer.finally(() => {
        done = true;
      });
      let rounds = 0;
      while (!done || rounds < 3) {
        await collectLargeValues(collector, { graceMs: 60_000 });
        rounds++;
        await new Promise((resolve) => setImmediate(resolve));
      }
      const { code, stderr, result } = await writer;
      expect(code, stderr).toBe(0);
      for (const [key, , which] of result.written as string[][]) {
        const item = await reader.forTenant("acme").get(["files"], key!);
        expect(item?.value).toEqual({ file: which === "shared" ? SHARED : `${SHARED}${which}` });
      }
      // Nothing the items reference goes, from either side, however short the grace.
      const left = 1 + (result.written as string[][]).filter((w) => w[2] !== "shared").length;
      expect(await collectLargeValues(collector, { graceMs: 0 })).toMatchObject({
        values: left,
        removed: 0,
      });
      expect(await collectLargeValues(reader, { graceMs: 0 })).toMatchObject({
        values: left,
        removed: 0,
      });
    } finally {
      await reader.close();
      await collector.close();
    }
  });
});
