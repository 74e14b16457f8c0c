/**
 * Resolves the blobs that rebuild one channel value: follows `prevVersion` from the version a
 * checkpoint names back to the nearest `full` or `empty` blob. Shared by backends that look blobs
 * up one at a time (memory, SQLite); a missing link ends the chain early and the codec reports it.
 */
import type { ChannelVersion, StoredBlob } from "./checkpoint-backend.js";

/** Hard stop against a corrupted chain that loops (every backend uses the same bound). */
export const MAX_CHAIN = 1_000_000;

export function resolveBlobChain(
  version: ChannelVersion,
  lookup: (version: string) => StoredBlob | undefined,
): StoredBlob[] {
  const chain: StoredBlob[] = [];
  let next: string | null = String(version);
  while (next !== null && chain.length < MAX_CHAIN) {
    const blob = lookup(next);
    if (!blob) break;
    chain.push(blob);
    next = blob.kind === "append" ? blob.prevVersion : null;
  }
  return chain.reverse();
}

/** Code-point comparison of pending writes by (taskPath, taskId, idx): the contract order. */
export function compareWrites(
  a: { taskPath: string; taskId: string; idx: number },
  b: { taskPath: string; taskId: string; idx: number },
): number {
  if (a.taskPath !== b.taskPath) return a.taskPath < b.taskPath ? -1 : 1;
  if (a.taskId !== b.taskId) return a.taskId < b.taskId ? -1 : 1;
  return a.idx - b.idx;
}
