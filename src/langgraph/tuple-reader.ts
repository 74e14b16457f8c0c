/**
 * Turns what a Rewind backend returns into LangGraph's `CheckpointTuple`: channel values rebuilt
 * from their blob chains (a channel whose value was never stored is absent, as LangGraph's
 * PostgreSQL saver does), pending writes in LangGraph's (task_path, task_id, idx) order.
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import {
  type Checkpoint,
  type CheckpointMetadata,
  type CheckpointPendingWrite,
  type CheckpointTuple,
  compareWritesSortKeys,
  writesSortKey,
} from "@langchain/langgraph-checkpoint";
import { isRewindError, SerializationError } from "../errors.js";
import { appendAll } from "../storage/blob-chain.js";
import { parseThreadKey } from "../storage/thread-key.js";
import type { LoadedCheckpoint, StoredBlob, StoredWrite } from "../storage/types.js";
import type { LangGraphValueCodec } from "./value-codec.js";

/** The JSON body the adapter stores with each checkpoint (same keys as Rewind's own). */
export interface CheckpointBody {
  /** `versions_seen`. */
  readonly vs: Checkpoint["versions_seen"];
  /** State schema version (Rewind's); always 1 here. */
  readonly sv: number;
  /** LangGraph's checkpoint format version `v`. */
  readonly f: number;
  /** `ts`, only when it is not the canonical ISO text kept as `createdAt`. */
  readonly ts?: string;
}

/** A rebuilt channel value with the append-chain facts the saver's tracker needs. */
export interface RebuiltChannel {
  readonly value: unknown;
  readonly depth: number;
  readonly baseLength: number;
}

/**
 * `{ configurable: { thread_id, checkpoint_ns, checkpoint_id } }` of the thread stored under
 * `key`, plus `tenant_id` for a named tenant's thread: the config leads back to the same thread.
 */
export function checkpointConfig(key: string, ns: string, id: string): RunnableConfig {
  const { threadId, tenantId } = parseThreadKey(key);
  const tenant = tenantId === undefined ? {} : { tenant_id: tenantId };
  return { configurable: { thread_id: threadId, ...tenant, checkpoint_ns: ns, checkpoint_id: id } };
}

/**
 * Decodes one loaded checkpoint. `onChannel` sees every rebuilt channel (the saver remembers
 * array values to store the next version as an append).
 */
export async function readTuple(
  loaded: LoadedCheckpoint,
  codec: LangGraphValueCodec,
  onChannel?: (channel: string, version: string, rebuilt: RebuiltChannel) => void,
): Promise<CheckpointTuple> {
  const row = loaded.checkpoint;
  const where = { threadId: row.threadId, checkpointId: row.id };
  try {
    const body = JSON.parse(row.body) as Partial<CheckpointBody>;
    const channelValues: Record<string, unknown> = {};
    await Promise.all(
      Object.entries(row.channelVersions).map(async ([channel, version]) => {
        const rebuilt = await rebuild(channel, String(version), loaded.blobs[channel], codec);
        if (rebuilt === undefined) return;
        channelValues[channel] = rebuilt.value;
        onChannel?.(channel, String(version), rebuilt);
      }),
    );
    const checkpoint: Checkpoint = {
      v: typeof body.f === "number" ? body.f : 4,
      id: row.id,
      ts: body.ts ?? row.createdAt,
      channel_values: channelValues,
      channel_versions: { ...row.channelVersions },
      versions_seen: (body.vs ?? {}) as Checkpoint["versions_seen"],
    };
    return {
      config: checkpointConfig(row.threadId, row.ns, row.id),
      checkpoint,
      metadata: codec.decodeMetadata(row.metadata) as CheckpointMetadata,
      parentConfig:
        row.parentId === null ? undefined : checkpointConfig(row.threadId, row.ns, row.parentId),
      pendingWrites: await readWrites(loaded.writes, codec),
    };
  } catch (cause) {
    if (isRewindError(cause) && cause.checkpointId) throw cause;
    throw new SerializationError(
      `checkpoint ${row.id} of thread "${row.threadId}" could not be decoded: ${(cause as Error).message}`,
      { ...where, cause },
    );
  }
}

/** Pending writes sorted by LangGraph's own comparator (code-point order), values decoded. */
export async function readWrites(
  writes: readonly StoredWrite[],
  codec: LangGraphValueCodec,
): Promise<CheckpointPendingWrite[]> {
  const sorted = writes
    .slice()
    .sort((a, b) =>
      compareWritesSortKeys(
        writesSortKey(a.taskPath, a.taskId, a.idx),
        writesSortKey(b.taskPath, b.taskId, b.idx),
      ),
    );
  return Promise.all(
    sorted.map(
      async (w): Promise<CheckpointPendingWrite> => [
        w.taskId,
        w.channel,
        await codec.decode(w.value),
      ],
    ),
  );
}

async function rebuild(
  channel: string,
  version: string,
  chain: readonly StoredBlob[] | undefined,
  codec: LangGraphValueCodec,
): Promise<RebuiltChannel | undefined> {
  // Never stored (the checkpoint named a version nobody wrote): absent, like LangGraph's savers.
  if (!chain || chain.length === 0) return undefined;
  const base = chain[0]!;
  if (base.kind === "append" || chain.at(-1)!.version !== version) {
    throw new SerializationError(
      `the stored values of channel "${channel}" (version ${version}) are incomplete`,
    );
  }
  if (base.kind === "empty") return undefined;
  const [value, ...appends] = await Promise.all(chain.map((blob) => codec.decode(blob.value!)));
  return appendAll(
    value,
    appends,
    chain.at(-1)!.depth,
    (what) =>
      new SerializationError(
        what === "base"
          ? `channel "${channel}" has appends on a value that is not an array`
          : `an append of channel "${channel}" is not an array`,
      ),
  );
}
