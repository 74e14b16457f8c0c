/**
 * Repair support of the PostgreSQL backend: moving damaged checkpoint rows aside into
 * `rewind_quarantine` (one call to a function that locks the thread row) and reading them back.
 */

import type {
  QuarantinedCheckpoint,
  QuarantineRequest,
} from "../../checkpoint/checkpoint-backend.js";
import { ConflictError, ThreadDeletedError } from "../../errors.js";

type Query = (text: string, values: unknown[]) => Promise<{ rows: any[] }>;

/** Moves the request's checkpoints aside; throws ConflictError when the head moved. */
export async function quarantinePostgres(
  query: Query,
  s: string,
  request: QuarantineRequest,
): Promise<void> {
  const { rows } = await query(
    `SELECT ${s}.rewind_quarantine_checkpoints($1, $2, $3, $4, $5) AS status`,
    [
      request.threadId,
      request.ns,
      request.expectedHead,
      request.checkpoints.map((c) => c.id),
      request.checkpoints.map((c) => c.reason),
    ],
  );
  const status = rows[0].status as string;
  const where = { threadId: request.threadId, checkpointId: request.expectedHead };
  if (status === "deleted")
    throw new ThreadDeletedError(`thread "${request.threadId}" was deleted`, where);
  if (status !== "ok") {
    const head = status.slice("conflict:".length) || "empty";
    throw new ConflictError(
      `thread "${request.threadId}" moved: its head is ${head}, expected ${request.expectedHead}`,
      where,
    );
  }
}

/** The thread's quarantined rows, newest id first. */
export async function listQuarantinedPostgres(
  query: Query,
  s: string,
  threadId: string,
): Promise<QuarantinedCheckpoint[]> {
  const { rows } = await query(
    `SELECT * FROM ${s}.rewind_quarantine WHERE thread_id = $1 ORDER BY id DESC, ns`,
    [threadId],
  );
  return rows.map((r) => ({
    threadId: r.thread_id,
    ns: r.ns,
    checkpointId: r.id,
    parentId: r.parent_id,
    createdAt: r.created_at,
    versions: r.versions,
    metadata: r.metadata,
    body: r.body,
    reason: r.reason,
    quarantinedAt: Number(r.quarantined_at),
  }));
}
