/**
 * Schema of the SQLite backend as an ordered list of migrations: entry `i` takes the schema from
 * version `i` to version `i + 1`. They run automatically on first use through the one SQLite
 * runner (`runSqliteMigrations`: all pending ones in one `BEGIN IMMEDIATE` transaction, so two
 * processes starting together migrate once), and each applied version is recorded in
 * `rewind_migrations`.
 */
import { runSqliteMigrations, type SqliteMigrationSpec } from "./sqlite-client.js";
import type { SqliteDatabaseLike } from "./sqlite-types.js";

/**
 * The large values of a file (see sqlite-large-values.ts), shared by the checkpoint tables and
 * the store: created by whichever schema migrates first.
 */
export const SQLITE_LARGE_VALUES_TABLE = `
  CREATE TABLE IF NOT EXISTS rewind_large_values (
    id INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    hash BLOB NOT NULL,
    touched_at INTEGER NOT NULL,
    codec INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    UNIQUE (tenant, hash)
  );
`;

/**
 * Why the schema looks like this (the target is a small file: about 2x the raw bytes of a long
 * conversation):
 * - threads are interned to an integer `tid`, so no other row repeats the thread id text; the
 *   thread row also holds the tombstone and the lease (owner, fencing token, expiry in ms);
 * - checkpoints, blobs and writes are WITHOUT ROWID tables keyed by exactly what they are looked
 *   up by, so the primary key is the only index. Values that would spill to overflow pages there
 *   go to `rewind_values` (a rowid table, which packs large rows tightly), deflated when that
 *   pays (as PostgreSQL's TOAST compresses large values), and are referenced by `value_ref`;
 * - ids compared only for equality (parent ids, versions, a write's checkpoint id) are stored as
 *   16 bytes when they are canonical UUIDs, else as text (columns without a type, so SQLite
 *   converts neither); `created_at` holds epoch milliseconds when the ISO text round-trips
 *   exactly, else the text;
 *   `versions` stores `null` for a channel version equal to the checkpoint's own id;
 * - values are BLOBs with their serializer tag beside them, never cast to text;
 * - (version 2) small full values whose version is the checkpoint's own id are kept in the
 *   checkpoint row's `vals` column, so a super-step that changes a few small channels writes one
 *   row to one page; append deltas and larger values keep rows of their own.
 * Listing across all threads has no index of its own: it is rare, and an index on `id` alone
 * would cost every checkpoint another copy of its id.
 */
export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE rewind_threads (
    tid INTEGER PRIMARY KEY,
    thread_id TEXT NOT NULL UNIQUE,
    deleted INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_token INTEGER NOT NULL DEFAULT 0,
    lease_expires_at INTEGER
  );
  CREATE TABLE rewind_checkpoints (
    tid INTEGER NOT NULL,
    ns TEXT NOT NULL,
    id TEXT NOT NULL,
    parent_id,
    created_at,
    versions TEXT NOT NULL,
    metadata TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tid, ns, id)
  ) WITHOUT ROWID;
  CREATE TABLE rewind_blobs (
    tid INTEGER NOT NULL,
    ns TEXT NOT NULL,
    channel TEXT NOT NULL,
    version NOT NULL,
    kind INTEGER NOT NULL,
    prev_version,
    depth INTEGER NOT NULL,
    tag TEXT,
    value BLOB,
    value_ref INTEGER,
    PRIMARY KEY (tid, ns, channel, version)
  ) WITHOUT ROWID;
  CREATE TABLE rewind_writes (
    tid INTEGER NOT NULL,
    ns TEXT NOT NULL,
    checkpoint_id NOT NULL,
    task_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    task_path TEXT NOT NULL,
    channel TEXT NOT NULL,
    tag TEXT NOT NULL,
    value BLOB,
    value_ref INTEGER,
    PRIMARY KEY (tid, ns, checkpoint_id, task_id, idx)
  ) WITHOUT ROWID;
  CREATE TABLE rewind_values (
    id INTEGER PRIMARY KEY,
    codec INTEGER NOT NULL,
    bytes BLOB NOT NULL
  );
  `,
  // 2: small values whose version is their checkpoint's own id live in that checkpoint's row
  // (see sqlite-inline.ts), so a typical super-step writes one row to one page.
  `
  ALTER TABLE rewind_checkpoints ADD COLUMN vals BLOB;
  `,
  // 3: the lease records where its holder's work starts (the root head when it was granted, or
  // the start of the run a rollback preempted) and which process holds it (host, pid, process
  // start), so a rollback never discards a finished run and a killed holder is taken over at once.
  `
  ALTER TABLE rewind_threads ADD COLUMN lease_started_from TEXT;
  ALTER TABLE rewind_threads ADD COLUMN lease_host TEXT;
  ALTER TABLE rewind_threads ADD COLUMN lease_pid INTEGER;
  ALTER TABLE rewind_threads ADD COLUMN lease_process_start TEXT;
  `,
  // 4: checkpoint rows a repair moved off a thread's head because they were damaged, kept as
  // they were stored (see sqlite-quarantine.ts); a thread's delete clears them too.
  `
  CREATE TABLE rewind_quarantine (
    tid INTEGER NOT NULL,
    ns TEXT NOT NULL,
    id TEXT NOT NULL,
    parent_id,
    created_at,
    versions,
    metadata,
    body,
    vals BLOB,
    reason TEXT NOT NULL,
    quarantined_at INTEGER NOT NULL,
    PRIMARY KEY (tid, ns, id)
  ) WITHOUT ROWID;
  `,
  // 5: the effect ledger (see sqlite-effects.ts): one row per side effect a thread's tasks ran,
  // keyed by the core's effect key. A rowid table, as arguments and outcomes may be large; a
  // thread's delete clears it too.
  `
  CREATE TABLE rewind_effects (
    tid INTEGER NOT NULL,
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    args TEXT NOT NULL,
    status TEXT NOT NULL,
    outcome TEXT,
    ns TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    node TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    token INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    PRIMARY KEY (tid, key)
  );
  `,
  // 6: pinned checkpoints, which no prune deletes (see sqlite-retention.ts); a thread's delete
  // clears them too.
  `
  CREATE TABLE rewind_pins (
    tid INTEGER NOT NULL,
    checkpoint_id TEXT NOT NULL,
    pinned_at INTEGER NOT NULL,
    PRIMARY KEY (tid, checkpoint_id)
  ) WITHOUT ROWID;
  `,
  // 7: a thread moved to an archive keeps only its row, marked (1 archived: writes refused;
  // 2 restoring) with the archiver's stub (where the copy is). See sqlite-archive.ts.
  `
  ALTER TABLE rewind_threads ADD COLUMN archive_state INTEGER;
  ALTER TABLE rewind_threads ADD COLUMN archive_stub TEXT;
  `,
  // 8: reserved (kept free for a schema change made alongside 9).
  `
  SELECT 1;
  `,
  // 9: large values, stored once per (tenant, content hash) and referenced from value rows by
  // tag (see sqlite-large-values.ts). A rowid table, which packs large rows tightly; deflated
  // when that pays, like rewind_values. `touched_at` (epoch ms) is the last write or touch,
  // which garbage collection's grace period is measured from.
  // The store's migrations create the same table when they run first (one table per file).
  SQLITE_LARGE_VALUES_TABLE,
];

/** The schema version this code writes. */
export const SQLITE_SCHEMA_VERSION = SQLITE_MIGRATIONS.length;

/** The checkpoint tables' migrations and the table recording them. */
export const SQLITE_CHECKPOINT_SCHEMA: SqliteMigrationSpec = {
  table: "rewind_migrations",
  migrations: SQLITE_MIGRATIONS,
  label: "checkpoint",
};

/**
 * Brings the database to {@link SQLITE_SCHEMA_VERSION} and returns how many migrations ran; a
 * no-op when it is there. Throws `MigrationError` (and changes nothing) when a migration
 * fails or the database was written by a newer Rewind.
 */
export function migrateSqlite(
  db: SqliteDatabaseLike,
  migrations: readonly string[] = SQLITE_MIGRATIONS,
): number {
  return runSqliteMigrations(db, { ...SQLITE_CHECKPOINT_SCHEMA, migrations });
}
