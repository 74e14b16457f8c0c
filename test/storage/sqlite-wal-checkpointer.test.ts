/**
 * WAL checkpoints on a worker thread (sqlite-wal-checkpointer.ts): on at synchronous=NORMAL, off
 * at FULL unless asked; the writer's own automatic checkpoint is turned off here so that only
 * the worker can have copied the log back. What the log holds and what was copied back are read
 * from the WAL index (`-shm`), whose header SQLite documents: the last frame at byte 16, the
 * frames copied back at byte 96.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { newCheckpointId } from "../../src/backend.js";
import { SqliteBackend } from "../../src/backends/sqlite/index.js";
import { createCheckpointer } from "../../src/checkpoint/checkpointer.js";
import { InvalidInputError } from "../../src/errors.js";
import { valueStep } from "../support/checkpoints.js";
import { runChild } from "../support/process.js";

const CHILD = join(dirname(fileURLToPath(import.meta.url)), "sqlite-wal-child.ts");
const dir = mkdtempSync(join(tmpdir(), "rewind-wal-"));
let files = 0;
const file = () => join(dir, `db-${files++}.sqlite`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function walIndex(path: string): { frames: number; copied: number } {
  const shm = readFileSync(`${path}-shm`);
  return { frames: shm.readUInt32LE(16), copied: shm.readUInt32LE(96) };
}

/** A checkpointer on a new file whose writer never checkpoints by itself, and 60 commits. */
async function written(options: ConstructorParameters<typeof SqliteBackend>[1]) {
  const path = file();
  const backend = new SqliteBackend(path, options);
  const checkpointer = createCheckpointer(backend);
  await checkpointer.ready();
  backend.client.db.pragma("wal_autocheckpoint = 0");
  let parentId: string | undefined;
  for (let n = 0; n < 60; n++) {
    const id = newCheckpointId(parentId);
    await checkpointer.put(valueStep("t", id, "x".repeat(200), parentId));
    parentId = id;
  }
  return { path, checkpointer };
}

/** Waits (at most a minute: liveness, not speed) until the worker copied the whole log back. */
async function copiedBack(path: string): Promise<{ frames: number; copied: number }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const index = walIndex(path);
    if (index.copied === index.frames || Date.now() > deadline) return index;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("SQLite WAL checkpoints on a worker thread", () => {
  it("at synchronous=normal the worker copies the log back while the writer goes on", async () => {
    const { path, checkpointer } = await written({ synchronous: "normal" });
    const index = await copiedBack(path);
    expect(index.frames).toBeGreaterThan(0);
    expect(index.copied).toBe(index.frames);
    // The worker is closed first, so the writer's connection is the file's last: it folds the
    // log back in and removes it.
    await checkpointer.close();
    expect(existsSync(`${path}-wal`)).toBe(false);
  });

  it("at synchronous=full it is off unless asked for", async () => {
    const off = await written({ synchronous: "full" });
    // Several of the worker's intervals: nothing may have been copied back.
    await new Promise((resolve) => setTimeout(resolve, 400));
    const index = walIndex(off.path);
    expect(index.frames).toBeGreaterThan(0);
    expect(index.copied).toBe(0);
    await off.checkpointer.close();

    const on = await written({ synchronous: "full", checkpointInBackground: true });
    const asked = await copiedBack(on.path);
    expect(asked.copied).toBe(asked.frames);
    await on.checkpointer.close();
  });

  it("is off when asked, at any setting", async () => {
    const { path, checkpointer } = await written({
      synchronous: "normal",
      checkpointInBackground: false,
    });
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(walIndex(path).copied).toBe(0);
    await checkpointer.close();
  });

  it("one worker serves every file of the process, and a new one starts after the last closed", async () => {
    const threads = () =>
      existsSync("/proc/self/task") ? readdirSync("/proc/self/task").length : 0;
    const first = await written({ synchronous: "normal" });
    // libuv starts its thread pool on first use: use it now, so it cannot start in between.
    await stat(dir);
    const before = threads();
    const more = [
      await written({ synchronous: "normal" }),
      await written({ synchronous: "normal" }),
      await written({ synchronous: "normal" }),
    ];
    // No thread more for three more files (a worker each would be an engine of ~10 MB each).
    expect(threads()).toBe(before);
    for (const { path } of [first, ...more]) {
      const index = await copiedBack(path);
      expect(index.copied).toBe(index.frames);
    }
    for (const { checkpointer } of [first, ...more]) await checkpointer.close();
    // The worker ended with its last file; the next file gets a new one.
    const next = await written({ synchronous: "normal" });
    const index = await copiedBack(next.path);
    expect(index.frames).toBeGreaterThan(0);
    expect(index.copied).toBe(index.frames);
    await next.checkpointer.close();
  });

  it("a process ends whether it closes the storage or not, with every commit kept", async () => {
    for (const ending of ["close", "leave"]) {
      const path = file();
      const run = await runChild(CHILD, path, "40", ending);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout.trim())).toEqual({ wrote: 40, ending });
      const backend = new SqliteBackend(path);
      const checkpointer = createCheckpointer(backend);
      const listed = [];
      for await (const t of checkpointer.list({ threadId: "child" })) listed.push(t);
      expect(listed).toHaveLength(40);
      await checkpointer.close();
    }
  });

  it("refuses a setting that is not true or false", () => {
    expect(
      () => new SqliteBackend(file(), { checkpointInBackground: "yes" as unknown as boolean }),
    ).toThrow(InvalidInputError);
  });
});
