/**
 * The retention half of the in-memory backend: sizes, footprints, pins and atomic prune
 * batches over one thread's entry. Kept apart from `memory-backend.ts`, which owns the entries.
 */

import { ConflictError, NotFoundError } from "../errors.js";
import { storedRefHash } from "../offload/large-value-frame.js";
import type {
  ArchiveMark,
  Lease,
  QuarantinedCheckpoint,
  StoredBlob,
  StoredCheckpoint,
  StoredEffect,
  StoredWrite,
} from "./checkpoint-backend.js";
import type {
  PruneBatch,
  PruneBatchResult,
  ThreadFootprint,
  ThreadSummary,
} from "./retention-seam.js";

/** One thread of the in-memory backend. */
export interface ThreadEntry {
  deleted: boolean;
  lease: Lease | undefined;
  lastToken: number;
  /** ns -> checkpoints sorted by ascending id. */
  checkpoints: Map<string, StoredCheckpoint[]>;
  /** ns \0 channel \0 version -> blob. */
  blobs: Map<string, StoredBlob>;
  /** ns \0 checkpointId -> (taskId \0 idx -> write). */
  writes: Map<string, Map<string, StoredWrite>>;
  /** ns \0 checkpointId -> a checkpoint a repair moved aside. */
  quarantine: Map<string, QuarantinedCheckpoint>;
  /** Pinned checkpoint ids. */
  pins: Set<string>;
  /** Effect key -> ledger entry. */
  effects: Map<string, StoredEffect>;
  /** Set while the thread is archived (its rows removed). */
  archive: ArchiveMark | undefined;
}

export function blobKey(ns: string, channel: string, version: string): string {
  return `${ns}\0${channel}\0${version}`;
}

const text = (value: string | null) => (value === null ? 0 : Buffer.byteLength(value));
const rowBytes = (c: StoredCheckpoint) =>
  text(c.ns) +
  text(c.id) +
  text(c.parentId) +
  text(c.createdAt) +
  text(JSON.stringify(c.channelVersions)) +
  text(c.metadata) +
  text(c.body);
const blobBytes = (b: StoredBlob) =>
  (b.value ? b.value.bytes.byteLength + text(b.value.tag) : 0) + text(b.channel) + text(b.version);
const writeBytes = (w: StoredWrite) =>
  w.value.bytes.byteLength + text(w.value.tag) + text(w.taskId) + text(w.taskPath);

/** The thread's summary, or undefined when it is deleted or has no checkpoint. */
export function summarize(threadId: string, thread: ThreadEntry): ThreadSummary | undefined {
  if (thread.deleted) return undefined;
  let checkpoints = 0;
  let bytes = 0;
  let newest: StoredCheckpoint | undefined;
  for (const list of thread.checkpoints.values()) {
    checkpoints += list.length;
    for (const c of list) bytes += rowBytes(c);
    const last = list.at(-1);
    if (last && (!newest || last.id > newest.id)) newest = last;
  }
  if (!newest) return undefined;
  for (const blob of thread.blobs.values()) bytes += blobBytes(blob);
  for (const bucket of thread.writes.values())
    for (const w of bucket.values()) bytes += writeBytes(w);
  return { threadId, checkpoints, bytes, updatedAt: newest.createdAt };
}

/** The thread's footprint, or undefined when it is deleted or has no checkpoint. */
export function footprintOf(threadId: string, thread: ThreadEntry): ThreadFootprint | undefined {
  if (!summarize(threadId, thread)) return undefined;
  const namespaces = [...thread.checkpoints.keys()].sort();
  const checkpoints = namespaces.flatMap((ns) =>
    (thread.checkpoints.get(ns) ?? []).map((c) => {
      const bucket = [...(thread.writes.get(`${ns}\0${c.id}`)?.values() ?? [])];
      return {
        ns,
        id: c.id,
        parentId: c.parentId,
        createdAt: c.createdAt,
        channelVersions: c.channelVersions,
        metadata: c.metadata,
        bytes: rowBytes(c),
        writes: bucket.length,
        writeBytes: bucket.reduce((sum, w) => sum + writeBytes(w), 0),
        writeChannels: [...new Set(bucket.map((w) => w.channel))].sort(),
      };
    }),
  );
  const blobs = [...thread.blobs.entries()].map(([key, blob]) => ({
    ns: key.slice(0, key.indexOf("\0")),
    channel: blob.channel,
    version: blob.version,
    bytes: blobBytes(blob),
  }));
  return { threadId, checkpoints, blobs, pins: [...thread.pins].sort() };
}

/** Applies a prune batch to the entry after its checks (all of them before any change). */
export function pruneEntry(thread: ThreadEntry, batch: PruneBatch): PruneBatchResult {
  const list = thread.checkpoints.get(batch.ns) ?? [];
  const doomed = new Set(batch.checkpointIds);
  const present = list.filter((c) => doomed.has(c.id));
  const children = new Map<string, number>();
  for (const c of list) {
    if (c.parentId !== null) children.set(c.parentId, (children.get(c.parentId) ?? 0) + 1);
  }
  for (const c of present) {
    const head = c.id === list.at(-1)?.id;
    const reason = unsafeReason(head, thread.pins.has(c.id), children.get(c.id) ?? 0);
    if (reason) {
      throw new ConflictError(
        `checkpoint ${c.id} of thread "${c.threadId}" cannot be pruned: ${reason}`,
        { threadId: c.threadId, checkpointId: c.id },
      );
    }
  }
  for (const blob of batch.rebase)
    thread.blobs.set(blobKey(batch.ns, blob.channel, blob.version), blob);
  let writes = 0;
  for (const c of present) {
    const key = `${batch.ns}\0${c.id}`;
    writes += thread.writes.get(key)?.size ?? 0;
    thread.writes.delete(key);
  }
  thread.checkpoints.set(
    batch.ns,
    list.filter((c) => !doomed.has(c.id)),
  );
  let blobs = 0;
  for (const { channel, version } of batch.blobs) {
    if (thread.blobs.delete(blobKey(batch.ns, channel, version))) blobs++;
  }
  return { checkpoints: present.length, blobs, writes };
}

/**
 * Why a checkpoint may not be pruned now, or undefined when it may: the one wording every
 * backend uses for the checks of `pruneCheckpoints`.
 */
export function unsafeReason(head: boolean, pinned: boolean, children: number): string | undefined {
  if (head) return "it is the head of its namespace";
  if (pinned) return "it is pinned";
  if (children === 0) return "it is a branch head";
  if (children > 1) return "it is a fork point";
  return undefined;
}

/** Pins or unpins `checkpointId`; pinning needs the checkpoint to exist. */
export function pinIn(
  threadId: string,
  thread: ThreadEntry | undefined,
  checkpointId: string,
  pinned: boolean,
): void {
  if (!pinned) {
    thread?.pins.delete(checkpointId);
    return;
  }
  const exists =
    thread !== undefined &&
    !thread.deleted &&
    [...thread.checkpoints.values()].some((list) => list.some((c) => c.id === checkpointId));
  if (!exists) {
    throw new NotFoundError(`thread "${threadId}" has no checkpoint ${checkpointId} to pin`, {
      threadId,
      checkpointId,
    });
  }
  thread.pins.add(checkpointId);
}

/** Every stored tag of `threads` that references a large value (see large-value-ref.ts). */
export function* largeValueRefsIn(threads: ReadonlyMap<string, ThreadEntry>) {
  for (const [threadId, thread] of threads) {
    for (const blob of thread.blobs.values()) {
      if (blob.value && storedRefHash(blob.value.tag)) yield { threadId, tag: blob.value.tag };
    }
    for (const bucket of thread.writes.values()) {
      for (const write of bucket.values()) {
        if (storedRefHash(write.value.tag)) yield { threadId, tag: write.value.tag };
      }
    }
  }
}
