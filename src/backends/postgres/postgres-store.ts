/**
 * The cross-thread store in PostgreSQL (`pg`). One table keyed by (tenant, path, key): prefix
 * search is a range scan of that key, filters run in SQL over a GIN-indexed jsonb copy of the
 * value, and a batch is one transaction on one connection. It can share the checkpointer's pool
 * and schema: its tables have names of their own.
 */

import { ClosedError, ConflictError } from "../../errors.js";
import type { LargeValueRef } from "../../offload/large-value-target.js";
import {
  decodeNamespace,
  encodeNamespace,
  PATH_TERMINATOR,
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
import {
  POSTGRES_DEFAULTS,
  PostgresClient,
  type PostgresClientOptions,
  quoteSchema,
} from "./postgres-client.js";
import { PostgresLargeValues, postgresLargeValueRefs } from "./postgres-large-values.js";
import { type Bind, jsonbDocText, postgresFilterSql } from "./postgres-store-filter.js";
import { POSTGRES_STORE_SCHEMA } from "./postgres-store-migrations.js";
import type { PgPoolLike, PgQueryable } from "./postgres-types.js";

/**
 * Options of the PostgreSQL store backend: the connection settings the checkpoint backend takes,
 * with the same defaults. `schema` defaults to `"rewind"`, like the checkpointer's; a store made
 * by an earlier Rewind in `public` (the old default) is found there and used when no schema is
 * given and `"rewind"` holds no store yet.
 */
export type PostgresStoreBackendOptions = PostgresClientOptions;

/** Where stores lived before the default became the checkpointer's schema. */
const LEGACY_SCHEMA = "public";

type Queryable = PgQueryable;

interface Row {
  path: string;
  key: string;
  value: string;
  created_at: string | number;
  updated_at: string | number;
  expires_at: string | number | null;
  refs: string | null;
}

const COLUMNS = "path, key, value, created_at, updated_at, expires_at, ttl_ms, refs";

/** PostgreSQL implementation of {@link StoreBackend}. Wrap it with {@link createPostgresStore}. */
export class PostgresStoreBackend implements StoreBackend {
  readonly name = "postgres";
  readonly #client: PostgresClient;
  readonly #schemaOption: string | undefined;
  #table = "";
  #quoted = "";
  /** The store's texts vary with each filter's shape: they are sent unnamed, never prepared. */
  readonly #unprepared: PgQueryable = {
    query: (text, values) => this.#client.query(text, values, false),
  };

  /**
   * `database`: a connection string (the store opens a pool and ends it on `close()`) or an open
   * `pg.Pool`, e.g. the checkpointer's (left open).
   */
  constructor(database: string | PgPoolLike, options: PostgresStoreBackendOptions = {}) {
    this.#client = new PostgresClient(database, options, "PostgreSQL store");
    if (options.schema !== undefined) quoteSchema(options.schema);
    this.#schemaOption = options.schema;
  }

  /**
   * Large values in the store's schema (`rewind_large_values`, shared with the checkpoint tables
   * of that schema).
   */
  largeValueTarget(): PostgresLargeValues {
    return new PostgresLargeValues(
      (text, values) => this.#unprepared.query(text, values),
      () => this.#quotedSchema(),
    );
  }

  /** Every reference to a large value in the schema: items' and, beside them, checkpoints'. */
  async *listLargeValueRefs(): AsyncIterable<LargeValueRef> {
    yield* await postgresLargeValueRefs(
      (text, values) => this.#unprepared.query(text, values),
      this.#quotedSchema(),
    );
  }

  async setup(): Promise<void> {
    const schema = this.#schemaOption ?? (await this.#defaultSchema());
    await this.#client.migrate(schema, POSTGRES_STORE_SCHEMA);
    this.#quoted = quoteSchema(schema);
    this.#table = `${this.#quoted}.rewind_store_items`;
  }

  async batch(ops: readonly StoreOp[], now: number): Promise<StoreOpResult[]> {
    // One statement is atomic by itself: no need to hold a connection for a transaction.
    if (ops.length === 1) return [await this.#apply(this.#unprepared, ops[0]!, now)];
    return this.#client.transaction(async (db) => {
      const results: StoreOpResult[] = [];
      for (const op of ops) results.push(await this.#apply(db, op, now));
      return results;
    });
  }

  async rewriteItems(
    query: ItemRewriteQuery,
    rewrite: (item: StoredItemText) => string | undefined,
  ): Promise<{ last: StoredItemText | undefined; replaced: number }> {
    const values: unknown[] = [query.limit];
    const where: string[] = [];
    if (query.after) {
      const { tenant, path, key } = query.after;
      values.push(tenant, path, key);
      where.push("(tenant, path, key) > ($2, $3, $4)");
    }
    if (query.tenant !== undefined) where.push(`tenant = $${values.push(query.tenant)}`);
    const { rows } = await this.#client.query(
      `SELECT tenant, path, key, value FROM ${this.#table}
       ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
       ORDER BY tenant, path, key LIMIT $1`,
      values,
      false,
    );
    let replaced = 0;
    for (const item of rows as StoredItemText[]) {
      const value = rewrite(item);
      if (value === undefined) continue;
      // Compare-and-set: an item put since it was read keeps the newer value.
      const result = await this.#client.query(
        `UPDATE ${this.#table} SET value = $1::text, doc = $2::text::jsonb
         WHERE tenant = $3 AND path = $4 AND key = $5 AND value = $6`,
        [value, jsonbDocText(value), item.tenant, item.path, item.key, item.value],
      );
      replaced += result.rowCount ?? 0;
    }
    return { last: (rows as StoredItemText[]).at(-1), replaced };
  }

  async sweepExpired(now: number, limit: number): Promise<number> {
    const result = await this.#client.query(
      `DELETE FROM ${this.#table} WHERE ctid IN (
         SELECT ctid FROM ${this.#table} WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [now, limit],
      false,
    );
    return result.rowCount ?? 0;
  }

  /** Ends the pool if the store opened it; a pool passed in is left open. */
  async close(): Promise<void> {
    await this.#client.close();
  }

  /**
   * `"rewind"`, unless only the old default schema holds a store: then that one, so a store
   * made before the default changed stays reachable without configuration.
   */
  async #defaultSchema(): Promise<string> {
    const { rows } = await this.#client.query(
      "SELECT to_regclass($1) IS NOT NULL AS current, to_regclass($2) IS NOT NULL AS legacy",
      [`"${POSTGRES_DEFAULTS.schema}".rewind_store_items`, `"${LEGACY_SCHEMA}".rewind_store_items`],
      false,
    );
    return rows[0].legacy && !rows[0].current ? LEGACY_SCHEMA : POSTGRES_DEFAULTS.schema;
  }

  async #apply(db: Queryable, op: StoreOp, now: number): Promise<StoreOpResult> {
    const t = this.#table;
    switch (op.kind) {
      case "get": {
        const where = "tenant = $1 AND path = $2 AND key = $3";
        const params = [op.tenant, encodeNamespace(op.namespace), op.key, now];
        const { rows } = await db.query(this.#select(where, "", op.refreshTtl, "$4"), params);
        return rows[0] && itemFromRow(rows[0]);
      }
      case "put": {
        const doc = jsonbDocText(op.value);
        const params = [
          op.tenant,
          encodeNamespace(op.namespace),
          op.key,
          op.value,
          op.ttlMs,
          now,
          op.ttlMs === null ? null : now + op.ttlMs,
          op.embedding && Buffer.from(vectorToBytes(op.embedding)),
          refsColumn(op.refs),
        ];
        if (doc !== op.value) params.push(doc);
        const result = await db.query(
          `INSERT INTO ${t} AS i
             (tenant, path, key, value, doc, ttl_ms, created_at, updated_at, expires_at, embedding,
              refs)
           VALUES ($1, $2, $3, $4::text, ${doc === op.value ? "$4" : "$10"}::text::jsonb,
             $5, $6, $6, $7, $8, $9)
           ON CONFLICT (tenant, path, key) DO UPDATE SET
             value = EXCLUDED.value, doc = EXCLUDED.doc, ttl_ms = EXCLUDED.ttl_ms,
             updated_at = EXCLUDED.updated_at, expires_at = EXCLUDED.expires_at,
             embedding = EXCLUDED.embedding, refs = EXCLUDED.refs,
             created_at = CASE WHEN i.expires_at <= EXCLUDED.updated_at
               THEN EXCLUDED.created_at ELSE i.created_at END
           ${op.ifAbsent ? "WHERE i.expires_at <= EXCLUDED.updated_at" : ""}`,
          params,
        );
        if (result.rowCount === 0) {
          throw new ConflictError(
            `an item already exists under ${JSON.stringify(op.key)} in namespace ${JSON.stringify(op.namespace)}`,
          );
        }
        return undefined;
      }
      case "delete": {
        const { rows } = await db.query(
          `DELETE FROM ${t} WHERE tenant = $1 AND path = $2 AND key = $3 RETURNING expires_at`,
          [op.tenant, encodeNamespace(op.namespace), op.key],
        );
        return rows.length > 0 && (rows[0].expires_at === null || Number(rows[0].expires_at) > now);
      }
      case "search":
        return this.#search(db, op, now);
      case "listNamespaces":
        return this.#listNamespaces(db, op, now);
    }
  }

  async #search(db: Queryable, op: StoreSearchOp, now: number): Promise<StoredItem[]> {
    const params: unknown[] = [op.tenant, now];
    const bind: Bind = (value) => `$${params.push(value)}`;
    let where = "tenant = $1";
    const prefix = encodeNamespace(op.namespacePrefix);
    const upper = upperBound(prefix);
    if (upper !== undefined) where += ` AND path >= ${bind(prefix)} AND path < ${bind(upper)}`;
    where += ` AND ${postgresFilterSql(op.filter, bind)}`;
    if (op.query) return this.#searchSimilar(db, op, where, params);
    const page = `ORDER BY updated_at DESC, path, key LIMIT ${bind(op.limit)} OFFSET ${bind(op.offset)}`;
    const { rows } = await db.query(this.#select(where, page, op.refreshTtl, "$2"), params);
    return rows.map(itemFromRow);
  }

  /**
   * Semantic search: scores the candidates the prefix and filter leave with the shared ranking
   * (pgvector is not required), then refreshes the TTLs of the page it returns.
   */
  async #searchSimilar(
    db: Queryable,
    op: StoreSearchOp,
    where: string,
    params: unknown[],
  ): Promise<StoredItem[]> {
    const { rows } = await db.query(
      `SELECT ${COLUMNS}, embedding FROM ${this.#table}
       WHERE ${where} AND (expires_at IS NULL OR expires_at > $2) AND embedding IS NOT NULL`,
      params,
    );
    const candidates = rows.map((row) => ({
      row: row as Row & { ttl_ms: string | null },
      path: row.path as string,
      key: row.key as string,
      updatedAt: Number(row.updated_at),
      vector: vectorFromBytes(row.embedding),
    }));
    const page = rankBySimilarity(candidates, op.query!, op.offset, op.limit);
    const now = params[1] as number;
    if (op.refreshTtl && page.some((c) => c.row.ttl_ms !== null)) {
      await db.query(
        `UPDATE ${this.#table} SET expires_at = $2 + ttl_ms
         WHERE tenant = $1 AND ttl_ms IS NOT NULL AND (expires_at IS NULL OR expires_at > $2)
           AND (path, key) IN (SELECT * FROM unnest($3::text[], $4::text[]))`,
        [op.tenant, now, page.map((c) => c.path), page.map((c) => c.key)],
      );
    }
    return page.map(({ row, score }) => ({
      ...itemFromRow(row),
      ...(op.refreshTtl && row.ttl_ms !== null ? { expiresAt: now + Number(row.ttl_ms) } : {}),
      score,
    }));
  }

  /** The store's quoted schema, known once `setup()` has run. */
  #quotedSchema(): string {
    if (!this.#quoted)
      throw new ClosedError("the PostgreSQL store is not set up (setup() not run)");
    return this.#quoted;
  }

  /**
   * Live items matching `where` (`$1` is the tenant, `now` the placeholder of the clock),
   * optionally pushing each TTL'd hit's expiry to now + its TTL in the same statement; results
   * keep the ordering of `page`.
   */
  #select(where: string, page: string, refresh: boolean, now: string): string {
    const live = `(expires_at IS NULL OR expires_at > ${now})`;
    if (!refresh) return `SELECT ${COLUMNS} FROM ${this.#table} WHERE ${where} AND ${live} ${page}`;
    return `WITH hits AS (
        SELECT ${COLUMNS} FROM ${this.#table} WHERE ${where} AND ${live} ${page}),
      refreshed AS (
        UPDATE ${this.#table} AS s SET expires_at = ${now} + s.ttl_ms FROM hits
        WHERE s.tenant = $1 AND s.path = hits.path AND s.key = hits.key AND s.ttl_ms IS NOT NULL)
      SELECT path, key, value, created_at, updated_at,
        CASE WHEN ttl_ms IS NULL THEN NULL ELSE ${now} + ttl_ms END AS expires_at, refs
      FROM hits ${page ? "ORDER BY updated_at DESC, path, key" : ""}`;
  }

  /**
   * A loose index scan in one recursive statement: each step seeks the next live path past the
   * previous namespace (past its whole subtree once it is cut to `maxDepth`), so the work is one
   * indexed seek per namespace returned or skipped, however many items each holds.
   */
  async #listNamespaces(
    db: Queryable,
    op: StoreListNamespacesOp,
    now: number,
  ): Promise<string[][]> {
    const params: unknown[] = [op.tenant, now];
    const bind: Bind = (value) => `$${params.push(value)}`;
    let where = "s.tenant = $1 AND (s.expires_at IS NULL OR s.expires_at > $2)";
    const prefix = encodeNamespace(op.prefix);
    const upper = upperBound(prefix);
    if (upper !== undefined) where += ` AND s.path >= ${bind(prefix)} AND s.path < ${bind(upper)}`;
    const suffix = encodeNamespace(op.suffix);
    if (suffix !== "") {
      where += ` AND right(chr(1) || s.path, ${bind([...suffix].length + 1)}) = ${bind(PATH_TERMINATOR + suffix)}`;
    }
    let cut = "s.path";
    let jump = "";
    if (op.maxDepth !== null) {
      const pattern = `^(?:[^${PATH_TERMINATOR}]*${PATH_TERMINATOR}){1,${op.maxDepth}}`;
      cut = `substring(s.path from ${bind(pattern)})`;
      jump = ` AND s.path >= CASE
          WHEN length(scan.cut) - length(replace(scan.cut, chr(1), '')) = ${bind(op.maxDepth)}
          THEN left(scan.cut, -1) || chr(2) ELSE '' END`;
    }
    const { rows } = await db.query(
      `WITH RECURSIVE scan(path, cut) AS (
         (SELECT s.path, ${cut} FROM ${this.#table} s WHERE ${where} ORDER BY s.path LIMIT 1)
         UNION ALL
         SELECT n.path, n.cut FROM scan CROSS JOIN LATERAL (
           SELECT s.path, ${cut} AS cut FROM ${this.#table} s
           WHERE ${where} AND s.path > scan.path${jump}
           ORDER BY s.path LIMIT 1) n)
       SELECT cut FROM scan LIMIT ${bind(op.limit)} OFFSET ${bind(op.offset)}`,
      params,
    );
    return rows.map((row) => decodeNamespace(row.cut as string));
  }
}

/**
 * A {@link Store} on PostgreSQL: `createPostgresStore(connectionString)`, or
 * `createPostgresStore(pool)` with the `pg.Pool` the checkpointer uses.
 *
 * @example
 * const store = createPostgresStore(pool, { schema: "agents", defaultTtlMs: 30 * 86_400_000 });
 */
export function createPostgresStore(
  database: string | PgPoolLike,
  options: PostgresStoreBackendOptions & StoreOptions = {},
): Store {
  return new Store(new PostgresStoreBackend(database, options), options);
}
