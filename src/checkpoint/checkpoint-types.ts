/**
 * The runtime's types of checkpoints: decoded checkpoints and pending writes, and what a new
 * checkpoint and its changed channels look like on the way to the `Checkpointer`.
 */

import type { LargeValueOptions } from "../offload/large-value-store.js";
import type { EncryptionOptions } from "../serde/encryption-layer.js";
import type { JsonSerializer } from "../serde/serializer.js";
import type {
  ArchiveMark,
  ChannelVersion,
  Lease,
  LeaseFence,
  StoredBlob,
  StoredCheckpoint,
} from "./checkpoint-backend.js";
import type { AppendPolicy } from "./checkpoint-codec.js";

/** Metadata of a checkpoint: `source` and `step` always, plus whatever the caller added. */
export interface CheckpointMetadata {
  source: "input" | "loop" | "update" | "fork";
  step: number;
  [key: string]: unknown;
}

/**
 * A checkpoint without its values or pending writes (see `Checkpointer.listHeaders`): enough to
 * draw a history or a tree and to page through it, at the cost of one row read per checkpoint.
 */
export interface CheckpointHeader {
  readonly threadId: string;
  readonly ns: string;
  readonly id: string;
  readonly parentId: string | undefined;
  /** ISO-8601 creation time. */
  readonly createdAt: string;
  /** `metadata.step`: the super-step (-1 for the input checkpoint). */
  readonly step: number;
  /** `metadata.source`: how the checkpoint came about. */
  readonly source: CheckpointMetadata["source"];
  /** Everything the writer recorded (LangGraph keeps the writing node's name here). */
  readonly metadata: Readonly<CheckpointMetadata>;
}

/** A decoded checkpoint. */
export interface Checkpoint {
  readonly threadId: string;
  readonly ns: string;
  readonly id: string;
  readonly parentId: string | undefined;
  readonly createdAt: string;
  readonly channelVersions: Readonly<Record<string, ChannelVersion>>;
  readonly versionsSeen: Readonly<Record<string, Readonly<Record<string, ChannelVersion>>>>;
  /** Channel values; a channel with no value is absent. */
  readonly values: Readonly<Record<string, unknown>>;
  readonly metadata: Readonly<CheckpointMetadata>;
  /** Version of the state schema the values were written with (for migrations). */
  readonly schemaVersion: number;
  /** Storage format version (LangGraph's `v`). */
  readonly format: number;
  /** Small plain-JSON fields kept with the checkpoint row (the runtime's next nodes, ...). */
  readonly extra: Readonly<Record<string, unknown>>;
}

/** A decoded pending write. */
export interface PendingWrite {
  readonly taskId: string;
  readonly taskPath: string;
  readonly idx: number;
  readonly channel: string;
  readonly value: unknown;
}

/** A checkpoint with the writes pending against it. */
export interface CheckpointTuple {
  readonly checkpoint: Checkpoint;
  readonly pendingWrites: readonly PendingWrite[];
}

/**
 * A changed channel to store with a new checkpoint. Give `append` when the new value is the
 * value at `append.prevVersion` plus `append.items` (same order): then only the items are
 * stored, if that version was stored or read through the same `Checkpointer` and the append
 * policy allows (else the full `value` is). Give `empty: true` when the channel was cleared.
 */
export interface ChannelUpdate {
  readonly channel: string;
  readonly version: ChannelVersion;
  readonly value?: unknown;
  readonly empty?: boolean;
  readonly append?: {
    readonly prevVersion: ChannelVersion;
    readonly items: readonly unknown[];
  };
}

/** A new checkpoint to store. */
export interface NewCheckpoint {
  readonly threadId: string;
  readonly ns?: string;
  readonly id: string;
  readonly parentId: string | undefined;
  readonly createdAt?: string;
  readonly channelVersions: Readonly<Record<string, ChannelVersion>>;
  readonly versionsSeen: Readonly<Record<string, Readonly<Record<string, ChannelVersion>>>>;
  readonly metadata: CheckpointMetadata;
  readonly schemaVersion?: number;
  readonly format?: number;
  /** See {@link Checkpoint.extra}; must be plain JSON. */
  readonly extra?: Readonly<Record<string, unknown>>;
  readonly updates: readonly ChannelUpdate[];
}

/** A checkpoint serialized and ready to write. */
export interface EncodedCheckpoint {
  readonly checkpoint: StoredCheckpoint;
  readonly blobs: readonly StoredBlob[];
}

/** Options of `Checkpointer.put`. */
export interface PutOptions {
  /** See `CheckpointPut.expectedHead` (types.ts). */
  readonly expectedHead?: string | null | undefined;
  readonly fence?: LeaseFence | undefined;
  /** With `fence`: release the lease with this write (see `CheckpointPut.release`). */
  readonly release?: boolean | undefined;
}

/**
 * A lease as `Checkpointer.acquireLeaseWithHead` grants it, with what the backend read under the
 * grant when it folds leases; each field `undefined` when it did not (the caller reads it).
 */
export interface LeaseWithHead {
  readonly lease: Lease;
  /** The root head's id (`null`: the thread has no checkpoint). */
  readonly headId: string | null | undefined;
  /**
   * Decodes the root head (as `Checkpointer.get` returns it; `undefined` for an empty thread).
   * Decoding waits for the call, so a damaged head fails only a caller that needs its values.
   */
  readonly head: (() => CheckpointTuple | undefined) | undefined;
  /** The archive mark (`null`: not archived). */
  readonly archive: ArchiveMark | null | undefined;
}

/** Query options of `Checkpointer.list`. */
export interface ListOptions {
  readonly threadId?: string;
  readonly ns?: string;
  readonly checkpointId?: string;
  readonly before?: string;
  readonly limit?: number;
  /** Top-level metadata keys and the values they must equal. */
  readonly filter?: Readonly<Record<string, unknown>>;
  readonly includeValues?: boolean;
}

/** Options of `Checkpointer`; omitted fields take the codec's defaults (`CODEC_DEFAULTS`). */
export interface CheckpointerOptions extends Partial<AppendPolicy> {
  serializer?: JsonSerializer;
  /** Largest serialized value accepted, in bytes. Default 64 MiB. */
  maxValueBytes?: number;
  /**
   * Channels whose append-chain place is remembered (least recently used dropped first); a
   * forgotten channel's next value is stored in full. Default 4096; 0 stores every value in full.
   */
  appendCacheSize?: number;
  /**
   * Values above a threshold stored once per tenant by content hash (see `LargeValueOptions`).
   * On by default where the backend keeps them itself (memory, SQLite, PostgreSQL); `false`
   * stores every value in its row.
   */
  largeValues?: LargeValueOptions | false;
  /**
   * Encryption at rest: `{ keys }` (a `Keyring` from `rewind/encryption`). Every stored value
   * and effect record is sealed with its tenant's data key; unsealed rows are refused.
   */
  encryption?: EncryptionOptions | undefined;
}
