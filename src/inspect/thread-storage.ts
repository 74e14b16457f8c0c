/**
 * What a thread stores, for the inspector's storage view: bytes per channel and per checkpoint
 * (from the backend's footprint, no value decoded), and what keeping only the last N checkpoints
 * would free (a dry run of the retention prune: nothing changes).
 */
import type { Checkpointer } from "../checkpoint/checkpointer.js";
import { parseThreadKey } from "../checkpoint/thread-key.js";
import { NotFoundError } from "../errors.js";
import { prune } from "../retention/prune.js";

/** A thread's storage, summed. */
export interface ThreadStorage {
  readonly bytes: number;
  readonly checkpoints: number;
  /** Bytes of each channel's values stored in rows of their own, biggest first. */
  readonly channels: readonly { readonly channel: string; readonly bytes: number }[];
  /** The biggest checkpoint rows (their pending writes included), biggest first. */
  readonly biggest: readonly { readonly checkpointId: string; readonly bytes: number }[];
  /** What `keepLast` would free on this thread (absent when not asked). */
  readonly keepLast?:
    | {
        readonly n: number;
        readonly checkpoints: number;
        readonly bytes: number;
        readonly lost?: string | undefined;
      }
    | undefined;
}

/** The storage of `key`; `keepLast` asks what keeping only that many checkpoints would free. */
export async function readThreadStorage(
  checkpointer: Checkpointer,
  key: string,
  keepLast?: number | undefined,
): Promise<ThreadStorage> {
  const footprint = await checkpointer.door.footprint(key);
  if (!footprint) throw new NotFoundError(`thread "${key}" has no checkpoints`, { threadId: key });
  const channels = new Map<string, number>();
  for (const blob of footprint.blobs) {
    channels.set(blob.channel, (channels.get(blob.channel) ?? 0) + blob.bytes);
  }
  const rows = footprint.checkpoints.map((c) => ({
    checkpointId: c.id,
    bytes: c.bytes + c.writeBytes,
  }));
  const bytes =
    rows.reduce((sum, r) => sum + r.bytes, 0) + [...channels.values()].reduce((a, b) => a + b, 0);
  let plan: ThreadStorage["keepLast"];
  if (keepLast !== undefined) {
    const { threadId, tenantId } = parseThreadKey(key);
    const report = await prune(checkpointer, { keepLast }, { dryRun: true, threadId, tenantId });
    const thread = report.threads[0];
    plan = {
      n: keepLast,
      checkpoints: thread?.checkpoints ?? 0,
      bytes: thread?.bytes ?? 0,
      lost: thread?.lost,
    };
  }
  return {
    bytes,
    checkpoints: rows.length,
    channels: [...channels]
      .map(([channel, b]) => ({ channel, bytes: b }))
      .sort((a, b) => b.bytes - a.bytes),
    biggest: [...rows].sort((a, b) => b.bytes - a.bytes).slice(0, 10),
    keepLast: plan,
  };
}
