/**
 * Repair support of the SQLite backend: damaged checkpoint rows moved aside, as stored, into
 * `rewind_quarantine`, and read back for inspection. The writer runs the move in its transaction.
 */

import type {
  QuarantinedCheckpoint,
  QuarantineRequest,
} from "../../checkpoint/checkpoint-backend.js";
import { ConflictError } from "../../errors.js";
import { decodeCreatedAt, idText } from "./sqlite-rows.js";
import type { SqliteStatementLike } from "./sqlite-types.js";

const HEAD = "SELECT id FROM rewind_checkpoints WHERE tid = ? AND ns = ? ORDER BY id DESC LIMIT 1";
const MOVE = `INSERT OR REPLACE INTO rewind_quarantine (tid, ns, id, parent_id, created_at, versions,
    metadata, body, vals, reason, quarantined_at)
  SELECT tid, ns, id, parent_id, created_at, versions, metadata, body, vals, @reason, @now
  FROM rewind_checkpoints WHERE tid = @tid AND ns = @ns AND id = @id`;
const DROP = "DELETE FROM rewind_checkpoints WHERE tid = ? AND ns = ? AND id = ?";
const LIST = `SELECT q.ns, q.id, ${idText("q.parent_id")} AS parent_id, q.created_at, q.versions,
    q.metadata, q.body, q.reason, q.quarantined_at
  FROM rewind_quarantine AS q JOIN rewind_threads AS t ON t.tid = q.tid
  WHERE t.thread_id = ? ORDER BY q.id DESC, q.ns`;

/** Moves the request's checkpoints of thread `tid` aside (inside the caller's transaction). */
export function quarantineRows(
  stmt: (sql: string) => SqliteStatementLike,
  tid: number,
  request: QuarantineRequest,
  now: number,
): void {
  const head = (stmt(HEAD).get(tid, request.ns) as { id: string } | undefined)?.id;
  if (head !== request.expectedHead) {
    throw new ConflictError(
      `thread "${request.threadId}" moved: its head is ${head ?? "empty"}, expected ${request.expectedHead}`,
      { threadId: request.threadId, checkpointId: request.expectedHead },
    );
  }
  for (const { id, reason } of request.checkpoints) {
    stmt(MOVE).run({ tid, ns: request.ns, id, reason, now });
    stmt(DROP).run(tid, request.ns, id);
  }
}

/** The thread's quarantined rows, newest id first. */
export function listQuarantinedRows(
  stmt: (sql: string) => SqliteStatementLike,
  threadId: string,
): QuarantinedCheckpoint[] {
  const rows = stmt(LIST).all(threadId) as any[];
  return rows.map((r) => ({
    threadId,
    ns: r.ns,
    checkpointId: r.id,
    parentId: r.parent_id,
    createdAt: r.created_at === null ? null : decodeCreatedAt(r.created_at),
    versions: textOf(r.versions),
    metadata: textOf(r.metadata),
    body: textOf(r.body),
    reason: r.reason,
    quarantinedAt: Number(r.quarantined_at),
  }));
}

/** A damaged text column may hold anything; it is shown as text. */
function textOf(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return value instanceof Uint8Array ? Buffer.from(value).toString("utf8") : String(value);
}
