/**
 * `rewind/sqlite`: the SQLite backend (better-sqlite3 12, an optional peer dependency).
 *
 * @example
 * import { createSqliteCheckpointer } from "rewind/sqlite";
 * const checkpointer = createSqliteCheckpointer("agent.sqlite");
 * const app = graph.compile({ checkpointer });
 */
import { Checkpointer, type CheckpointerOptions } from "../checkpointer.js";
import { SqliteBackend } from "./sqlite-backend.js";
import type { SqliteBackendOptions, SqliteDatabaseLike } from "./sqlite-types.js";

export { SqliteBackend } from "./sqlite-backend.js";
export {
  SQLITE_DEFAULTS,
  SqliteClient,
  type SqliteClientOptions,
  type SqliteSynchronous,
} from "./sqlite-client.js";
export { migrateSqlite, SQLITE_MIGRATIONS, SQLITE_SCHEMA_VERSION } from "./sqlite-migrations.js";
export {
  createSqliteStore,
  SqliteStoreBackend,
  type SqliteStoreBackendOptions,
} from "./sqlite-store.js";
export { migrateSqliteStore, SQLITE_STORE_MIGRATIONS } from "./sqlite-store-migrations.js";
export type {
  SqliteBackendOptions,
  SqliteDatabaseLike,
  SqliteRunResult,
  SqliteStatementLike,
} from "./sqlite-types.js";

/**
 * A {@link Checkpointer} on SQLite: pass a file path (created if missing, opened in WAL mode and
 * closed by `close()`) or an open better-sqlite3 database (left open). The schema is created on
 * first use. Every commit is fsynced (`synchronous: "full"`, survives power loss); pass
 * `{ synchronous: "normal" }` for faster commits that survive a process crash only.
 */
export function createSqliteCheckpointer(
  database: string | SqliteDatabaseLike,
  options: SqliteBackendOptions & CheckpointerOptions = {},
): Checkpointer {
  return new Checkpointer(new SqliteBackend(database, options), options);
}
