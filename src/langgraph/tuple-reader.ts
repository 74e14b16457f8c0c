/**
 * Turns what a Rewind backend returns into LangGraph's `CheckpointTuple`, through the saver's
 * checkpoint codec: channel values rebuilt from their blob chains (a channel whose value was
 * never stored is absent, as LangGraph's PostgreSQL saver does), pending writes in LangGraph's
 * (task_path, task_id, idx) order.
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
import type { LoadedCheckpoint, StoredWrite } from "../checkpoint/checkpoint-backend.js";
import type { CheckpointCodec, RebuiltChannel, ValueSite } from "../checkpoint/checkpoint-codec.js";
import { parseThreadKey } from "../checkpoint/thread-key.js";
import { SerializationError } from "../errors.js";
import type { LangGraphValueCodec } from "./value-codec.js";

/** The saver's codec: Rewind's checkpoint codec on LangGraph's values. */
export type SaverCodec = CheckpointCodec<LangGraphValueCodec>;

/** `{ configurable: { thread_id, checkpoint_ns, checkpoint_id } }` and nothing else. */
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
  codec: SaverCodec,
  onChannel?: (channel: string, version: string, rebuilt: RebuiltChannel) => void,
): Promise<CheckpointTuple> {
  // Verified against its checksum first (a row written before checksums reads as it is).
  const row = codec.openRow(loaded.checkpoint);
  const site = { threadId: row.threadId, checkpointId: row.id };
  const body = codec.decodeBody(row.body, site);
  const channelValues: Record<string, unknown> = {};
  await Promise.all(
    Object.entries(row.channelVersions).map(async ([channel, version]) => {
      // A version nobody stored (allowMissing) reads as absent, like LangGraph's own savers.
      const rebuilt = await codec.rebuild(channel, version, loaded.blobs[channel], site, true);
      if (!rebuilt.present) return;
      channelValues[channel] = rebuilt.value;
      onChannel?.(channel, String(version), rebuilt);
    }),
  );
  const checkpoint: Checkpoint = {
    v: body.format,
    id: row.id,
    ts: body.ts ?? row.createdAt,
    channel_values: channelValues,
    channel_versions: { ...row.channelVersions },
    versions_seen: body.versionsSeen as Checkpoint["versions_seen"],
  };
  let metadata: CheckpointMetadata;
  try {
    metadata = codec.serializer.decodeMetadata(row.metadata) as CheckpointMetadata;
  } catch (cause) {
    throw new SerializationError(
      `checkpoint ${row.id} of thread "${row.threadId}" has unreadable metadata: ${(cause as Error).message}`,
      { ...site, cause },
    );
  }
  return {
    config: checkpointConfig(row.threadId, row.ns, row.id),
    checkpoint,
    metadata,
    parentConfig:
      row.parentId === null ? undefined : checkpointConfig(row.threadId, row.ns, row.parentId),
    pendingWrites: await readWrites(loaded.writes, codec, site),
  };
}

/** Pending writes sorted by LangGraph's own comparator (code-point order), values decoded. */
export async function readWrites(
  writes: readonly StoredWrite[],
  codec: SaverCodec,
  site: ValueSite,
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
        await codec.decodeWrite(w, site),
      ],
    ),
  );
}
