/**
 * The shapes the checkpoint seam's retention methods exchange: listing threads with their size,
 * one thread's footprint (the tree of its checkpoints, the bytes each row and value takes, its
 * pins), a batch of a prune, and what reclaiming space gave back. Backends only measure, check
 * and delete; what may go is decided by the core (`retention/`).
 */
import type { ChannelVersion, StoredBlob } from "./checkpoint-backend.js";

/** Which threads {@link CheckpointBackend.listThreads} returns: ascending thread id, paged. */
export interface ThreadQuery {
  /** Only thread ids strictly greater than this one (the previous page's last). */
  readonly after?: string | undefined;
  /** Only thread ids that start with this text (a tenant's storage keys share a prefix). */
  readonly prefix?: string | undefined;
  /** Threads per page, at least 1. */
  readonly limit: number;
}

/** A live thread with checkpoints, and what it stores. */
export interface ThreadSummary {
  readonly threadId: string;
  readonly checkpoints: number;
  /** Bytes of its checkpoint rows, values and pending writes, as the backend measures them. */
  readonly bytes: number;
  /** ISO-8601 creation time of its newest checkpoint (by id, in any namespace). */
  readonly updatedAt: string;
}

/** One checkpoint row of a footprint: its place in the tree, and its size. */
export interface CheckpointFootprint {
  readonly ns: string;
  readonly id: string;
  readonly parentId: string | null;
  readonly createdAt: string;
  readonly channelVersions: Readonly<Record<string, ChannelVersion>>;
  /** The row's metadata, tagged-JSON text as stored. */
  readonly metadata: string;
  /** Bytes of the row itself (values a backend keeps inside the row included). */
  readonly bytes: number;
  /** Pending writes stored against it, and their bytes. */
  readonly writes: number;
  readonly writeBytes: number;
  /** The distinct channels of those writes (an interrupt write marks a pause point). */
  readonly writeChannels: readonly string[];
}

/** One stored channel value of a footprint. */
export interface BlobFootprint {
  readonly ns: string;
  readonly channel: string;
  readonly version: string;
  readonly bytes: number;
}

/** Everything a prune needs to know about one thread, without any value decoded. */
export interface ThreadFootprint {
  readonly threadId: string;
  /** Ascending (ns, id). */
  readonly checkpoints: readonly CheckpointFootprint[];
  /**
   * Values stored in rows of their own (not inside a checkpoint row), each once. A value kept
   * inside its checkpoint's row is counted in that row's `bytes` instead.
   */
  readonly blobs: readonly BlobFootprint[];
  /** Ids of the thread's pinned checkpoints (see {@link CheckpointBackend.setPin}). */
  readonly pins: readonly string[];
}

/**
 * One batch of a prune on (threadId, ns), applied atomically by
 * {@link CheckpointBackend.pruneCheckpoints}: rebase blobs written first, then checkpoints and
 * values deleted. Checkpoints and values already gone are skipped, so a batch can be rerun.
 */
export interface PruneBatch {
  readonly threadId: string;
  readonly ns: string;
  /** Checkpoints to delete with their pending writes. */
  readonly checkpointIds: readonly string[];
  /** Channel values to delete, by (channel, version). */
  readonly blobs: readonly { readonly channel: string; readonly version: string }[];
  /**
   * Full values that replace the stored value at the same (channel, version): an append chain
   * re-based onto a full value, so the links before it can go. Each must decode to the value
   * its chain rebuilds.
   */
  readonly rebase: readonly StoredBlob[];
}

/** What a {@link PruneBatch} removed. */
export interface PruneBatchResult {
  readonly checkpoints: number;
  readonly blobs: number;
  readonly writes: number;
}

/** What {@link CheckpointBackend.reclaimSpace} did: the storage's size before and after, in bytes. */
export interface SpaceReport {
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  /** How the space came back, e.g. `"incremental_vacuum"`, `"VACUUM"`, `"none"`. */
  readonly method: string;
}
