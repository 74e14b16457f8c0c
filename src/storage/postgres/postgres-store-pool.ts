/**
 * The subset of `pg` the PostgreSQL store uses, typed structurally so that `pg` stays an optional
 * peer dependency and callers can hand over their own `pg.Pool` (the checkpointer's, say).
 */

/** What a query returns (only the rows and the count are read). */
export interface PgStoreQueryResult {
  readonly rows: any[];
  readonly rowCount: number | null;
}

/** A checked-out connection (`pg.PoolClient`). */
export interface PgStoreClientLike {
  query(text: string, values?: unknown[]): Promise<PgStoreQueryResult>;
  /** `release(true)` destroys a connection left in an unknown state. */
  release(destroy?: boolean | Error): void;
}

/** A connection pool (`pg.Pool`). */
export interface PgStorePoolLike {
  query(text: string, values?: unknown[]): Promise<PgStoreQueryResult>;
  connect(): Promise<PgStoreClientLike>;
  end(): Promise<void>;
}
