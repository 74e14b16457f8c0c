/**
 * A writer process for the large-value collection tests. Prints one JSON line on stdout.
 * Usage: large-values-worker <db> <count> <shared text> [checkpoints|store]
 *   puts `count` checkpoints on threads w0..w3 (or store items of tenant "acme" under keys
 *   k0..), each carrying a large value: the shared text (stored long ago and referenced by
 *   nothing when the process starts) every other time, a value of its own otherwise; prints
 *   {"written": [[threadId or key, checkpointId or "", which], ...]}.
 */
import { createSqliteCheckpointer, createSqliteStore } from "../../src/backends/sqlite/index.js";
import { putFile } from "./large-value-fixtures.js";

const [db, count, shared, mode = "checkpoints"] = process.argv.slice(2);
const largeValues = { thresholdBytes: 16 * 1024, touchEveryMs: 0 };
const written: [string, string, string][] = [];
const fileOf = (i: number) => {
  const which = i % 2 === 0 ? "shared" : `own-${i}`;
  return { which, file: which === "shared" ? shared! : `${shared}${which}` };
};
if (mode === "store") {
  const store = createSqliteStore(db!, { largeValues });
  for (let i = 0; i < Number(count); i++) {
    const { which, file } = fileOf(i);
    await store.forTenant("acme").put(["files"], `k${i}`, { file });
    written.push([`k${i}`, "", which]);
  }
  await store.close();
} else {
  const checkpointer = createSqliteCheckpointer(db!, { largeValues });
  const heads = new Map<string, string>();
  for (let i = 0; i < Number(count); i++) {
    const threadId = `w${i % 4}`;
    const { which, file } = fileOf(i);
    const id = await putFile(checkpointer, threadId, file, heads.get(threadId));
    heads.set(threadId, id);
    written.push([threadId, id, which]);
  }
  await checkpointer.close();
}
process.stdout.write(`${JSON.stringify({ written })}\n`);
