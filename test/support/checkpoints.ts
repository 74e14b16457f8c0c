/** Small checkpoints for storage tests, written the way the runtime writes them. */

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
