/** SQL text of the PostgreSQL backend's reads. `s` is the quoted schema name. */
import type { CheckpointQuery } from "../types.js";

/**
 * One checkpoint (by id, or the newest of its thread and namespace) with its blob chains and
 * writes, as one result of rows tagged `k`: `c` the checkpoint, `b` a blob, `w` a write.
 */
export function loadQuery(s: string, byId: boolean): string {
  return `
  WITH RECURSIVE cp AS (
    SELECT * FROM ${s}.rewind_checkpoints
    WHERE thread_id = $1 AND ns = $2 ${byId ? "AND id = $3" : ""}
    ORDER BY id DESC LIMIT 1
  ), chain AS (
    SELECT b.channel, b.version, b.kind, b.prev_version, b.depth, b.tag, b.value, 0 AS o
    FROM cp CROSS JOIN LATERAL jsonb_each(cp.versions) AS v(channel, version)
    JOIN ${s}.rewind_blobs b
      ON b.thread_id = cp.thread_id AND b.ns = cp.ns AND b.channel = v.channel AND b.version = v.version #>> '{}'
    UNION ALL
    SELECT b.channel, b.version, b.kind, b.prev_version, b.depth, b.tag, b.value, chain.o + 1
    FROM chain JOIN ${s}.rewind_blobs b
      ON b.thread_id = $1 AND b.ns = $2 AND b.channel = chain.channel AND b.version = chain.prev_version
    WHERE chain.kind = 1
  )
  SELECT 'c' AS k, thread_id AS a, ns AS b, id AS c, parent_id AS d, created_at AS e, versions::text AS f,
         metadata::text AS g, body AS h, NULL::int AS n, NULL::int AS m, NULL::int AS o, NULL::text AS tag, NULL::bytea AS value
  FROM cp
  UNION ALL
  SELECT 'b', channel, NULL, version, prev_version, NULL, NULL, NULL, NULL, kind, depth, o, tag, value FROM chain
  UNION ALL
  SELECT 'w', w.task_id, w.task_path, w.channel, NULL, NULL, NULL, NULL, NULL, w.idx, NULL, NULL, w.tag, w.value
  FROM cp JOIN ${s}.rewind_writes w ON w.thread_id = cp.thread_id AND w.ns = cp.ns AND w.checkpoint_id = cp.id`;
}

/** A page of checkpoint headers, newest first, after `cursor`. */
export function pageQuery(
  s: string,
  query: CheckpointQuery,
  cursor: { id: string; threadId: string; ns: string } | undefined,
  size: number,
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
      containment[key] = JSON.parse(json);
      where.push(`metadata -> ${param(key)} = ${param(json)}::jsonb`);
    }
    // Containment lets the GIN index find candidates; the equalities above make the match exact.
    where.push(`metadata @> ${param(JSON.stringify(containment))}::jsonb`);
  }
  if (cursor) {
    where.push(
      `(id, thread_id, ns) < (${param(cursor.id)}, ${param(cursor.threadId)}, ${param(cursor.ns)})`,
    );
  }
  const text = `SELECT thread_id, ns, id, parent_id, created_at, versions::text AS versions, metadata::text AS metadata, body
    FROM ${s}.rewind_checkpoints ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY id DESC, thread_id DESC, ns DESC LIMIT ${Math.max(1, Math.floor(size))}`;
  return { text, values };
}
