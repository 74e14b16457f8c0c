/**
 * The one SQLite connection code, shared by the checkpoint backend and the store backend: open
 * from a path or take a caller's handle, apply the settings, cache prepared statements, run
 * transactions (a savepoint when the handle is already inside one) and migrations. Both backends
 * open it the same way, so they cannot disagree on a pragma or a cache policy.
 */
import { InvalidInputError, MigrationError, StorageError } from "../../errors.js";
import { sqliteOpenError } from "./sqlite-errors.js";
import type { SqliteDatabaseLike, SqliteStatementLike } from "./sqlite-types.js";
import { SqliteWalCheckpointer } from "./sqlite-wal-checkpointer.js";

/**
 * How hard a commit pushes to disk (SQLite's `synchronous` pragma, in WAL mode):
 * - `"full"`: every commit is fsynced before it returns: a committed step survives a process
 *   crash, an OS crash and a power loss;
 * - `"normal"`: the WAL is fsynced only at checkpoints: a committed step survives a process
 *   crash, but an OS crash or power loss may lose the last commits (never corrupts the file).
 *   An effect's intent is fsynced in either mode: the effect runs as soon as it is recorded.
 */
export type SqliteSynchronous = "full" | "normal";

/** Connection settings, the same for the checkpoint backend and the store backend. */
export interface SqliteClientOptions {
  /**
   * How long a write waits for another connection or process to release the database, in
   * milliseconds, before failing. Default 5000. Applies to databases Rewind opens itself.
   */
  busyTimeoutMs?: number;
  /**
   * Durability of each commit: `"full"` (default) or `"normal"`, see {@link SqliteSynchronous}.
   * Set on databases Rewind opens; on a handle you pass, only when given here (else the handle's
   * own setting stays in force).
   */
  synchronous?: SqliteSynchronous;
  /**
   * Whether WAL checkpoints (copying committed pages back into the database file) run on a
   * worker thread beside the writer instead of inside the commit that crosses SQLite's mark.
   * Default: on at `synchronous: "normal"`, off at `"full"` (where every commit fsyncs anyway
   * and a second thread's fsyncs slow the writer's). Applies to database files Rewind opens;
   * SQLite's own automatic checkpoint stays on either way (see sqlite-wal-checkpointer.ts).
   */
  checkpointInBackground?: boolean;
}

/** The defaults, declared once. */
export const SQLITE_DEFAULTS = {
  busyTimeoutMs: 5000,
  synchronous: "full",
  /** Listings with ad-hoc filters make new statement shapes; the cache keeps the most recent. */
  statementCacheSize: 256,
} as const satisfies Omit<Required<SqliteClientOptions>, "checkpointInBackground"> & {
  statementCacheSize: number;
};

/** SQLite's `synchronous = FULL`: every commit is fsynced. */
const FULL_SYNC = 2;

/** Which migration list a runner applies, and the table that records it. */
export interface SqliteMigrationSpec {
  /** Table recording each applied version (`version`, `applied_at`). */
  readonly table: string;
  /** Entry `i` takes the schema from version `i` to `i + 1`. */
  readonly migrations: readonly string[];
  /** What the schema belongs to, for messages ("checkpoint", "store"). */
  readonly label: string;
}

/**
 * Checks a backend's constructor arguments: a non-empty path or an open better-sqlite3 handle,
 * and valid settings. Throws {@link InvalidInputError} naming `what` ("SQLite backend").
 */
export function checkSqliteArguments(
  database: unknown,
  options: SqliteClientOptions,
  what: string,
): void {
  const valid =
    typeof database === "string"
      ? database.length > 0
      : typeof (database as SqliteDatabaseLike | null)?.prepare === "function" &&
        typeof (database as SqliteDatabaseLike).exec === "function";
  if (!valid) {
    throw new InvalidInputError(`the ${what} needs a file path or an open better-sqlite3 database`);
  }
  const busy = options.busyTimeoutMs;
  if (busy !== undefined && (!Number.isInteger(busy) || busy < 0)) {
    throw new InvalidInputError("busyTimeoutMs must be a non-negative integer");
  }
  const background = options.checkpointInBackground;
  if (background !== undefined && typeof background !== "boolean") {
    throw new InvalidInputError("checkpointInBackground must be true or false");
  }
  const sync = options.synchronous;
  if (sync !== undefined && sync !== "full" && sync !== "normal") {
    throw new InvalidInputError(`synchronous must be "full" or "normal", got ${String(sync)}`);
  }
}

/**
 * Where the database stands as one connection sees it (see {@link SqliteClient.stamp}): two
 * equal stamps of a connection mean no row of the file changed in between.
 */
export interface ChangeStamp {
  /** `PRAGMA data_version`: changes with every commit of any other connection. */
  readonly others: number;
  /** `total_changes()`: rows this connection inserted, updated or deleted (rolled back too). */
  readonly own: number;
}

/** Both parts of a stamp in one statement (as the first of a read transaction, its snapshot's). */
const STAMP = "SELECT data_version AS others, total_changes() AS own FROM pragma_data_version";

/** An open SQLite database with Rewind's settings, statement cache and transaction helpers. */
export class SqliteClient {
  readonly db: SqliteDatabaseLike;
  /** Whether Rewind opened the database (and so closes it). */
  readonly owned: boolean;
  /** Largest row payload SQLite keeps on an index b-tree page (from the page size). */
  readonly maxLocal: number;
  readonly #statements = new Map<string, SqliteStatementLike>();
  /** Inside a transaction begun by {@link SqliteClient.transaction} (see `inCallerTransaction`). */
  #own = false;
  /** Checkpoints the WAL beside this connection (a file Rewind opened), told of each commit. */
  readonly #checkpointer: SqliteWalCheckpointer | undefined;

  private constructor(
    db: SqliteDatabaseLike,
    owned: boolean,
    checkpointer: SqliteWalCheckpointer | undefined,
  ) {
    this.db = db;
    this.owned = owned;
    this.#checkpointer = checkpointer;
    const pageSize = Number(db.pragma("page_size", { simple: true })) || 4096;
    this.maxLocal = Math.floor(((pageSize - 12) * 64) / 255) - 23;
  }

  /**
   * Opens `database` (a path: WAL mode, busy timeout, `synchronous`; a handle: used as is, with
   * `synchronous` applied only when given) and applies `migrations`. A target that is not a
   * usable database is a `ConnectionError` naming it; the file is closed again on any failure.
   */
  static async open(
    database: string | SqliteDatabaseLike,
    options: SqliteClientOptions,
    migrations: SqliteMigrationSpec,
  ): Promise<SqliteClient> {
    const owned = typeof database === "string";
    const db = owned ? await openFile(database, options) : database;
    let checkpointer: SqliteWalCheckpointer | undefined;
    try {
      if (!owned && options.synchronous) setSynchronous(db, options.synchronous);
      runSqliteMigrations(db, migrations);
      const synchronous = options.synchronous ?? SQLITE_DEFAULTS.synchronous;
      const background = options.checkpointInBackground ?? synchronous === "normal";
      if (owned && background && isWal(db)) {
        checkpointer = SqliteWalCheckpointer.start(database, synchronous);
      }
      return new SqliteClient(db, owned, checkpointer);
    } catch (error) {
      await checkpointer?.close();
      if (owned) db.close();
      throw sqliteOpenError(error, owned ? database : undefined);
    }
  }

  /** A prepared statement from the cache, which evicts the least recently used one. */
  stmt(sql: string): SqliteStatementLike {
    let statement = this.#statements.get(sql);
    if (statement) {
      this.#statements.delete(sql);
    } else {
      statement = this.db.prepare(sql);
      if (this.#statements.size >= SQLITE_DEFAULTS.statementCacheSize) {
        this.#statements.delete(this.#statements.keys().next().value!);
      }
    }
    this.#statements.set(sql, statement);
    return statement;
  }

  /**
   * Runs `work` atomically: in a transaction of its own (`write`: `BEGIN IMMEDIATE`, so the
   * write lock is taken up front and a busy database is waited for; else a deferred `BEGIN`,
   * one read snapshot), or in a savepoint when the shared handle is already inside a caller's
   * transaction. Rolled back if `work` throws.
   */
  transaction<T>(write: boolean, work: () => T): T {
    const nested = this.db.inTransaction;
    this.stmt(nested ? "SAVEPOINT rewind" : write ? "BEGIN IMMEDIATE" : "BEGIN").run();
    if (!nested) this.#own = true;
    try {
      const result = work();
      this.stmt(nested ? "RELEASE rewind" : "COMMIT").run();
      if (write && !nested) this.#checkpointer?.noteCommit();
      return result;
    } catch (error) {
      if (nested) {
        this.stmt("ROLLBACK TO rewind").run();
        this.stmt("RELEASE rewind").run();
      } else if (this.db.inTransaction) this.stmt("ROLLBACK").run();
      throw error;
    } finally {
      if (!nested) this.#own = false;
    }
  }

  /**
   * Whether a caller's transaction is open on the (shared) handle: one this client did not
   * begin, which the caller may still roll back after Rewind's work in it has returned.
   */
  get inCallerTransaction(): boolean {
    return this.db.inTransaction && !this.#own;
  }

  /**
   * Where the database stands now, as this connection sees it: commits of other connections
   * (in this process or another) change `PRAGMA data_version`, and rows this connection changes
   * (for Rewind, or for the caller on a shared handle) count in `total_changes()`. Neither ever
   * goes back, so an equal stamp means nothing was written in between.
   */
  stamp(): ChangeStamp {
    return this.stmt(STAMP).get() as ChangeStamp;
  }

  /**
   * Runs `work` (a write transaction) so that its commit is fsynced whatever `synchronous` is in
   * force, for a record the caller acts on the moment it returns (an effect's intent: losing it
   * to a power loss would let the effect run twice). Inside a caller's transaction, the caller's
   * commit decides. Pragmas are set through `pragma()`, never a cached statement: SQLite applies
   * a `synchronous` pragma when it is prepared.
   */
  synced<T>(work: () => T): T {
    if (this.db.inTransaction) return work();
    const level = Number(this.setting("synchronous"));
    if (level >= FULL_SYNC) return work();
    this.db.pragma(`synchronous = ${FULL_SYNC}`);
    try {
      return work();
    } finally {
      this.db.pragma(`synchronous = ${level}`);
    }
  }

  /** The value of a pragma in force on this connection (e.g. `"synchronous"`). */
  setting(name: string): unknown {
    return this.db.pragma(name, { simple: true });
  }

  /**
   * Drops the cached statements and closes the database if Rewind opened it (after its
   * checkpoint worker, so that this connection is the file's last and folds the WAL back in).
   */
  async close(): Promise<void> {
    this.#statements.clear();
    if (!this.owned) return;
    await this.#checkpointer?.close();
    this.db.close();
  }
}

/**
 * The one SQLite migration runner: brings `spec.table`'s schema to `spec.migrations.length`,
 * returning how many ran. Up to date: one read, no lock. Otherwise all pending migrations run in
 * one `BEGIN IMMEDIATE` transaction (the version is read again under the lock, so processes
 * starting together migrate once). Throws {@link MigrationError} and changes nothing when a
 * migration fails or the database was written by a newer Rewind.
 */
export function runSqliteMigrations(db: SqliteDatabaseLike, spec: SqliteMigrationSpec): number {
  const { table, migrations, label } = spec;
  const version = () =>
    Number(
      (db.prepare(`SELECT COALESCE(MAX(version), 0) AS v FROM ${table}`).get() as { v: number }).v,
    );
  const exists = () =>
    db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !==
    undefined;
  if (exists() && version() === migrations.length) return 0;
  try {
    db.exec("BEGIN IMMEDIATE");
    db.exec(
      `CREATE TABLE IF NOT EXISTS ${table} (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`,
    );
    const current = version();
    if (current > migrations.length) {
      throw new MigrationError(
        `the ${label} schema is at version ${current}, newer than this Rewind (${migrations.length}); upgrade Rewind`,
      );
    }
    const record = db.prepare(`INSERT INTO ${table} (version, applied_at) VALUES (?, ?)`);
    for (let v = current; v < migrations.length; v++) {
      db.exec(migrations[v]!);
      record.run(v + 1, Date.now());
    }
    db.exec("COMMIT");
    return migrations.length - current;
  } catch (error) {
    if (db.inTransaction) db.exec("ROLLBACK");
    if (error instanceof MigrationError) throw error;
    throw new MigrationError(
      `SQLite ${label} schema migration failed, nothing was changed: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** Whether `db` keeps a write-ahead log (an in-memory database, for one, does not). */
function isWal(db: SqliteDatabaseLike): boolean {
  return String(db.pragma("journal_mode", { simple: true })).toLowerCase() === "wal";
}

/** Opens a file with better-sqlite3, loaded on first use so that it stays an optional peer. */
async function openFile(path: string, options: SqliteClientOptions): Promise<SqliteDatabaseLike> {
  let Database: new (path: string, options?: { timeout?: number }) => SqliteDatabaseLike;
  try {
    Database = (await import("better-sqlite3")).default as unknown as typeof Database;
  } catch (cause) {
    throw new StorageError(
      "rewind/sqlite needs the better-sqlite3 package (version 12): npm install better-sqlite3@12",
      { cause },
    );
  }
  let db: SqliteDatabaseLike;
  try {
    // `timeout` is SQLite's busy timeout: a locked database is retried, not reported.
    db = new Database(path, { timeout: options.busyTimeoutMs ?? SQLITE_DEFAULTS.busyTimeoutMs });
  } catch (cause) {
    throw sqliteOpenError(cause, path);
  }
  try {
    // Effective only on a file without tables yet: deleted rows' pages can then be given back
    // to the file system by `PRAGMA incremental_vacuum` (retention) instead of a full VACUUM.
    db.pragma("auto_vacuum = INCREMENTAL");
    db.pragma("journal_mode = WAL");
    setSynchronous(db, options.synchronous ?? SQLITE_DEFAULTS.synchronous);
  } catch (error) {
    db.close();
    throw sqliteOpenError(error, path);
  }
  return db;
}

function setSynchronous(db: SqliteDatabaseLike, mode: SqliteSynchronous): void {
  db.pragma(`synchronous = ${mode === "full" ? "FULL" : "NORMAL"}`);
}
