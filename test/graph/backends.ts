/**
 * The storage backends the runtime tests run on: every capability must work on each.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll } from "vitest";
import { type Checkpointer, createCheckpointer, MemoryBackend } from "../../src/index.js";
import { createPostgresCheckpointer } from "../../src/storage/postgres/index.js";
import { createSqliteCheckpointer } from "../../src/storage/sqlite/index.js";
import { freshSchema, PG_URL } from "../support/postgres.js";

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

let pool: pg.Pool | undefined;
const postgres: TestBackend = {
  name: "postgres",
  // One pool for the file, one schema per checkpointer: like an app sharing its pool.
  create: () => {
    if (!pool) {
      const opened = new pg.Pool({ connectionString: PG_URL, max: 6 });
      pool = opened;
      cleanups.push(async () => {
        pool = undefined;
        await opened.end();
      });
    }
    return createPostgresCheckpointer(pool, { schema: freshSchema("rewind_graph") });
  },
};

export const BACKENDS: readonly TestBackend[] = [memory, sqlite, postgres];
