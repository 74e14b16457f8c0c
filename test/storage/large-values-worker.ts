/**
 * A writer process for the large-value collection test. Prints one JSON line on stdout.
 * Usage: large-values-worker <db> <count> <shared text>
 *   puts `count` checkpoints on threads w0..w3, each carrying a large value: the shared text
 *   (stored long ago and referenced by nothing when the process starts) every other time, a
 *   value of its own otherwise; prints {"written": [[threadId, checkpointId, which], ...]}.
 */
import { newCheckpointId } from "../../src/backend.js";
import { createSqliteCheckpointer } from "../../src/backends/sqlite/index.js";

const [db, count, shared] = process.argv.slice(2);
const checkpointer = createSqliteCheckpointer(db!, {
  largeValues: { thresholdBytes: 16 * 1024, touchEveryMs: 0 },
});
const heads = new Map<string, string>();
const written: [string, string, string][] = [];
for (let i = 0; i < Number(count); i++) {
  const threadId = `w${i % 4}`;
  const parent = heads.get(threadId);
  const id = newCheckpointId(parent);
  const which = i % 2 === 0 ? "shared" : `own-${i}`;
  const file = which === "shared" ? shared! : `${shared}${which}`;
  await checkpointer.put({
    threadId,
    id,
    parentId: parent,
    channelVersions: { file: id },
    versionsSeen: {},
    metadata: { source: "loop", step: i },
    updates: [{ channel: "file", version: id, value: file }],
  });
  heads.set(threadId, id);
  written.push([threadId, id, which]);
}
await checkpointer.close();
process.stdout.write(`${JSON.stringify({ written })}\n`);
