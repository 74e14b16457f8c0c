/**
 * Pins: a pinned checkpoint is part of every prune's live set, so it stays loadable (and its
 * thread can be forked from it) until it is unpinned. Pins are stored with the thread and go
 * with it when the thread is deleted.
 */
import type { Checkpointer } from "../checkpoint/checkpointer.js";
import { threadKey } from "../checkpoint/thread-key.js";

/**
 * Pins `checkpointId` of `threadId` (in `tenantId`, if given). Throws `NotFoundError` when the
 * thread has no such checkpoint. Pinning twice is harmless.
 *
 * @example
 * await pin(checkpointer, "support-42", checkpointId);
 */
export async function pin(
  checkpointer: Checkpointer,
  threadId: string,
  checkpointId: string,
  tenantId?: string,
): Promise<void> {
  await checkpointer.door.setPin(threadKey(threadId, tenantId), checkpointId, true);
}

/** Removes a pin (a checkpoint that was not pinned is left as it is). */
export async function unpin(
  checkpointer: Checkpointer,
  threadId: string,
  checkpointId: string,
  tenantId?: string,
): Promise<void> {
  await checkpointer.door.setPin(threadKey(threadId, tenantId), checkpointId, false);
}
