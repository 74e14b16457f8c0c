/**
 * Re-encryption on SQLite: every channel value (rows of `rewind_blobs`, out-of-line ones in
 * `rewind_values`, and the small ones kept in their checkpoint's `vals`), pending write and
 * effect text of one thread handed to a {@link ValueRewrite}, and each replacement written in
 * place, all in one `BEGIN IMMEDIATE` transaction: no other writer lands between the read of a
 * value and its replacement.
 */
import type { StoredBlob, ValueRewrite } from "../../checkpoint/checkpoint-backend.js";
import type { SqliteClient } from "./sqlite-client.js";
import { decodeInline, encodeInline } from "./sqlite-inline.js";
import {
  type BlobRow,
  idText,
  inlineOrSpilled,
  packSpilled,
  toStoredBlob,
  toValue,
  type WriteRow,
} from "./sqlite-rows.js";

const SQL = {
  tid: "SELECT tid FROM rewind_threads WHERE thread_id = ?",
  blobs: `SELECT b.ns, b.channel, b.version AS raw, ${idText("b.version")} AS version, b.kind,
      ${idText("b.prev_version")} AS prev_version, b.depth, b.tag, b.value, b.value_ref,
      v.bytes AS spilled, v.codec, 0 AS pos, NULL AS pieces
    FROM rewind_blobs b LEFT JOIN rewind_values v ON v.id = b.value_ref
    WHERE b.tid = ? AND b.tag IS NOT NULL`,
  blobTag:
    "UPDATE rewind_blobs SET tag = ?, value = ? WHERE tid = ? AND ns = ? AND channel = ? AND version = ?",
  inline: "SELECT ns, id, vals FROM rewind_checkpoints WHERE tid = ? AND vals IS NOT NULL",
  inlineSet: "UPDATE rewind_checkpoints SET vals = ? WHERE tid = ? AND ns = ? AND id = ?",
  writes: `SELECT w.ns, w.checkpoint_id AS raw, ${idText("w.checkpoint_id")} AS checkpoint_id,
      w.task_id, w.idx, w.task_path, w.channel, w.tag, w.value, w.value_ref,
      v.bytes AS spilled, v.codec
    FROM rewind_writes w LEFT JOIN rewind_values v ON v.id = w.value_ref WHERE w.tid = ?`,
  writeTag:
    "UPDATE rewind_writes SET tag = ?, value = ? WHERE tid = ? AND ns = ? AND checkpoint_id = ? AND task_id = ? AND idx = ?",
  spilled: "UPDATE rewind_values SET codec = ?, bytes = ? WHERE id = ?",
  effects: "SELECT key, status, args, outcome FROM rewind_effects WHERE tid = ?",
  effectSet: "UPDATE rewind_effects SET args = ?, outcome = ? WHERE tid = ? AND key = ?",
};

type Spilled = { ns: string; raw: unknown; value_ref: number | null };

/** Rewrites the values of `threadId` through `rewrite`; returns how many were replaced. */
export function sqliteRewriteValues(
  client: SqliteClient,
  threadId: string,
  rewrite: ValueRewrite,
): number {
  return client.transaction(true, () => {
    const thread = client.stmt(SQL.tid).get(threadId) as { tid: number } | undefined;
    if (!thread) return 0;
    const { tid } = thread;
    let replaced = 0;
    // The value column, or the out-of-line row it points to, gets the new bytes.
    const place = (row: Spilled, bytes: Uint8Array): Uint8Array | null => {
      if (row.value_ref === null) return bytes;
      const packed = packSpilled(bytes);
      client.stmt(SQL.spilled).run(packed.codec, packed.bytes, row.value_ref);
      return null;
    };
    const owner = { threadId, id: "" } as never;
    for (const row of client.stmt(SQL.blobs).all(tid) as (BlobRow & Spilled)[]) {
      const next = rewrite.blob(row.ns, toStoredBlob(row, owner));
      if (!next?.value) continue;
      const value = place(row, next.value.bytes);
      client.stmt(SQL.blobTag).run(next.value.tag, value, tid, row.ns, row.channel, row.raw);
      replaced++;
    }
    for (const row of client.stmt(SQL.inline).all(tid) as {
      ns: string;
      id: string;
      vals: Uint8Array;
    }[]) {
      let changed = false;
      const blobs: StoredBlob[] = [...decodeInline(row.vals)].map(([channel, kept]) => {
        const blob: StoredBlob = {
          channel,
          version: row.id,
          kind: kept.kind,
          prevVersion: null,
          depth: 0,
          value: kept.tag === null ? null : toValue(kept.tag, kept.bytes),
        };
        const next = blob.value === null ? undefined : rewrite.blob(row.ns, blob);
        if (!next) return blob;
        changed = true;
        replaced++;
        return next;
      });
      if (changed) client.stmt(SQL.inlineSet).run(encodeInline(blobs), tid, row.ns, row.id);
    }
    for (const row of client.stmt(SQL.writes).all(tid) as (WriteRow &
      Spilled & { checkpoint_id: string })[]) {
      const write = {
        taskId: row.task_id,
        taskPath: row.task_path,
        idx: row.idx,
        channel: row.channel,
        value: toValue(row.tag, inlineOrSpilled(row)),
      };
      const next = rewrite.write(row.ns, row.checkpoint_id, write);
      if (!next) continue;
      const value = place(row, next.value.bytes);
      client
        .stmt(SQL.writeTag)
        .run(next.value.tag, value, tid, row.ns, row.raw, row.task_id, row.idx);
      replaced++;
    }
    for (const row of client.stmt(SQL.effects).all(tid) as {
      key: string;
      status: string;
      args: string;
      outcome: string | null;
    }[]) {
      const args = rewrite.effect(row.key, "args", row.args);
      const outcome =
        row.outcome === null ? undefined : rewrite.effect(row.key, row.status, row.outcome);
      if (args === undefined && outcome === undefined) continue;
      client.stmt(SQL.effectSet).run(args ?? row.args, outcome ?? row.outcome, tid, row.key);
      replaced += (args === undefined ? 0 : 1) + (outcome === undefined ? 0 : 1);
    }
    return replaced;
  });
}
