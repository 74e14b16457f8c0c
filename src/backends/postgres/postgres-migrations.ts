/**
 * PostgreSQL schema of the checkpoint backend: an ordered list (the index is the version),
 * applied on first use by the one PostgreSQL runner (`PostgresClient.migrate`: one transaction
 * under an advisory lock) and recorded in `rewind_migrations`, so processes starting together
 * migrate exactly once. The numbered migrations change tables, indexes and data only; the
 * stored functions have one current definition each (`postgres-functions.ts`), applied by the
 * same runner after them, which also drops the retired ones. A migration drops a function only
 * when its parameters or result change, which `CREATE OR REPLACE` cannot do.
 */
import { PostgresClient } from "./postgres-client.js";
import { POSTGRES_FUNCTIONS, POSTGRES_RETIRED_FUNCTIONS } from "./postgres-functions.js";
import { postgresLargeValuesTable } from "./postgres-large-values.js";
import type { PostgresMigrationSpec } from "./postgres-migrator.js";
import type { PgPoolLike } from "./postgres-types.js";

/** `s` is the quoted schema name. */
export const POSTGRES_MIGRATIONS: readonly ((s: string) => string)[] = [
  (s) => `
  CREATE TABLE ${s}.rewind_threads (
    thread_id TEXT PRIMARY KEY,
    deleted BOOLEAN NOT NULL DEFAULT false,
    lease_owner TEXT,
    lease_token BIGINT NOT NULL DEFAULT 0,
    lease_expires_at BIGINT
  );
  CREATE TABLE ${s}.rewind_heads (
    thread_id TEXT NOT NULL,
    ns TEXT NOT NULL,
    head_id TEXT NOT NULL,
    PRIMARY KEY (thread_id, ns)
  );
  CREATE TABLE ${s}.rewind_checkpoints (
    thread_id TEXT NOT NULL,
    ns TEXT NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    parent_id TEXT,
    created_at TEXT NOT NULL,
    versions JSONB NOT NULL,
    metadata JSONB NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (thread_id, ns, id)
  );
  CREATE INDEX rewind_checkpoints_id ON ${s}.rewind_checkpoints (id COLLATE "C");
  CREATE INDEX rewind_checkpoints_metadata ON ${s}.rewind_checkpoints USING GIN (metadata jsonb_path_ops);
  CREATE TABLE ${s}.rewind_blobs (
    thread_id TEXT NOT NULL,
    ns TEXT NOT NULL,
    channel TEXT NOT NULL,
    version TEXT NOT NULL,
    kind SMALLINT NOT NULL,
    prev_version TEXT,
    depth INTEGER NOT NULL,
    tag TEXT,
    value BYTEA,
    PRIMARY KEY (thread_id, ns, channel, version)
  );
  CREATE TABLE ${s}.rewind_writes (
    thread_id TEXT NOT NULL,
    ns TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    task_id TEXT COLLATE "C" NOT NULL,
    idx INTEGER NOT NULL,
    task_path TEXT COLLATE "C" NOT NULL,
    channel TEXT NOT NULL,
    tag TEXT NOT NULL,
    value BYTEA NOT NULL,
    PRIMARY KEY (thread_id, ns, checkpoint_id, task_id, idx)
  );`,
  // 2: exact metadata beside its jsonb copy (jsonb refuses \u0000 and lone surrogates); listing
  // indexes for every thread and for one thread across namespaces.
  (s) => `
  ALTER TABLE ${s}.rewind_checkpoints ADD COLUMN metadata_text TEXT;
  DROP INDEX ${s}.rewind_checkpoints_id;
  CREATE INDEX rewind_checkpoints_all ON ${s}.rewind_checkpoints (id, thread_id, ns);
  CREATE INDEX rewind_checkpoints_thread ON ${s}.rewind_checkpoints (thread_id, id, ns);
  -- Its definition gained a parameter (metadata_text): the old one goes, the new one is defined
  -- with the other functions (postgres-functions.ts). Only a schema made at version 1 has it.
  DROP FUNCTION IF EXISTS ${s}.rewind_put_checkpoint(TEXT, TEXT, TEXT, TEXT, TEXT, JSONB, JSONB,
    TEXT, BOOLEAN, TEXT, BIGINT, TEXT[], TEXT[], SMALLINT[], TEXT[], INTEGER[], TEXT[], BYTEA[]);`,
  // 3: the lease records where its holder's work starts (the root head when it was granted, or
  // the start of the run a rollback preempted) and which process holds it (host, pid, process
  // start), so a rollback never discards a finished run and a killed holder is taken over at
  // once.
  (s) => `
  ALTER TABLE ${s}.rewind_threads ADD COLUMN lease_started_from TEXT,
    ADD COLUMN lease_host TEXT, ADD COLUMN lease_pid INTEGER, ADD COLUMN lease_process_start TEXT;
  -- The grant gained parameters and results; the new definition replaces the old one.
  DROP FUNCTION IF EXISTS ${s}.rewind_acquire_lease(TEXT, TEXT, BIGINT, BOOLEAN);`,
  // 4: damage. Checkpoints a repair moves off the head are kept, as stored, in
  // `rewind_quarantine`, which a thread's delete clears too.
  (s) => `
  CREATE TABLE ${s}.rewind_quarantine (
    thread_id TEXT NOT NULL,
    ns TEXT NOT NULL,
    id TEXT COLLATE "C" NOT NULL,
    parent_id TEXT,
    created_at TEXT,
    versions TEXT,
    metadata TEXT,
    body TEXT,
    reason TEXT NOT NULL,
    quarantined_at BIGINT NOT NULL,
    PRIMARY KEY (thread_id, ns, id)
  );`,
  // 5: the effect ledger (see postgres-effects.ts); its gate, intent and outcome functions are
  // defined with the others. (Version 4's copy of the split delete is retired with them.)
  (s) => `
  CREATE TABLE ${s}.rewind_effects (
    thread_id TEXT NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    name TEXT NOT NULL,
    args TEXT NOT NULL,
    status TEXT NOT NULL,
    outcome TEXT,
    ns TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    node TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    token BIGINT NOT NULL,
    started_at TEXT COLLATE "C" NOT NULL,
    finished_at TEXT,
    PRIMARY KEY (thread_id, key)
  );`,
  // 6: retention. Pinned checkpoints: no prune deletes them, a thread's delete clears them (the
  // prune batch's function is defined with the others; see postgres-retention.ts).
  (s) => `
  CREATE TABLE ${s}.rewind_pins (
    thread_id TEXT NOT NULL,
    checkpoint_id TEXT NOT NULL,
    pinned_at BIGINT NOT NULL,
    PRIMARY KEY (thread_id, checkpoint_id)
  );`,
  // 7: a thread moved to an archive keeps only its row, marked (1 archived, 2 restoring) with the
  // archiver's stub (see postgres-archive.ts). While archived, a trigger refuses every checkpoint
  // and write of the thread (SQLSTATE RW001, the thread id in DETAIL), whichever function or
  // process writes; a delete clears the mark with the rows.
  (s) => `
  ALTER TABLE ${s}.rewind_threads ADD COLUMN archive_state SMALLINT, ADD COLUMN archive_stub TEXT;
  -- A placeholder the triggers can name; its definition is with the others (postgres-functions.ts),
  -- applied right after in the same transaction.
  CREATE FUNCTION ${s}.rewind_refuse_archived() RETURNS trigger LANGUAGE plpgsql AS $fn$
  BEGIN RETURN NEW; END $fn$;
  CREATE TRIGGER rewind_checkpoints_archived BEFORE INSERT OR UPDATE ON ${s}.rewind_checkpoints
    FOR EACH ROW EXECUTE FUNCTION ${s}.rewind_refuse_archived();
  CREATE TRIGGER rewind_writes_archived BEFORE INSERT OR UPDATE ON ${s}.rewind_writes
    FOR EACH ROW EXECUTE FUNCTION ${s}.rewind_refuse_archived();`,
  // 8: reserved (kept free for a schema change made alongside 9).
  () => "SELECT 1;",
  // 9: large values, stored once per (tenant, content hash) and referenced from value rows by
  // tag (see postgres-large-values.ts); TOAST compresses them. `touched_at` (epoch ms) is the
  // last write or touch, which garbage collection's grace period is measured from.
  // The store's migrations create the same table when they run first (one table per schema).
  postgresLargeValuesTable,
];

/** The checkpoint tables' migrations and functions, their lock and the tables recording them. */
export const POSTGRES_CHECKPOINT_SCHEMA: PostgresMigrationSpec = {
  table: "rewind_migrations",
  lockKey: (schema) => `rewind:checkpoints:${schema}`,
  migrations: (quoted) => POSTGRES_MIGRATIONS.map((migration) => migration(quoted)),
  functions: {
    table: "rewind_functions",
    definitions: POSTGRES_FUNCTIONS,
    retired: POSTGRES_RETIRED_FUNCTIONS,
  },
  label: "checkpoint",
};

/**
 * Applies the missing checkpoint migrations to `schema` through `pool` (left open), then any
 * stored function whose definition changed; returns how many migrations ran. Safe to call from
 * many processes at once.
 */
export async function migratePostgres(pool: PgPoolLike, schema: string): Promise<number> {
  return new PostgresClient(pool, {}, "PostgreSQL migration").migrate(
    schema,
    POSTGRES_CHECKPOINT_SCHEMA,
  );
}
