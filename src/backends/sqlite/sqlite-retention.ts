/**
 * Retention on SQLite: threads listed with their sizes, a thread's footprint, pins, prune
 * batches (one `BEGIN IMMEDIATE` transaction each, so the safety checks and the deletes are
 * atomic across processes) and giving the space back to the file system (incremental vacuum).
 */
import type {
  PruneBatch,
  PruneBatchResult,
  SpaceReport,
  ThreadFootprint,
  ThreadQuery,
  ThreadSummary,
} from "../../checkpoint/checkpoint-backend.js";
import { unsafeReason } from "../../checkpoint/memory-retention.js";
import { ConflictError, NotFoundError } from "../../errors.js";
import type { SqliteClient } from "./sqlite-client.js";
import { decodeInline } from "./sqlite-inline.js";
import {
  type CheckpointRow,
  decodeCreatedAt,
  idText,
  KIND_CODES,
  packId,
  packSpilled,
  toStoredCheckpoint,
} from "./sqlite-rows.js";
import type { SqliteStatementLike } from "./sqlite-types.js";
import type { SqliteWriter } from "./sqlite-writer.js";

/** Bytes of a column as stored (text counted in UTF-8 bytes). */
const B = (column: string) => `coalesce(length(CAST(${column} AS BLOB)), 0)`;
const ROW_BYTES = `${B("c.ns")} + ${B("c.id")} + ${B("c.parent_id")} + ${B("c.created_at")} + ${B("c.versions")} + ${B("c.metadata")} + ${B("c.body")} + ${B("c.vals")}`;
const BLOB_BYTES = `${B("b.channel")} + ${B("b.version")} + ${B("b.tag")} + ${B("b.value")} + coalesce((SELECT length(v.bytes) FROM rewind_values AS v WHERE v.id = b.value_ref), 0)`;
const WRITE_BYTES = `${B("w.task_id")} + ${B("w.task_path")} + ${B("w.tag")} + ${B("w.value")} + coalesce((SELECT length(v.bytes) FROM rewind_values AS v WHERE v.id = w.value_ref), 0)`;

const SQL = {
  threads: `SELECT t.thread_id,
      (SELECT count(*) FROM rewind_checkpoints AS c WHERE c.tid = t.tid) AS checkpoints,
      (SELECT c.created_at FROM rewind_checkpoints AS c WHERE c.tid = t.tid ORDER BY c.id DESC LIMIT 1) AS updated_at,
      (SELECT coalesce(sum(${ROW_BYTES}), 0) FROM rewind_checkpoints AS c WHERE c.tid = t.tid)
      + (SELECT coalesce(sum(${BLOB_BYTES}), 0) FROM rewind_blobs AS b WHERE b.tid = t.tid)
      + (SELECT coalesce(sum(${WRITE_BYTES}), 0) FROM rewind_writes AS w WHERE w.tid = t.tid) AS bytes
    FROM rewind_threads AS t
    WHERE t.deleted = 0 AND t.thread_id > @after AND substr(t.thread_id, 1, length(@prefix)) = @prefix
      AND EXISTS (SELECT 1 FROM rewind_checkpoints AS c WHERE c.tid = t.tid)
    ORDER BY t.thread_id LIMIT @limit`,
  checkpoints: `SELECT c.tid, c.ns, c.id, ${idText("c.parent_id")} AS parent_id, c.created_at,
      c.versions, c.metadata, '' AS body, NULL AS vals, ${ROW_BYTES} AS bytes
    FROM rewind_checkpoints AS c WHERE c.tid = ? ORDER BY c.ns, c.id`,
  blobs: `SELECT b.ns, b.channel, ${idText("b.version")} AS version, ${BLOB_BYTES} AS bytes
    FROM rewind_blobs AS b WHERE b.tid = ?`,
  writes: `SELECT w.ns, ${idText("w.checkpoint_id")} AS checkpoint_id, count(*) AS n,
      sum(${WRITE_BYTES}) AS bytes, json_group_array(DISTINCT w.channel) AS channels FROM rewind_writes AS w WHERE w.tid = ? GROUP BY w.ns, w.checkpoint_id`,
  pins: "SELECT checkpoint_id FROM rewind_pins WHERE tid = ? ORDER BY checkpoint_id",
  pinned: "SELECT 1 AS found FROM rewind_pins WHERE tid = ? AND checkpoint_id = ?",
  pin: "INSERT OR IGNORE INTO rewind_pins (tid, checkpoint_id, pinned_at) VALUES (?, ?, ?)",
  unpin: "DELETE FROM rewind_pins WHERE tid = ? AND checkpoint_id = ?",
  exists: "SELECT 1 AS found FROM rewind_checkpoints WHERE tid = ? AND id = ? LIMIT 1",
  head: "SELECT id FROM rewind_checkpoints WHERE tid = ? AND ns = ? ORDER BY id DESC LIMIT 1",
  row: "SELECT vals FROM rewind_checkpoints WHERE tid = ? AND ns = ? AND id = ?",
  children: `SELECT ${idText("parent_id")} AS parent, count(*) AS n FROM rewind_checkpoints
    WHERE tid = ? AND ns = ? AND parent_id IS NOT NULL GROUP BY parent_id`,
  freeWrites: `DELETE FROM rewind_values WHERE id IN (SELECT value_ref FROM rewind_writes
    WHERE tid = ? AND ns = ? AND checkpoint_id = ? AND value_ref IS NOT NULL)`,
  deleteWrites: "DELETE FROM rewind_writes WHERE tid = ? AND ns = ? AND checkpoint_id = ?",
  deleteCheckpoint: "DELETE FROM rewind_checkpoints WHERE tid = ? AND ns = ? AND id = ?",
  freeBlob: `DELETE FROM rewind_values WHERE id = (SELECT value_ref FROM rewind_blobs
    WHERE tid = ? AND ns = ? AND channel = ? AND version = ?)`,
  deleteBlob: "DELETE FROM rewind_blobs WHERE tid = ? AND ns = ? AND channel = ? AND version = ?",
  rebase: `INSERT OR REPLACE INTO rewind_blobs (tid, ns, channel, version, kind, prev_version, depth, tag, value, value_ref)
    VALUES (?, ?, ?, ?, ${KIND_CODES.full}, NULL, 0, ?, ?, ?)`,
  keepInline: `INSERT INTO rewind_blobs (tid, ns, channel, version, kind, prev_version, depth, tag, value, value_ref)
    VALUES (?, ?, ?, ?, ?, NULL, 0, ?, ?, NULL) ON CONFLICT DO NOTHING`,
  value: "INSERT INTO rewind_values (codec, bytes) VALUES (?, ?)",
};

/** The retention methods of the SQLite backend, on its client and writer. */
export class SqliteRetention {
  readonly #client: SqliteClient;
  readonly #writer: SqliteWriter;
  readonly #now: () => number;

  constructor(client: SqliteClient, writer: SqliteWriter, now: () => number) {
    this.#client = client;
    this.#writer = writer;
    this.#now = now;
  }

  listThreads(query: ThreadQuery): ThreadSummary[] {
    const rows = this.#stmt(SQL.threads).all({
      after: query.after ?? "",
      prefix: query.prefix ?? "",
      limit: query.limit,
    }) as { thread_id: string; checkpoints: number; updated_at: number | string; bytes: number }[];
    return rows.map((r) => ({
      threadId: r.thread_id,
      checkpoints: Number(r.checkpoints),
      bytes: Number(r.bytes),
      updatedAt: decodeCreatedAt(r.updated_at),
    }));
  }

  footprint(threadId: string): ThreadFootprint | undefined {
    return this.#client.transaction(false, () => {
      const thread = this.#writer.thread(threadId, false);
      if (!thread || thread.deleted) return undefined;
      const rows = this.#stmt(SQL.checkpoints).all(thread.tid) as (CheckpointRow & {
        bytes: number;
      })[];
      if (rows.length === 0) return undefined;
      const writes = new Map<string, { n: number; bytes: number; channels: string[] }>();
      for (const w of this.#stmt(SQL.writes).all(thread.tid) as any[]) {
        const channels = (JSON.parse(w.channels) as string[]).sort();
        writes.set(`${w.ns}\0${w.checkpoint_id}`, {
          n: Number(w.n),
          bytes: Number(w.bytes),
          channels,
        });
      }
      const checkpoints = rows.map((row) => {
        const c = toStoredCheckpoint(row, threadId);
        const w = writes.get(`${c.ns}\0${c.id}`);
        return {
          ns: c.ns,
          id: c.id,
          parentId: c.parentId,
          createdAt: c.createdAt,
          channelVersions: c.channelVersions,
          metadata: c.metadata,
          bytes: Number(row.bytes),
          writes: w?.n ?? 0,
          writeBytes: w?.bytes ?? 0,
          writeChannels: w?.channels ?? [],
        };
      });
      const blobs = (this.#stmt(SQL.blobs).all(thread.tid) as any[]).map((b) => ({
        ns: b.ns as string,
        channel: b.channel as string,
        version: b.version as string,
        bytes: Number(b.bytes),
      }));
      const pins = (this.#stmt(SQL.pins).all(thread.tid) as { checkpoint_id: string }[]).map(
        (p) => p.checkpoint_id,
      );
      return { threadId, checkpoints, blobs, pins };
    });
  }

  prune(batch: PruneBatch): PruneBatchResult {
    const { ns } = batch;
    // Large rebased values are packed before the lock is taken.
    const rebase = batch.rebase.map((blob) => {
      const bytes = blob.value!.bytes;
      const overhead = ns.length + blob.channel.length + blob.version.length + 32;
      return {
        blob,
        out: bytes.byteLength + overhead <= this.#client.maxLocal ? undefined : packSpilled(bytes),
      };
    });
    return this.#writer.transaction(() => {
      const thread = this.#writer.thread(batch.threadId, false);
      if (thread?.deleted) throw this.#writer.deletedError(batch.threadId);
      if (!thread) return { checkpoints: 0, blobs: 0, writes: 0 };
      const tid = thread.tid;
      const present = batch.checkpointIds
        .map((id) => ({
          id,
          row: this.#stmt(SQL.row).get(tid, ns, id) as { vals: Uint8Array | null } | undefined,
        }))
        .filter((x) => x.row !== undefined);
      this.#check(
        batch.threadId,
        tid,
        ns,
        present.map((x) => x.id),
      );
      for (const { blob, out } of rebase) {
        const key = [tid, ns, blob.channel, packId(blob.version)];
        this.#stmt(SQL.freeBlob).run(...key);
        const ref = out ? this.#stmt(SQL.value).run(out.codec, out.bytes).lastInsertRowid : null;
        this.#stmt(SQL.rebase).run(...key, blob.value!.tag, out ? null : blob.value!.bytes, ref);
      }
      const doomed = new Set(batch.blobs.map((b) => `${b.channel}\0${b.version}`));
      let writes = 0;
      for (const { id, row } of present) {
        // Values kept inside a row that goes, and that stay, move to rows of their own.
        for (const [channel, kept] of decodeInline(row!.vals)) {
          if (doomed.has(`${channel}\0${id}`)) continue;
          this.#stmt(SQL.keepInline).run(
            tid,
            ns,
            channel,
            packId(id),
            KIND_CODES[kept.kind],
            kept.tag,
            kept.bytes,
          );
        }
        const key = [tid, ns, packId(id)];
        this.#stmt(SQL.freeWrites).run(...key);
        writes += this.#stmt(SQL.deleteWrites).run(...key).changes;
        this.#stmt(SQL.deleteCheckpoint).run(tid, ns, id);
      }
      let blobs = 0;
      for (const { channel, version } of batch.blobs) {
        const key = [tid, ns, channel, packId(version)];
        this.#stmt(SQL.freeBlob).run(...key);
        blobs += this.#stmt(SQL.deleteBlob).run(...key).changes;
      }
      return { checkpoints: present.length, blobs, writes };
    });
  }

  setPin(threadId: string, checkpointId: string, pinned: boolean): void {
    this.#writer.transaction(() => {
      const thread = this.#writer.thread(threadId, false);
      const live = thread !== undefined && !thread.deleted;
      if (!pinned) {
        if (thread) this.#stmt(SQL.unpin).run(thread.tid, checkpointId);
        return;
      }
      if (!live || !this.#stmt(SQL.exists).get(thread.tid, checkpointId)) {
        throw new NotFoundError(`thread "${threadId}" has no checkpoint ${checkpointId} to pin`, {
          threadId,
          checkpointId,
        });
      }
      this.#stmt(SQL.pin).run(thread.tid, checkpointId, this.#now());
    });
  }

  /**
   * Frees the pages of deleted rows and truncates the file. A file created by Rewind uses
   * incremental auto-vacuum (only that step runs); an older file is switched to it once with a
   * full `VACUUM`, which rewrites the file and needs it to itself for that time.
   */
  reclaimSpace(): SpaceReport {
    const { db } = this.#client;
    const size = () =>
      Number(db.pragma("page_count", { simple: true })) *
      Number(db.pragma("page_size", { simple: true }));
    const bytesBefore = size();
    let method = "incremental_vacuum";
    if (Number(db.pragma("auto_vacuum", { simple: true })) === 2) {
      db.exec("PRAGMA incremental_vacuum");
    } else {
      db.exec("PRAGMA auto_vacuum = INCREMENTAL");
      db.exec("VACUUM");
      method = "VACUUM";
    }
    db.pragma("wal_checkpoint(TRUNCATE)");
    return { bytesBefore, bytesAfter: size(), method };
  }

  /** The checks of a prune batch under its lock; a failure throws and the batch changes nothing. */
  #check(threadId: string, tid: number, ns: string, ids: readonly string[]): void {
    if (ids.length === 0) return;
    const head = (this.#stmt(SQL.head).get(tid, ns) as { id: string } | undefined)?.id;
    const children = new Map<string, number>();
    for (const r of this.#stmt(SQL.children).all(tid, ns) as { parent: string; n: number }[]) {
      children.set(r.parent, Number(r.n));
    }
    for (const id of ids) {
      const pinned = this.#stmt(SQL.pinned).get(tid, id) !== undefined;
      const reason = unsafeReason(id === head, pinned, children.get(id) ?? 0);
      if (reason) {
        throw new ConflictError(
          `checkpoint ${id} of thread "${threadId}" cannot be pruned: ${reason}`,
          {
            threadId,
            checkpointId: id,
          },
        );
      }
    }
  }

  #stmt(sql: string): SqliteStatementLike {
    return this.#client.stmt(sql);
  }
}
