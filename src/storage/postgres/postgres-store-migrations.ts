/**
 * Schema of the PostgreSQL store as an ordered list of migrations (the index is the version),
 * applied by the one PostgreSQL runner in one transaction under an advisory lock per schema, so
 * processes starting together migrate once, and recorded in `rewind_store_migrations`. The tables have names of their own,
 * so the store can share a database, schema and pool with the checkpointer.
 */
import type { PgPoolLike } from "./pg-types.js";
import { PostgresClient, type PostgresMigrationSpec } from "./postgres-client.js";

/**
 * Migrations, oldest first, given the quoted schema name. `path` is the namespace encoded by
 * `encodeNamespace` and sorted by code point (COLLATE "C"), so prefix search is a range scan of
 * the primary key; `value` is the exact tagged-JSON text returned to callers, `doc` the same JSON
 * as jsonb for filters (GIN-indexed); times are epoch milliseconds.
 */
export function postgresStoreMigrations(schema: string): readonly string[] {
  const t = `${schema}.rewind_store_items`;
  return [
    `CREATE TABLE ${t} (
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
     CREATE INDEX rewind_store_items_doc ON ${t} USING gin (doc jsonb_path_ops);
     CREATE INDEX rewind_store_items_expiry ON ${t} (expires_at) WHERE expires_at IS NOT NULL;`,
    // Semantic search: the item's vector as float32 little-endian bytes.
    `ALTER TABLE ${t} ADD COLUMN embedding bytea;`,
  ];
}

/** The store table's migrations, their lock and the table recording them. */
export const POSTGRES_STORE_SCHEMA: PostgresMigrationSpec = {
  table: "rewind_store_migrations",
  lockKey: (schema) => `rewind_store:${schema}`,
  migrations: postgresStoreMigrations,
  label: "store",
};

/** Brings the store schema in `schema` to the latest version through `pool` (left open). */
export async function migratePostgresStore(pool: PgPoolLike, schema: string): Promise<void> {
  await new PostgresClient(pool, {}, "PostgreSQL migration").migrate(schema, POSTGRES_STORE_SCHEMA);
}
