/**
 * The storage seam. A backend (memory, SQLite, PostgreSQL, or your own) implements
 * {@link CheckpointBackend}: bytes in, bytes out, atomic writes, compare-and-set on the head,
 * tombstones, leases. It never serializes values and never knows about graphs. Every caller
 * reaches a backend through one door (`CheckpointDoor`: lazy setup, close, validation of every
 * name, error wrapping), and everything it stores is made by one codec (`CheckpointCodec`).
 */

import type { LargeValueRef, LargeValueTarget } from "../offload/large-value-target.js";
import type { SerializedValue } from "../serde/serializer.js";
import type { EffectIntent, EffectOutcome, StoredEffect } from "./effect-seam.js";
import type {
  PruneBatch,
  PruneBatchResult,
  SpaceReport,
  ThreadFootprint,
  ThreadQuery,
  ThreadSummary,
} from "./retention-seam.js";

export type * from "./effect-seam.js";
export type * from "./retention-seam.js";

/** A channel version. Rewind writes strings; LangGraph may hand numbers. Compared as given. */
export type ChannelVersion = string | number;

/** Where a checkpoint came from. */
export type CheckpointSource = "input" | "loop" | "update" | "fork";

/** Identity of one checkpoint; `ns` is the subgraph namespace, `""` for the root graph. */
export interface CheckpointKey {
  readonly threadId: string;
  readonly ns: string;
  readonly checkpointId: string;
}

/**
 * One checkpoint as the backend stores it (channel values travel separately as blobs).
 * `metadata` is tagged-JSON text (queryable as JSON); `body` is plain JSON text that the core
 * owns (versions seen, format and schema versions) and the backend stores untouched.
 */
export interface StoredCheckpoint {
  readonly threadId: string;
  readonly ns: string;
  readonly id: string;
  readonly parentId: string | null;
  /** ISO-8601 creation time. */
  readonly createdAt: string;
  /** Channel -> version of its value in this checkpoint; the blobs to load. */
  readonly channelVersions: Readonly<Record<string, ChannelVersion>>;
  readonly metadata: string;
  readonly body: string;
  /**
   * Set by a backend on a row it hands back from memory after checking it against its seal in
   * this process, as {@link StoredBlob.verified}: the core then trusts it as it is.
   */
  readonly verified?: true | undefined;
}

/**
 * The value of one channel at one version, stored once per (thread, ns, channel, version).
 * - `full`: `value` is the whole value;
 * - `append`: `value` is an array of items appended to the value at `prevVersion`;
 * - `empty`: the channel has no value at this version (`value` is null).
 * `depth` counts the appends since the last full value (0 for `full`/`empty`), so the core can
 * decide when to write a full snapshot again.
 */
export interface StoredBlob {
  readonly channel: string;
  readonly version: string;
  readonly kind: "full" | "append" | "empty";
  readonly prevVersion: string | null;
  readonly depth: number;
  readonly value: SerializedValue | null;
  /**
   * Set by the codec on an `append` whose `value.bytes` are UTF-8 JSON array text that may be
   * joined with the other `concat` appends of its chain that share its base tag (the tag
   * without the checksum seal in front, see checksum.ts): `[` + their inner
   * texts, oldest first, comma-separated + `]` decodes to all their items. A backend may hand
   * back such a run merged into one append (see {@link LoadedCheckpoint.blobs}) and must never
   * merge blobs without this flag; it need not keep the flag on what it returns.
   */
  readonly concat?: boolean | undefined;
  /**
   * Set only on a run of appends a backend merged into one blob (see
   * {@link LoadedCheckpoint.blobs}): each piece as stored, oldest first, so the core can verify
   * each one (its checksum travels in its tag).
   */
  readonly pieces?: readonly BlobPiece[] | undefined;
  /**
   * Set by a backend on a value it hands back from memory after checking it against its seal
   * in this process (see checksum.ts `verifyBlob`): the core then trusts its bytes without
   * computing their checksums again. Never set on bytes just read from storage, nor on bytes a
   * put was given (an import's may be damaged).
   */
  readonly verified?: true | undefined;
}

/**
 * One append of a merged run: its stored tag, the byte length of its value (a JSON array), its
 * depth and the version it appends to. Its own version is the next piece's `prevVersion` (the
 * merged blob's `version` for the newest piece).
 */
export interface BlobPiece {
  readonly tag: string;
  readonly length: number;
  readonly depth: number;
  readonly prevVersion: string;
}

/**
 * One pending write of a task against the checkpoint its super-step started from.
 * `idx >= 0`: a regular write, insert-or-ignore (a retry never overwrites).
 * `idx < 0`: a special write (error, interrupt, resume...), upserted.
 */
export interface StoredWrite {
  readonly taskId: string;
  readonly taskPath: string;
  readonly idx: number;
  readonly channel: string;
  readonly value: SerializedValue;
}

/**
 * How {@link CheckpointBackend.rewriteValues} rewrites a thread's stored values (re-encryption
 * under a newer key): each function gets one value as stored and answers its replacement, or
 * `undefined` to leave it. Synchronous, so a backend may call them inside a transaction.
 */
export interface ValueRewrite {
  /** A channel value (never an `empty` one, nor a merged run of appends). */
  blob(ns: string, blob: StoredBlob): StoredBlob | undefined;
  /** A pending write stored against `checkpointId`. */
  write(ns: string, checkpointId: string, write: StoredWrite): StoredWrite | undefined;
  /** A text of an effect entry: its `args`, or its outcome (`part` is then its status). */
  effect(key: string, part: string, text: string): string | undefined;
}

/** A lease fence: a write carrying it succeeds only while that lease is the thread's current one. */
export interface LeaseFence {
  readonly owner: string;
  readonly token: number;
}

/**
 * Which process holds a lease, so that a process on the same machine can tell that the holder
 * is gone (killed) and take the lease over at once instead of waiting for it to expire.
 */
export interface LeaseHolder {
  /** The machine and process namespace (host name, boot id, pid namespace where known). */
  readonly host: string;
  readonly pid: number;
  /** The process's start time as the OS reports it (`""` when unknown): tells a reused pid apart. */
  readonly started: string;
}

/** A held lease on a thread. `token` grows with every new holder (a fencing token). */
export interface Lease extends LeaseFence {
  readonly threadId: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
  /**
   * Where this holder's work starts: the thread's root head when the lease was granted (`null`:
   * the thread had no checkpoint), or, for a grant with `inheritStart` that preempted a live
   * holder, that holder's own `startedFrom`. Recorded atomically with the grant.
   */
  readonly startedFrom: string | null;
  /** The holding process, when the grant recorded one. */
  readonly holder?: LeaseHolder | undefined;
  /** Set when this lease was taken over (`steal`) from a live holder: that holder's owner. */
  readonly stolenFrom?: string | undefined;
  /**
   * With {@link LeaseRequest.withHead}, from a backend that folds leases
   * ({@link CheckpointBackend.foldsLease}): the thread's root head (namespace `""`) with its
   * values and writes, read after the grant in the same call (`null`: the thread has none), and
   * its archive mark (`null`: not archived). Absent otherwise: the caller reads them itself.
   */
  readonly head?: LoadedCheckpoint | null | undefined;
  readonly archive?: ArchiveMark | null | undefined;
}

/** What {@link CheckpointBackend.putCheckpoint} writes, atomically. */
export interface CheckpointPut {
  readonly checkpoint: StoredCheckpoint;
  /** Only the channels whose version changed; carried-over channels are not rewritten. */
  readonly blobs: readonly StoredBlob[];
  /**
   * Compare-and-set on the head of (threadId, ns), the newest checkpoint there:
   * `undefined` skips the check (forks, updates), `null` requires that no checkpoint exists,
   * a string requires the head to be exactly that id. On mismatch nothing is written and the
   * backend throws `ConflictError`.
   */
  readonly expectedHead?: string | null | undefined;
  readonly fence?: LeaseFence | undefined;
  /**
   * With `fence`: the write is its holder's last, and the lease is released with it, in the same
   * transaction and only if the write succeeds (a lost lease refuses both with
   * `LeaseLostError`). Backends that do not fold leases ({@link CheckpointBackend.foldsLease})
   * never see it: the door writes, then releases.
   */
  readonly release?: boolean | undefined;
}

/** A checkpoint as read back: its row, the blobs needed to rebuild every channel, its writes. */
export interface LoadedCheckpoint {
  readonly checkpoint: StoredCheckpoint;
  /**
   * Channel -> the blobs that rebuild its value, oldest first: a `full` (or `empty`) blob
   * followed by the `append` blobs after it, ending at the version in `channelVersions`.
   * A backend may hand a run of consecutive `concat` appends of one base tag over as one
   * append blob: their arrays joined (see {@link StoredBlob.concat}), the newest one's version
   * and depth, the oldest one's `prevVersion`, and `pieces` describing each append as stored
   * (its sealed tag carries its checksum), so the core verifies every piece.
   * Empty when the read asked for headers only.
   */
  readonly blobs: Readonly<Record<string, readonly StoredBlob[]>>;
  /** Pending writes, sorted by (taskPath, taskId, idx) in code-point order. */
  readonly writes: readonly StoredWrite[];
}

/** A query over checkpoints; results come newest first (descending id). */
export interface CheckpointQuery {
  /** Omitted: every thread. */
  readonly threadId?: string | undefined;
  /** Omitted: every namespace; `""`: the root only. */
  readonly ns?: string | undefined;
  /** Only this checkpoint id. */
  readonly checkpointId?: string | undefined;
  /** Only ids strictly lower than this one. */
  readonly before?: string | undefined;
  readonly limit?: number | undefined;
  /** Top-level metadata key -> tagged-JSON text of the value it must equal (deep equality). */
  readonly filter?: Readonly<Record<string, string>> | undefined;
  /** When false, `blobs` and `writes` come back empty (cheap listing for trees and paging). */
  readonly includeValues?: boolean | undefined;
}

/** Options for acquiring a lease. */
export interface LeaseRequest {
  readonly threadId: string;
  readonly owner: string;
  readonly ttlMs: number;
  /**
   * Take the lease even from a live holder (a new token fences the holder out: its next write
   * fails with `LeaseLostError`). Used to preempt a running run.
   */
  readonly steal?: boolean | undefined;
  /**
   * Take the lease over from a live holder only if its token is still this one: for a holder
   * the caller found gone. A different holder by then means the lease is busy.
   */
  readonly replacing?: number | undefined;
  /**
   * When a live holder is preempted, start from where it started (its `startedFrom`) rather
   * than from the current head: a rollback discards the preempted holder's work.
   */
  readonly inheritStart?: boolean | undefined;
  /** The process taking the lease, recorded with it. */
  readonly holder?: LeaseHolder | undefined;
  /**
   * Also read the thread's root head and archive mark after a grant, in the same call
   * ({@link Lease.head}); honoured by backends that fold leases, ignored by the others.
   */
  readonly withHead?: boolean | undefined;
}

/** What {@link CheckpointBackend.quarantine} moves aside, atomically. */
export interface QuarantineRequest {
  readonly threadId: string;
  readonly ns: string;
  /** The checkpoints to move, each with why (shown by {@link CheckpointBackend.listQuarantined}). */
  readonly checkpoints: readonly { readonly id: string; readonly reason: string }[];
  /** Compare-and-set: the head of (threadId, ns) must still be this id, else `ConflictError`. */
  readonly expectedHead: string;
}

/** A checkpoint row a repair moved aside, as it was stored (text columns untouched). */
export interface QuarantinedCheckpoint {
  readonly threadId: string;
  readonly ns: string;
  readonly checkpointId: string;
  readonly parentId: string | null;
  readonly createdAt: string | null;
  readonly versions: string | null;
  readonly metadata: string | null;
  readonly body: string | null;
  readonly reason: string;
  /** Epoch milliseconds. */
  readonly quarantinedAt: number;
}

/**
 * A thread moved to an archive, as the backend keeps it in place of its rows: the archiver's
 * `stub` (plain text: where the copy is, its hash) and the state. While `archived`, writes to the
 * thread are refused with `ThreadArchivedError`; while `restoring`, a restore is writing it back
 * (writes allowed, and readers still treat the thread as archived until the mark is cleared).
 */
export interface ArchiveMark {
  readonly stub: string;
  readonly state: "archived" | "restoring";
}

/**
 * The checkpoint storage interface every backend implements. All methods may be called
 * concurrently; each write is atomic. Backends throw Rewind errors (`ConflictError`,
 * `ThreadDeletedError`, `LeaseLostError`, `StorageError`) and never partial results.
 */
export interface CheckpointBackend {
  /** Short name for messages, e.g. `"sqlite"`. */
  readonly name: string;
  /**
   * True when the backend folds the lease into its other calls: `acquireLease` with `withHead`
   * also returns the head and archive mark it read under the grant, and `putCheckpoint` with
   * `release` releases the lease in the write's transaction. A run then costs two round trips
   * fewer (and no archive check of its own). Optional: without it the door releases after the
   * write and the runtime reads the head itself.
   */
  readonly foldsLease?: boolean | undefined;
  /** Creates or migrates the schema. Called once by the wrapper before first use; idempotent. */
  setup(): Promise<void>;
  /** Writes a checkpoint with its blobs atomically, after the head and fence checks. */
  putCheckpoint(put: CheckpointPut): Promise<void>;
  /**
   * Saves a task's writes against `key` (the checkpoint its step started from). The door hands
   * a batch with each (taskId, idx) at most once.
   */
  putWrites(key: CheckpointKey, writes: readonly StoredWrite[], fence?: LeaseFence): Promise<void>;
  /** One checkpoint with values and writes: by id, or the newest of (threadId, ns). */
  getCheckpoint(
    threadId: string,
    ns: string,
    checkpointId?: string,
  ): Promise<LoadedCheckpoint | undefined>;
  /** Checkpoints matching `query`, newest first, streamed in pages (never loaded whole). */
  listCheckpoints(query: CheckpointQuery): AsyncIterable<LoadedCheckpoint>;
  /** Deletes every checkpoint, blob and write of the thread in all namespaces, and leaves a tombstone. */
  deleteThread(threadId: string): Promise<void>;
  /**
   * Takes the thread's lease if it is free, expired, already this owner's, `steal` is set, or
   * its token equals `replacing`; `undefined` if another live owner holds it. Every grant gets
   * a token higher than any before and records `startedFrom` and `holder` with it, atomically.
   */
  acquireLease(request: LeaseRequest): Promise<Lease | undefined>;
  /** The thread's current lease (live or expired, never a released one), or `undefined`. */
  readLease(threadId: string): Promise<Lease | undefined>;
  /** Extends a held lease; `undefined` if it was lost (expired and taken, or released). */
  renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined>;
  /**
   * Gives the lease up. Returns true when it was still this lease (same token, not released
   * or taken over: an expired lease nobody took counts as still held), false otherwise. The
   * check and the release are one atomic step, so a takeover is either before it (false) or
   * after it (and then sees a free lease).
   */
  releaseLease(lease: Lease): Promise<boolean>;
  /**
   * Optional (repair): removes these checkpoint rows from the thread and keeps them, as stored,
   * in a quarantine the thread's delete also clears; the head becomes the newest row left.
   * Their values and writes stay where they are. A backend without it cannot repair threads.
   */
  quarantine?(request: QuarantineRequest): Promise<void>;
  /** Optional (repair): the thread's quarantined rows, newest id first. */
  listQuarantined?(threadId: string): Promise<QuarantinedCheckpoint[]>;
  /**
   * Records an effect's intent, atomically after the tombstone and fence checks (like
   * `putWrites`): inserts `effect` when the thread has no entry with its key; with `retake`,
   * takes over a `started` entry (see {@link EffectIntent.retake}). Returns the entry as stored
   * after the call, and whether this call wrote it (`false`: an entry was there and is returned
   * unchanged, e.g. one with an outcome). A deleted thread throws `ThreadDeletedError`, a lost
   * fence `LeaseLostError`.
   */
  beginEffect(intent: EffectIntent): Promise<{ effect: StoredEffect; recorded: boolean }>;
  /**
   * Records an effect's outcome, atomically after the tombstone and fence checks: only when the
   * entry is still `started` at `outcome.attempt` (the first outcome wins; a late one from an
   * older attempt changes nothing). Returns the entry as stored after the call and whether this
   * call wrote it; `undefined` when the thread has no entry with that key.
   */
  finishEffect(
    outcome: EffectOutcome,
  ): Promise<{ effect: StoredEffect; recorded: boolean } | undefined>;
  /**
   * The thread's effect ledger, oldest intent first (by `startedAt`, then `key`): every entry,
   * or only those whose key is in `keys`. `deleteThread` removes the ledger with the thread.
   */
  listEffects(threadId: string, keys?: readonly string[]): Promise<StoredEffect[]>;
  /** Releases connections or handles the backend opened itself. Called once. */
  close(): Promise<void>;
  /**
   * Retention: a page of live threads that have checkpoints, ascending by thread id, with
   * their checkpoint count, stored bytes and newest checkpoint's time.
   */
  listThreads(query: ThreadQuery): Promise<ThreadSummary[]>;
  /** Retention: the thread's checkpoint tree, sizes and pins; `undefined` for no live thread. */
  footprint(threadId: string): Promise<ThreadFootprint | undefined>;
  /**
   * Retention: applies one {@link PruneBatch} atomically, after checking under the same lock
   * that every listed checkpoint still present is safe to delete: not the newest of its
   * namespace, not pinned, with exactly one child (counting children listed with it: none
   * would make it a branch head, two or more a fork point). Its pending writes go with it. Any failed
   * check throws `ConflictError` and changes nothing; a deleted thread throws
   * `ThreadDeletedError`.
   */
  pruneCheckpoints(batch: PruneBatch): Promise<PruneBatchResult>;
  /**
   * Retention: pins (or unpins) a checkpoint of the thread, durably, so no prune deletes it.
   * Throws `NotFoundError` when the thread has no such checkpoint (unpinning one never fails).
   */
  setPin(threadId: string, checkpointId: string, pinned: boolean): Promise<void>;
  /** Retention: gives the space of deleted rows back (to the file system where it can). */
  reclaimSpace(): Promise<SpaceReport>;
  /**
   * Optional (archive): atomically removes every checkpoint, blob, write and quarantined row of
   * the thread (no tombstone) and marks it `archived` with `stub`; later writes throw
   * `ThreadArchivedError`. Refused with `NotFoundError` for a thread without checkpoints,
   * `ThreadDeletedError` for a deleted one, `ThreadBusyError` while a live lease is held other
   * than the one `fence` names (the archiver's own), `ConflictError` when it is archived
   * already. Clears the lease.
   */
  archiveThread?(threadId: string, stub: string, fence?: LeaseFence): Promise<void>;
  /** Optional (archive): the thread's archive mark, or `undefined` for a thread not archived. */
  readArchive?(threadId: string): Promise<ArchiveMark | undefined>;
  /**
   * Optional (archive): `"restoring"` lets writes in again while keeping the mark (a restore
   * under way; `NotFoundError` when the thread has no mark); `"live"` removes the mark (a no-op
   * without one). A deleted thread's delete has removed its mark already.
   */
  setArchiveState?(threadId: string, state: "restoring" | "live"): Promise<void>;
  /**
   * Optional (large values): where this storage keeps large values itself, in the same
   * database. Without it, large values need an external target.
   */
  largeValueTarget?(): LargeValueTarget;
  /**
   * Optional (large values): every stored tag that references a large value (checkpoint values,
   * pending writes and quarantined rows alike), with its thread; where the same database holds
   * store items, their references too (with their tenant). Garbage collection of large values
   * needs it.
   */
  listLargeValueRefs?(): AsyncIterable<LargeValueRef>;
  /**
   * Optional (re-encryption): hands every channel value, pending write and effect text of the
   * thread to `rewrite` and stores each replacement it answers in place, only where the value is
   * still the one it was given (compare-and-set on the stored bytes: a value a live writer
   * replaced meanwhile is left as that writer stored it). Returns how many it replaced.
   * Quarantined rows are left as they are.
   */
  rewriteValues?(threadId: string, rewrite: ValueRewrite): Promise<number>;
}
