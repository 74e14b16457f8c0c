/**
 * PostgreSQL backend: many processes on many machines share one server. Every write is one
 * round trip to a function that locks the thread row, checks tombstone, fence and head, and
 * writes, atomically. Reads are one round trip per checkpoint; `list` pages by keyset.
 */
import {
  ConflictError,
  InvalidInputError,
  LeaseLostError,
  StorageError,
  ThreadDeletedError,
} from "../../errors.js";
import { compareWrites } from "../blob-chain.js";
import type {
  CheckpointBackend,
  CheckpointKey,
  CheckpointPut,
  CheckpointQuery,
  Lease,
  LeaseFence,
  LeaseRequest,
  LoadedCheckpoint,
  StoredBlob,
  StoredCheckpoint,
  StoredWrite,
} from "../types.js";
import { openPgPool, type PgPoolLike, quoteSchema } from "./pg-types.js";
import { migratePostgres } from "./postgres-migrations.js";
import { loadQuery, pageQuery } from "./postgres-queries.js";

/** Options of {@link PostgresBackend}. */
export interface PostgresBackendOptions {
  /** Schema holding Rewind's tables (created if missing). Default `"rewind"`. */
  schema?: string;
  /** Rows fetched per page by `listCheckpoints`. Default 100. */
  pageSize?: number;
  /** Pool size when Rewind opens the pool from a connection string. Default 10. */
  maxConnections?: number;
}

const KINDS = { full: 0, append: 1, empty: 2 } as const;
const KIND_NAMES = ["full", "append", "empty"] as const;

/** PostgreSQL implementation of {@link CheckpointBackend}. */
export class PostgresBackend implements CheckpointBackend {
  readonly name = "postgres";
  readonly schema: string;
  readonly #quoted: string;
  readonly #source: string | PgPoolLike;
  readonly #ownsPool: boolean;
  readonly #pageSize: number;
  readonly #maxConnections: number;
  #pool: PgPoolLike | undefined;

  /** `database`: a connection string (Rewind opens and closes the pool) or your `pg.Pool` (left open). */
  constructor(database: string | PgPoolLike, options: PostgresBackendOptions = {}) {
    if (
      typeof database !== "string" &&
      (typeof database !== "object" || database === null || typeof database.query !== "function")
    ) {
      throw new InvalidInputError("PostgresBackend needs a connection string or a pg.Pool");
    }
    this.schema = options.schema ?? "rewind";
    this.#quoted = quoteSchema(this.schema, (m) => new InvalidInputError(m));
    this.#source = database;
    this.#ownsPool = typeof database === "string";
    this.#pageSize = options.pageSize ?? 100;
    this.#maxConnections = options.maxConnections ?? 10;
  }

  async setup(): Promise<void> {
    const pool = await this.#poolReady();
    await migratePostgres(pool, this.schema, this.#quoted);
  }

  async putCheckpoint(put: CheckpointPut): Promise<void> {
    const c = put.checkpoint;
    const b = put.blobs;
    const { rows } = await this.#query(
      `SELECT ${this.#quoted}.rewind_put_checkpoint($1,$2,$3,$4,$5,$6::jsonb,$7::jsonb,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18) AS status`,
      [
        c.threadId,
        c.ns,
        c.id,
        c.parentId,
        c.createdAt,
        JSON.stringify(c.channelVersions),
        c.metadata,
        c.body,
        put.expectedHead !== undefined,
        put.expectedHead ?? null,
        put.fence?.token ?? null,
        b.map((x) => x.channel),
        b.map((x) => x.version),
        b.map((x) => KINDS[x.kind]),
        b.map((x) => x.prevVersion),
        b.map((x) => x.depth),
        b.map((x) => x.value?.tag ?? null),
        b.map((x) =>
          x.value
            ? Buffer.from(x.value.bytes.buffer, x.value.bytes.byteOffset, x.value.bytes.byteLength)
            : null,
        ),
      ],
    );
    this.#check(rows[0].status, c.threadId, c.id, put.expectedHead);
  }

  async putWrites(
    key: CheckpointKey,
    writes: readonly StoredWrite[],
    fence?: LeaseFence,
  ): Promise<void> {
    const { rows } = await this.#query(
      `SELECT ${this.#quoted}.rewind_put_writes($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) AS status`,
      [
        key.threadId,
        key.ns,
        key.checkpointId,
        fence?.token ?? null,
        writes.map((w) => w.taskId),
        writes.map((w) => w.taskPath),
        writes.map((w) => w.idx),
        writes.map((w) => w.channel),
        writes.map((w) => w.value.tag),
        writes.map((w) =>
          Buffer.from(w.value.bytes.buffer, w.value.bytes.byteOffset, w.value.bytes.byteLength),
        ),
      ],
    );
    this.#check(rows[0].status, key.threadId, key.checkpointId, undefined);
  }

  async getCheckpoint(
    threadId: string,
    ns: string,
    checkpointId?: string,
  ): Promise<LoadedCheckpoint | undefined> {
    const { rows } = await this.#query(loadQuery(this.#quoted, checkpointId !== undefined), [
      threadId,
      ns,
      ...(checkpointId !== undefined ? [checkpointId] : []),
    ]);
    return assemble(rows);
  }

  async *listCheckpoints(query: CheckpointQuery): AsyncIterable<LoadedCheckpoint> {
    let remaining = query.limit ?? Number.POSITIVE_INFINITY;
    let cursor: { id: string; threadId: string; ns: string } | undefined;
    while (remaining > 0) {
      const size = Math.min(this.#pageSize, remaining);
      const { text, values } = pageQuery(this.#quoted, query, cursor, size);
      const { rows } = await this.#query(text, values);
      for (const row of rows) {
        const checkpoint = toCheckpoint(row);
        if (query.includeValues === false) yield { checkpoint, blobs: {}, writes: [] };
        else {
          const loaded = await this.getCheckpoint(
            checkpoint.threadId,
            checkpoint.ns,
            checkpoint.id,
          );
          if (loaded) yield loaded;
        }
        remaining--;
      }
      if (rows.length < size) return;
      const last = rows.at(-1);
      cursor = { id: last.id, threadId: last.thread_id, ns: last.ns };
    }
  }

  async deleteThread(threadId: string): Promise<void> {
    const s = this.#quoted;
    await this.#query(
      `WITH t AS (
         INSERT INTO ${s}.rewind_threads (thread_id, deleted, lease_owner, lease_expires_at) VALUES ($1, true, NULL, NULL)
         ON CONFLICT (thread_id) DO UPDATE SET deleted = true, lease_owner = NULL, lease_expires_at = NULL
         RETURNING 1),
       h AS (DELETE FROM ${s}.rewind_heads WHERE thread_id = $1),
       c AS (DELETE FROM ${s}.rewind_checkpoints WHERE thread_id = $1),
       b AS (DELETE FROM ${s}.rewind_blobs WHERE thread_id = $1),
       w AS (DELETE FROM ${s}.rewind_writes WHERE thread_id = $1)
       SELECT 1 FROM t`,
      [threadId],
    );
  }

  async acquireLease(request: LeaseRequest): Promise<Lease | undefined> {
    const { rows } = await this.#query(
      `SELECT * FROM ${this.#quoted}.rewind_acquire_lease($1, $2, $3, $4)`,
      [request.threadId, request.owner, Math.ceil(request.ttlMs), request.steal === true],
    );
    const row = rows[0];
    if (row.status === "deleted") {
      throw new ThreadDeletedError(`thread "${request.threadId}" was deleted`, {
        threadId: request.threadId,
      });
    }
    if (row.status === "busy") return undefined;
    return {
      threadId: request.threadId,
      owner: request.owner,
      token: Number(row.token),
      expiresAt: Number(row.expires_at),
      ...(row.stolen_from ? { stolenFrom: row.stolen_from as string } : {}),
    };
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    const { rows } = await this.#query(
      `WITH now_ms AS (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT AS v)
       UPDATE ${this.#quoted}.rewind_threads SET lease_expires_at = (SELECT v FROM now_ms) + $3
       WHERE thread_id = $1 AND lease_token = $2 AND NOT deleted AND lease_expires_at > (SELECT v FROM now_ms)
       RETURNING lease_expires_at`,
      [lease.threadId, lease.token, Math.ceil(ttlMs)],
    );
    return rows[0] ? { ...lease, expiresAt: Number(rows[0].lease_expires_at) } : undefined;
  }

  async releaseLease(lease: Lease): Promise<void> {
    await this.#query(
      `UPDATE ${this.#quoted}.rewind_threads SET lease_owner = NULL, lease_expires_at = NULL
       WHERE thread_id = $1 AND lease_token = $2`,
      [lease.threadId, lease.token],
    );
  }

  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool && this.#ownsPool) await pool.end();
  }

  async #poolReady(): Promise<PgPoolLike> {
    if (!this.#pool) {
      this.#pool =
        typeof this.#source === "string"
          ? await openPgPool(this.#source, this.#maxConnections)
          : this.#source;
    }
    return this.#pool;
  }

  async #query(text: string, values: unknown[]) {
    const pool = await this.#poolReady();
    try {
      return await pool.query(text, values);
    } catch (cause) {
      throw new StorageError(`PostgreSQL query failed: ${(cause as Error).message}`, { cause });
    }
  }

  #check(
    status: string,
    threadId: string,
    checkpointId: string,
    expected: string | null | undefined,
  ): void {
    if (status === "ok") return;
    const where = { threadId, checkpointId };
    if (status === "deleted")
      throw new ThreadDeletedError(
        `thread "${threadId}" was deleted; late writes are refused`,
        where,
      );
    if (status === "lease")
      throw new LeaseLostError(`the lease on thread "${threadId}" was lost`, where);
    const head = status.slice("conflict:".length) || null;
    throw new ConflictError(
      `thread "${threadId}" moved: its head is ${head ?? "empty"}, expected ${expected ?? "empty"}`,
      where,
    );
  }
}

function toCheckpoint(row: any): StoredCheckpoint {
  return {
    threadId: row.thread_id,
    ns: row.ns,
    id: row.id,
    parentId: row.parent_id,
    createdAt: row.created_at,
    channelVersions: typeof row.versions === "string" ? JSON.parse(row.versions) : row.versions,
    metadata: typeof row.metadata === "string" ? row.metadata : JSON.stringify(row.metadata),
    body: row.body,
  };
}

/** Builds a LoadedCheckpoint from the mixed rows of {@link loadQuery}. */
function assemble(rows: any[]): LoadedCheckpoint | undefined {
  const head = rows.find((r) => r.k === "c");
  if (!head) return undefined;
  const checkpoint = toCheckpoint({
    thread_id: head.a,
    ns: head.b,
    id: head.c,
    parent_id: head.d,
    created_at: head.e,
    versions: head.f,
    metadata: head.g,
    body: head.h,
  });
  const chains: Record<string, { depth: number; blob: StoredBlob }[]> = {};
  const writes: StoredWrite[] = [];
  for (const r of rows) {
    if (r.k === "b") {
      const list = chains[r.a] ?? [];
      chains[r.a] = list;
      list.push({
        depth: r.o,
        blob: {
          channel: r.a,
          version: r.c,
          kind: KIND_NAMES[r.n as 0 | 1 | 2],
          prevVersion: r.d,
          depth: r.m,
          value: r.value === null ? null : { tag: r.tag, bytes: new Uint8Array(r.value) },
        },
      });
    } else if (r.k === "w") {
      writes.push({
        taskId: r.a,
        taskPath: r.b,
        idx: r.n,
        channel: r.c,
        value: { tag: r.tag, bytes: new Uint8Array(r.value) },
      });
    }
  }
  const blobs: Record<string, StoredBlob[]> = {};
  for (const [channel, list] of Object.entries(chains)) {
    blobs[channel] = list.sort((x, y) => y.depth - x.depth).map((x) => x.blob);
  }
  writes.sort(compareWrites);
  return { checkpoint, blobs, writes };
}
