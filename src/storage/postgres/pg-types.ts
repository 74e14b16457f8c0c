/**
 * The subset of `pg` Rewind uses, typed structurally so that `pg` stays an optional peer
 * dependency and callers can pass their own `pg.Pool` (one pool can serve the checkpointer and
 * the store).
 */
import { StorageError } from "../../errors.js";

/** What a query returns (only the rows and the count are read). */
export interface PgQueryResult {
  readonly rows: any[];
  readonly rowCount: number | null;
}

/** A checked-out connection (`pg.PoolClient`). */
export interface PgClientLike {
  query(text: string, values?: unknown[]): Promise<PgQueryResult>;
  /** `release(true)` destroys a connection left in an unknown state. */
  release(destroy?: boolean | Error): void;
}

/** A query given as an object; `name` makes it a prepared statement, reused per connection. */
export interface PgQueryConfig {
  readonly name?: string;
  readonly text: string;
  readonly values?: unknown[];
}

/** A connection pool (`pg.Pool`). */
export interface PgPoolLike {
  query(text: string, values?: unknown[]): Promise<PgQueryResult>;
  query(config: PgQueryConfig): Promise<PgQueryResult>;
  connect(): Promise<PgClientLike>;
  end(): Promise<void>;
}

/** Opens a `pg.Pool` for a connection string; `pg` is loaded only when this is called. */
export async function openPgPool(connectionString: string, max = 10): Promise<PgPoolLike> {
  let pg: typeof import("pg");
  try {
    pg = await import("pg");
  } catch (cause) {
    throw new StorageError(
      "rewind/postgres needs the pg package for a connection string: npm install pg (or pass your own pg.Pool)",
      { cause },
    );
  }
  const Pool = (pg.default ?? pg).Pool;
  return new Pool({ connectionString, max }) as unknown as PgPoolLike;
}

/** Quotes a schema name after checking it is a plain identifier. */
export function quoteSchema(schema: string, validate: (message: string) => Error): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw validate(`schema must be a plain identifier (letters, digits, _), got "${schema}"`);
  }
  return `"${schema}"`;
}

/**
 * Creates the schema if it is missing, inside the caller's migration transaction. Every Rewind
 * migration (checkpointer, store) calls this, so two of them creating one schema at once wait for
 * each other under one advisory lock instead of failing.
 */
export async function ensureSchema(
  client: PgClientLike,
  schema: string,
  quoted: string,
): Promise<void> {
  await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`rewind:schema:${schema}`]);
  // A creator that does not take the lock (an older Rewind, a script) can still race us; its
  // schema then shows up as a unique violation, after which the schema exists and a retry passes.
  for (let attempt = 1; ; attempt++) {
    await client.query("SAVEPOINT rewind_schema");
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
      await client.query("RELEASE SAVEPOINT rewind_schema");
      return;
    } catch (error) {
      await client.query("ROLLBACK TO SAVEPOINT rewind_schema");
      const code = (error as { code?: unknown }).code;
      if (attempt >= 3 || (code !== "23505" && code !== "42P06")) throw error;
    }
  }
}
