/**
 * Re-encryption on PostgreSQL: every channel value, pending write and effect text of one thread
 * handed to a {@link ValueRewrite}, and each replacement written with compare-and-set on what
 * was read (`WHERE` the stored tag and bytes, or text, are still those), so a value a live
 * writer replaced meanwhile keeps that writer's version; the next run finds it current.
 */
import type { ValueRewrite } from "../../checkpoint/checkpoint-backend.js";
import type { SerializedValue } from "../../serde/serializer.js";
import { KIND_NAMES } from "./postgres-values.js";

type Query = (
  text: string,
  values: unknown[],
) => Promise<{ rows: any[]; rowCount?: number | null }>;

function bytesOf(value: Buffer): Uint8Array {
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Rewrites the values of `threadId` through `rewrite`; returns how many were replaced. */
export async function postgresRewriteValues(
  query: Query,
  s: string,
  threadId: string,
  rewrite: ValueRewrite,
): Promise<number> {
  let replaced = 0;
  const count = (result: { rowCount?: number | null }) => {
    replaced += result.rowCount ?? 0;
  };
  /** Replaces a value row's tag and bytes where they are still `row`'s (compare-and-set). */
  const replace = async (
    table: string,
    key: Record<string, unknown>,
    row: { tag: string; value: Buffer },
    next: SerializedValue,
  ) => {
    const names = Object.keys(key);
    const where = names.map((name, i) => `${name} = $${i + 5}`).join(" AND ");
    count(
      await query(
        `UPDATE ${s}.${table} SET tag = $1, value = $2 WHERE tag = $3 AND value = $4 AND ${where}`,
        [next.tag, bufferOf(next.bytes), row.tag, row.value, ...Object.values(key)],
      ),
    );
  };
  const blobs = await query(
    `SELECT ns, channel, version, kind, prev_version, depth, tag, value FROM ${s}.rewind_blobs
     WHERE thread_id = $1 AND tag IS NOT NULL`,
    [threadId],
  );
  for (const row of blobs.rows) {
    const kind = KIND_NAMES[row.kind as number];
    if (kind === undefined || kind === "empty") continue;
    const next = rewrite.blob(row.ns, {
      channel: row.channel,
      version: row.version,
      kind,
      prevVersion: row.prev_version,
      depth: row.depth,
      value: { tag: row.tag, bytes: bytesOf(row.value) },
    });
    if (!next?.value) continue;
    const { ns, channel, version } = row;
    await replace("rewind_blobs", { thread_id: threadId, ns, channel, version }, row, next.value);
  }
  const writes = await query(
    `SELECT ns, checkpoint_id, task_id, idx, task_path, channel, tag, value FROM ${s}.rewind_writes
     WHERE thread_id = $1`,
    [threadId],
  );
  for (const row of writes.rows) {
    const next = rewrite.write(row.ns, row.checkpoint_id, {
      taskId: row.task_id,
      taskPath: row.task_path,
      idx: row.idx,
      channel: row.channel,
      value: { tag: row.tag, bytes: bytesOf(row.value) },
    });
    if (!next) continue;
    const { ns, checkpoint_id, task_id, idx } = row;
    const key = { thread_id: threadId, ns, checkpoint_id, task_id, idx };
    await replace("rewind_writes", key, row, next.value);
  }
  const effects = await query(
    `SELECT key, status, args, outcome FROM ${s}.rewind_effects WHERE thread_id = $1`,
    [threadId],
  );
  for (const row of effects.rows) {
    const args = rewrite.effect(row.key, "args", row.args);
    if (args !== undefined) {
      count(
        await query(
          `UPDATE ${s}.rewind_effects SET args = $4 WHERE thread_id = $1 AND key = $2 AND args = $3`,
          [threadId, row.key, row.args, args],
        ),
      );
    }
    const outcome =
      row.outcome === null ? undefined : rewrite.effect(row.key, row.status, row.outcome);
    if (outcome !== undefined) {
      count(
        await query(
          `UPDATE ${s}.rewind_effects SET outcome = $4
           WHERE thread_id = $1 AND key = $2 AND outcome = $3`,
          [threadId, row.key, row.outcome, outcome],
        ),
      );
    }
  }
  return replaced;
}
