/**
 * The Rewind backends the LangGraph adapter tests run on. Each `create()` gives a saver on fresh,
 * unshared storage; `reopen()` a second saver on the same storage (a process restart).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll } from "vitest";
import { RewindSaver, type RewindSaverOptions } from "../../src/langgraph/index.js";
import { MemoryBackend } from "../../src/storage/memory/index.js";
import { PostgresBackend } from "../../src/storage/postgres/index.js";
import { SqliteBackend } from "../../src/storage/sqlite/index.js";
import type { CheckpointBackend } from "../../src/storage/types.js";
import { freshSchema, PG_URL } from "../support/postgres.js";

export interface LangGraphTestBackend {
  readonly name: string;
  /** A saver on new storage, and a way to open another saver on that same storage. */
  create(options?: RewindSaverOptions): {
    saver: RewindSaver;
    backend: CheckpointBackend;
    reopen(options?: RewindSaverOptions): RewindSaver;
    /**
     * Bytes of the values stored for one channel of a thread, read from the engine's own
     * tables, where reads do not show every stored value as it is (SQLite merges append runs).
     */
    storedValueBytes?(threadId: string, channel: string): number;
  };
}

const dir = mkdtempSync(join(tmpdir(), "rewind-lg-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const memory: LangGraphTestBackend = {
  name: "memory",
  create(options) {
    const backend = new MemoryBackend();
    // Memory does not survive a restart; "reopen" shares the live backend instead.
    return {
      saver: new RewindSaver(backend, options),
      backend,
      reopen: (again) => new RewindSaver(backend, again),
    };
  },
};

const sqlite: LangGraphTestBackend = {
  name: "sqlite",
  create(options) {
    const file = join(dir, `${files++}.sqlite`);
    const backend = new SqliteBackend(file);
    return {
      saver: new RewindSaver(backend, options),
      backend,
      reopen: (again) => new RewindSaver(new SqliteBackend(file), again),
      storedValueBytes: (threadId, channel) => sqliteValueBytes(file, threadId, channel),
    };
  },
};

let pool: pg.Pool | undefined;
afterAll(async () => {
  await pool?.end();
  pool = undefined;
});

/** A schema per saver on the test server (dropped when the file ends); one shared pool. */
const postgres: LangGraphTestBackend = {
  name: "postgres",
  create(options) {
    pool ??= new pg.Pool({ connectionString: PG_URL, max: 6 });
    const schema = freshSchema("rewind_lg");
    const backend = new PostgresBackend(pool, { schema });
    return {
      saver: new RewindSaver(backend, options),
      backend,
      reopen: (again) => new RewindSaver(new PostgresBackend(pool!, { schema }), again),
    };
  },
};

export const LG_BACKENDS: readonly LangGraphTestBackend[] = [memory, sqlite, postgres];

/** Bytes of one channel's values in an SQLite file: its blob rows, out-of-line values, inline values. */
function sqliteValueBytes(file: string, threadId: string, channel: string): number {
  const db = new Database(file, { readonly: true });
  try {
    const tid = (
      db.prepare("SELECT tid FROM rewind_threads WHERE thread_id = ?").get(threadId) as {
        tid: number;
      }
    ).tid;
    const rows = db
      .prepare(
        `SELECT coalesce(sum(coalesce(length(b.value), 0) + coalesce(length(v.bytes), 0)), 0) AS n
         FROM rewind_blobs AS b LEFT JOIN rewind_values AS v ON v.id = b.value_ref
         WHERE b.tid = ? AND b.channel = ?`,
      )
      .get(tid, channel) as { n: number };
    // Inline values share their row with other channels; counting the whole column over-counts.
    const inline = db
      .prepare("SELECT coalesce(sum(length(vals)), 0) AS n FROM rewind_checkpoints WHERE tid = ?")
      .get(tid) as { n: number };
    return rows.n + inline.n;
  } finally {
    db.close();
  }
}
