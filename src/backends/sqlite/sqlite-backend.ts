/**
 * SQLite implementation of the storage seam on better-sqlite3: one file, many processes.
 * The connection (open, settings, statement cache, transactions, migrations) is the shared
 * {@link SqliteClient}; the work is done by {@link SqliteWriter} (one `BEGIN IMMEDIATE`
 * transaction per write, puts of one turn grouped by {@link SqliteGroupCommit}) and
 * {@link SqliteReader} (paged reads). Reads never block writers (WAL).
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
  QuarantinedCheckpoint,
  QuarantineRequest,
  StoredBlob,
  StoredEffect,
  StoredWrite,
  ValueRewrite,
} from "../../checkpoint/checkpoint-backend.js";
import type {
  PruneBatch,
  PruneBatchResult,
  SpaceReport,
  ThreadFootprint,
  ThreadQuery,
  ThreadSummary,
} from "../../checkpoint/retention-seam.js";
import { ClosedError, InvalidInputError } from "../../errors.js";
import { SqliteArchive } from "./sqlite-archive.js";
import { type ChangeStamp, checkSqliteArguments, SqliteClient } from "./sqlite-client.js";
import { SqliteEffects } from "./sqlite-effects.js";
import { SqliteGroupCommit } from "./sqlite-group-commit.js";
import { HEAD_CACHE_BYTES, SqliteHeadCache } from "./sqlite-head-cache.js";
import { SqliteLargeValues, sqliteLargeValueRefs } from "./sqlite-large-values.js";
import { SqliteLeases } from "./sqlite-lease.js";
import { SQLITE_CHECKPOINT_SCHEMA } from "./sqlite-migrations.js";
import { listQuarantinedRows } from "./sqlite-quarantine.js";
import { SqliteReader } from "./sqlite-reader.js";
import { SqliteRetention } from "./sqlite-retention.js";
import { sqliteRewriteValues } from "./sqlite-rewrite.js";
import type { CheckpointRow } from "./sqlite-rows.js";
import type { SqliteBackendOptions, SqliteDatabaseLike } from "./sqlite-types.js";
import { SqliteWriter } from "./sqlite-writer.js";

interface Open {
  readonly client: SqliteClient;
  readonly cache: SqliteHeadCache;
  readonly reader: SqliteReader;
  readonly writer: SqliteWriter;
  readonly leases: SqliteLeases;
  readonly effects: SqliteEffects;
  readonly retention: SqliteRetention;
  readonly archive: SqliteArchive;
  readonly group: SqliteGroupCommit;
}

/**
 * SQLite implementation of {@link CheckpointBackend}. Give it a file path (opened with
 * better-sqlite3 in WAL mode with `synchronous=FULL` unless told otherwise, closed by
 * {@link close}) or an open better-sqlite3 handle (used as is and left open; enable WAL on it
 * yourself for concurrent readers). The schema is created and migrated by `setup()`, which the
 * checkpointer calls once before any other method.
 *
 * @example
 * const checkpointer = createCheckpointer(new SqliteBackend("agent.sqlite"));
 */
export class SqliteBackend implements CheckpointBackend {
  readonly name = "sqlite";
  /** A grant reads the head in its transaction; a run's last write releases its lease. */
  readonly foldsLease: boolean = true;
  readonly #source: string | SqliteDatabaseLike;
  readonly #options: SqliteBackendOptions;
  #open: Open | undefined;

  constructor(database: string | SqliteDatabaseLike, options: SqliteBackendOptions = {}) {
    checkSqliteArguments(database, options, "SQLite backend");
    const cacheBytes = options.headCacheBytes;
    if (cacheBytes !== undefined && (!Number.isSafeInteger(cacheBytes) || cacheBytes < 0)) {
      throw new InvalidInputError("headCacheBytes must be a non-negative integer");
    }
    this.#source = database;
    this.#options = options;
  }

  /** The open connection (after `setup()`), e.g. to read a setting in force. */
  get client(): SqliteClient {
    return this.#io().client;
  }

  /** Opens the database if given a path, then applies pending migrations. */
  async setup(): Promise<void> {
    if (this.#open) return;
    const client = await SqliteClient.open(this.#source, this.#options, SQLITE_CHECKPOINT_SCHEMA);
    const now = this.#options.now ?? Date.now;
    const writer = new SqliteWriter(client, now);
    const cache = new SqliteHeadCache(this.#options.headCacheBytes ?? HEAD_CACHE_BYTES);
    this.#open = {
      client,
      cache,
      reader: new SqliteReader(client, cache),
      writer,
      leases: new SqliteLeases(writer, client, now),
      effects: new SqliteEffects(writer, client),
      retention: new SqliteRetention(client, writer, now),
      archive: new SqliteArchive(writer, client, now),
      group: new SqliteGroupCommit(client),
    };
  }

  async putCheckpoint(put: CheckpointPut): Promise<void> {
    const { client, group, writer, cache } = this.#opened();
    const { threadId, ns } = put.checkpoint;
    let learned:
      | { stored: readonly StoredBlob[]; row: CheckpointRow | null; stamp?: ChangeStamp }
      | undefined;
    await group.run(() => {
      // In a caller's transaction, which may yet be rolled back, nothing is known stored.
      const joined = client.inCallerTransaction;
      const written = writer.putCheckpoint(put);
      learned = undefined;
      if (joined) return;
      // Where the file stands once this transaction commits, unless a later write of the
      // group (or anything after it) changes a row: taken under the write lock, after this
      // put's last statement, so the next head read can tell nothing changed since.
      const stamp = written.row && cache.holds(threadId, ns) ? client.stamp() : undefined;
      learned = { ...written, stamp };
    });
    if (learned === undefined) return;
    // Committed: the head cache holds what the next read of the thread would read.
    const row = learned.row;
    cache.learn(
      threadId,
      ns,
      learned.stored,
      row ? { row, checkpoint: put.checkpoint } : undefined,
      learned.stamp,
    );
  }

  async putWrites(key: CheckpointKey, writes: readonly StoredWrite[], fence?: LeaseFence) {
    const { group, writer } = this.#opened();
    return group.run(() => writer.putWrites(key, writes, fence));
  }

  async getCheckpoint(
    threadId: string,
    ns: string,
    checkpointId?: string,
  ): Promise<LoadedCheckpoint | undefined> {
    const { client, reader, cache } = this.#io();
    const head = checkpointId === undefined && cache.keeps && !client.inCallerTransaction;
    // A head read again, once its entry was read since it last changed, first takes the file's
    // stamp, a statement of its own: when no row of the file changed since that read (or since
    // this process's own put), it is answered from the head cache whole, with no transaction.
    // Otherwise the read runs in one read transaction (the row, its chains and its writes from
    // one snapshot, so a thread deleted mid-read is either wholly there or wholly gone), and its
    // entry is kept with that stamp: taken before the snapshot, it can only be older than what
    // was read, so a change in between makes the next stamp differ and the next read reads.
    const stamp = head && cache.wantsStamp(threadId, ns) ? client.stamp() : undefined;
    return (
      (stamp && cache.unchanged(threadId, ns, stamp)) ||
      client.transaction(false, () => reader.get(threadId, ns, checkpointId, stamp))
    );
  }

  async *listCheckpoints(query: CheckpointQuery): AsyncIterable<LoadedCheckpoint> {
    // Pages are fetched lazily as the caller iterates; nothing holds a read transaction open
    // between pages, so a slow consumer never blocks writers or checkpointing of the WAL.
    yield* this.#io().reader.list(query);
  }

  async deleteThread(threadId: string): Promise<void> {
    this.#maintained().writer.deleteThread(threadId);
  }

  async acquireLease(request: LeaseRequest): Promise<Lease | undefined> {
    const { leases, reader } = this.#io();
    if (!request.withHead) return leases.acquire(request);
    return leases.acquire(request, () => reader.get(request.threadId, ""));
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    return this.#io().leases.renew(lease, ttlMs);
  }

  async readLease(threadId: string): Promise<Lease | undefined> {
    return this.#io().leases.read(threadId);
  }

  async releaseLease(lease: Lease): Promise<boolean> {
    return this.#io().leases.release(lease);
  }

  async quarantine(request: QuarantineRequest): Promise<void> {
    this.#maintained().writer.quarantine(request);
  }

  async listQuarantined(threadId: string): Promise<QuarantinedCheckpoint[]> {
    const { client } = this.#io();
    return listQuarantinedRows((sql) => client.stmt(sql), threadId);
  }

  async beginEffect(intent: EffectIntent): Promise<{ effect: StoredEffect; recorded: boolean }> {
    return this.#io().effects.begin(intent);
  }

  async finishEffect(
    outcome: EffectOutcome,
  ): Promise<{ effect: StoredEffect; recorded: boolean } | undefined> {
    return this.#io().effects.finish(outcome);
  }

  async listEffects(threadId: string, keys?: readonly string[]): Promise<StoredEffect[]> {
    return this.#io().effects.list(threadId, keys);
  }

  async listThreads(query: ThreadQuery): Promise<ThreadSummary[]> {
    return this.#io().retention.listThreads(query);
  }

  async footprint(threadId: string): Promise<ThreadFootprint | undefined> {
    return this.#io().retention.footprint(threadId);
  }

  async pruneCheckpoints(batch: PruneBatch): Promise<PruneBatchResult> {
    return this.#maintained().retention.prune(batch);
  }

  async setPin(threadId: string, checkpointId: string, pinned: boolean): Promise<void> {
    this.#io().retention.setPin(threadId, checkpointId, pinned);
  }

  /** Frees deleted rows' pages and truncates the file (see `SqliteRetention.reclaimSpace`). */
  async reclaimSpace(): Promise<SpaceReport> {
    return this.#io().retention.reclaimSpace();
  }

  async archiveThread(threadId: string, stub: string, fence?: LeaseFence): Promise<void> {
    this.#maintained().archive.archive(threadId, stub, fence);
  }

  async readArchive(threadId: string): Promise<ArchiveMark | undefined> {
    return this.#io().archive.read(threadId);
  }

  async setArchiveState(threadId: string, state: "restoring" | "live"): Promise<void> {
    this.#io().archive.setState(threadId, state);
  }

  /** Re-encryption: the thread's stored values with their bytes replaced, in one transaction. */
  async rewriteValues(threadId: string, rewrite: ValueRewrite): Promise<number> {
    return sqliteRewriteValues(this.#maintained().client, threadId, rewrite);
  }

  /** Large values in this file (`rewind_large_values`). */
  largeValueTarget(): SqliteLargeValues {
    return new SqliteLargeValues(() => this.#io().client);
  }

  async *listLargeValueRefs() {
    yield* sqliteLargeValueRefs(this.#io().client);
  }

  /** Closes the database if this backend opened it; a handle passed in is left open. */
  async close(): Promise<void> {
    const open = this.#open;
    this.#open = undefined;
    open?.group.flush();
    await open?.client.close();
  }

  /**
   * {@link #io}, for maintenance that moves, removes or rewrites stored rows: the head cache is
   * emptied first. Its entries stay correct through such work (see sqlite-head-cache.ts); this
   * only keeps it from holding bytes sealed under a key that is then retired.
   */
  #maintained(): Open {
    const open = this.#io();
    open.cache.clear();
    return open;
  }

  /** The open connection, after the puts still waiting for their group commit have run. */
  #io(): Open {
    const open = this.#opened();
    open.group.flush();
    return open;
  }

  #opened(): Open {
    if (!this.#open)
      throw new ClosedError("the SQLite backend is not open (setup() not run, or closed)");
    return this.#open;
  }
}
