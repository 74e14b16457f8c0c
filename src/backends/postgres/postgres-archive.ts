/**
 * Archive marks of the PostgreSQL backend: moving a thread's rows out in one call to a function
 * that locks the thread row (its history went to an archive; the row stays, marked with the
 * archiver's stub), reading the mark, and the restore states. Writes to an archived thread are
 * refused by a trigger (see migration 7), whichever process makes them.
 */
import type { ArchiveMark, LeaseFence } from "../../checkpoint/checkpoint-backend.js";
import { ConflictError, NotFoundError, ThreadBusyError, ThreadDeletedError } from "../../errors.js";

type Query = (text: string, values: unknown[]) => Promise<{ rows: any[] }>;

/** Removes the thread's rows and marks it archived with `stub`. */
export async function archivePostgres(
  query: Query,
  s: string,
  threadId: string,
  stub: string,
  fence: LeaseFence | undefined,
): Promise<void> {
  const { rows } = await query(`SELECT ${s}.rewind_archive_thread($1, $2, $3) AS status`, [
    threadId,
    stub,
    fence?.token ?? null,
  ]);
  const status = rows[0].status as string;
  const where = { threadId };
  if (status === "ok") return;
  if (status === "deleted") throw new ThreadDeletedError(`thread "${threadId}" was deleted`, where);
  if (status === "archived")
    throw new ConflictError(`thread "${threadId}" is archived already`, where);
  if (status === "busy") {
    throw new ThreadBusyError(`thread "${threadId}" is in use (leased); archive it later`, where);
  }
  throw new NotFoundError(`thread "${threadId}" has no checkpoints to archive`, where);
}

/** The thread's archive mark, if any. */
export async function readArchivePostgres(
  query: Query,
  s: string,
  threadId: string,
): Promise<ArchiveMark | undefined> {
  const { rows } = await query(
    `SELECT archive_state, archive_stub FROM ${s}.rewind_threads WHERE thread_id = $1 AND archive_state IS NOT NULL`,
    [threadId],
  );
  return archiveMark(rows[0]);
}

/** The archive mark a row's `archive_state` and `archive_stub` describe (none when unset). */
export function archiveMark(
  row: { archive_state: number | null; archive_stub: string | null } | undefined,
): ArchiveMark | undefined {
  if (!row || row.archive_state === null) return undefined;
  return {
    stub: row.archive_stub ?? "",
    state: row.archive_state === 2 ? "restoring" : "archived",
  };
}

/** `restoring`: writes allowed, mark kept (NotFoundError without one); `live`: mark removed. */
export async function setArchiveStatePostgres(
  query: Query,
  s: string,
  threadId: string,
  state: "restoring" | "live",
): Promise<void> {
  if (state === "live") {
    await query(
      `UPDATE ${s}.rewind_threads SET archive_state = NULL, archive_stub = NULL WHERE thread_id = $1`,
      [threadId],
    );
    return;
  }
  const { rows } = await query(
    `UPDATE ${s}.rewind_threads SET archive_state = 2 WHERE thread_id = $1 AND archive_state IS NOT NULL RETURNING 1 AS done`,
    [threadId],
  );
  if (rows.length === 0) {
    throw new NotFoundError(`thread "${threadId}" is not archived`, { threadId });
  }
}
