/** Checkpoints carrying one large value, as the large-value tests (and their worker) write them. */
import { newCheckpointId } from "../../src/backend.js";
import type { Checkpointer } from "../../src/index.js";

/**
 * Puts a checkpoint of `threadId` after `parent` whose channel `file` is `file` (and `n` is `n`,
 * when given); returns its id.
 */
export async function putFile(
  checkpointer: Checkpointer,
  threadId: string,
  file: unknown,
  parent?: string,
  n?: number,
): Promise<string> {
  const id = newCheckpointId(parent);
  const withN = n !== undefined;
  await checkpointer.put({
    threadId,
    id,
    parentId: parent,
    channelVersions: withN ? { file: id, n: id } : { file: id },
    versionsSeen: {},
    metadata: { source: "loop", step: n ?? 0 },
    updates: [
      { channel: "file", version: id, value: file },
      ...(withN ? [{ channel: "n", version: id, value: n }] : []),
    ],
  });
  return id;
}
