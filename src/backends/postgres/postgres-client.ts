/**
 * The one PostgreSQL connection code, shared by the checkpoint backend and the store backend: a
 * pool opened from a URL (with timeouts, an `error` listener and idle connections that never
 * keep the process alive) or the caller's own pool, named statements, transactions on one
 * connection, and the entry to the migration runner. Every failure leaves it as a named Rewind error.
 */
import { ClosedError, InvalidInputError, type RewindError, StorageError } from "../../errors.js";
import { describeTarget, pgError, type TimeoutsInForce } from "./postgres-errors.js";
import { migratePostgresSchema, type PostgresMigrationSpec } from "./postgres-migrator.js";
import { PostgresStatements } from "./postgres-statements.js";
import type { PgClientLike, PgPoolLike, PgQueryable, PgQueryResult } from "./postgres-types.js";

/** Connection settings, the same for the checkpoint backend and the store backend. */
export interface PostgresClientOptions {
  /** Schema holding Rewind's tables (created if missing). Default `"rewind"`. */
  schema?: string;
  /** Pool size when Rewind opens the pool from a connection string. Default 10. */
  maxConnections?: number;
  /**
   * Send queries as named prepared statements, planned once per connection. Default `true`.
   * Set `false` behind a pooler that shares server sessions between clients (PgBouncer in
   * transaction mode); Rewind also turns them off by itself the first time a server says so.
   */
  preparedStatements?: boolean;
  /**
   * For a pool Rewind opens: give up connecting after this many ms (`ConnectionError`).
   * Default 10000; the URL's `connect_timeout` (seconds, as libpq) is used when this is not
   * given; 0 waits forever.
   */
  connectTimeoutMs?: number;
  /**
   * Abandon a query the server has not answered after this many ms (`TimeoutError`). For a pool
   * Rewind opens: default 60000, or the URL's `query_timeout` (ms); 0 waits forever. For your
   * own pool: only when given here (else your pool's own setting applies).
   */
  queryTimeoutMs?: number;
  /**
   * Told when a pool Rewind opened loses an idle connection (server restart, failover, idle
   * timeout, `pg_terminate_backend`). The connection is dropped either way and the next call
   * opens a fresh one; the process never crashes. Default: ignored.
   */
  onConnectionError?: (error: RewindError) => void;
}

/** The defaults, declared once. */
export const POSTGRES_DEFAULTS = {
  schema: "rewind",
  maxConnections: 10,
  preparedStatements: true,
  connectTimeoutMs: 10_000,
  queryTimeoutMs: 60_000,
} as const;

/** How much longer than the server's statement timeout the client waits for an answer. */
const CLIENT_GRACE_MS = 2000;

/**
 * A pool (opened on first use from a URL, or the caller's) with Rewind's settings. `query` and
 * `transaction` name every driver failure ({@link pgError}).
 */
export class PostgresClient implements PgQueryable {
  /** Where it connects, for messages (never the password). */
  readonly target: string;
  readonly #source: string | PgPoolLike;
  readonly #options: PostgresClientOptions;
  readonly #statements: PostgresStatements;
  readonly #timeouts: TimeoutsInForce;
  // A promise, so that concurrent first calls share one pool instead of each opening one.
  #pool: Promise<PgPoolLike> | undefined;
  /** What this client serves, for messages ("PostgreSQL backend"...). */
  readonly #what: string;
  #closed = false;

  /** Checks the arguments (an {@link InvalidInputError} naming `what` when they are wrong). */
  constructor(database: string | PgPoolLike, options: PostgresClientOptions, what: string) {
    if (
      typeof database === "string"
        ? database.length === 0
        : typeof (database as PgPoolLike | null)?.connect !== "function"
    ) {
      throw new InvalidInputError(`the ${what} needs a connection string or a pg.Pool`);
    }
    for (const key of ["maxConnections", "connectTimeoutMs", "queryTimeoutMs"] as const) {
      const value = options[key];
      if (
        value !== undefined &&
        (!Number.isInteger(value) || value < (key === "maxConnections" ? 1 : 0))
      ) {
        throw new InvalidInputError(
          `${key} must be a ${key === "maxConnections" ? "positive" : "non-negative"} integer, got ${String(value)}`,
        );
      }
    }
    this.target = describeTarget(database);
    this.#what = what;
    this.#source = database;
    this.#options = options;
    this.#statements = new PostgresStatements(
      options.preparedStatements ?? POSTGRES_DEFAULTS.preparedStatements,
    );
    this.#timeouts = resolveTimeouts(database, options);
  }

  /** Connections the pool opens at most: its `max` (for a pool passed in that does not say, the default). */
  get poolSize(): number {
    const given = typeof this.#source === "string" ? undefined : this.#source;
    const max = given ? (given as { options?: { max?: unknown } }).options?.max : undefined;
    return typeof max === "number"
      ? max
      : (this.#options.maxConnections ?? POSTGRES_DEFAULTS.maxConnections);
  }

  /** Runs one statement; `named: false` for texts whose shape varies without bound. */
  async query(text: string, values: unknown[] = [], named = true): Promise<PgQueryResult> {
    try {
      const pool = await this.#poolReady();
      return await this.#statements.query(pool, text, values, named, this.#clientTimeoutMs());
    } catch (error) {
      throw this.#error(error);
    }
  }

  /**
   * Runs `work` in one transaction on one connection, committed when it resolves and rolled
   * back when it throws. A connection whose rollback fails, or that broke, is destroyed rather
   * than returned to the pool; a connection that drops meanwhile never crashes the process.
   */
  async transaction<T>(work: (connection: PgQueryable) => Promise<T>): Promise<T> {
    let connection: PgClientLike;
    try {
      connection = await (await this.#poolReady()).connect();
    } catch (error) {
      throw this.#error(error);
    }
    let broken: Error | undefined;
    const onError = (error: Error) => {
      broken = error;
    };
    connection.on?.("error", onError);
    const timeout = this.#clientTimeoutMs();
    const queryable: PgQueryable = {
      query: (text, values) =>
        connection.query({
          text,
          values: values ?? [],
          ...(timeout ? { query_timeout: timeout } : {}),
        }),
    };
    try {
      await queryable.query("BEGIN");
      const result = await work(queryable);
      await queryable.query("COMMIT");
      return result;
    } catch (error) {
      const named = this.#error(error);
      // A connection that timed out or dropped is in an unknown state: destroy it, no rollback.
      if (named.code === "TIMEOUT" || named.code === "CONNECTION") broken ??= named;
      else {
        await queryable.query("ROLLBACK").catch((rollback: Error) => {
          broken ??= rollback;
        });
      }
      throw named;
    } finally {
      connection.removeListener?.("error", onError);
      connection.release(broken ?? false);
    }
  }

  /**
   * Brings `schema` to `spec`'s latest version and function definitions (see
   * {@link migratePostgresSchema}); returns how many migrations ran.
   */
  async migrate(schema: string, spec: PostgresMigrationSpec): Promise<number> {
    return migratePostgresSchema(this, schema, quoteSchema(schema), spec);
  }

  /**
   * Ends the pool if Rewind opened it (the caller's pool is left open); later calls are refused
   * with `ClosedError`.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const pool = this.#pool;
    this.#pool = undefined;
    // A pool that never opened (no pg package) has nothing to end.
    const opened = await pool?.catch(() => undefined);
    if (opened && typeof this.#source === "string") await opened.end();
  }

  #poolReady(): Promise<PgPoolLike> {
    // Never a pool of its own again once closed: a call after close would open one nobody ends.
    if (this.#closed) return Promise.reject(new ClosedError(`the ${this.#what} is closed`));
    this.#pool ??=
      typeof this.#source === "string"
        ? this.#openPool(this.#source)
        : Promise.resolve(this.#source);
    return this.#pool;
  }

  /**
   * A pool for a connection string; `pg` is loaded only now. Its `error` listener keeps a
   * dropped idle connection from crashing the process (pg then discards that connection), and
   * `allowExitOnIdle` lets the process exit while connections sit idle.
   */
  async #openPool(connectionString: string): Promise<PgPoolLike> {
    let pg: typeof import("pg");
    try {
      pg = await import("pg");
    } catch (cause) {
      this.#pool = undefined;
      throw new StorageError(
        "rewind/postgres needs the pg package for a connection string: npm install pg (or pass your own pg.Pool)",
        { cause },
      );
    }
    const Pool = (pg.default ?? pg).Pool;
    const pool = new Pool({
      connectionString,
      max: this.#options.maxConnections ?? POSTGRES_DEFAULTS.maxConnections,
      connectionTimeoutMillis: this.#timeouts.connectTimeoutMs ?? 0,
      // The server cancels a statement past the timeout itself, so an abandoned write is never
      // applied later (a lock wait that ends after the caller was told it timed out).
      ...(this.#timeouts.queryTimeoutMs
        ? { statement_timeout: this.#timeouts.queryTimeoutMs }
        : {}),
      allowExitOnIdle: true,
    });
    const report = this.#options.onConnectionError;
    pool.on("error", (error) => report?.(this.#error(error)));
    return pool as unknown as PgPoolLike;
  }

  /**
   * When the client stops waiting for an answer. On a pool Rewind opens the server cancels the
   * statement at the timeout; the client waits a grace period longer, for a server that does not
   * answer at all. On a caller's pool only the client side applies.
   */
  #clientTimeoutMs(): number | undefined {
    const { queryTimeoutMs } = this.#timeouts;
    if (!queryTimeoutMs) return undefined;
    return typeof this.#source === "string" ? queryTimeoutMs + CLIENT_GRACE_MS : queryTimeoutMs;
  }

  #error(error: unknown): RewindError {
    return pgError(error, this.target, this.#timeouts);
  }
}

/** Quotes a schema name after checking it is a plain identifier ({@link InvalidInputError}). */
export function quoteSchema(schema: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw new InvalidInputError(
      `schema must be a plain identifier (letters, digits, _), got "${schema}"`,
    );
  }
  return `"${schema}"`;
}

/**
 * The timeouts for a pool Rewind opens: the option, else the URL's parameter, else the default.
 * For a caller's pool, only what the options say.
 */
function resolveTimeouts(
  source: string | PgPoolLike,
  options: PostgresClientOptions,
): TimeoutsInForce {
  if (typeof source !== "string") {
    return { connectTimeoutMs: undefined, queryTimeoutMs: options.queryTimeoutMs };
  }
  const params = new URLSearchParams(
    source.includes("?") ? source.slice(source.indexOf("?") + 1) : "",
  );
  const fromUrl = (name: string, scale: number) => {
    const raw = params.get(name);
    const value = raw === null ? Number.NaN : Number(raw) * scale;
    return Number.isFinite(value) && value >= 0 ? value : undefined;
  };
  return {
    connectTimeoutMs:
      options.connectTimeoutMs ??
      fromUrl("connect_timeout", 1000) ??
      POSTGRES_DEFAULTS.connectTimeoutMs,
    queryTimeoutMs:
      options.queryTimeoutMs ?? fromUrl("query_timeout", 1) ?? POSTGRES_DEFAULTS.queryTimeoutMs,
  };
}
