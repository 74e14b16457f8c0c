/**
 * Schema of the PostgreSQL store as an ordered list of migrations (the index is the version),
 * applied in one transaction under an advisory lock per schema, so processes starting together
 * migrate once, and recorded in `rewind_store_migrations`. The tables have names of their own,
 * so the store can share a database, schema and pool with the checkpointer.
 */
import { InvalidInputError, MigrationError } from "../../errors.js";
import { ensureSchema, type PgPoolLike, quoteSchema } from "./pg-types.js";

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

/** Brings the schema to the latest version; a no-op when it is there already. */
export async function migratePostgresStore(pool: PgPoolLike, schema: string): Promise<void> {
  const quoted = quoteIdentifier(schema);
  const migrations = postgresStoreMigrations(quoted);
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`rewind_store:${schema}`]);
    await ensureSchema(client, schema, quoted);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${quoted}.rewind_store_migrations (
         version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query(
      `SELECT COALESCE(MAX(version), 0) AS v FROM ${quoted}.rewind_store_migrations`,
    );
    const from = Number(rows[0]?.v ?? 0);
    if (from > migrations.length) {
      throw new MigrationError(
        `the store schema in "${schema}" is at version ${from}, newer than this version of Rewind knows (${migrations.length})`,
      );
    }
    for (let version = from + 1; version <= migrations.length; version++) {
      await client.query(migrations[version - 1]!);
      await client.query(`INSERT INTO ${quoted}.rewind_store_migrations (version) VALUES ($1)`, [
        version,
      ]);
    }
    await client.query("COMMIT");
  } catch (cause) {
    await client.query("ROLLBACK").catch(() => {
      broken = true;
    });
    if (cause instanceof MigrationError) throw cause;
    throw new MigrationError(`store migration failed: ${(cause as Error).message}`, { cause });
  } finally {
    client.release(broken);
  }
}

/** Quotes a schema name; a name that is not a plain identifier is an {@link InvalidInputError}. */
export function quoteIdentifier(name: string): string {
  return quoteSchema(name, (message) => new InvalidInputError(message));
}
