/**
 * The archive marks of the SQLite backend: moving a thread's rows out (its history went to an
 * archive; only the thread row stays, marked with the archiver's stub) and the restore states.
 * Each step is one `BEGIN IMMEDIATE` transaction, so a write racing an archive either lands
 * before it (and is archived... or refused by the lease check) or is refused after it.
 */
import type { ArchiveMark, LeaseFence } from "../../checkpoint/checkpoint-backend.js";
import { ConflictError, NotFoundError, ThreadBusyError } from "../../errors.js";
import type { SqliteClient } from "./sqlite-client.js";
import { ARCHIVED, type SqliteWriter, type ThreadRow } from "./sqlite-writer.js";

const RESTORING = 2;

const SQL = {
  any: "SELECT 1 AS found FROM rewind_checkpoints WHERE tid = ? LIMIT 1",
  mark: `UPDATE rewind_threads SET archive_state = ?, archive_stub = ?, lease_owner = NULL,
    lease_expires_at = NULL WHERE tid = ?`,
  state: "UPDATE rewind_threads SET archive_state = ? WHERE tid = ?",
  clear: "UPDATE rewind_threads SET archive_state = NULL, archive_stub = NULL WHERE tid = ?",
};

/** Archive marks on the client's connection, through the writer's thread rows. */
export class SqliteArchive {
  readonly #writer: SqliteWriter;
  readonly #client: SqliteClient;
  readonly #now: () => number;

  constructor(writer: SqliteWriter, client: SqliteClient, now: () => number) {
    this.#writer = writer;
    this.#client = client;
    this.#now = now;
  }

  archive(threadId: string, stub: string, fence: LeaseFence | undefined): void {
    this.#writer.transaction(() => {
      const row = this.#writer.thread(threadId, false);
      if (row?.deleted) throw this.#writer.deletedError(threadId);
      if (row && row.archive_state !== null) {
        throw new ConflictError(`thread "${threadId}" is archived already`, { threadId });
      }
      if (!row || !this.#client.stmt(SQL.any).get(row.tid)) {
        throw new NotFoundError(`thread "${threadId}" has no checkpoints to archive`, { threadId });
      }
      const live = row.lease_expires_at !== null && row.lease_expires_at > this.#now();
      if (live && row.lease_token !== fence?.token) {
        throw new ThreadBusyError(`thread "${threadId}" is in use (leased); archive it later`, {
          threadId,
        });
      }
      this.#writer.deleteRows(row.tid);
      this.#client.stmt(SQL.mark).run(ARCHIVED, stub, row.tid);
    });
  }

  read(threadId: string): ArchiveMark | undefined {
    const row = this.#writer.thread(threadId, false);
    return row && archiveMark(row);
  }

  setState(threadId: string, state: "restoring" | "live"): void {
    this.#writer.transaction(() => {
      const row = this.#writer.thread(threadId, false);
      if (state === "live") {
        if (row) this.#client.stmt(SQL.clear).run(row.tid);
        return;
      }
      if (!row || row.archive_state === null) {
        throw new NotFoundError(`thread "${threadId}" is not archived`, { threadId });
      }
      this.#client.stmt(SQL.state).run(RESTORING, row.tid);
    });
  }
}

/** The archive mark a thread's row carries, or undefined when the thread is not archived. */
export function archiveMark(row: ThreadRow): ArchiveMark | undefined {
  if (row.archive_state === null) return undefined;
  return {
    stub: row.archive_stub ?? "",
    state: row.archive_state === RESTORING ? "restoring" : "archived",
  };
}
