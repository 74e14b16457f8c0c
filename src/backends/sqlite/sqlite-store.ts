/**
 * The cross-thread store in SQLite (better-sqlite3). One table keyed by (tenant, path, key):
 * prefix search is a range scan of that key, filters run in SQL over the JSON value, a batch is
 * one IMMEDIATE transaction (a savepoint when the shared handle is already inside one). The
 * connection is the shared {@link SqliteClient}, so it has the checkpointer's settings, and it can
 * share the checkpointer's database file or handle: its tables have names of their own.
 */

import { ClosedError, ConflictError } from "../../errors.js";
import type { LargeValueRef } from "../../offload/large-value-target.js";
import {
  decodeNamespace,
  encodeNamespace,
  PATH_TERMINATOR,
  pathDepth,
  truncatePath,
  upperBound,
} from "../../store/namespace-path.js";
import { Store, type StoreOptions } from "../../store/store.js";
import type {
  ItemRewriteQuery,
  StoreBackend,
  StoredItem,
  StoredItemText,
  StoreListNamespacesOp,
  StoreOp,
  StoreOpResult,
  StoreSearchOp,
} from "../../store/store-backend.js";
import { itemFromRow, refsColumn } from "../../store/store-row.js";
import { rankBySimilarity, vectorFromBytes, vectorToBytes } from "../../store/store-vectors.js";
import { checkSqliteArguments, SqliteClient, type SqliteClientOptions } from "./sqlite-client.js";
import { SqliteLargeValues, sqliteLargeValueRefs } from "./sqlite-large-values.js";
import { sqliteFilterSql } from "./sqlite-store-filter.js";
import { SQLITE_STORE_SCHEMA, SQLITE_STORE_TABLE as T } from "./sqlite-store-migrations.js";
import type { SqliteDatabaseLike, SqliteStatementLike } from "./sqlite-types.js";

/** Options of the SQLite store backend: the connection settings the checkpoint backend takes. */
export type SqliteStoreBackendOptions = SqliteClientOptions;

interface Row {
  path: string;
  key: string;
  value: string;
  created_at: number | bigint;
  updated_at: number | bigint;
  expires_at: number | bigint | null;
  ttl_ms: number | bigint | null;
  refs: string | null;
}

const COLUMNS = "path, key, value, created_at, updated_at, expires_at, ttl_ms, refs";
const LIVE = "(expires_at IS NULL OR expires_at > ?)";

/** SQLite implementation of {@link StoreBackend}. Wrap it with {@link createSqliteStore}. */
export class SqliteStoreBackend implements StoreBackend {
  readonly name = "sqlite";
  readonly #source: string | SqliteDatabaseLike;
  readonly #options: SqliteClientOptions;
  #client: SqliteClient | undefined;

  /**
   * `database`: a file path (opened in WAL mode by `setup()`, closed by `close()`) or an open
   * better-sqlite3 database, e.g. the checkpointer's (left open). The settings are the
   * checkpoint backend's, with the same defaults (`synchronous: "full"`).
   */
  constructor(database: string | SqliteDatabaseLike, options: SqliteStoreBackendOptions = {}) {
    checkSqliteArguments(database, options, "SQLite store");
    this.#source = database;
    this.#options = options;
  }

  /** The open connection (after `setup()`), e.g. to read a setting in force. */
  get client(): SqliteClient {
    return this.#open();
  }

  /** Large values in this file (`rewind_large_values`, shared with the checkpoint tables). */
  largeValueTarget(): SqliteLargeValues {
    return new SqliteLargeValues(() => this.#open());
  }

  /** Every reference to a large value in the file: items' and, beside them, checkpoints'. */
  async *listLargeValueRefs(): AsyncIterable<LargeValueRef> {
    yield* sqliteLargeValueRefs(this.#open());
  }

  async setup(): Promise<void> {
    if (this.#client) return;
    this.#client = await SqliteClient.open(this.#source, this.#options, SQLITE_STORE_SCHEMA);
  }

  async batch(ops: readonly StoreOp[], now: number): Promise<StoreOpResult[]> {
    const writes = ops.some((op) => op.kind === "put" || op.kind === "delete" || isRefresh(op));
    // A lone operation needs no transaction: a write is one statement, and a refreshing read
    // only updates the expiry of hits that have a TTL, which may land one by one. Skipping it
    // keeps reads off the write lock the checkpointer needs.
    if (ops.length === 1) return [this.#apply(ops[0]!, now)];
    return this.#open().transaction(writes, () => ops.map((op) => this.#apply(op, now)));
  }

  async sweepExpired(now: number, limit: number): Promise<number> {
    return this.#stmt(
      `DELETE FROM ${T} WHERE rowid IN (SELECT rowid FROM ${T} WHERE expires_at <= ? LIMIT ?)`,
    ).run(now, limit).changes;
  }

  async rewriteItems(
    query: ItemRewriteQuery,
    rewrite: (item: StoredItemText) => string | undefined,
  ): Promise<{ last: StoredItemText | undefined; replaced: number }> {
    const where = [
      ...(query.after ? ["(tenant, path, key) > (@tenant, @path, @key)"] : []),
      ...(query.tenant === undefined ? [] : ["tenant = @only"]),
    ];
    // Read and replaced under the write lock: no put lands in between.
    return this.#open().transaction(true, () => {
      const page = this.#stmt(
        `SELECT tenant, path, key, value FROM ${T}
         ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY tenant, path, key LIMIT @limit`,
      ).all({
        ...(query.after && {
          tenant: query.after.tenant,
          path: query.after.path,
          key: query.after.key,
        }),
        ...(query.tenant !== undefined && { only: query.tenant }),
        limit: query.limit,
      }) as StoredItemText[];
      let replaced = 0;
      for (const item of page) {
        const value = rewrite(item);
        if (value === undefined) continue;
        replaced += this.#stmt(
          `UPDATE ${T} SET value = ? WHERE tenant = ? AND path = ? AND key = ? AND value = ?`,
        ).run(value, item.tenant, item.path, item.key, item.value).changes;
      }
      return { last: page.at(-1), replaced };
    });
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.close();
  }

  #apply(op: StoreOp, now: number): StoreOpResult {
    switch (op.kind) {
      case "get": {
        const path = encodeNamespace(op.namespace);
        const row = this.#stmt(
          `SELECT ${COLUMNS} FROM ${T} WHERE tenant = ? AND path = ? AND key = ? AND ${LIVE}`,
        ).get(op.tenant, path, op.key, now) as Row | undefined;
        if (!row) return undefined;
        return itemFromRow(op.refreshTtl ? this.#refresh(op.tenant, row, now) : row);
      }
      case "put": {
        const changes = this.#stmt(
          `INSERT INTO ${T}
             (tenant, path, key, value, ttl_ms, created_at, updated_at, expires_at, embedding, refs)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (tenant, path, key) DO UPDATE SET
             value = excluded.value, ttl_ms = excluded.ttl_ms, updated_at = excluded.updated_at,
             expires_at = excluded.expires_at, embedding = excluded.embedding, refs = excluded.refs,
             created_at = CASE WHEN ${T}.expires_at <= excluded.updated_at
               THEN excluded.created_at ELSE ${T}.created_at END
           ${op.ifAbsent ? `WHERE ${T}.expires_at <= excluded.updated_at` : ""}`,
        ).run(
          op.tenant,
          encodeNamespace(op.namespace),
          op.key,
          op.value,
          op.ttlMs,
          now,
          now,
          op.ttlMs === null ? null : now + op.ttlMs,
          op.embedding && vectorToBytes(op.embedding),
          refsColumn(op.refs),
        ).changes;
        if (changes === 0) {
          throw new ConflictError(
            `an item already exists under ${JSON.stringify(op.key)} in namespace ${JSON.stringify(op.namespace)}`,
          );
        }
        return undefined;
      }
      case "delete": {
        const row = this.#stmt(
          `DELETE FROM ${T} WHERE tenant = ? AND path = ? AND key = ? RETURNING expires_at`,
        ).get(op.tenant, encodeNamespace(op.namespace), op.key) as
          | { expires_at: number | bigint | null }
          | undefined;
        return row !== undefined && (row.expires_at === null || Number(row.expires_at) > now);
      }
      case "search":
        return this.#search(op, now);
      case "listNamespaces":
        return this.#listNamespaces(op, now);
    }
  }

  #search(op: StoreSearchOp, now: number): StoredItem[] {
    const params: unknown[] = [op.tenant];
    const range = prefixRange(encodeNamespace(op.namespacePrefix), params);
    params.push(now);
    const filter = sqliteFilterSql(op.filter, params);
    const where = `tenant = ?${range} AND ${LIVE} AND ${filter}`;
    const keep = (row: Row) => (op.refreshTtl ? this.#refresh(op.tenant, row, now) : row);
    if (op.query) {
      // Brute force over what the prefix and filter leave, scored like every other backend.
      const candidates = (
        this.#stmt(
          `SELECT ${COLUMNS}, embedding FROM ${T} WHERE ${where} AND embedding IS NOT NULL`,
        ).all(...params) as (Row & { embedding: Uint8Array })[]
      ).map((row) => ({
        row,
        ...row,
        updatedAt: Number(row.updated_at),
        vector: vectorFromBytes(row.embedding),
      }));
      return rankBySimilarity(candidates, op.query, op.offset, op.limit).map((c) => ({
        ...itemFromRow(keep(c.row)),
        score: c.score,
      }));
    }
    params.push(op.limit, op.offset);
    const rows = this.#stmt(
      `SELECT ${COLUMNS} FROM ${T} WHERE ${where} ORDER BY updated_at DESC, path, key LIMIT ? OFFSET ?`,
    ).all(...params) as Row[];
    return rows.map((row) => itemFromRow(keep(row)));
  }

  /**
   * A loose index scan: each step seeks the next live path past the previous namespace (past its
   * whole subtree once it is cut to `maxDepth`), so the work is one indexed seek per namespace
   * returned or skipped, however many items each holds.
   */
  #listNamespaces(op: StoreListNamespacesOp, now: number): string[][] {
    const out: string[][] = [];
    const upper = upperBound(encodeNamespace(op.prefix));
    const suffix = encodeNamespace(op.suffix);
    let cursor = encodeNamespace(op.prefix);
    let strict = false;
    let skip = op.offset;
    while (out.length < op.limit) {
      const params: unknown[] = [op.tenant, cursor];
      let sql = `SELECT path FROM ${T} WHERE tenant = ? AND path ${strict ? ">" : ">="} ?`;
      if (upper !== undefined) {
        sql += " AND path < ?";
        params.push(upper);
      }
      sql += ` AND ${LIVE}`;
      params.push(now);
      if (suffix !== "") {
        sql += " AND substr(char(1) || path, -?) = ?";
        params.push([...suffix].length + 1, PATH_TERMINATOR + suffix);
      }
      const row = this.#stmt(`${sql} ORDER BY path LIMIT 1`).get(...params) as
        | { path: string }
        | undefined;
      if (!row) break;
      const cut = op.maxDepth === null ? row.path : truncatePath(row.path, op.maxDepth);
      if (skip > 0) skip--;
      else out.push(decodeNamespace(cut));
      if (op.maxDepth !== null && pathDepth(cut) === op.maxDepth) {
        cursor = upperBound(cut)!;
        strict = false;
      } else {
        cursor = row.path;
        strict = true;
      }
    }
    return out;
  }

  #refresh(tenant: string, row: Row, now: number): Row {
    if (row.ttl_ms === null) return row;
    const expiresAt = now + Number(row.ttl_ms);
    this.#stmt(
      `UPDATE ${T} SET expires_at = ? + ttl_ms
       WHERE tenant = ? AND path = ? AND key = ? AND ttl_ms IS NOT NULL AND ${LIVE}`,
    ).run(now, tenant, row.path, row.key, now);
    return { ...row, expires_at: expiresAt };
  }

  #stmt(sql: string): SqliteStatementLike {
    return this.#open().stmt(sql);
  }

  #open(): SqliteClient {
    if (!this.#client)
      throw new ClosedError("the SQLite store is not open (setup() not run, or closed)");
    return this.#client;
  }
}

/**
 * A {@link Store} on SQLite: `createSqliteStore("agent.db")`, or `createSqliteStore(db)` with the
 * better-sqlite3 handle the checkpointer uses, so both live in one file.
 *
 * @example
 * const db = new Database("agent.db");
 * const app = graph.compile({ checkpointer: createSqliteCheckpointer(db), store: createSqliteStore(db) });
 */
export function createSqliteStore(
  database: string | SqliteDatabaseLike,
  options: SqliteStoreBackendOptions & StoreOptions = {},
): Store {
  return new Store(new SqliteStoreBackend(database, options), options);
}

function prefixRange(prefix: string, params: unknown[]): string {
  const upper = upperBound(prefix);
  if (upper === undefined) return "";
  params.push(prefix, upper);
  return " AND path >= ? AND path < ?";
}

function isRefresh(op: StoreOp): boolean {
  return (op.kind === "get" || op.kind === "search") && op.refreshTtl;
}
