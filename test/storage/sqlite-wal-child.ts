/**
 * A process for the WAL checkpointer tests: writes checkpoints to a SQLite file at
 * synchronous=NORMAL (its checkpoint worker running), then either awaits close (`close`) or
 * not (`leave`), and prints {"wrote": n, "ending": ...} as its last step.
 * Usage: sqlite-wal-child <db> <count> close|leave
 */
import { newCheckpointId } from "../../src/backend.js";
import { createSqliteCheckpointer } from "../../src/backends/sqlite/index.js";
import { valueStep } from "../support/checkpoints.js";

const [db, count, ending] = process.argv.slice(2);
const checkpointer = createSqliteCheckpointer(db!, { synchronous: "normal" });
let parentId: string | undefined;
for (let n = 0; n < Number(count); n++) {
  const id = newCheckpointId(parentId);
  await checkpointer.put(valueStep("child", id, n, parentId));
  parentId = id;
}
if (ending === "close") await checkpointer.close();
console.log(JSON.stringify({ wrote: Number(count), ending }));
