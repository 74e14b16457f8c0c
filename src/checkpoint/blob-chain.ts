/**
 * Blob chains: resolving the blobs that rebuild one channel value (follows `prevVersion` from the
 * version a checkpoint names back to the nearest `full` or `empty` blob; shared by backends that
 * look blobs up one at a time, memory and SQLite; a missing link ends the chain early and the
 * codec reports it), and joining a decoded chain's items back into one value.
 */
import { SerializationError } from "../errors.js";
import type { ChannelVersion, StoredBlob } from "./checkpoint-backend.js";
import type { RebuiltChannel, ValueSite } from "./checkpoint-codec.js";

const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

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

/**
 * A value from its decoded base and appends (oldest first). The depth is the last blob's: a
 * backend may hand a run of appends over merged into one. The base is extended in place.
 */
export function appendAll(
  base: unknown,
  appends: readonly unknown[],
  lastDepth: number,
  site: ValueSite,
): RebuiltChannel {
  if (appends.length === 0) {
    return {
      present: true,
      value: base,
      depth: 0,
      baseLength: Array.isArray(base) ? base.length : 0,
    };
  }
  const where = { threadId: site.threadId, checkpointId: site.checkpointId };
  if (!Array.isArray(base)) {
    throw new SerializationError(
      `channel "${site.channel}" has appends on a value that is not an array`,
      where,
    );
  }
  const baseLength = base.length;
  for (const items of appends) {
    if (!Array.isArray(items)) {
      throw new SerializationError(`an append of channel "${site.channel}" is not an array`, where);
    }
    for (const item of items) base.push(item);
  }
  return { present: true, value: base, depth: lastDepth, baseLength };
}

/** Whether bytes are JSON array text (`[` ... `]`). */
export function isJsonArrayText(bytes: Uint8Array): boolean {
  return bytes[0] === OPEN_BRACKET && bytes[bytes.byteLength - 1] === CLOSE_BRACKET;
}
