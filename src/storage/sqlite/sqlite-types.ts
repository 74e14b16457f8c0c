/**
 * The subset of better-sqlite3 the SQLite backend uses, typed structurally so that
 * better-sqlite3 stays an optional peer dependency and a caller can hand over their own handle.
 */

/** What `run` reports. */
export interface SqliteRunResult {
  readonly changes: number;
  readonly lastInsertRowid: number | bigint;
}

/** A prepared statement (better-sqlite3's `Statement`). */
export interface SqliteStatementLike {
  run(...params: unknown[]): SqliteRunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

/** An open database (better-sqlite3's `Database`). */
export interface SqliteDatabaseLike {
  prepare(sql: string): SqliteStatementLike;
  exec(sql: string): unknown;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  close(): unknown;
  readonly inTransaction: boolean;
}

/** Options of the SQLite backend. */
export interface SqliteBackendOptions {
  /**
   * How long a write waits for another connection or process to release the database, in
   * milliseconds, before failing. Default 5000. Applies to databases the backend opens itself.
   */
  busyTimeoutMs?: number;
  /** Clock for lease expiry, in epoch milliseconds. Default `Date.now`. */
  now?: () => number;
}
