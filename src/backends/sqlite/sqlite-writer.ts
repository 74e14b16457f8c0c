/**
 * The write side of the SQLite backend. Every write is one `BEGIN IMMEDIATE` transaction, so
 * the tombstone check, the fence check, the compare-and-set on the head and the write itself are
 * atomic across processes; a writer that finds the database busy waits (busy timeout) instead
 * of failing. Large values are packed before the lock is taken.
 */

import { archivedError } from "../../checkpoint/archived-threads.js";
import type {
  CheckpointKey,
  CheckpointPut,
  LeaseFence,
  QuarantineRequest,
  StoredBlob,
  StoredCheckpoint,
  StoredWrite,
} from "../../checkpoint/checkpoint-backend.js";
import { ConflictError, LeaseLostError, ThreadDeletedError } from "../../errors.js";
import type { SqliteClient } from "./sqlite-client.js";
import { decodeInline, encodeInline, inlineSize } from "./sqlite-inline.js";
import { quarantineRows } from "./sqlite-quarantine.js";
import {
  type CheckpointRow,
  encodeCreatedAt,
  encodeVersions,
  kindCode,
  packId,
  packSpilled,
} from "./sqlite-rows.js";
import type { SqliteStatementLike } from "./sqlite-types.js";

/** A row of `rewind_threads`: the thread's tombstone and its lease. */
export interface ThreadRow {
  tid: number;
  deleted: number;
  lease_owner: string | null;
  lease_token: number;
  lease_expires_at: number | null;
  lease_started_from: string | null;
  lease_host: string | null;
  lease_pid: number | null;
  lease_process_start: string | null;
  archive_state: number | null;
  archive_stub: string | null;
}

const THREAD_COLUMNS =
  "tid, deleted, lease_owner, lease_token, lease_expires_at, lease_started_from, lease_host, lease_pid, lease_process_start, archive_state, archive_stub";
/** The thread's head in `@ns`: its newest checkpoint's id. */
const HEAD =
  "(SELECT id FROM rewind_checkpoints WHERE tid = t.tid AND ns = @ns ORDER BY id DESC LIMIT 1)";
// What a put's own-version values could clash with: the checkpoint's row (a rewrite keeps the
// values it holds) and, among `channels`, those the table already holds at this version
// (written by another checkpoint's put; the first write stays the one read).
const CLASH = `EXISTS (SELECT 1 FROM rewind_checkpoints WHERE tid = t.tid AND ns = @ns AND id = @id) AS present,
    (SELECT vals FROM rewind_checkpoints WHERE tid = t.tid AND ns = @ns AND id = @id) AS vals,
    (SELECT json_group_array(j.value) FROM json_each(@channels) AS j WHERE EXISTS (
      SELECT 1 FROM rewind_blobs AS b
      WHERE b.tid = t.tid AND b.ns = @ns AND b.channel = j.value AND b.version = @version)) AS taken`;

const SQL = {
  thread: `SELECT ${THREAD_COLUMNS} FROM rewind_threads WHERE thread_id = ?`,
  newThread: "INSERT INTO rewind_threads (thread_id) VALUES (?)",
  // Everything a put checks, read in one statement under its write lock: the thread's row
  // (tombstone, lease), its head (compare-and-set) and, with `clash`, what its own-version
  // values could clash with.
  put: `SELECT ${THREAD_COLUMNS}, ${HEAD} AS head FROM rewind_threads AS t WHERE thread_id = @thread`,
  putClash: `SELECT ${THREAD_COLUMNS}, ${HEAD} AS head, ${CLASH} FROM rewind_threads AS t WHERE thread_id = @thread`,
  // A rewrite of a checkpoint keeps the values its first write inlined (first write wins).
  checkpoint: `INSERT INTO rewind_checkpoints (tid, ns, id, parent_id, created_at, versions, metadata, body, vals)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (tid, ns, id) DO UPDATE SET parent_id = excluded.parent_id,
      created_at = excluded.created_at, versions = excluded.versions,
      metadata = excluded.metadata, body = excluded.body`,
  blob: `INSERT INTO rewind_blobs (tid, ns, channel, version, kind, prev_version, depth, tag, value, value_ref)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  value: "INSERT INTO rewind_values (codec, bytes) VALUES (?, ?)",
  // A spilled value whose row the table ignored (its key was stored before): none is orphaned.
  unspill: "DELETE FROM rewind_values WHERE id = ?",
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
  deleteQuarantine: "DELETE FROM rewind_quarantine WHERE tid = ?",
  deleteEffects: "DELETE FROM rewind_effects WHERE tid = ?",
  deletePins: "DELETE FROM rewind_pins WHERE tid = ?",
  release:
    "UPDATE rewind_threads SET lease_owner = NULL, lease_expires_at = NULL WHERE tid = ? AND lease_token = ?",
  tombstone:
    "UPDATE rewind_threads SET deleted = 1, lease_owner = NULL, lease_expires_at = NULL, archive_state = NULL, archive_stub = NULL WHERE tid = ?",
};

/** Synchronous writes through the client's cached statements; the backend wraps them in its async API. */
export class SqliteWriter {
  readonly #client: SqliteClient;
  readonly #now: () => number;

  /** `now`: the lease clock, epoch milliseconds. */
  constructor(client: SqliteClient, now: () => number) {
    this.#client = client;
    this.#now = now;
  }

  /**
   * Stores a checkpoint and its values; returns the values now stored exactly as given (all of
   * them, but for one whose (channel, version) was stored before: the first write stays), or
   * none when the checkpoint was there already (its row keeps the values it holds), and the row
   * it inserted, column for column as a read returns it (null when the checkpoint was there).
   */
  putCheckpoint(put: CheckpointPut): { stored: readonly StoredBlob[]; row: CheckpointRow | null } {
    const c = put.checkpoint;
    const versions = encodeVersions(c.channelVersions, c.id);
    const createdAt = encodeCreatedAt(c.createdAt);
    // Compression and encoding happen before the write lock is taken, never while holding it.
    const { inline, rest } = this.#splitInline(put, versions, createdAt);
    let vals = inline.length > 0 ? encodeInline(inline) : null;
    const blobs = rest.map((blob) => {
      const overhead = c.ns.length + blob.channel.length + blob.version.length;
      return {
        blob,
        out: this.#outOfLine(blob.value?.bytes, overhead + (blob.prevVersion?.length ?? 0)),
      };
    });
    // Only a value versioned by the put's own checkpoint can clash (see #storeOwnVersions).
    const own = inline.length > 0 || blobs.some(({ blob }) => blob.version === c.id);
    return this.transaction(() => {
      const found = this.#stmt(own ? SQL.putClash : SQL.put).get({
        thread: c.threadId,
        ns: c.ns,
        id: c.id,
        ...(own
          ? {
              version: packId(c.id),
              channels: JSON.stringify(inline.map((blob) => blob.channel)),
            }
          : {}),
      }) as PutRow | undefined;
      // A thread with no row has no checkpoint and no value yet: nothing is there to clash.
      const row: PutRow = found ?? {
        ...this.thread(c.threadId, true)!,
        head: null,
        ...(own ? { present: 0, vals: null, taken: "[]" } : {}),
      };
      const { tid } = this.#check(c.threadId, row, put.fence);
      if (put.expectedHead !== undefined && row.head !== put.expectedHead) {
        throw new ConflictError(
          `thread "${c.threadId}" moved: its head is ${row.head ?? "empty"}, expected ${put.expectedHead ?? "empty"}`,
          { threadId: c.threadId, checkpointId: c.id },
        );
      }
      const { rewrite, taken, stored } = this.#storeOwnVersions(tid, c, row, inline, blobs);
      const fresh = taken.size > 0 ? inline.filter((blob) => !taken.has(blob.channel)) : inline;
      if (taken.size > 0) vals = fresh.length > 0 ? encodeInline(fresh) : null;
      this.#stmt(SQL.checkpoint).run(
        tid,
        c.ns,
        c.id,
        c.parentId === null ? null : packId(c.parentId),
        createdAt,
        versions,
        c.metadata,
        c.body,
        rewrite ? null : vals,
      );
      // The holder's last write gives its lease back with it (the fence was checked above).
      if (put.release && put.fence) this.#stmt(SQL.release).run(tid, put.fence.token);
      if (rewrite) return { stored: NO_BLOBS, row: null };
      const inserted: CheckpointRow = {
        tid,
        ns: c.ns,
        id: c.id,
        parent_id: c.parentId,
        created_at: createdAt,
        versions,
        metadata: c.metadata,
        body: c.body,
        vals,
      };
      return { stored: [...stored, ...fresh], row: inserted };
    });
  }

  /**
   * Inserts a put's table rows and settles its inline values against what is stored (`clash`,
   * read with the put's checks; only a value versioned by the put's own checkpoint can clash, so
   * only then is it looked up). `rewrite`: the checkpoint exists, and its row keeps the values it holds
   * (the put's other inline values go to the table). `taken`: channels the table already holds
   * at this version, which stay the values read.
   */
  #storeOwnVersions(
    tid: number,
    c: StoredCheckpoint,
    clash: Partial<Clash>,
    inline: readonly StoredBlob[],
    blobs: readonly { blob: StoredBlob; out: { codec: number; bytes: Uint8Array } | undefined }[],
  ): { rewrite: boolean; taken: ReadonlySet<string>; stored: readonly StoredBlob[] } {
    if (!clash.present) {
      const stored: StoredBlob[] = [];
      for (const { blob, out } of blobs)
        if (this.#insertBlob(tid, c.ns, blob, out)) stored.push(blob);
      const taken = clash.taken === undefined ? [] : (JSON.parse(clash.taken) as string[]);
      return { rewrite: false, taken: taken.length > 0 ? new Set(taken) : NONE, stored };
    }
    const kept = keptInline(clash.vals ?? null);
    const stays = (blob: StoredBlob) => blob.version === c.id && kept.has(blob.channel);
    for (const { blob, out } of blobs) if (!stays(blob)) this.#insertBlob(tid, c.ns, blob, out);
    for (const blob of inline) if (!stays(blob)) this.#insertBlob(tid, c.ns, blob, undefined);
    return { rewrite: true, taken: NONE, stored: NO_BLOBS };
  }

  /**
   * Which of a put's blobs go inside the checkpoint row: those {@link inlineSize} allows, in
   * order, while the row stays small enough to live on its b-tree page.
   */
  #splitInline(put: CheckpointPut, versions: string, createdAt: number | string) {
    const c = put.checkpoint;
    if (!put.blobs.some((blob) => blob.version === c.id)) return { inline: [], rest: put.blobs };
    const row =
      Buffer.byteLength(c.ns) +
      Buffer.byteLength(c.id) +
      (c.parentId?.length ?? 0) +
      String(createdAt).length +
      Buffer.byteLength(versions) +
      Buffer.byteLength(c.metadata) +
      Buffer.byteLength(c.body) +
      32;
    let budget = this.#client.maxLocal - row - 1;
    const inline: StoredBlob[] = [];
    const rest: StoredBlob[] = [];
    for (const blob of put.blobs) {
      const size = inlineSize(blob, c.id);
      if (size !== undefined && size <= budget) {
        inline.push(blob);
        budget -= size;
      } else {
        rest.push(blob);
      }
    }
    return { inline, rest };
  }

  putWrites(key: CheckpointKey, writes: readonly StoredWrite[], fence?: LeaseFence): void {
    const checkpointId = packId(key.checkpointId);
    const keyLength = key.ns.length + checkpointId.length;
    const prepared = writes.map((w) => {
      const overhead = keyLength + w.taskId.length + w.taskPath.length + w.channel.length;
      return { w, out: this.#outOfLine(w.value.bytes, overhead) };
    });
    this.transaction(() => {
      const { tid } = this.#writable(key.threadId, fence);
      for (const { w, out } of prepared) {
        const pk = [tid, key.ns, checkpointId, w.taskId, w.idx];
        // Special writes (idx < 0) replace the stored one, whose spilled value goes first.
        if (w.idx < 0) this.#stmt(SQL.freeWriteValue).run(...pk);
        const ref = this.#spill(out);
        const { changes } = this.#stmt(w.idx >= 0 ? SQL.writeIgnore : SQL.writeUpsert).run(
          ...pk,
          w.taskPath,
          w.channel,
          w.value.tag,
          out ? null : w.value.bytes,
          ref,
        );
        this.#unspillIgnored(changes, ref);
      }
    });
  }

  deleteThread(threadId: string): void {
    this.transaction(() => {
      const { tid } = this.thread(threadId, true)!;
      this.deleteRows(tid);
      this.#stmt(SQL.deleteEffects).run(tid);
      this.#stmt(SQL.deletePins).run(tid);
      this.#stmt(SQL.tombstone).run(tid);
    });
  }

  /** Deletes every checkpoint, blob, write, spilled value and quarantined row of `tid`. */
  deleteRows(tid: number): void {
    this.#stmt(SQL.freeThreadValues).run({ tid });
    this.#stmt(SQL.deleteBlobs).run(tid);
    this.#stmt(SQL.deleteWrites).run(tid);
    this.#stmt(SQL.deleteCheckpoints).run(tid);
    this.#stmt(SQL.deleteQuarantine).run(tid);
  }

  /** Moves damaged checkpoints aside (see sqlite-quarantine.ts), in one transaction. */
  quarantine(request: QuarantineRequest): void {
    this.writeThread(request.threadId, undefined, (tid) => {
      quarantineRows((sql) => this.#stmt(sql), tid, request, this.#now());
    });
  }

  /**
   * Runs `work` on the thread's `tid` in one `BEGIN IMMEDIATE` transaction, after the checks
   * every write makes: the thread is not deleted (`ThreadDeletedError`) and, with a `fence`, its
   * lease is still that one (`LeaseLostError`).
   */
  writeThread<T>(threadId: string, fence: LeaseFence | undefined, work: (tid: number) => T): T {
    return this.transaction(() => work(this.#writable(threadId, fence).tid));
  }

  /** Runs `work` in one `BEGIN IMMEDIATE` transaction (a savepoint when one is open). */
  transaction<T>(work: () => T): T {
    return this.#client.transaction(true, work);
  }

  #stmt(sql: string): SqliteStatementLike {
    return this.#client.stmt(sql);
  }

  /** The thread's row; created (and returned) when missing and `create` is set. */
  thread(threadId: string, create: boolean): ThreadRow | undefined {
    const row = this.#stmt(SQL.thread).get(threadId) as ThreadRow | undefined;
    if (row || !create) return row;
    const tid = Number(this.#stmt(SQL.newThread).run(threadId).lastInsertRowid);
    return {
      tid,
      deleted: 0,
      lease_owner: null,
      lease_token: 0,
      lease_expires_at: null,
      lease_started_from: null,
      lease_host: null,
      lease_pid: null,
      lease_process_start: null,
      archive_state: null,
      archive_stub: null,
    };
  }

  #writable(threadId: string, fence: LeaseFence | undefined): ThreadRow {
    return this.#check(threadId, this.thread(threadId, true)!, fence);
  }

  /** `thread`, when it may be written: not deleted or archived, and still under `fence`. */
  #check(threadId: string, thread: ThreadRow, fence: LeaseFence | undefined): ThreadRow {
    if (thread.deleted) throw this.deletedError(threadId);
    if (thread.archive_state === ARCHIVED) throw archivedError(threadId, thread.archive_stub ?? "");
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
  ): boolean {
    // Stored once per version: a second write of it is ignored. True when this one is stored.
    const ref = this.#spill(out);
    const { changes } = this.#stmt(SQL.blob).run(
      tid,
      ns,
      blob.channel,
      packId(blob.version),
      kindCode(blob),
      blob.prevVersion === null ? null : packId(blob.prevVersion),
      blob.depth,
      blob.value?.tag ?? null,
      out ? null : (blob.value?.bytes ?? null),
      ref,
    );
    this.#unspillIgnored(changes, ref);
    return changes > 0;
  }

  /** Stores a value out of line (see {@link #outOfLine}); its id, or null for none. */
  #spill(out: { codec: number; bytes: Uint8Array } | undefined): number | bigint | null {
    return out ? this.#stmt(SQL.value).run(out.codec, out.bytes).lastInsertRowid : null;
  }

  /**
   * Removes the value spilled for a row the table ignored (`changes` 0: its key was stored
   * before, and the first write stays), so that none is left orphaned. Spilling first and
   * taking it back on the rare repeat costs a common write one statement less than asking first.
   */
  #unspillIgnored(changes: number, ref: number | bigint | null): void {
    if (changes === 0 && ref !== null) this.#stmt(SQL.unspill).run(ref);
  }

  /**
   * The packed form of a value that would overflow its row's page (`overhead`: bytes of the
   * row's other columns), or undefined when it stays inline.
   */
  #outOfLine(bytes: Uint8Array | undefined, overhead: number) {
    if (bytes === undefined || bytes.byteLength + overhead + 32 <= this.#client.maxLocal)
      return undefined;
    return packSpilled(bytes);
  }

  deletedError(threadId: string): ThreadDeletedError {
    return new ThreadDeletedError(`thread "${threadId}" was deleted; late writes are refused`, {
      threadId,
    });
  }
}

const NONE: ReadonlySet<string> = new Set();
const NO_BLOBS: readonly StoredBlob[] = [];

/** What a put's own-version values could clash with (see `CLASH`). */
interface Clash {
  present: number;
  vals: Uint8Array | null;
  taken: string;
}

/** The row a put reads before it writes: the thread, its head and, when asked, the clash. */
type PutRow = ThreadRow & { head: string | null } & Partial<Clash>;

/** `archive_state` of a thread moved to an archive (writes refused); 2 is a restore under way. */
export const ARCHIVED = 1;

/** Channels a stored checkpoint row holds inline; unreadable bytes hold none (the reader reports them). */
function keptInline(vals: Uint8Array | null): ReadonlySet<string> {
  try {
    return new Set(decodeInline(vals).keys());
  } catch {
    return new Set();
  }
}
