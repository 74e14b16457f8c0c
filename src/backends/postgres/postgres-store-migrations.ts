/**
 * Schema of the PostgreSQL store as an ordered list of migrations (the index is the version),
 * applied by the one PostgreSQL runner in one transaction under an advisory lock per schema, so
 * processes starting together migrate once, and recorded in `rewind_store_migrations`. The tables have names of their own,
 * so the store can share a database, schema and pool with the checkpointer.
 */
import { PostgresClient } from "./postgres-client.js";
import { postgresLargeValuesTable } from "./postgres-large-values.js";
import type { PostgresMigrationSpec } from "./postgres-migrator.js";
import type { PgPoolLike } from "./postgres-types.js";

/**
 * Migrations, oldest first; each takes the quoted schema name `s`. `path` is the namespace
 * encoded by `encodeNamespace` and sorted by code point (COLLATE "C"), so prefix search is a range
 * scan of the primary key; `value` is the exact tagged-JSON text returned to callers, `doc` the same JSON
 * as jsonb for filters (GIN-indexed); times are epoch milliseconds.
 */
export const POSTGRES_STORE_MIGRATIONS: readonly ((s: string) => string)[] = [
  (s) => `CREATE TABLE ${s}.rewind_store_items (
       tenant text COLLATE "C" NOT NULL,
       path text COLLATE "C" NOT NULL,
       key text COLLATE "C" NOT NULL,
       value text NOT NULL,
       doc jsonb NOT NULL,
       ttl_ms bigint,
       created_at bigint NOT NULL,
       updated_at bigint NOT NULL,
       expires_at bigint,
       PRIMARY KEY (tenant, path, key)
     );
     CREATE INDEX rewind_store_items_doc ON ${s}.rewind_store_items USING gin (doc jsonb_path_ops);
     CREATE INDEX rewind_store_items_expiry ON ${s}.rewind_store_items (expires_at) WHERE expires_at IS NOT NULL;`,
  // Semantic search: the item's vector as float32 little-endian bytes.
  (s) => `ALTER TABLE ${s}.rewind_store_items ADD COLUMN embedding bytea;`,
  // Large values: the hashes an item's value references (space-separated), and the schema's
  // table of large values, which the checkpoint tables share.
  (s) => `ALTER TABLE ${s}.rewind_store_items ADD COLUMN refs text;
    ${postgresLargeValuesTable(s)}`,
];

/** The store table's migrations, their lock and the table recording them. */
export const POSTGRES_STORE_SCHEMA: PostgresMigrationSpec = {
  table: "rewind_store_migrations",
  lockKey: (schema) => `rewind_store:${schema}`,
  migrations: (quoted) => POSTGRES_STORE_MIGRATIONS.map((migration) => migration(quoted)),
  label: "store",
};

/**
 * Applies the missing store migrations to `schema` through `pool` (left open); returns how many
 * ran. Safe to call from many processes at once.
 */
export async function migratePostgresStore(pool: PgPoolLike, schema: string): Promise<number> {
  return new PostgresClient(pool, {}, "PostgreSQL migration").migrate(
    schema,
    POSTGRES_STORE_SCHEMA,
  );
}
