/**
 * Recovery from damaged storage, on top of any backend: a scan of a thread's checkpoints that
 * reports each damaged one and goes on past it, and the repair that moves a thread's head back
 * to its newest intact checkpoint, keeping the damaged rows aside for inspection.
 */
import { isRewindError, type RewindError } from "../errors.js";
import type { QuarantineRequest } from "./checkpoint-backend.js";
import type { Checkpointer, CheckpointTuple } from "./checkpointer.js";

/** One checkpoint of a {@link scanThread}: decoded, or the error that names it. */
export type ScannedCheckpoint =
  | { readonly id: string; readonly tuple: CheckpointTuple; readonly damage?: undefined }
  | { readonly id: string; readonly tuple?: undefined; readonly damage: RewindError };

/** What {@link repairThread} did. */
export interface RepairResult {
  readonly threadId: string;
  readonly ns: string;
  /** The head now: the newest intact checkpoint, or undefined when none is left. */
  readonly headId: string | undefined;
  /** Checkpoints moved aside (newest first) and why; empty when the head was intact. */
  readonly quarantined: readonly { readonly checkpointId: string; readonly reason: string }[];
}

/** Whether `error` reports stored data of one checkpoint that cannot be read. */
function isDamage(error: unknown): error is RewindError & { checkpointId: string } {
  return (
    (isRewindError(error, "CORRUPTED") || isRewindError(error, "SERIALIZATION")) &&
    error.checkpointId !== undefined
  );
}

/**
 * The checkpoints of (threadId, ns), newest first. A checkpoint that cannot be read comes back
 * as its error and the scan continues below it; any other error ends the scan.
 */
export async function* scanThread(
  checkpointer: Checkpointer,
  threadId: string,
  options: { ns?: string; includeValues?: boolean; before?: string } = {},
): AsyncGenerator<ScannedCheckpoint> {
  const ns = options.ns ?? "";
  let before = options.before;
  for (;;) {
    try {
      const rows = checkpointer.list({
        threadId,
        ns,
        before,
        includeValues: options.includeValues,
      });
      for await (const tuple of rows) {
        before = tuple.checkpoint.id;
        yield { id: tuple.checkpoint.id, tuple };
      }
      return;
    } catch (error) {
      // Only strictly older rows are listed next, so the scan always ends.
      if (!isDamage(error) || (before !== undefined && !(error.checkpointId < before))) throw error;
      before = error.checkpointId;
      yield { id: error.checkpointId, damage: error };
    }
  }
}

/**
 * Moves the head of (threadId, ns) back to its newest intact checkpoint: the damaged checkpoints
 * above it are moved aside (see the backend's `listQuarantined`). Checkpoints are read in full,
 * values and pending writes included. A no-op on an intact head. Throws `ConflictError` when a
 * run wrote to the thread meanwhile (nothing is moved; call it again).
 */
export async function repairThread(
  checkpointer: Checkpointer,
  threadId: string,
  ns: string,
  quarantine: (request: QuarantineRequest) => Promise<void>,
): Promise<RepairResult> {
  const quarantined: { checkpointId: string; reason: string }[] = [];
  let newest: string | undefined;
  let headId: string | undefined;
  for await (const scanned of scanThread(checkpointer, threadId, { ns })) {
    newest ??= scanned.id;
    if (scanned.damage === undefined) {
      headId = scanned.id;
      break;
    }
    quarantined.push({ checkpointId: scanned.id, reason: scanned.damage.message });
  }
  if (quarantined.length > 0) {
    await quarantine({
      threadId,
      ns,
      expectedHead: newest!,
      checkpoints: quarantined.map((q) => ({ id: q.checkpointId, reason: q.reason })),
    });
  }
  return { threadId, ns, headId, quarantined };
}
