/**
 * Schema of the SQLite store, as an ordered list of migrations: the index is the version. They
 * run in one IMMEDIATE transaction (which serializes concurrent processes on the file), are
 * recorded in `rewind_store_migrations`, and never touch the checkpointer's tables, so both can
 * share one database file.
 */
import { MigrationError } from "../../errors.js";
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
];

/** Brings the schema to the latest version; a no-op when it is there already. */
export function migrateSqliteStore(db: SqliteDatabaseLike): void {
  const current = () =>
    Number(
      (
        db.prepare("SELECT COALESCE(MAX(version), 0) AS v FROM rewind_store_migrations").get() as {
          v: number | bigint;
        }
      ).v,
    );
  db.exec(
    "CREATE TABLE IF NOT EXISTS rewind_store_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
  );
  if (current() === SQLITE_STORE_MIGRATIONS.length) return;
  db.exec("BEGIN IMMEDIATE");
  try {
    // Read again under the write lock: another process may have migrated meanwhile.
    const from = current();
    if (from > SQLITE_STORE_MIGRATIONS.length) {
      throw new MigrationError(
        `the store schema is at version ${from}, newer than this version of Rewind knows (${SQLITE_STORE_MIGRATIONS.length})`,
      );
    }
    const record = db.prepare(
      "INSERT INTO rewind_store_migrations (version, applied_at) VALUES (?, ?)",
    );
    for (let version = from + 1; version <= SQLITE_STORE_MIGRATIONS.length; version++) {
      db.exec(SQLITE_STORE_MIGRATIONS[version - 1]!);
      record.run(version, Date.now());
    }
    db.exec("COMMIT");
  } catch (cause) {
    if (db.inTransaction) db.exec("ROLLBACK");
    if (cause instanceof MigrationError) throw cause;
    throw new MigrationError(`store migration failed: ${(cause as Error).message}`, { cause });
  }
}
