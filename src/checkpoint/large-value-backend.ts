/**
 * The large-value store in front of a backend: the codec turns a value above its threshold into
 * a reference carrying the value's frame (see large-value-ref.ts); on the way in, this layer
 * writes each frame to the {@link LargeValueTarget} (once per tenant and hash, touching it when
 * it is there already) before the row that references it, and hands the backend the reference
 * alone; on the way out it puts the frames back, from a per-process cache of the values it has
 * read, so reading state whose large values did not change costs no extra I/O. A listing without
 * values loads none. Written once for every backend: it wraps the seam, and the backend stores
 * references like any other small value.
 */
import { CorruptionError } from "../errors.js";
import { REF_MARK, storedRefHash, withoutFrame } from "../offload/large-value-frame.js";
import type { LargeValueStore } from "../offload/large-value-store.js";
import type {
  CheckpointBackend,
  CheckpointKey,
  CheckpointPut,
  CheckpointQuery,
  LeaseRequest,
  LoadedCheckpoint,
  StoredBlob,
  StoredWrite,
} from "./checkpoint-backend.js";
import type { PruneBatch } from "./retention-seam.js";
import { tenantOfKey } from "./thread-key.js";

/** The tenant a storage key belongs to, `""` for the default tenant. */
export function tenantOf(threadId: string): string {
  return tenantOfKey(threadId) ?? "";
}

/**
 * `backend` with large values kept in `store`: every other method (optional ones stay
 * optional) goes to the backend unchanged.
 */
export function withLargeValues(
  backend: CheckpointBackend,
  store: LargeValueStore,
): CheckpointBackend {
  const offloadBlobs = async (threadId: string, blobs: readonly StoredBlob[]) =>
    Promise.all(
      blobs.map(async (blob) => {
        const value = blob.value && (await offload(store, threadId, blob.value));
        return value === blob.value ? blob : { ...blob, value };
      }),
    );
  // Most writes and reads hold no large value: those go through untouched, with no promise per
  // value on the checkpoint hot path.
  const overrides: Partial<CheckpointBackend> = {
    async putCheckpoint(put: CheckpointPut) {
      if (!put.blobs.some(isReference)) return backend.putCheckpoint(put);
      const blobs = await offloadBlobs(put.checkpoint.threadId, put.blobs);
      await backend.putCheckpoint({ ...put, blobs });
    },
    async putWrites(key: CheckpointKey, writes: readonly StoredWrite[], fence) {
      if (!writes.some(isReference)) return backend.putWrites(key, writes, fence);
      const stored = await Promise.all(
        writes.map(async (write) => {
          const value = await offload(store, key.threadId, write.value);
          return value === write.value ? write : { ...write, value };
        }),
      );
      await backend.putWrites(key, stored, fence);
    },
    async pruneCheckpoints(batch: PruneBatch) {
      if (!batch.rebase.some(isReference)) return backend.pruneCheckpoints(batch);
      const rebase = await offloadBlobs(batch.threadId, batch.rebase);
      return backend.pruneCheckpoints({ ...batch, rebase });
    },
    async getCheckpoint(threadId: string, ns: string, checkpointId?: string) {
      const loaded = await backend.getCheckpoint(threadId, ns, checkpointId);
      return loaded && hydrate(store, loaded);
    },
    async acquireLease(request: LeaseRequest) {
      const lease = await backend.acquireLease(request);
      if (!lease?.head) return lease;
      try {
        return { ...lease, head: await hydrate(store, lease.head) };
      } catch (error) {
        // The head cannot be read whole: the grant goes back rather than wait out its TTL.
        await backend.releaseLease(lease).catch(() => undefined);
        throw error;
      }
    },
    async *listCheckpoints(query: CheckpointQuery) {
      for await (const loaded of backend.listCheckpoints(query)) yield hydrate(store, loaded);
    },
    async close() {
      try {
        await backend.close();
      } finally {
        if (store.external) await store.target.close?.();
      }
    },
  };
  return new Proxy(backend, {
    get(target, property, receiver) {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof typeof overrides];
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Whether a blob's or write's value is a large value's reference. */
function isReference(item: { value: StoredWrite["value"] | null }): boolean {
  const tag = item.value?.tag;
  if (tag === undefined) return false;
  // Cheap first: a reference's tag starts with its mark, after the checksum when sealed.
  const at = tag[0] === "~" && tag[9] === "~" ? 10 : 0;
  return tag[at] === REF_MARK && storedRefHash(tag) !== undefined;
}

/** A value as the backend gets it: a reference's frame stored, the reference alone kept. */
async function offload(store: LargeValueStore, threadId: string, value: StoredWrite["value"]) {
  const hash = storedRefHash(value.tag);
  if (hash === undefined || value.bytes.byteLength === 0) return value;
  await store.store(tenantOf(threadId), hash, value.bytes);
  return withoutFrame(value);
}

/** `loaded` with every reference's frame put back; a missing one is a CorruptionError. */
async function hydrate(
  store: LargeValueStore,
  loaded: LoadedCheckpoint,
): Promise<LoadedCheckpoint> {
  const references =
    loaded.writes.some(isReference) ||
    Object.values(loaded.blobs).some((chain) => chain.some(isReference));
  if (!references) return loaded;
  const { threadId, id } = loaded.checkpoint;
  const load = async <T extends { channel: string; value: StoredWrite["value"] | null }>(
    item: T,
  ): Promise<T> => {
    const hash = item.value ? storedRefHash(item.value.tag) : undefined;
    if (hash === undefined || !item.value || item.value.bytes.byteLength > 0) return item;
    const bytes = await store.load(tenantOf(threadId), hash);
    if (!bytes) {
      throw new CorruptionError(
        `checkpoint ${id} of thread "${threadId}" references large value ${hash}, which is missing (channel "${item.channel}")`,
        { threadId, checkpointId: id, channel: item.channel },
      );
    }
    return { ...item, value: { tag: item.value.tag, bytes } };
  };
  let changed = false;
  const blobs: Record<string, readonly StoredBlob[]> = {};
  for (const [channel, chain] of Object.entries(loaded.blobs)) {
    blobs[channel] = await Promise.all(chain.map(load));
    changed ||= blobs[channel]!.some((blob, i) => blob !== chain[i]);
  }
  const writes = await Promise.all(loaded.writes.map(load));
  changed ||= writes.some((write, i) => write !== loaded.writes[i]);
  return changed ? { ...loaded, blobs, writes } : loaded;
}
