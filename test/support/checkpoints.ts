/** Small checkpoints for storage tests, written the way the runtime writes them. */
import { newCheckpointId } from "../../src/backend.js";
import type { Checkpointer } from "../../src/index.js";

/**
 * A checkpoint of `threadId` whose one channel `x` holds `value`, versioned by the checkpoint's
 * own id (as the runtime versions a channel a step changed).
 */
export function checkpointStep(threadId: string, id: string, value: number) {
  return valueStep(threadId, id, value);
}

/** Like {@link checkpointStep}, for any value, with a parent when given. */
export function valueStep(threadId: string, id: string, value: unknown, parentId?: string) {
  return {
    threadId,
    id,
    parentId,
    channelVersions: { x: id },
    versionsSeen: {},
    metadata: { source: "loop" as const, step: typeof value === "number" ? value : 1 },
    updates: [{ channel: "x", version: id, value }],
  };
}

/**
 * Puts a checkpoint holding `value` in channel `v` (and each of `more` in a channel of its own)
 * on `parent` (its expected head), under `id` (default: a new one); not awaited.
 */
export function putValue(
  checkpointer: Checkpointer,
  threadId: string,
  value: unknown,
  parent?: string,
  id = newCheckpointId(parent),
  more: Record<string, unknown> = {},
): { id: string; stored: Promise<unknown> } {
  const values: Record<string, unknown> = { v: value, ...more };
  const stored = checkpointer.put(
    {
      threadId,
      id,
      parentId: parent,
      channelVersions: Object.fromEntries(Object.keys(values).map((channel) => [channel, id])),
      versionsSeen: {},
      metadata: { source: "loop", step: 0 },
      updates: Object.entries(values).map(([channel, v]) => ({ channel, version: id, value: v })),
    },
    { expectedHead: parent ?? null },
  );
  return { id, stored };
}
