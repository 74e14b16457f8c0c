/**
 * The runtime's facade on storage: checkpoints in the runtime's terms (channel updates in,
 * decoded values out), encoded by the one {@link CheckpointCodec} and stored through the one
 * {@link CheckpointDoor}, which owns lifecycle, validation and error wrapping.
 */

import { InvalidInputError, isRewindError, SerializationError } from "../errors.js";
import { type LargeValueOptions, LargeValueStore } from "../offload/large-value-store.js";
import { EncryptionLayer } from "../serde/encryption-layer.js";
import { defaultSerializer, type JsonSerializer } from "../serde/serializer.js";
import { traced } from "../tracing.js";
import { type AppendState, AppendTracker, channelKey } from "./append-tracker.js";
import type {
  CheckpointBackend,
  Lease,
  LeaseFence,
  LeaseRequest,
  LoadedCheckpoint,
  QuarantinedCheckpoint,
  StoredBlob,
} from "./checkpoint-backend.js";
import { CheckpointCodec, type TextSealer } from "./checkpoint-codec.js";
import { CheckpointDoor } from "./checkpoint-door.js";
import { headersOf } from "./checkpoint-headers.js";
import type {
  ChannelUpdate,
  Checkpoint,
  CheckpointerOptions,
  CheckpointHeader,
  CheckpointMetadata,
  CheckpointTuple,
  EncodedCheckpoint,
  LeaseWithHead,
  ListOptions,
  NewCheckpoint,
  PendingWrite,
  PutOptions,
} from "./checkpoint-types.js";
import { EffectLedger } from "./effect-ledger.js";
import { withLargeValues } from "./large-value-backend.js";
import { type RepairResult, repairThread } from "./repair.js";

export type * from "./checkpoint-types.js";

/**
 * A validated, serializing handle on a backend. Create one per backend with
 * {@link createCheckpointer}; share it between graphs. It is unscoped: it reaches every tenant's
 * threads by their storage keys ({@link threadKey}); {@link checkpointerForTenant} gives one
 * tenant's view.
 */
export class Checkpointer {
  /** The door every call goes through (also the way the LangGraph saver shares this storage). */
  readonly door: CheckpointDoor;
  readonly codec: CheckpointCodec<JsonSerializer>;
  /**
   * The storage's one memory of append chains (`appendCacheSize` entries): where stored or read
   * versions sit in their chains. A `RewindSaver` on this checkpointer shares it.
   */
  readonly appends: AppendTracker;
  /** Seals text stored beside checkpoints (effect records); set when encryption is on. */
  readonly sealer: TextSealer | undefined;
  /** Each thread's effect ledger (`ctx.effect`), stored by the same backend. */
  readonly effects: EffectLedger;
  /** Where values above the threshold are kept, or `undefined` when they stay in rows. */
  readonly largeValues: LargeValueStore<CheckpointBackend> | undefined;
  constructor(backend: CheckpointBackend, options: CheckpointerOptions = {}) {
    this.largeValues = largeValueStoreOf(backend, options.largeValues);
    this.door = CheckpointDoor.of(
      this.largeValues ? withLargeValues(backend, this.largeValues) : backend,
    );
    const encryption = options.encryption ? new EncryptionLayer(options.encryption) : undefined;
    this.codec = new CheckpointCodec(options.serializer ?? defaultSerializer, {
      ...options,
      largeValueBytes: this.largeValues?.thresholdBytes,
      layers: encryption ? [encryption] : [],
    });
    this.sealer = encryption;
    const capacity = options.appendCacheSize ?? 4096;
    if (!Number.isSafeInteger(capacity) || capacity < 0) {
      throw new InvalidInputError(
        `appendCacheSize must be a non-negative integer, got ${String(capacity)}`,
      );
    }
    // Runtime versions are stored once per (thread, ns, channel): any may anchor a chain.
    this.appends = new AppendTracker(capacity);
    this.effects = new EffectLedger(this.door, this.codec.serializer, undefined, encryption);
  }

  /** The backend's short name, e.g. `"sqlite"`. */
  get name(): string {
    return this.door.name;
  }

  get serializer(): JsonSerializer {
    return this.codec.serializer;
  }

  /** Runs the backend's setup once; concurrent first calls share it, a failed setup is retried. */
  ready(): Promise<void> {
    return this.door.ready();
  }

  /** Stores a checkpoint and its changed channel values atomically. */
  async put(input: NewCheckpoint, options: PutOptions = {}): Promise<void> {
    await this.write(this.encode(input), options);
  }

  /**
   * Serializes a checkpoint without touching storage (synchronous), so callers can pipeline
   * writes and never serialize while a connection is held. Pair with {@link write}, which
   * validates it at the door. An append update is stored as its items when the channel's
   * previous version was stored or read through this checkpointer and the codec's append
   * policy allows one more append on it; otherwise in full.
   */
  encode(input: NewCheckpoint): EncodedCheckpoint {
    const site = { threadId: input.threadId, checkpointId: input.id };
    const ns = input.ns ?? "";
    const blobs: StoredBlob[] = [];
    for (const update of input.updates) {
      const key = channelKey(input.threadId, ns, update.channel);
      const write = this.#channelWrite(key, update);
      blobs.push(this.codec.encodeBlob(write.blob, site));
      if (write.state) this.appends.recordState(key, String(update.version), write.state);
    }
    const checkpoint = this.codec.sealRow({
      threadId: input.threadId,
      ns,
      id: input.id,
      parentId: input.parentId ?? null,
      createdAt: input.createdAt ?? new Date().toISOString(),
      channelVersions: input.channelVersions,
      metadata: this.#encodeMetadata(input.metadata, site),
      body: this.codec.encodeBody({
        versionsSeen: input.versionsSeen,
        schemaVersion: input.schemaVersion ?? 1,
        format: input.format ?? 1,
        extra: input.extra,
      }),
    });
    return { checkpoint, blobs };
  }

  /**
   * Writes an {@link encode}d checkpoint (compare-and-set and fence per `options`). When it
   * fails, its channel versions stop anchoring appends: they were never stored.
   */
  write(encoded: EncodedCheckpoint, options: PutOptions = {}): Promise<void> {
    return traced("rewind.checkpoint.write", { "rewind.values": encoded.blobs.length }, () =>
      this.#write(encoded, options),
    );
  }

  async #write(encoded: EncodedCheckpoint, options: PutOptions): Promise<void> {
    try {
      await this.door.putCheckpoint({
        checkpoint: encoded.checkpoint,
        blobs: encoded.blobs,
        expectedHead: options.expectedHead,
        fence: options.fence,
        ...(options.release ? { release: true } : {}),
      });
    } catch (error) {
      const { threadId, ns } = encoded.checkpoint;
      for (const blob of encoded.blobs) {
        this.appends.forget(channelKey(threadId, ns, blob.channel), blob.version);
      }
      throw error;
    }
  }

  /** Saves writes of one task against `key`. Regular writes are insert-or-ignore, special ones (idx < 0) upserted. */
  async putWrites(
    key: { threadId: string; ns?: string; checkpointId: string },
    writes: readonly PendingWrite[],
    fence?: LeaseFence,
  ): Promise<void> {
    const site = { threadId: key.threadId, checkpointId: key.checkpointId };
    const stored = writes.map((write) => this.codec.encodeWrite(write, site));
    await traced("rewind.checkpoint.write_pending", { "rewind.writes": stored.length }, () =>
      this.door.putWrites(
        { threadId: key.threadId, ns: key.ns ?? "", checkpointId: key.checkpointId },
        stored,
        fence,
      ),
    );
  }

  /** A checkpoint by id, or the newest of the thread when `checkpointId` is omitted. */
  async get(
    threadId: string,
    options: { ns?: string; checkpointId?: string | undefined } = {},
  ): Promise<CheckpointTuple | undefined> {
    return traced("rewind.checkpoint.read", {}, async () => {
      const loaded = await this.door.getCheckpoint(
        threadId,
        options.ns ?? "",
        options.checkpointId,
      );
      return loaded && this.decode(loaded, true, true);
    });
  }

  /** Checkpoints newest first, decoded one page at a time. */
  async *list(options: ListOptions = {}): AsyncIterable<CheckpointTuple> {
    const filter = options.filter
      ? Object.fromEntries(
          Object.entries(options.filter).map(([k, v]) => [k, this.serializer.stringify(v)]),
        )
      : undefined;
    const rows = this.door.listCheckpoints({ ...options, filter });
    for await (const loaded of rows) yield this.decode(loaded, options.includeValues !== false);
  }

  /**
   * Checkpoint headers (id, parent, step, source, metadata, time) newest first, with the same
   * query options as {@link list}: no channel value or pending write is read or decoded, so a
   * long history pages cheaply. Page with `limit` and `before` (the last id seen).
   *
   * @example
   * for await (const h of checkpointer.listHeaders({ threadId: "t1", limit: 50 })) {
   *   console.log(h.id, h.step, h.source);
   * }
   */
  listHeaders(options: Omit<ListOptions, "includeValues"> = {}): AsyncIterable<CheckpointHeader> {
    return headersOf(this.list({ ...options, includeValues: false }));
  }

  /**
   * The id of the newest checkpoint of (threadId, ns), read from its row's header and never
   * decoded, so a damaged head still has an id; `undefined` for an empty thread.
   */
  headId(threadId: string, options: { ns?: string } = {}): Promise<string | undefined> {
    return this.door.headId(threadId, options.ns ?? "");
  }

  /**
   * Moves the head of (threadId, ns) back to its newest intact checkpoint, keeping the damaged
   * checkpoints above it aside (see {@link listQuarantined}). A no-op when the head is intact.
   */
  repairThread(threadId: string, options: { ns?: string } = {}): Promise<RepairResult> {
    return repairThread(this, threadId, options.ns ?? "", (request) =>
      this.door.quarantine(request),
    );
  }

  /** Checkpoints {@link repairThread} moved aside, as they were stored, newest first. */
  listQuarantined(threadId: string): Promise<QuarantinedCheckpoint[]> {
    return this.door.listQuarantined(threadId);
  }

  /** Deletes a thread everywhere and leaves a tombstone that refuses late writes. */
  async deleteThread(threadId: string): Promise<void> {
    await this.door.deleteThread(threadId);
    this.appends.forgetThread(threadId);
  }

  /** Takes the thread's lease, or `undefined` when another live owner holds it. */
  acquireLease(
    threadId: string,
    owner: string,
    ttlMs: number,
    options: LeaseGrantOptions = {},
  ): Promise<Lease | undefined> {
    return this.door.acquireLease(leaseRequest(threadId, owner, ttlMs, options, false));
  }

  /**
   * {@link acquireLease}, and with the grant, where the backend folds leases into its calls
   * (the three built in do), the thread's root head (decoded, as {@link get} returns it) and
   * archive mark, read under the lease in the same call. Elsewhere both are `undefined`.
   */
  async acquireLeaseWithHead(
    threadId: string,
    owner: string,
    ttlMs: number,
    options: LeaseGrantOptions = {},
  ): Promise<LeaseWithHead | undefined> {
    const withHead = this.door.foldsLease;
    const acquire = () =>
      this.door.acquireLease(leaseRequest(threadId, owner, ttlMs, options, withHead));
    // A grant that reads the head is the run's checkpoint read, traced as one.
    const granted = await (withHead
      ? traced("rewind.checkpoint.read", { "rewind.lease": true }, acquire)
      : acquire());
    if (!granted) return undefined;
    const { head, archive, ...lease } = granted;
    if (head === undefined)
      return { lease, headId: undefined, head: undefined, archive: undefined };
    return {
      lease,
      headId: head?.checkpoint.id ?? null,
      head: () => (head ? this.decode(head, true, true) : undefined),
      archive: archive ?? null,
    };
  }

  /** The thread's current lease (live or expired, not released), or `undefined`. */
  readLease(threadId: string): Promise<Lease | undefined> {
    return this.door.readLease(threadId);
  }

  renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    return this.door.renewLease(lease, ttlMs);
  }

  /** Gives the lease up; true when it was still this lease (not taken over) at that moment. */
  releaseLease(lease: Lease): Promise<boolean> {
    return this.door.releaseLease(lease);
  }

  /** Closes the backend; later calls throw `ClosedError`. Safe to call twice. */
  close(): Promise<void> {
    return this.door.close();
  }

  /**
   * Decodes a backend row, verifying its checksums. Damaged data raises a CorruptionError,
   * undecodable values a SerializationError, each naming the checkpoint. With `remember`, the
   * channels' append-chain places are kept so the next write on top of this checkpoint can
   * store appends (a single read does this; a listing does not, lest old versions crowd out
   * the heads).
   */
  decode(loaded: LoadedCheckpoint, withValues = true, remember = false): CheckpointTuple {
    const row = this.codec.openRow(loaded.checkpoint);
    const site = { threadId: row.threadId, checkpointId: row.id };
    const body = this.codec.decodeBody(row.body, site);
    const metadata = this.#decodeMetadata(row.metadata, site);
    const values: Record<string, unknown> = {};
    const remembered: [string, string, AppendState][] = [];
    if (withValues) {
      for (const [channel, version] of Object.entries(row.channelVersions)) {
        const rebuilt = this.codec.rebuild(channel, version, loaded.blobs[channel], site);
        if (rebuilt.present) values[channel] = rebuilt.value;
        if (remember && Array.isArray(rebuilt.value)) {
          const { depth, baseLength } = rebuilt;
          remembered.push([
            channelKey(row.threadId, row.ns, channel),
            String(version),
            { depth, baseLength },
          ]);
        }
      }
    }
    const pendingWrites = loaded.writes.map((write) => ({
      taskId: write.taskId,
      taskPath: write.taskPath,
      idx: write.idx,
      channel: write.channel,
      value: this.codec.decodeWrite(write, site),
    }));
    const checkpoint: Checkpoint = {
      threadId: row.threadId,
      ns: row.ns,
      id: row.id,
      parentId: row.parentId ?? undefined,
      createdAt: row.createdAt,
      channelVersions: row.channelVersions,
      versionsSeen: body.versionsSeen,
      values,
      metadata,
      schemaVersion: body.schemaVersion,
      format: body.format,
      extra: body.extra ?? {},
    };
    // Only once the whole checkpoint decoded: a damaged one anchors nothing.
    for (const [key, version, state] of remembered) this.appends.recordState(key, version, state);
    return { checkpoint, pendingWrites };
  }

  /**
   * What the codec stores for a runtime channel update (an append while the tracker knows the
   * previous version and the policy allows), and the chain place that leaves the channel at.
   */
  #channelWrite(key: string, update: ChannelUpdate) {
    const { channel } = update;
    const version = String(update.version);
    if (update.empty) return { blob: { kind: "empty" as const, channel, version } };
    const append = update.append;
    const prevVersion = append && String(append.prevVersion);
    const prev = prevVersion === undefined ? undefined : this.appends.stateOf(key, prevVersion);
    if (append && prev && this.codec.mayAppend(prev.depth + 1, prev.baseLength)) {
      const depth = prev.depth + 1;
      return {
        blob: {
          kind: "append" as const,
          channel,
          version,
          prevVersion: prevVersion!,
          depth,
          items: append.items,
        },
        state: { depth, baseLength: prev.baseLength },
      };
    }
    const { value } = update;
    return {
      blob: { kind: "full" as const, channel, version, value },
      state: Array.isArray(value) ? { depth: 0, baseLength: value.length } : undefined,
    };
  }

  #encodeMetadata(
    metadata: CheckpointMetadata,
    site: { threadId: string; checkpointId: string },
  ): string {
    try {
      return this.serializer.stringify(metadata);
    } catch (cause) {
      throw new SerializationError(
        `metadata could not be serialized: ${(cause as Error).message}`,
        { ...site, cause },
      );
    }
  }

  #decodeMetadata(
    text: string,
    site: { threadId: string; checkpointId: string },
  ): CheckpointMetadata {
    try {
      return this.serializer.parse(text) as CheckpointMetadata;
    } catch (cause) {
      if (isRewindError(cause) && cause.checkpointId) throw cause;
      throw new SerializationError(
        `checkpoint ${site.checkpointId} of thread "${site.threadId}" has unreadable metadata: ${(cause as Error).message}`,
        { ...site, cause },
      );
    }
  }
}

/**
 * The large-value store of a checkpointer: on an external target when one is given, else in the
 * backend's own database where it has one; none when turned off, or for a door (already wrapped).
 */
function largeValueStoreOf(
  backend: CheckpointBackend,
  options: LargeValueOptions | false | undefined,
): LargeValueStore<CheckpointBackend> | undefined {
  if (options === false || backend instanceof CheckpointDoor) return undefined;
  const given = options ?? {};
  if (given.target) return new LargeValueStore(backend, given.target, given, true);
  const own = backend.largeValueTarget?.();
  return own && new LargeValueStore(backend, own, given, false);
}

/** Wraps a backend: `createCheckpointer(new MemoryBackend())`. */
export function createCheckpointer(
  backend: CheckpointBackend,
  options?: CheckpointerOptions,
): Checkpointer {
  return new Checkpointer(backend, options);
}

/** Options of a lease grant (`Checkpointer.acquireLease`). */
type LeaseGrantOptions = Omit<LeaseRequest, "threadId" | "owner" | "ttlMs" | "withHead">;

/** The seam's request for a grant: only the fields the caller set, flags as booleans. */
function leaseRequest(
  threadId: string,
  owner: string,
  ttlMs: number,
  options: LeaseGrantOptions,
  withHead: boolean,
): LeaseRequest {
  return {
    threadId,
    owner,
    ttlMs,
    steal: options.steal === true,
    replacing: options.replacing,
    inheritStart: options.inheritStart === true,
    holder: options.holder,
    ...(withHead ? { withHead } : {}),
  };
}
