/**
 * SQLite implementation of the storage seam on better-sqlite3: one file, many processes. Every
 * write is one `BEGIN IMMEDIATE` transaction, so the head check, the fence check and the write
 * are atomic across processes; a writer that finds the database busy waits (busy timeout)
 * instead of failing. Reads never block writers (WAL).
 */
import {
  ClosedError,
  ConflictError,
  LeaseLostError,
  StorageError,
  ThreadDeletedError,
} from "../../errors.js";
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
  StoredWrite,
} from "../types.js";
import { migrateSqlite } from "./sqlite-migrations.js";
import { SqliteReader } from "./sqlite-reader.js";
import { encodeCreatedAt, encodeVersions, KIND_CODES, packSpilled } from "./sqlite-rows.js";
import type {
  SqliteBackendOptions,
  SqliteDatabaseLike,
  SqliteStatementLike,
} from "./sqlite-types.js";

interface ThreadRow {
  tid: number;
  deleted: number;
  lease_owner: string | null;
  lease_token: number;
  lease_expires_at: number | null;
}

const STATEMENT_CACHE_SIZE = 256;

const SQL = {
  thread:
    "SELECT tid, deleted, lease_owner, lease_token, lease_expires_at FROM rewind_threads WHERE thread_id = ?",
  newThread: "INSERT INTO rewind_threads (thread_id) VALUES (?)",
  head: "SELECT id FROM rewind_checkpoints WHERE tid = ? AND ns = ? ORDER BY id DESC LIMIT 1",
  checkpoint: `INSERT INTO rewind_checkpoints (tid, ns, id, parent_id, created_at, versions, metadata, body)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (tid, ns, id) DO UPDATE SET parent_id = excluded.parent_id,
      created_at = excluded.created_at, versions = excluded.versions,
      metadata = excluded.metadata, body = excluded.body`,
  blobExists:
    "SELECT 1 AS found FROM rewind_blobs WHERE tid = ? AND ns = ? AND channel = ? AND version = ?",
  blob: `INSERT INTO rewind_blobs (tid, ns, channel, version, kind, prev_version, depth, tag, value, value_ref)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  value: "INSERT INTO rewind_values (codec, bytes) VALUES (?, ?)",
  writeExists:
    "SELECT 1 AS found FROM rewind_writes WHERE tid = ? AND ns = ? AND checkpoint_id = ? AND task_id = ? AND idx = ?",
  writeIgnore: `INSERT INTO rewind_writes (tid, ns, checkpoint_id, task_id, idx, task_path, channel, tag, value, value_ref)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  writeUpsert: `INSERT INTO rewind_writes (tid, ns, checkpoint_id, task_id, idx, task_path, channel, tag, value, value_ref)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (tid, ns, checkpoint_id, task_id, idx) DO UPDATE SET task_path = excluded.task_path,
      channel = excluded.channel, tag = excluded.tag, value = excluded.value, value_ref = excluded.value_ref`,
  freeWriteValue: `DELETE FROM rewind_values WHERE id = (SELECT value_ref FROM rewind_writes
    WHERE tid = ? AND ns = ? AND checkpoint_id = ? AND task_id = ? AND idx = ?)`,
  freeThreadValues: `DELETE FROM rewind_values WHERE id IN (
    SELECT value_ref FROM rewind_blobs WHERE tid = @tid AND value_ref IS NOT NULL
    UNION ALL SELECT value_ref FROM rewind_writes WHERE tid = @tid AND value_ref IS NOT NULL)`,
  deleteBlobs: "DELETE FROM rewind_blobs WHERE tid = ?",
  deleteWrites: "DELETE FROM rewind_writes WHERE tid = ?",
  deleteCheckpoints: "DELETE FROM rewind_checkpoints WHERE tid = ?",
  tombstone:
    "UPDATE rewind_threads SET deleted = 1, lease_owner = NULL, lease_expires_at = NULL WHERE tid = ?",
  takeLease:
    "UPDATE rewind_threads SET lease_owner = ?, lease_token = ?, lease_expires_at = ? WHERE tid = ?",
  renewLease: `UPDATE rewind_threads SET lease_expires_at = @expiresAt
    WHERE thread_id = @threadId AND lease_token = @token AND lease_expires_at > @now AND deleted = 0
    RETURNING lease_owner AS owner`,
  releaseLease: `UPDATE rewind_threads SET lease_owner = NULL, lease_expires_at = NULL
    WHERE thread_id = ? AND lease_token = ? AND lease_expires_at IS NOT NULL`,
};

/**
 * SQLite implementation of {@link CheckpointBackend}. Give it a file path (opened with
 * better-sqlite3 in WAL mode, closed by {@link close}) or an open better-sqlite3 handle (used as
 * is and left open). The schema is created and migrated on first use.
 *
 * @example
 * const checkpointer = createCheckpointer(new SqliteBackend("agent.sqlite"));
 */
export class SqliteBackend implements CheckpointBackend {
  readonly name = "sqlite";
  readonly #source: string | SqliteDatabaseLike;
  readonly #busyTimeoutMs: number;
  readonly #now: () => number;
  readonly #statements = new Map<string, SqliteStatementLike>();
  readonly #reader = new SqliteReader((sql) => this.#stmt(sql));
  #db: SqliteDatabaseLike | undefined;
  #ready: Promise<void> | undefined;
  #closed = false;
  /** Largest row payload that stays on its b-tree page (depends on the page size). */
  #maxLocal = 1002;

  constructor(database: string | SqliteDatabaseLike, options: SqliteBackendOptions = {}) {
    this.#source = database;
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.#now = options.now ?? Date.now;
  }

  /** Opens the database if given a path, then applies pending migrations. Idempotent. */
  setup(): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError());
    this.#ready ??= this.#open().catch((error) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  async putCheckpoint(put: CheckpointPut): Promise<void> {
    if (!this.#db) await this.setup();
    const c = put.checkpoint;
    const versions = encodeVersions(c.channelVersions, c.id);
    const createdAt = encodeCreatedAt(c.createdAt);
    // Compression happens before the write lock is taken, never while holding it.
    const blobs = put.blobs.map((blob) => {
      const overhead = c.ns.length + blob.channel.length + blob.version.length;
      return {
        blob,
        out: this.#outOfLine(blob.value?.bytes, overhead + (blob.prevVersion?.length ?? 0)),
      };
    });
    this.#transaction(() => {
      const { tid } = this.#writable(c.threadId, put.fence);
      if (put.expectedHead !== undefined) {
        const head =
          (this.#stmt(SQL.head).get(tid, c.ns) as { id: string } | undefined)?.id ?? null;
        if (head !== put.expectedHead) {
          throw new ConflictError(
            `thread "${c.threadId}" moved: its head is ${head ?? "empty"}, expected ${put.expectedHead ?? "empty"}`,
            { threadId: c.threadId, checkpointId: c.id },
          );
        }
      }
      for (const { blob, out } of blobs) this.#insertBlob(tid, c.ns, blob, out);
      this.#stmt(SQL.checkpoint).run(
        tid,
        c.ns,
        c.id,
        c.parentId,
        createdAt,
        versions,
        c.metadata,
        c.body,
      );
    });
  }

  async putWrites(key: CheckpointKey, writes: readonly StoredWrite[], fence?: LeaseFence) {
    if (!this.#db) await this.setup();
    const keyLength = key.ns.length + key.checkpointId.length;
    const prepared = writes.map((w) => {
      const overhead = keyLength + w.taskId.length + w.taskPath.length + w.channel.length;
      return { w, out: this.#outOfLine(w.value.bytes, overhead) };
    });
    this.#transaction(() => {
      const { tid } = this.#writable(key.threadId, fence);
      for (const { w, out } of prepared) {
        const pk = [tid, key.ns, key.checkpointId, w.taskId, w.idx];
        if (w.idx >= 0) {
          // Insert-or-ignore; checked first so an ignored write leaves no orphan value behind.
          if (out && this.#stmt(SQL.writeExists).get(...pk)) continue;
        } else {
          this.#stmt(SQL.freeWriteValue).run(...pk);
        }
        const ref = out ? this.#stmt(SQL.value).run(out.codec, out.bytes).lastInsertRowid : null;
        this.#stmt(w.idx >= 0 ? SQL.writeIgnore : SQL.writeUpsert).run(
          ...pk,
          w.taskPath,
          w.channel,
          w.value.tag,
          out ? null : w.value.bytes,
          ref,
        );
      }
    });
  }

  async getCheckpoint(
    threadId: string,
    ns: string,
    checkpointId?: string,
  ): Promise<LoadedCheckpoint | undefined> {
    if (!this.#db) await this.setup();
    return this.#reader.get(threadId, ns, checkpointId);
  }

  async *listCheckpoints(query: CheckpointQuery): AsyncIterable<LoadedCheckpoint> {
    if (!this.#db) await this.setup();
    // Pages are fetched lazily as the caller iterates; nothing holds a read transaction open
    // between pages, so a slow consumer never blocks writers or checkpointing of the WAL.
    yield* this.#reader.list(query);
  }

  async deleteThread(threadId: string): Promise<void> {
    if (!this.#db) await this.setup();
    this.#transaction(() => {
      const { tid } = this.#thread(threadId, true)!;
      this.#stmt(SQL.freeThreadValues).run({ tid });
      this.#stmt(SQL.deleteBlobs).run(tid);
      this.#stmt(SQL.deleteWrites).run(tid);
      this.#stmt(SQL.deleteCheckpoints).run(tid);
      this.#stmt(SQL.tombstone).run(tid);
    });
  }

  async acquireLease(request: LeaseRequest): Promise<Lease | undefined> {
    if (!this.#db) await this.setup();
    return this.#transaction(() => {
      const thread = this.#thread(request.threadId, true)!;
      if (thread.deleted) throw this.#deletedError(request.threadId);
      const now = this.#now();
      const live = thread.lease_expires_at !== null && thread.lease_expires_at > now;
      const heldByOther = live && thread.lease_owner !== request.owner;
      if (heldByOther && !request.steal) return undefined;
      const lease: Lease = {
        threadId: request.threadId,
        owner: request.owner,
        token: thread.lease_token + 1,
        expiresAt: now + request.ttlMs,
        ...(heldByOther ? { stolenFrom: thread.lease_owner ?? undefined } : {}),
      };
      this.#stmt(SQL.takeLease).run(lease.owner, lease.token, lease.expiresAt, thread.tid);
      return lease;
    });
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    if (!this.#db) await this.setup();
    const now = this.#now();
    const expiresAt = now + ttlMs;
    const row = this.#stmt(SQL.renewLease).get({
      expiresAt,
      threadId: lease.threadId,
      token: lease.token,
      now,
    }) as { owner: string } | undefined;
    return row && { threadId: lease.threadId, owner: row.owner, token: lease.token, expiresAt };
  }

  async releaseLease(lease: Lease): Promise<void> {
    if (!this.#db) await this.setup();
    this.#stmt(SQL.releaseLease).run(lease.threadId, lease.token);
  }

  /** Closes the database if this backend opened it; a handle passed in is left open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#ready?.catch(() => undefined);
    this.#statements.clear();
    if (typeof this.#source === "string") this.#db?.close();
    this.#db = undefined;
  }

  async #open(): Promise<void> {
    const db =
      typeof this.#source === "string"
        ? await openDatabase(this.#source, this.#busyTimeoutMs)
        : this.#source;
    try {
      migrateSqlite(db);
      const pageSize = Number(db.pragma("page_size", { simple: true })) || 4096;
      // SQLite keeps an index-b-tree cell on its page up to this size; larger rows spill to
      // overflow pages that waste most of a page, so such values go to rewind_values instead.
      this.#maxLocal = Math.floor(((pageSize - 12) * 64) / 255) - 23;
    } catch (error) {
      if (typeof this.#source === "string") db.close();
      throw error;
    }
    if (this.#closed) {
      if (typeof this.#source === "string") db.close();
      throw this.#closedError();
    }
    this.#db = db;
  }

  #stmt(sql: string): SqliteStatementLike {
    let statement = this.#statements.get(sql);
    if (statement) return statement;
    if (!this.#db)
      throw this.#closed ? this.#closedError() : new StorageError("SQLite backend is not set up");
    statement = this.#db.prepare(sql);
    if (this.#statements.size >= STATEMENT_CACHE_SIZE) {
      // Listings with ad-hoc filters make new shapes; drop the oldest rather than grow forever.
      this.#statements.delete(this.#statements.keys().next().value!);
    }
    this.#statements.set(sql, statement);
    return statement;
  }

  #transaction<T>(work: () => T): T {
    if (!this.#db) throw this.#closedError();
    this.#stmt("BEGIN IMMEDIATE").run();
    try {
      const result = work();
      this.#stmt("COMMIT").run();
      return result;
    } catch (error) {
      if (this.#db?.inTransaction) this.#stmt("ROLLBACK").run();
      throw error;
    }
  }

  #thread(threadId: string, create: boolean): ThreadRow | undefined {
    const row = this.#stmt(SQL.thread).get(threadId) as ThreadRow | undefined;
    if (row || !create) return row;
    const tid = Number(this.#stmt(SQL.newThread).run(threadId).lastInsertRowid);
    return { tid, deleted: 0, lease_owner: null, lease_token: 0, lease_expires_at: null };
  }

  #writable(threadId: string, fence: LeaseFence | undefined): ThreadRow {
    const thread = this.#thread(threadId, true)!;
    if (thread.deleted) throw this.#deletedError(threadId);
    if (fence) {
      const expires = thread.lease_expires_at;
      if (expires === null || expires <= this.#now() || thread.lease_token !== fence.token) {
        throw new LeaseLostError(`the lease on thread "${threadId}" was lost`, { threadId });
      }
    }
    return thread;
  }

  #insertBlob(
    tid: number,
    ns: string,
    blob: StoredBlob,
    out: { codec: number; bytes: Uint8Array } | undefined,
  ): void {
    const key = [tid, ns, blob.channel, blob.version];
    // Stored once per version: a second write of it is ignored (checked first when the value
    // goes out of line, so that no orphan value is left behind).
    if (out && this.#stmt(SQL.blobExists).get(...key)) return;
    const ref = out ? this.#stmt(SQL.value).run(out.codec, out.bytes).lastInsertRowid : null;
    this.#stmt(SQL.blob).run(
      ...key,
      KIND_CODES[blob.kind],
      blob.prevVersion,
      blob.depth,
      blob.value?.tag ?? null,
      out ? null : (blob.value?.bytes ?? null),
      ref,
    );
  }

  /**
   * The packed form of a value that would overflow its row's page (`overhead`: bytes of the
   * row's other columns), or undefined when it stays inline.
   */
  #outOfLine(bytes: Uint8Array | undefined, overhead: number) {
    if (bytes === undefined || bytes.byteLength + overhead + 32 <= this.#maxLocal) return undefined;
    return packSpilled(bytes);
  }

  #deletedError(threadId: string): ThreadDeletedError {
    return new ThreadDeletedError(`thread "${threadId}" was deleted; late writes are refused`, {
      threadId,
    });
  }

  #closedError(): ClosedError {
    return new ClosedError("the SQLite backend is closed");
  }
}

/** Opens a file with better-sqlite3, loaded on first use so that it stays an optional peer. */
async function openDatabase(path: string, busyTimeoutMs: number): Promise<SqliteDatabaseLike> {
  let Database: new (path: string, options?: { timeout?: number }) => SqliteDatabaseLike;
  try {
    Database = (await import("better-sqlite3")).default as unknown as typeof Database;
  } catch (cause) {
    throw new StorageError(
      "the SQLite backend needs the better-sqlite3 package (version 12): npm install better-sqlite3@12",
      { cause },
    );
  }
  let db: SqliteDatabaseLike;
  try {
    db = new Database(path, { timeout: busyTimeoutMs });
  } catch (cause) {
    throw new StorageError(
      `could not open SQLite database "${path}": ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
