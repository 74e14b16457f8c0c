/**
 * Leases of the SQLite backend, kept on the thread's row: each grant is one `BEGIN IMMEDIATE`
 * transaction that checks the holder, bumps the fencing token and records where the new
 * holder's work starts and which process holds it.
 */
import type { Lease, LeaseRequest, LoadedCheckpoint } from "../../checkpoint/checkpoint-backend.js";
import { archiveMark } from "./sqlite-archive.js";
import type { SqliteClient } from "./sqlite-client.js";
import type { SqliteStatementLike } from "./sqlite-types.js";
import type { SqliteWriter } from "./sqlite-writer.js";

const SQL = {
  rootHead: "SELECT id FROM rewind_checkpoints WHERE tid = ? AND ns = '' ORDER BY id DESC LIMIT 1",
  takeLease: `UPDATE rewind_threads SET lease_owner = ?, lease_token = ?, lease_expires_at = ?,
    lease_started_from = ?, lease_host = ?, lease_pid = ?, lease_process_start = ? WHERE tid = ?`,
  renewLease: `UPDATE rewind_threads SET lease_expires_at = @expiresAt
    WHERE thread_id = @threadId AND lease_token = @token AND lease_expires_at > @now AND deleted = 0
    RETURNING lease_owner AS owner, lease_started_from AS startedFrom`,
  releaseLease: `UPDATE rewind_threads SET lease_owner = NULL, lease_expires_at = NULL
    WHERE thread_id = ? AND lease_token = ? AND lease_expires_at IS NOT NULL AND deleted = 0`,
};

export class SqliteLeases {
  readonly #writer: SqliteWriter;
  readonly #client: SqliteClient;
  readonly #now: () => number;

  constructor(writer: SqliteWriter, client: SqliteClient, now: () => number) {
    this.#writer = writer;
    this.#client = client;
    this.#now = now;
  }

  #stmt(sql: string): SqliteStatementLike {
    return this.#client.stmt(sql);
  }

  /**
   * Grants the lease in one transaction. `readHead` (a folded grant, `withHead`) reads the root
   * head, values and all, in the same transaction: it is then the head the grant records as where
   * the holder starts, and it comes back with the lease beside the thread's archive mark.
   */
  acquire(request: LeaseRequest, readHead?: () => LoadedCheckpoint | undefined): Lease | undefined {
    return this.#writer.transaction(() => {
      const thread = this.#writer.thread(request.threadId, true)!;
      if (thread.deleted) throw this.#writer.deletedError(request.threadId);
      const now = this.#now();
      const live = thread.lease_expires_at !== null && thread.lease_expires_at > now;
      const heldByOther = live && thread.lease_owner !== request.owner;
      if (heldByOther && !request.steal && thread.lease_token !== request.replacing) return;
      const loaded = readHead?.();
      const headId = readHead
        ? loaded?.checkpoint.id
        : (this.#stmt(SQL.rootHead).get(thread.tid) as { id: string } | undefined)?.id;
      const { holder } = request;
      const lease: Lease = {
        threadId: request.threadId,
        owner: request.owner,
        token: thread.lease_token + 1,
        expiresAt: now + request.ttlMs,
        startedFrom:
          heldByOther && request.inheritStart ? thread.lease_started_from : (headId ?? null),
        ...(holder ? { holder } : {}),
        ...(heldByOther ? { stolenFrom: thread.lease_owner ?? undefined } : {}),
      };
      this.#stmt(SQL.takeLease).run(
        lease.owner,
        lease.token,
        lease.expiresAt,
        lease.startedFrom,
        holder?.host ?? null,
        holder?.pid ?? null,
        holder?.started ?? null,
        thread.tid,
      );
      if (!readHead) return lease;
      return { ...lease, head: loaded ?? null, archive: archiveMark(thread) ?? null };
    });
  }

  /** The thread's current lease (live or expired), or `undefined` when released or never taken. */
  read(threadId: string): Lease | undefined {
    const row = this.#writer.thread(threadId, false);
    if (!row || row.deleted || row.lease_expires_at === null || row.lease_owner === null) return;
    return {
      threadId,
      owner: row.lease_owner,
      token: row.lease_token,
      expiresAt: row.lease_expires_at,
      startedFrom: row.lease_started_from,
      ...(row.lease_host !== null
        ? {
            holder: {
              host: row.lease_host,
              pid: row.lease_pid ?? 0,
              started: row.lease_process_start ?? "",
            },
          }
        : {}),
    };
  }

  renew(lease: Lease, ttlMs: number): Lease | undefined {
    const now = this.#now();
    const expiresAt = now + ttlMs;
    const row = this.#stmt(SQL.renewLease).get({
      expiresAt,
      threadId: lease.threadId,
      token: lease.token,
      now,
    }) as { owner: string; startedFrom: string | null } | undefined;
    return row && { ...lease, owner: row.owner, startedFrom: row.startedFrom, expiresAt };
  }

  release(lease: Lease): boolean {
    return this.#stmt(SQL.releaseLease).run(lease.threadId, lease.token).changes > 0;
  }
}
