/**
 * SQL text of the PostgreSQL backend's reads. `s` is the quoted schema name. Every read is one
 * round trip: a checkpoint (or a page of them) comes back with its blob chains and writes.
 */
import { MAX_CHAIN } from "../../checkpoint/blob-chain.js";
import type { CheckpointQuery, StoredCheckpoint } from "../../checkpoint/checkpoint-backend.js";
import { jsonbSafe } from "./postgres-metadata.js";

/** Where a page of `listCheckpoints` ended: the sort key of its last row. */
export interface PageCursor {
  readonly id: string;
  readonly threadId: string;
  readonly ns: string;
}

/** One checkpoint (by id, or the newest of its thread and namespace) with values: `$1` thread, `$2` ns, `$3` id. */
export function loadQuery(s: string, byId: boolean): string {
  return withValues(
    s,
    `SELECT * FROM ${s}.rewind_checkpoints WHERE thread_id = $1 AND ns = $2 ${byId ? "AND id = $3" : ""}
     ORDER BY id DESC LIMIT 1`,
    "id DESC",
  );
}

/**
 * A page of checkpoints matching `query`, newest first, after `cursor`. The sort key is the id
 * plus whichever of thread and namespace the query leaves open, so the cursor is a range
 * condition on an index: the primary key, `rewind_checkpoints_thread` or `_all`.
 */
export function pageQuery(
  s: string,
  query: CheckpointQuery,
  cursor: PageCursor | undefined,
  size: number,
  includeValues: boolean,
): { text: string; values: unknown[] } {
  const where: string[] = [];
  const values: unknown[] = [];
  const param = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  if (query.threadId !== undefined) where.push(`thread_id = ${param(query.threadId)}`);
  if (query.ns !== undefined) where.push(`ns = ${param(query.ns)}`);
  if (query.checkpointId !== undefined) where.push(`id = ${param(query.checkpointId)}`);
  if (query.before !== undefined) where.push(`id < ${param(query.before)}`);
  if (query.filter && Object.keys(query.filter).length > 0) {
    const containment: Record<string, unknown> = {};
    for (const [key, json] of Object.entries(query.filter)) {
      const safe = jsonbSafe(json);
      containment[key] = JSON.parse(safe);
      where.push(`metadata -> ${param(key)} = ${param(safe)}::jsonb`);
    }
    // Containment lets the GIN index find candidates; the equalities above make the match exact.
    where.push(`metadata @> ${param(JSON.stringify(containment))}::jsonb`);
  }
  const keys: [string, keyof PageCursor][] = [["id", "id"]];
  if (query.threadId === undefined) keys.push(["thread_id", "threadId"]);
  if (query.ns === undefined) keys.push(["ns", "ns"]);
  if (cursor) {
    const columns = keys.map(([column]) => column).join(", ");
    const bounds = keys.map(([, field]) => param(cursor[field])).join(", ");
    where.push(`(${columns}) < (${bounds})`);
  }
  const order = keys.map(([column]) => `${column} DESC`).join(", ");
  const select = `SELECT * FROM ${s}.rewind_checkpoints
    ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY ${order} LIMIT ${param(Math.max(1, Math.floor(size)))}`;
  const text = includeValues
    ? withValues(s, select, order)
    : `SELECT 'c' AS k, (row_number() OVER (ORDER BY ${order}))::int AS rn, ${HEADER}
       FROM (${select}) cp ORDER BY ${order}`;
  return { text, values };
}

const HEADER = `thread_id, ns, id, parent_id, created_at, versions::text AS versions,
  COALESCE(metadata_text, metadata::text) AS metadata, body`;

/**
 * The checkpoints `select` returns, each with its blob chains and writes, as rows tagged `k`:
 * `c` a checkpoint, `b` a blob (`o` = links from the checkpoint's version), `w` a write; `rn` is
 * the checkpoint's rank in `order`. Each blob and each checkpoint's writes are primary-key probes:
 * the LATERAL subqueries (fenced by LIMIT / OFFSET) keep the planner from hashing or scanning all
 * of a thread's rows, so a read costs the same on a long thread. `checkpoint_id` has the default
 * collation, `id` is "C": without the COLLATE the writes index would not be usable.
 */
function withValues(s: string, select: string, order: string): string {
  const blob = (thread: string, ns: string, channel: string, version: string) =>
    `CROSS JOIN LATERAL (SELECT b.kind, b.prev_version, b.depth, b.tag, b.value
       FROM ${s}.rewind_blobs b
       WHERE b.thread_id = ${thread} AND b.ns = ${ns} AND b.channel = ${channel} AND b.version = ${version}
       LIMIT 1) b`;
  return `
  WITH RECURSIVE page AS (${select}),
  cp AS (SELECT page.*, (row_number() OVER (ORDER BY ${order}))::int AS rn FROM page),
  chain AS (
    SELECT cp.rn, cp.thread_id, cp.ns, v.channel, v.version, b.*, 0 AS o
    FROM cp CROSS JOIN LATERAL ${s}.rewind_versions(cp.versions) AS v
    ${blob("cp.thread_id", "cp.ns", "v.channel", "v.version")}
    UNION ALL
    SELECT c.rn, c.thread_id, c.ns, c.channel, c.prev_version, b.*, c.o + 1
    FROM chain c ${blob("c.thread_id", "c.ns", "c.channel", "c.prev_version")}
    WHERE c.kind = 1 AND c.o < ${MAX_CHAIN}
  )
  SELECT 'c' AS k, rn, ${HEADER}, NULL AS channel, NULL AS version, NULL::smallint AS kind,
    NULL AS prev_version, NULL::int AS depth, NULL::int AS o, NULL AS task_id, NULL AS task_path,
    NULL::int AS idx, NULL AS tag, NULL::bytea AS value
  FROM cp
  UNION ALL
  SELECT 'b', rn, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, channel, version, kind,
    prev_version, depth, o, NULL, NULL, NULL, tag, value
  FROM chain
  UNION ALL
  SELECT 'w', cp.rn, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, w.channel, NULL, NULL,
    NULL, NULL, NULL, w.task_id, w.task_path, w.idx, w.tag, w.value
  FROM cp CROSS JOIN LATERAL (SELECT * FROM ${s}.rewind_writes w
    WHERE w.thread_id = cp.thread_id AND w.ns = cp.ns AND w.checkpoint_id = cp.id COLLATE "default"
    OFFSET 0) w`;
}

/** A checkpoint row as the seam's `StoredCheckpoint`. */
export function toCheckpoint(row: any): StoredCheckpoint {
  return {
    threadId: row.thread_id,
    ns: row.ns,
    id: row.id,
    parentId: row.parent_id,
    createdAt: row.created_at,
    channelVersions: JSON.parse(row.versions),
    metadata: row.metadata,
    body: row.body,
  };
}
