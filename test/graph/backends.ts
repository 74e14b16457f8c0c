/**
 * The storage backends the runtime tests run on: every capability must work on each.
 * PostgreSQL joins when a server (or the embedded fallback) is configured for the test run.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { type Checkpointer, createCheckpointer, MemoryBackend } from "../../src/index.js";
import { createSqliteCheckpointer } from "../../src/storage/sqlite/index.js";

export interface TestBackend {
  readonly name: string;
  /** A fresh, empty checkpointer; closed and removed after the file's tests. */
  create(): Checkpointer;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const memory: TestBackend = {
  name: "memory",
  create: () => createCheckpointer(new MemoryBackend()),
};

const sqlite: TestBackend = {
  name: "sqlite",
  create: () => {
    const dir = mkdtempSync(join(tmpdir(), "rewind-graph-"));
    const checkpointer = createSqliteCheckpointer(join(dir, "graph.sqlite"));
    cleanups.push(async () => {
      await checkpointer.close();
      rmSync(dir, { recursive: true, force: true });
    });
    return checkpointer;
  },
};

export const BACKENDS: readonly TestBackend[] = [memory, sqlite];
