/** Small checkpoints for storage tests, written the way the runtime writes them. */

/**
 * A checkpoint of `threadId` whose one channel `x` holds `value`, versioned by the checkpoint's
 * own id (as the runtime versions a channel a step changed).
 */
export function checkpointStep(threadId: string, id: string, value: number) {
  return {
    threadId,
    id,
    parentId: undefined,
    channelVersions: { x: id },
    versionsSeen: {},
    metadata: { source: "loop" as const, step: value },
    updates: [{ channel: "x", version: id, value }],
  };
}
