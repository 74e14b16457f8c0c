/**
 * The subset of better-sqlite3 the SQLite backend uses, typed structurally so that
 * better-sqlite3 stays an optional peer dependency and a caller can hand over their own handle.
 */
import type { SqliteClientOptions } from "./sqlite-client.js";

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

/** Options of the SQLite checkpoint backend: the connection settings, and the lease clock. */
export interface SqliteBackendOptions extends SqliteClientOptions {
  /** Clock for lease expiry, in epoch milliseconds. Default `Date.now`. */
  now?: () => number;
  /**
   * Bytes of stored values kept in memory so that reading a checkpoint again while it is
   * unchanged (its row is the same: a state polled between runs) skips the walk of its value
   * chains; values are still verified and decoded on every read. Default 32 MiB; 0 keeps none.
   */
  headCacheBytes?: number;
}
