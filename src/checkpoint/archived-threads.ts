/**
 * What the runtime does with a thread it finds archived (its rows moved to an archive, a stub
 * left in their place): raise {@link ThreadArchivedError}, saying how to restore it (the
 * default), or restore it on first use. The restoring side lives in `rewind/archive`
 * (`restoreOnUse(target)`); the runtime only sees this interface.
 */
import { ThreadArchivedError } from "../errors.js";
import type { Checkpointer } from "./checkpointer.js";
import { parseThreadKey } from "./thread-key.js";

/** The runtime's policy for archived threads (`compile({ archive })`). */
export interface ArchivedThreads {
  /** Brings the thread with storage key `threadId` back before it is read or run. */
  restore(checkpointer: Checkpointer, threadId: string): Promise<void>;
}

/**
 * Makes sure the thread with storage key `threadId` is not archived: restores it through
 * `policy`, or throws {@link ThreadArchivedError} naming where the copy is and how to restore it.
 */
export async function ensureNotArchived(
  checkpointer: Checkpointer,
  threadId: string,
  policy: ArchivedThreads | undefined,
): Promise<void> {
  const mark = await checkpointer.door.readArchive(threadId);
  if (!mark) return;
  if (policy) {
    await policy.restore(checkpointer, threadId);
    return;
  }
  const { threadId: id, tenantId } = parseThreadKey(threadId);
  let where = "";
  try {
    where = ` to ${String(JSON.parse(mark.stub).location)}`;
  } catch {
    // a stub that is not ours: say nothing about where
  }
  throw new ThreadArchivedError(
    `thread "${id}"${tenantId === undefined ? "" : ` of tenant "${tenantId}"`} was archived${where}; restore it with restoreThread() or \`rewind restore\`, or compile the graph with { archive: restoreOnUse(target) } to restore archived threads on first use`,
    { threadId: id, stub: mark.stub },
  );
}

/** The error of a write to an archived thread (every backend says the same). */
export function archivedError(threadId: string, stub: string | undefined): ThreadArchivedError {
  return new ThreadArchivedError(
    `thread "${threadId}" is archived; restore it before writing (restoreThread, or \`rewind restore\`)`,
    { threadId, stub },
  );
}
