/**
 * Schema of the SQLite store, as an ordered list of migrations: the index is the version. The
 * one SQLite runner applies them in one IMMEDIATE transaction (which serializes concurrent
 * processes on the file); they are recorded in `rewind_store_migrations`, and never touch the
 * checkpointer's tables, so both can share one database file.
 */
import { runSqliteMigrations, type SqliteMigrationSpec } from "./sqlite-client.js";
import { SQLITE_LARGE_VALUES_TABLE } from "./sqlite-migrations.js";
import type { SqliteDatabaseLike } from "./sqlite-types.js";

/** The items table. */
export const SQLITE_STORE_TABLE = "rewind_store_items";

/**
 * Migrations, oldest first. `path` is the namespace encoded by `encodeNamespace` (label by label,
 * escaped, terminated), so prefix search is a range scan of the primary key; the tenant is a
 * column of its own; times are epoch milliseconds.
 */
export const SQLITE_STORE_MIGRATIONS: readonly string[] = [
  `CREATE TABLE ${SQLITE_STORE_TABLE} (
     tenant TEXT NOT NULL,
     path TEXT NOT NULL,
     key TEXT NOT NULL,
     value TEXT NOT NULL,
     ttl_ms INTEGER,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     expires_at INTEGER,
     PRIMARY KEY (tenant, path, key)
   );
   CREATE INDEX ${SQLITE_STORE_TABLE}_expiry ON ${SQLITE_STORE_TABLE} (expires_at)
     WHERE expires_at IS NOT NULL;`,
  // Semantic search: the item's vector as float32 little-endian bytes.
  `ALTER TABLE ${SQLITE_STORE_TABLE} ADD COLUMN embedding BLOB;`,
  // Large values: the hashes an item's value references (space-separated), and the file's table
  // of large values, which the checkpoint tables share.
  `ALTER TABLE ${SQLITE_STORE_TABLE} ADD COLUMN refs TEXT;
   ${SQLITE_LARGE_VALUES_TABLE}`,
];

/** The store table's migrations and the table recording them. */
export const SQLITE_STORE_SCHEMA: SqliteMigrationSpec = {
  table: "rewind_store_migrations",
  migrations: SQLITE_STORE_MIGRATIONS,
  label: "store",
};

/**
 * Brings the store table to the latest version and returns how many migrations ran; a no-op when
 * it is there. Throws `MigrationError` (and changes nothing) when a migration fails or the
 * database was written by a newer Rewind.
 */
export function migrateSqliteStore(db: SqliteDatabaseLike): number {
  return runSqliteMigrations(db, SQLITE_STORE_SCHEMA);
}
