/**
 * A writer process for the large-value collection test. Prints one JSON line on stdout.
 * Usage: large-values-worker <db> <count> <shared text>
 *   puts `count` checkpoints on threads w0..w3, each carrying a large value: the shared text
 *   (stored long ago and referenced by nothing when the process starts) every other time, a
 *   value of its own otherwise; prints {"written": [[threadId, checkpointId, which], ...]}.
 */
import { createSqliteCheckpointer } from "../../src/backends/sqlite/index.js";
import { putFile } from "./large-value-fixtures.js";

const [db, count, shared] = process.argv.slice(2);
const checkpointer = createSqliteCheckpointer(db!, {
  largeValues: { thresholdBytes: 16 * 1024, touchEveryMs: 0 },
});
const heads = new Map<string, string>();
const written: [string, string, string][] = [];
for (let i = 0; i < Number(count); i++) {
  const threadId = `w${i % 4}`;
  const parent = heads.get(threadId);
  const which = i % 2 === 0 ? "shared" : `own-${i}`;
  const file = which === "shared" ? shared! : `${shared}${which}`;
  const id = await putFile(checkpointer, threadId, file, parent);
  heads.set(threadId, id);
  written.push([threadId, id, which]);
}
await checkpointer.close();
process.stdout.write(`${JSON.stringify({ written })}\n`);
