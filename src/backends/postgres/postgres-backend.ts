/**
 * PostgreSQL backend: many processes on many machines share one server. Every write is one
 * round trip to a function that locks the thread row, checks tombstone, fence and head, and
 * writes, atomically. A read is one round trip per checkpoint, `list` one per page (keyset).
 */

import type {
  ArchiveMark,
  CheckpointBackend,
  CheckpointKey,
  CheckpointPut,
  CheckpointQuery,
  EffectIntent,
  EffectOutcome,
  Lease,
  LeaseFence,
  LeaseRequest,
  LoadedCheckpoint,
  PruneBatch,
  PruneBatchResult,
  QuarantinedCheckpoint,
  QuarantineRequest,
  SpaceReport,
  StoredEffect,
  StoredWrite,
  ThreadFootprint,
  ThreadQuery,
  ThreadSummary,
  ValueRewrite,
} from "../../checkpoint/checkpoint-backend.js";
import { metadataMatches } from "../../checkpoint/metadata-filter.js";
import {
  ConflictError,
  CorruptionError,
  LeaseLostError,
  ThreadDeletedError,
} from "../../errors.js";
import {
  archiveMark,
  archivePostgres,
  readArchivePostgres,
  setArchiveStatePostgres,
} from "./postgres-archive.js";
import { assemble } from "./postgres-assemble.js";
import {
  POSTGRES_DEFAULTS,
  PostgresClient,
  type PostgresClientOptions,
  quoteSchema,
} from "./postgres-client.js";
import {
  beginEffectPostgres,
  finishEffectPostgres,
  listEffectsPostgres,
} from "./postgres-effects.js";
import { PostgresLargeValues, postgresLargeValueRefs } from "./postgres-large-values.js";
import { POSTGRES_CHECKPOINT_SCHEMA } from "./postgres-migrations.js";
import { listQuarantinedPostgres, quarantinePostgres } from "./postgres-quarantine.js";
import { loadQuery, type PageCursor, pageQuery } from "./postgres-queries.js";
import { PostgresRetention } from "./postgres-retention.js";
import { postgresRewriteValues } from "./postgres-rewrite.js";
import type { PgPoolLike } from "./postgres-types.js";
import { PostgresWriteBatch, type WriteSender } from "./postgres-write-batch.js";
import {
  putBatchStatement,
  putBatchValues,
  putBytes,
  putStatement,
  putValues,
  type WritesPut,
  writesBatchStatement,
  writesBatchValues,
  writesBytes,
  writesStatement,
  writesValues,
} from "./postgres-write-statements.js";

/** Options of {@link PostgresBackend}: the connection settings, and the listing page size. */
export interface PostgresBackendOptions extends PostgresClientOptions {
  /**
   * Checkpoints fetched per page by `listCheckpoints`. Default 100. Pages much above 1,000 are
   * costed high enough for the server to JIT-compile each page's query (tens of milliseconds).
   */
  pageSize?: number;
}

/**
 * PostgreSQL implementation of {@link CheckpointBackend}, on the shared {@link PostgresClient}.
 * `setup()` (called once by the checkpointer) creates and migrates the schema.
 */
export class PostgresBackend implements CheckpointBackend {
  readonly name = "postgres";
  /** The grant reads the head, and a run's last write releases its lease (see the seam). */
  readonly foldsLease: boolean = true;
  readonly schema: string;
  readonly #quoted: string;
  readonly #client: PostgresClient;
  readonly #pageSize: number;
  // Built once: the same string each call keeps its cached hash for the statement-name lookup.
  readonly #loadLatest: string;
  readonly #loadById: string;
  readonly #retention: PostgresRetention;
  readonly #puts: PostgresWriteBatch<CheckpointPut>;
  readonly #writes: PostgresWriteBatch<WritesPut>;

  /** `database`: a connection string (Rewind opens and closes the pool) or your `pg.Pool` (left open). */
  constructor(database: string | PgPoolLike, options: PostgresBackendOptions = {}) {
    this.#client = new PostgresClient(database, options, "PostgreSQL backend");
    this.schema = options.schema ?? POSTGRES_DEFAULTS.schema;
    this.#quoted = quoteSchema(this.schema);
    this.#pageSize = options.pageSize ?? 100;
    this.#loadLatest = loadQuery(this.#quoted, false);
    this.#loadById = loadQuery(this.#quoted, true);
    this.#retention = new PostgresRetention(
      (t, v, named) => this.#query(t, v, named),
      this.#quoted,
    );
    // One statement per write, or one for many answering a status per write, in their order.
    const sender = <T>(
      one: string,
      values: (write: T) => unknown[],
      many: string,
      batchValues: (writes: readonly T[]) => unknown[],
    ): WriteSender<T> => ({
      one: async (write) => (await this.#query(one, values(write))).rows[0].status,
      many: async (writes) =>
        (await this.#query(many, batchValues(writes))).rows.map((row) => row.status),
    });
    // Writes share a round trip while this many statements of their kind are in flight, leaving
    // the pool's other connections to reads and to the server's parallelism.
    const lanes = Math.floor(this.#client.poolSize / 4);
    this.#puts = new PostgresWriteBatch(
      sender(
        putStatement(this.#quoted),
        putValues,
        putBatchStatement(this.#quoted),
        putBatchValues,
      ),
      { thread: (put) => put.checkpoint.threadId, bytes: putBytes },
      { lanes },
    );
    // A run's tasks hand their writes over as they end, often in one turn (LangGraph runs a
    // graph's tasks without yielding): those go in one statement, as they would only queue on
    // the thread's lock one after another.
    this.#writes = new PostgresWriteBatch(
      sender(
        writesStatement(this.#quoted),
        writesValues,
        writesBatchStatement(this.#quoted),
        writesBatchValues,
      ),
      { thread: (put) => put.key.threadId, bytes: writesBytes },
      { lanes, sameTurn: true },
    );
  }

  async setup(): Promise<void> {
    await this.#client.migrate(this.schema, POSTGRES_CHECKPOINT_SCHEMA);
  }

  async putCheckpoint(put: CheckpointPut): Promise<void> {
    const status = await this.#puts.send(put);
    this.#check(status, put.checkpoint.threadId, put.checkpoint.id, put.expectedHead);
  }

  async putWrites(
    key: CheckpointKey,
    writes: readonly StoredWrite[],
    fence?: LeaseFence,
  ): Promise<void> {
    const status = await this.#writes.send({ key, writes, fence });
    this.#check(status, key.threadId, key.checkpointId, undefined);
  }

  async getCheckpoint(
    threadId: string,
    ns: string,
    checkpointId?: string,
  ): Promise<LoadedCheckpoint | undefined> {
    const byId = checkpointId !== undefined;
    const { rows } = await this.#query(byId ? this.#loadById : this.#loadLatest, [
      threadId,
      ns,
      ...(checkpointId !== undefined ? [checkpointId] : []),
    ]);
    const loaded = assemble(rows)[0];
    if (loaded instanceof CorruptionError) throw loaded;
    return loaded;
  }

  async *listCheckpoints(query: CheckpointQuery): AsyncIterable<LoadedCheckpoint> {
    const includeValues = query.includeValues !== false;
    const filter = query.filter && Object.keys(query.filter).length > 0 ? query.filter : undefined;
    let remaining = query.limit ?? Number.POSITIVE_INFINITY;
    let cursor: PageCursor | undefined;
    while (remaining > 0) {
      const size = Math.min(this.#pageSize, remaining);
      const { text, values } = pageQuery(this.#quoted, query, cursor, size, includeValues);
      // A filter's shape varies with its keys: such pages are not worth a prepared statement.
      const page = assemble((await this.#query(text, values, filter === undefined)).rows);
      for (const loaded of page) {
        if (loaded instanceof CorruptionError) throw loaded;
        // The SQL filter ran on the jsonb copy, where escapes jsonb refuses became plain text.
        if (filter && !metadataMatches(loaded.checkpoint.metadata, filter)) continue;
        yield loaded;
        if (--remaining <= 0) return;
      }
      if (page.length < size) return;
      const last = (page.at(-1) as LoadedCheckpoint).checkpoint;
      cursor = { id: last.id, threadId: last.threadId, ns: last.ns };
    }
  }

  async deleteThread(threadId: string): Promise<void> {
    await this.#query(`SELECT ${this.#quoted}.rewind_delete_thread($1)`, [threadId]);
  }

  async acquireLease(request: LeaseRequest): Promise<Lease | undefined> {
    const { holder } = request;
    const withHead = request.withHead === true;
    const { rows } = await this.#query(
      withHead
        ? `SELECT * FROM ${this.#quoted}.rewind_acquire_lease_head($1, $2, $3, $4, $5, $6, $7, $8, $9)`
        : `SELECT * FROM ${this.#quoted}.rewind_acquire_lease($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        request.threadId,
        request.owner,
        Math.ceil(request.ttlMs),
        request.steal === true,
        request.replacing ?? null,
        request.inheritStart === true,
        holder?.host ?? null,
        holder?.pid ?? null,
        holder?.started ?? null,
      ],
    );
    // With the head: the lease's row (tagged 'l'), then the head's rows.
    const row = withHead ? rows.find((r) => r.k === "l") : rows[0];
    if (row.status === "deleted") {
      throw new ThreadDeletedError(`thread "${request.threadId}" was deleted`, {
        threadId: request.threadId,
      });
    }
    if (row.status === "busy") return undefined;
    const lease: Lease = {
      threadId: request.threadId,
      owner: request.owner,
      token: Number(row.token),
      expiresAt: Number(row.expires_at),
      startedFrom: (row.started_from as string | null) ?? null,
      ...(holder ? { holder } : {}),
      ...(row.stolen_from ? { stolenFrom: row.stolen_from as string } : {}),
    };
    if (!withHead) return lease;
    const head = assemble(rows.filter((r) => r.k !== "l"))[0];
    if (head instanceof CorruptionError) {
      await this.releaseLease(lease);
      throw head;
    }
    return { ...lease, head: head ?? null, archive: archiveMark(row) ?? null };
  }

  async readLease(threadId: string): Promise<Lease | undefined> {
    const { rows } = await this.#query(
      `SELECT lease_owner, lease_token, lease_expires_at, lease_started_from, lease_host,
         lease_pid, lease_process_start FROM ${this.#quoted}.rewind_threads
       WHERE thread_id = $1 AND NOT deleted AND lease_expires_at IS NOT NULL`,
      [threadId],
    );
    const row = rows[0];
    if (!row || row.lease_owner === null) return undefined;
    return {
      threadId,
      owner: row.lease_owner,
      token: Number(row.lease_token),
      expiresAt: Number(row.lease_expires_at),
      startedFrom: row.lease_started_from ?? null,
      ...(row.lease_host !== null
        ? {
            holder: {
              host: row.lease_host,
              pid: Number(row.lease_pid ?? 0),
              started: row.lease_process_start ?? "",
            },
          }
        : {}),
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

  async releaseLease(lease: Lease): Promise<boolean> {
    const { rows } = await this.#query(
      `UPDATE ${this.#quoted}.rewind_threads SET lease_owner = NULL, lease_expires_at = NULL
       WHERE thread_id = $1 AND lease_token = $2 AND lease_expires_at IS NOT NULL AND NOT deleted
       RETURNING 1 AS released`,
      [lease.threadId, lease.token],
    );
    return rows.length > 0;
  }

  quarantine(request: QuarantineRequest): Promise<void> {
    return quarantinePostgres((t, v) => this.#query(t, v), this.#quoted, request);
  }

  listQuarantined(threadId: string): Promise<QuarantinedCheckpoint[]> {
    return listQuarantinedPostgres((t, v) => this.#query(t, v), this.#quoted, threadId);
  }

  beginEffect(intent: EffectIntent): Promise<{ effect: StoredEffect; recorded: boolean }> {
    return beginEffectPostgres((t, v) => this.#query(t, v), this.#quoted, intent);
  }

  finishEffect(
    outcome: EffectOutcome,
  ): Promise<{ effect: StoredEffect; recorded: boolean } | undefined> {
    return finishEffectPostgres((t, v) => this.#query(t, v), this.#quoted, outcome);
  }

  listEffects(threadId: string, keys?: readonly string[]): Promise<StoredEffect[]> {
    return listEffectsPostgres((t, v) => this.#query(t, v), this.#quoted, threadId, keys);
  }

  listThreads(query: ThreadQuery): Promise<ThreadSummary[]> {
    return this.#retention.listThreads(query);
  }

  footprint(threadId: string): Promise<ThreadFootprint | undefined> {
    return this.#retention.footprint(threadId);
  }

  pruneCheckpoints(batch: PruneBatch): Promise<PruneBatchResult> {
    return this.#retention.prune(batch);
  }

  setPin(threadId: string, checkpointId: string, pinned: boolean): Promise<void> {
    return this.#retention.setPin(threadId, checkpointId, pinned);
  }

  /** Plain `VACUUM` of the checkpoint tables (see `PostgresRetention.reclaimSpace`). */
  reclaimSpace(): Promise<SpaceReport> {
    return this.#retention.reclaimSpace();
  }

  archiveThread(threadId: string, stub: string, fence?: LeaseFence): Promise<void> {
    return archivePostgres((t, v) => this.#query(t, v), this.#quoted, threadId, stub, fence);
  }

  readArchive(threadId: string): Promise<ArchiveMark | undefined> {
    return readArchivePostgres((t, v) => this.#query(t, v), this.#quoted, threadId);
  }

  setArchiveState(threadId: string, state: "restoring" | "live"): Promise<void> {
    return setArchiveStatePostgres((t, v) => this.#query(t, v), this.#quoted, threadId, state);
  }

  rewriteValues(threadId: string, rewrite: ValueRewrite): Promise<number> {
    return postgresRewriteValues((t, v) => this.#query(t, v), this.#quoted, threadId, rewrite);
  }

  /** Large values in this schema (`rewind_large_values`). */
  largeValueTarget(): PostgresLargeValues {
    return new PostgresLargeValues((t, v) => this.#query(t, v), this.#quoted);
  }

  async *listLargeValueRefs() {
    yield* await postgresLargeValueRefs((t, v) => this.#query(t, v), this.#quoted);
  }

  /** Ends the pool if Rewind opened it; your pool is left open. */
  async close(): Promise<void> {
    // Writes already handed over finish first: one may be waiting for a round trip to share.
    await Promise.all([this.#puts.settled(), this.#writes.settled()]);
    await this.#client.close();
  }

  #query(text: string, values: unknown[], named = true) {
    return this.#client.query(text, values, named);
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
