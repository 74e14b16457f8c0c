/** Test helpers for the SQLite backend: damage rows from a second connection, like a bad disk would. */
import Database from "better-sqlite3";
import { packId } from "../../src/storage/sqlite/sqlite-rows.js";

/** Overwrites the bytes of every value written with `checkpointId` by bytes that are not JSON. */
export function corruptSqliteCheckpoint(
  file: string,
  key: { threadId: string; ns: string; checkpointId: string },
): void {
  const db = new Database(file);
  try {
    const changed = db
      .prepare(
        `UPDATE rewind_blobs SET value = x'ff00fe', value_ref = NULL
         WHERE tid = (SELECT tid FROM rewind_threads WHERE thread_id = ?) AND ns = ? AND version = ?`,
      )
      .run(key.threadId, key.ns, packId(key.checkpointId)).changes;
    if (changed === 0) throw new Error(`nothing to corrupt for checkpoint ${key.checkpointId}`);
  } finally {
    db.close();
  }
}
