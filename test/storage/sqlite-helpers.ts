/** Test helpers for the SQLite backend: damage done like a bad disk. */
import Database from "better-sqlite3";
import { packId } from "../../src/backends/sqlite/sqlite-rows.js";

/** Overwrites, from a second connection, the bytes of every value written with `checkpointId`, in its table row or its checkpoint's row. */
export function corruptSqliteCheckpoint(
  file: string,
  key: { threadId: string; ns: string; checkpointId: string },
): void {
  const db = new Database(file);
  try {
    const tid = "(SELECT tid FROM rewind_threads WHERE thread_id = ?)";
    const inTable = db
      .prepare(
        `UPDATE rewind_blobs SET value = x'ff00fe', value_ref = NULL
         WHERE tid = ${tid} AND ns = ? AND version = ?`,
      )
      .run(key.threadId, key.ns, packId(key.checkpointId)).changes;
    // Small values live in the checkpoint's own row.
    const inRow = db
      .prepare(
        `UPDATE rewind_checkpoints SET vals = x'ff00fe'
         WHERE tid = ${tid} AND ns = ? AND id = ? AND vals IS NOT NULL`,
      )
      .run(key.threadId, key.ns, key.checkpointId).changes;
    const changed = inTable + inRow;
    if (changed === 0) throw new Error(`nothing to corrupt for checkpoint ${key.checkpointId}`);
  } finally {
    db.close();
  }
}
