/**
 * SQLite implementation of the storage seam on better-sqlite3: one file, many processes.
 * This file owns the connection (open, migrate, statement cache, close); the work is done by
 * {@link SqliteWriter} (one `BEGIN IMMEDIATE` transaction per write) and {@link SqliteReader}
 * (paged reads). Reads never block writers (WAL).
 */
import { ClosedError, InvalidInputError, StorageError } from "../../errors.js";
import type {
  CheckpointBackend,
  CheckpointKey,
  CheckpointPut,
  CheckpointQuery,
  Lease,
  LeaseFence,
  LeaseRequest,
  LoadedCheckpoint,
  QuarantinedCheckpoint,
  QuarantineRequest,
  StoredWrite,
} from "../types.js";
import { migrateSqlite } from "./sqlite-migrations.js";
import { listQuarantinedRows } from "./sqlite-quarantine.js";
import { SqliteReader } from "./sqlite-reader.js";
import type {
  SqliteBackendOptions,
  SqliteDatabaseLike,
  SqliteStatementLike,
} from "./sqlite-types.js";
import { SqliteWriter } from "./sqlite-writer.js";

/** Listings with ad-hoc filters make new statement shapes; the cache keeps the newest ones. */
const STATEMENT_CACHE_SIZE = 256;

/**
 * SQLite implementation of {@link CheckpointBackend}. Give it a file path (opened with
 * better-sqlite3 in WAL mode, closed by {@link close}) or an open better-sqlite3 handle (used as
 * is and left open; enable WAL on it yourself for concurrent readers). The schema is created and
 * migrated on first use.
 *
 * @example
 * const checkpointer = createCheckpointer(new SqliteBackend("agent.sqlite"));
 */
export class SqliteBackend implements CheckpointBackend {
  readonly name = "sqlite";
  readonly #source: string | SqliteDatabaseLike;
  readonly #busyTimeoutMs: number;
  readonly #statements = new Map<string, SqliteStatementLike>();
  readonly #reader = new SqliteReader((sql) => this.#stmt(sql));
  readonly #writer: SqliteWriter;
  #db: SqliteDatabaseLike | undefined;
  #ready: Promise<void> | undefined;
  #closed = false;
  /** Largest row payload SQLite keeps on an index-b-tree page (set from the page size). */
  #maxLocal = 1002;

  constructor(database: string | SqliteDatabaseLike, options: SqliteBackendOptions = {}) {
    const valid =
      typeof database === "string"
        ? database.length > 0
        : typeof database?.prepare === "function" && typeof database.exec === "function";
    if (!valid) {
      throw new InvalidInputError(
        "the SQLite backend needs a file path or an open better-sqlite3 database",
      );
    }
    const busy = options.busyTimeoutMs;
    if (busy !== undefined && (!Number.isInteger(busy) || busy < 0)) {
      throw new InvalidInputError("busyTimeoutMs must be a non-negative integer");
    }
    this.#source = database;
    this.#busyTimeoutMs = busy ?? 5000;
    const now = options.now ?? Date.now;
    this.#writer = new SqliteWriter({
      db: () => this.#db ?? this.#throwClosed(),
      stmt: (sql) => this.#stmt(sql),
      now,
      maxLocal: () => this.#maxLocal,
    });
  }

  /** Opens the database if given a path, then applies pending migrations. Idempotent. */
  setup(): Promise<void> {
    if (this.#closed) return Promise.reject(closedError());
    this.#ready ??= this.#open().catch((error) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  async putCheckpoint(put: CheckpointPut): Promise<void> {
    if (!this.#db) await this.setup();
    this.#writer.putCheckpoint(put);
  }

  async putWrites(key: CheckpointKey, writes: readonly StoredWrite[], fence?: LeaseFence) {
    if (!this.#db) await this.setup();
    this.#writer.putWrites(key, writes, fence);
  }

  async getCheckpoint(
    threadId: string,
    ns: string,
    checkpointId?: string,
  ): Promise<LoadedCheckpoint | undefined> {
    if (!this.#db) await this.setup();
    const db = this.#db ?? this.#throwClosed();
    if (db.inTransaction) return this.#reader.get(threadId, ns, checkpointId);
    // One read transaction: the row, its chains and its writes come from one snapshot, so a
    // thread deleted mid-read is either wholly there or wholly gone.
    this.#stmt("BEGIN").run();
    try {
      return this.#reader.get(threadId, ns, checkpointId);
    } finally {
      this.#stmt("COMMIT").run();
    }
  }

  async *listCheckpoints(query: CheckpointQuery): AsyncIterable<LoadedCheckpoint> {
    if (!this.#db) await this.setup();
    // Pages are fetched lazily as the caller iterates; nothing holds a read transaction open
    // between pages, so a slow consumer never blocks writers or checkpointing of the WAL.
    yield* this.#reader.list(query);
  }

  async deleteThread(threadId: string): Promise<void> {
    if (!this.#db) await this.setup();
    this.#writer.deleteThread(threadId);
  }

  async acquireLease(request: LeaseRequest): Promise<Lease | undefined> {
    if (!this.#db) await this.setup();
    return this.#writer.acquireLease(request);
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    if (!this.#db) await this.setup();
    return this.#writer.renewLease(lease, ttlMs);
  }

  async releaseLease(lease: Lease): Promise<void> {
    if (!this.#db) await this.setup();
    this.#writer.releaseLease(lease);
  }

  /** Closes the database if this backend opened it; a handle passed in is left open. Idempotent. */
  async quarantine(request: QuarantineRequest): Promise<void> {
    if (!this.#db) await this.setup();
    this.#writer.quarantine(request);
  }

  async listQuarantined(threadId: string): Promise<QuarantinedCheckpoint[]> {
    if (!this.#db) await this.setup();
    return listQuarantinedRows((sql) => this.#stmt(sql), threadId);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#ready?.catch(() => undefined);
    this.#statements.clear();
    if (typeof this.#source === "string") this.#db?.close();
    this.#db = undefined;
  }

  async #open(): Promise<void> {
    const owned = typeof this.#source === "string";
    const db = owned
      ? await openDatabase(this.#source as string, this.#busyTimeoutMs)
      : (this.#source as SqliteDatabaseLike);
    try {
      migrateSqlite(db);
      const pageSize = Number(db.pragma("page_size", { simple: true })) || 4096;
      // Rows larger than this spill to overflow pages that waste most of a page; the writer
      // moves such values to rewind_values instead.
      this.#maxLocal = Math.floor(((pageSize - 12) * 64) / 255) - 23;
    } catch (error) {
      if (owned) db.close();
      throw error;
    }
    if (this.#closed) {
      if (owned) db.close();
      throw closedError();
    }
    this.#db = db;
  }

  #stmt(sql: string): SqliteStatementLike {
    let statement = this.#statements.get(sql);
    if (statement) return statement;
    const db = this.#db ?? this.#throwClosed();
    statement = db.prepare(sql);
    if (this.#statements.size >= STATEMENT_CACHE_SIZE) {
      this.#statements.delete(this.#statements.keys().next().value!);
    }
    this.#statements.set(sql, statement);
    return statement;
  }

  #throwClosed(): never {
    throw this.#closed ? closedError() : new StorageError("the SQLite backend is not set up");
  }
}

function closedError(): ClosedError {
  return new ClosedError("the SQLite backend is closed");
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
    // `timeout` is SQLite's busy timeout: a locked database is retried, not reported.
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
