/**
 * The subset of `pg` Rewind uses, typed structurally so that `pg` stays an optional peer
 * dependency and callers can pass their own `pg.Pool` (one pool can serve the checkpointer and
 * the store).
 */

/** What a query returns (only the rows and the count are read). */
export interface PgQueryResult {
  readonly rows: any[];
  readonly rowCount: number | null;
}

/**
 * A query given as an object; `name` makes it a prepared statement, reused per connection;
 * `query_timeout` (ms) abandons it client-side when the server does not answer in time.
 */
export interface PgQueryConfig {
  readonly name?: string;
  readonly text: string;
  readonly values?: unknown[];
  readonly query_timeout?: number;
}

/** A checked-out connection (`pg.PoolClient`). */
export interface PgClientLike {
  query(text: string, values?: unknown[]): Promise<PgQueryResult>;
  query(config: PgQueryConfig): Promise<PgQueryResult>;
  /** `release(true)` destroys a connection left in an unknown state. */
  release(destroy?: boolean | Error): void;
  /** pg clients are event emitters: a dropped connection emits `error`. */
  on?(event: "error", listener: (error: Error) => void): unknown;
  removeListener?(event: "error", listener: (error: Error) => void): unknown;
}

/** A connection pool (`pg.Pool`). */
export interface PgPoolLike {
  query(text: string, values?: unknown[]): Promise<PgQueryResult>;
  query(config: PgQueryConfig): Promise<PgQueryResult>;
  connect(): Promise<PgClientLike>;
  end(): Promise<void>;
}

/** Something that runs a query: the client itself, or the connection of a transaction. */
export interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<PgQueryResult>;
}
