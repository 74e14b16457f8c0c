/**
 * The SQLite backends, as every test area uses them (see backends.ts): a file per backend in a
 * temp directory of its own, removed by the harness's `destroy` or when the test file ends.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { SqliteBackend } from "../../src/backends/sqlite/index.js";
import { SqliteStoreBackend } from "../../src/backends/sqlite/sqlite-store.js";
import { createCheckpointer } from "../../src/index.js";
import { createStore } from "../../src/store/store.js";
import { corruptSqliteCheckpoint } from "../storage/sqlite-helpers.js";
import type { TestBackend } from "./backends.js";
import { atFileEnd, closedAtFileEnd } from "./file-cleanup.js";

const root = mkdtempSync(join(tmpdir(), "rewind-test-sqlite-"));
atFileEnd(() => rmSync(root, { recursive: true, force: true }));
let files = 0;

/** Temp files of the backends the harnesses created, by backend, until they are destroyed. */
const fileOf = new Map<object, string>();

function freshFile(): string {
  return join(root, `${files++}.sqlite`);
}

/** A backend on a new file, remembered until {@link removeFile} removes it. */
function onFreshFile<B extends object>(open: (file: string) => B): B {
  const file = freshFile();
  const backend = open(file);
  fileOf.set(backend, file);
  return backend;
}

/** Removes a destroyed backend's file with its WAL and shared-memory companions. */
function removeFile(backend: object): void {
  const file = fileOf.get(backend);
  fileOf.delete(backend);
  if (!file) return;
  for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(file + suffix, { force: true });
}

export const sqliteEngine: TestBackend = {
  name: "sqlite",
  checkpoints: {
    create: () => onFreshFile((file) => new SqliteBackend(file)),
    destroy: removeFile,
    corrupt: (backend, key) => corruptSqliteCheckpoint(fileOf.get(backend)!, key),
  },
  stores: {
    create: () => onFreshFile((file) => new SqliteStoreBackend(file)),
    destroy: removeFile,
  },
  checkpointer: (options) =>
    closedAtFileEnd(createCheckpointer(new SqliteBackend(freshFile()), options)),
  saverStorage() {
    const file = freshFile();
    return {
      backend: new SqliteBackend(file),
      reopen: () => new SqliteBackend(file),
      storedValueBytes: (threadId, channel) => sqliteValueBytes(file, threadId, channel),
    };
  },
  store: (options) => closedAtFileEnd(createStore(new SqliteStoreBackend(freshFile()), options)),
};

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
