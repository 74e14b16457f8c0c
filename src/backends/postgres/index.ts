/**
 * `rewind/postgres`: the PostgreSQL backend (`pg`, an optional peer dependency) for many
 * processes on many machines.
 *
 * @example
 * import { createPostgresCheckpointer } from "rewind/postgres";
 * const checkpointer = createPostgresCheckpointer(process.env.DATABASE_URL!, { schema: "agents" });
 */
import { Checkpointer, type CheckpointerOptions } from "../../checkpoint/checkpointer.js";
import { PostgresBackend, type PostgresBackendOptions } from "./postgres-backend.js";
import type { PgPoolLike } from "./postgres-types.js";

export { PostgresBackend, type PostgresBackendOptions } from "./postgres-backend.js";
export {
  POSTGRES_DEFAULTS,
  PostgresClient,
  type PostgresClientOptions,
} from "./postgres-client.js";
export {
  POSTGRES_FUNCTIONS,
  POSTGRES_RETIRED_FUNCTIONS,
  type PostgresFunction,
} from "./postgres-functions.js";
export { migratePostgres, POSTGRES_MIGRATIONS } from "./postgres-migrations.js";
export {
  createPostgresStore,
  PostgresStoreBackend,
  type PostgresStoreBackendOptions,
} from "./postgres-store.js";
export { migratePostgresStore, POSTGRES_STORE_MIGRATIONS } from "./postgres-store-migrations.js";
export type { PgClientLike, PgPoolLike, PgQueryConfig, PgQueryResult } from "./postgres-types.js";

/**
 * A {@link Checkpointer} on PostgreSQL: pass a connection string (Rewind opens a pool and closes
 * it on `close()`) or your own `pg.Pool` (left open, shareable with the store). The schema and
 * tables are created on first use. A pool Rewind opens has connect and query timeouts, survives
 * dropped connections and lets the process exit while idle; your own pool keeps its settings,
 * and handling its `'error'` event stays yours (see {@link PostgresClientOptions}).
 */
export function createPostgresCheckpointer(
  database: string | PgPoolLike,
  options: PostgresBackendOptions & CheckpointerOptions = {},
): Checkpointer {
  return new Checkpointer(new PostgresBackend(database, options), options);
}
