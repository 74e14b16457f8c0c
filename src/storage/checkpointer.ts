/**
 * The core's view of storage: wraps any {@link CheckpointBackend} once with validation,
 * serialization, append-delta encoding, lazy idempotent setup and a `close()` that can be called
 * twice. Backends stay thin; every rule that is the same for all of them lives here.
 */
import {
  ClosedError,
  CorruptionError,
  InvalidInputError,
  isRewindError,
  SerializationError,
  StorageError,
} from "../errors.js";
import { validateThreadId } from "../ids.js";
import { defaultSerializer, type JsonSerializer } from "../serde/serializer.js";
import { appendAll } from "./blob-chain.js";
import {
  openBlob,
  openCheckpoint,
  openValue,
  sealBlob,
  sealCheckpoint,
  sealValue,
  writeIdentity,
} from "./checksum.js";
import { type RepairResult, repairThread } from "./repair.js";
import type {
  ChannelVersion,
  CheckpointBackend,
  CheckpointKey,
  Lease,
  LeaseFence,
  LoadedCheckpoint,
  QuarantinedCheckpoint,
  StoredBlob,
  StoredCheckpoint,
  StoredWrite,
} from "./types.js";

/** Metadata of a checkpoint: `source` and `step` always, plus whatever the caller added. */
export interface CheckpointMetadata {
  source: "input" | "loop" | "update" | "fork";
  step: number;
  [key: string]: unknown;
}

/** Per-channel bookkeeping for append deltas, carried from a read to the next write. */
export interface AppendState {
  /** Appends since the last full value. */
  readonly depth: number;
  /** Items in that full value. */
  readonly baseLength: number;
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
  readonly appendState: Readonly<Record<string, AppendState>>;
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
 * value at `append.prevVersion` plus `append.items` (same order): only the items are stored.
 * Give `empty: true` when the channel was cleared.
 */
export interface ChannelUpdate {
  readonly channel: string;
  readonly version: ChannelVersion;
  readonly value?: unknown;
  readonly empty?: boolean;
  readonly append?: {
    readonly prevVersion: ChannelVersion;
    readonly items: readonly unknown[];
    readonly prev: AppendState;
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
  /** Append state of each updated channel after this write. */
  readonly appendState: Readonly<Record<string, AppendState>>;
}

/** Options of {@link Checkpointer.put}. */
export interface PutOptions {
  /** See {@link CheckpointPut.expectedHead}. */
  readonly expectedHead?: string | null | undefined;
  readonly fence?: LeaseFence | undefined;
}

/** Query options of {@link Checkpointer.list}. */
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

/** Options of {@link Checkpointer}. */
export interface CheckpointerOptions {
  serializer?: JsonSerializer;
  /** Largest serialized value accepted, in bytes. Default 64 MiB. */
  maxValueBytes?: number;
  /**
   * A full value is written again once a channel's appends since the last full value outnumber
   * `appendRatio` times its items (and at least `minAppendDepth`), or reach `maxAppendDepth`.
   * Storage stays linear in the items appended; reads touch one full value plus its appends.
   */
  appendRatio?: number;
  minAppendDepth?: number;
  maxAppendDepth?: number;
}

const NAME_MAX = 256;

/**
 * A validated, serializing handle on a backend. Create one per backend with
 * {@link createCheckpointer}; share it between graphs.
 */
export class Checkpointer {
  readonly backend: CheckpointBackend;
  readonly serializer: JsonSerializer;
  readonly #maxValueBytes: number;
  readonly #appendRatio: number;
  readonly #minAppendDepth: number;
  readonly #maxAppendDepth: number;
  #ready: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  constructor(backend: CheckpointBackend, options: CheckpointerOptions = {}) {
    this.backend = backend;
    this.serializer = options.serializer ?? defaultSerializer;
    this.#maxValueBytes = options.maxValueBytes ?? 64 * 1024 * 1024;
    this.#appendRatio = options.appendRatio ?? 4;
    this.#minAppendDepth = options.minAppendDepth ?? 64;
    this.#maxAppendDepth = options.maxAppendDepth ?? 4096;
  }

  /** Runs the backend's setup once; concurrent first calls share it, a failed setup is retried. */
  ready(): Promise<void> {
    if (this.#closed)
      return Promise.reject(new ClosedError(`the ${this.backend.name} checkpointer is closed`));
    if (!this.#ready) {
      this.#ready = this.backend.setup().catch((error) => {
        this.#ready = undefined;
        throw error;
      });
    }
    return this.#ready;
  }

  /**
   * Stores a checkpoint and its changed channel values atomically. Returns the append state of
   * each updated channel, to hand back with the next append to it.
   */
  async put(input: NewCheckpoint, options: PutOptions = {}): Promise<Record<string, AppendState>> {
    const encoded = this.encode(input);
    await this.write(encoded, options);
    return encoded.appendState;
  }

  /**
   * Validates and serializes a checkpoint without touching storage (synchronous), so callers can
   * pipeline writes and never serialize while a connection is held. Pair with {@link write}.
   */
  encode(input: NewCheckpoint): EncodedCheckpoint {
    const threadId = validateThreadId(input.threadId);
    const ns = input.ns ?? "";
    validateName(input.id, "checkpoint id");
    const blobs = input.updates.map((update) =>
      sealBlob(this.#encodeUpdate(update, threadId, input.id)),
    );
    const appendState: Record<string, AppendState> = {};
    input.updates.forEach((update, i) => {
      const blob = blobs[i]!;
      const baseLength =
        blob.kind === "append"
          ? update.append!.prev.baseLength
          : Array.isArray(update.value)
            ? update.value.length
            : 0;
      appendState[update.channel] = { depth: blob.depth, baseLength };
    });
    // Defaults are left out: this row is written once per checkpoint.
    const body = JSON.stringify({
      ...(Object.keys(input.versionsSeen).length > 0 ? { vs: input.versionsSeen } : {}),
      ...(input.schemaVersion !== undefined && input.schemaVersion !== 1
        ? { sv: input.schemaVersion }
        : {}),
      ...(input.format !== undefined && input.format !== 1 ? { f: input.format } : {}),
      ...(input.extra ? { x: input.extra } : {}),
    });
    const checkpoint = sealCheckpoint({
      threadId,
      ns,
      id: input.id,
      parentId: input.parentId ?? null,
      createdAt: input.createdAt ?? new Date().toISOString(),
      channelVersions: input.channelVersions,
      metadata: this.#encodeMetadata(input.metadata, threadId, input.id),
      body,
    });
    return { checkpoint, blobs, appendState };
  }

  /** Writes an {@link encode}d checkpoint (compare-and-set and fence per `options`). */
  async write(encoded: EncodedCheckpoint, options: PutOptions = {}): Promise<void> {
    await this.ready();
    await this.#call(encoded.checkpoint.threadId, encoded.checkpoint.id, () =>
      this.backend.putCheckpoint({
        checkpoint: encoded.checkpoint,
        blobs: encoded.blobs,
        expectedHead: options.expectedHead,
        fence: options.fence,
      }),
    );
  }

  /** Saves writes of one task against `key`. Regular writes are insert-or-ignore, special ones (idx < 0) upserted. */
  async putWrites(
    key: { threadId: string; ns?: string; checkpointId: string },
    writes: readonly PendingWrite[],
    fence?: LeaseFence,
  ): Promise<void> {
    const threadId = validateThreadId(key.threadId);
    validateName(key.checkpointId, "checkpoint id");
    const stored: StoredWrite[] = writes.map((write) => {
      validateName(write.taskId, "task id");
      validateName(write.channel, "channel name");
      if (!Number.isInteger(write.idx)) throw new InvalidInputError("write idx must be an integer");
      return {
        taskId: write.taskId,
        taskPath: write.taskPath,
        idx: write.idx,
        channel: write.channel,
        value: sealValue(
          this.#encode(write.value, threadId, key.checkpointId),
          writeIdentity(write),
        ),
      };
    });
    if (stored.length === 0) return;
    const full: CheckpointKey = { threadId, ns: key.ns ?? "", checkpointId: key.checkpointId };
    await this.ready();
    await this.#call(threadId, key.checkpointId, () => this.backend.putWrites(full, stored, fence));
  }

  /** A checkpoint by id, or the newest of the thread when `checkpointId` is omitted. */
  async get(
    threadId: string,
    options: { ns?: string; checkpointId?: string | undefined } = {},
  ): Promise<CheckpointTuple | undefined> {
    validateThreadId(threadId);
    if (options.checkpointId !== undefined) validateName(options.checkpointId, "checkpoint id");
    await this.ready();
    const loaded = await this.#call(threadId, options.checkpointId, () =>
      this.backend.getCheckpoint(threadId, options.ns ?? "", options.checkpointId),
    );
    return loaded && this.decode(loaded);
  }

  /** Checkpoints newest first, decoded one page at a time. */
  async *list(options: ListOptions = {}): AsyncIterable<CheckpointTuple> {
    if (options.threadId !== undefined) validateThreadId(options.threadId);
    if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 0)) {
      throw new InvalidInputError("limit must be a non-negative integer");
    }
    const filter = options.filter
      ? Object.fromEntries(
          Object.entries(options.filter).map(([k, v]) => [k, this.serializer.stringify(v)]),
        )
      : undefined;
    if (options.limit === 0) return;
    await this.ready();
    const rows = this.backend.listCheckpoints({ ...options, filter });
    for await (const loaded of rows) yield this.decode(loaded, options.includeValues !== false);
  }

  /**
   * The id of the newest checkpoint of (threadId, ns), read from its row's header only and never
   * decoded, so a damaged head still has an id; `undefined` for an empty thread.
   */
  async headId(threadId: string, options: { ns?: string } = {}): Promise<string | undefined> {
    validateThreadId(threadId);
    await this.ready();
    const query = { threadId, ns: options.ns ?? "", limit: 1, includeValues: false };
    try {
      for await (const loaded of this.backend.listCheckpoints(query)) return loaded.checkpoint.id;
      return undefined;
    } catch (error) {
      // A backend that cannot read the head's row names it.
      if (isRewindError(error, "CORRUPTED") && error.checkpointId) return error.checkpointId;
      return this.#call(threadId, undefined, () => Promise.reject(error));
    }
  }

  /**
   * Moves the head of (threadId, ns) back to its newest intact checkpoint, keeping the damaged
   * checkpoints above it aside (see {@link listQuarantined}). A no-op when the head is intact.
   */
  async repairThread(threadId: string, options: { ns?: string } = {}): Promise<RepairResult> {
    validateThreadId(threadId);
    await this.ready();
    return repairThread(this, threadId, options.ns ?? "", (request) => {
      const backend = this.backend;
      if (!backend.quarantine) {
        throw new StorageError(`the ${backend.name} backend cannot move checkpoints aside`, {
          threadId,
        });
      }
      return this.#call(threadId, request.expectedHead, () => backend.quarantine!(request));
    });
  }

  /** Checkpoints {@link repairThread} moved aside, as they were stored, newest first. */
  async listQuarantined(threadId: string): Promise<QuarantinedCheckpoint[]> {
    validateThreadId(threadId);
    await this.ready();
    const backend = this.backend;
    if (!backend.listQuarantined) return [];
    return this.#call(threadId, undefined, () => backend.listQuarantined!(threadId));
  }

  /** Deletes a thread everywhere and leaves a tombstone that refuses late writes. */
  async deleteThread(threadId: string): Promise<void> {
    validateThreadId(threadId);
    await this.ready();
    await this.#call(threadId, undefined, () => this.backend.deleteThread(threadId));
  }

  /** Takes the thread's lease, or `undefined` when another live owner holds it. */
  async acquireLease(
    threadId: string,
    owner: string,
    ttlMs: number,
    options: { steal?: boolean } = {},
  ): Promise<Lease | undefined> {
    validateThreadId(threadId);
    validateName(owner, "lease owner");
    validateTtl(ttlMs);
    await this.ready();
    return this.#call(threadId, undefined, () =>
      this.backend.acquireLease({ threadId, owner, ttlMs, steal: options.steal === true }),
    );
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    validateTtl(ttlMs);
    await this.ready();
    return this.#call(lease.threadId, undefined, () => this.backend.renewLease(lease, ttlMs));
  }

  async releaseLease(lease: Lease): Promise<void> {
    await this.ready();
    await this.#call(lease.threadId, undefined, () => this.backend.releaseLease(lease));
  }

  /** Closes the backend; later calls throw {@link ClosedError}. Safe to call twice. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#ready?.catch(() => undefined);
      await this.backend.close();
    })();
    return this.#closed;
  }

  /** Decodes a backend row. Undecodable values raise a SerializationError naming the checkpoint. */
  decode(loaded: LoadedCheckpoint, withValues = true): CheckpointTuple {
    const stored = loaded.checkpoint;
    const where = { threadId: stored.threadId, checkpointId: stored.id };
    try {
      if (!isVersionMap(stored.channelVersions)) {
        throw new CorruptionError(
          `checkpoint ${stored.id} of thread "${stored.threadId}" has unreadable channel versions`,
          where,
        );
      }
      const row = openCheckpoint(stored);
      const body = JSON.parse(row.body) as { vs?: unknown; sv?: unknown; f?: unknown; x?: unknown };
      const metadata = this.serializer.parse(row.metadata) as CheckpointMetadata;
      const values: Record<string, unknown> = {};
      const appendState: Record<string, AppendState> = {};
      if (withValues) {
        for (const [channel, version] of Object.entries(row.channelVersions)) {
          const chain = loaded.blobs[channel] ?? [];
          const rebuilt = this.#rebuild(channel, version, chain, where);
          if (rebuilt.present) values[channel] = rebuilt.value;
          appendState[channel] = rebuilt.state;
        }
      }
      const pendingWrites = loaded.writes.map((write) => ({
        taskId: write.taskId,
        taskPath: write.taskPath,
        idx: write.idx,
        channel: write.channel,
        value: this.serializer.decode(
          openValue(write.value, writeIdentity(write), { ...where, channel: write.channel }),
        ),
      }));
      return {
        checkpoint: {
          threadId: row.threadId,
          ns: row.ns,
          id: row.id,
          parentId: row.parentId ?? undefined,
          createdAt: row.createdAt,
          channelVersions: row.channelVersions,
          versionsSeen: (body.vs ?? {}) as Checkpoint["versionsSeen"],
          values,
          metadata,
          schemaVersion: typeof body.sv === "number" ? body.sv : 1,
          format: typeof body.f === "number" ? body.f : 1,
          appendState,
          extra: (body.x ?? {}) as Record<string, unknown>,
        },
        pendingWrites,
      };
    } catch (cause) {
      if (isRewindError(cause) && cause.checkpointId) throw cause;
      throw new SerializationError(
        `checkpoint ${stored.id} of thread "${stored.threadId}" could not be decoded: ${(cause as Error).message}`,
        { ...where, cause },
      );
    }
  }

  #rebuild(
    channel: string,
    version: ChannelVersion,
    chain: readonly StoredBlob[],
    where: { threadId: string; checkpointId: string },
  ): { present: boolean; value: unknown; state: AppendState } {
    const base = chain[0];
    const last = chain.at(-1);
    if (!base || base.kind === "append" || last?.version !== String(version)) {
      throw new CorruptionError(
        `checkpoint ${where.checkpointId} of thread "${where.threadId}" is missing stored values of channel "${channel}" (version ${String(version)})`,
        { ...where, channel },
      );
    }
    const scope = { ...where, channel };
    const baseValue = openBlob(base, scope);
    if (baseValue === null)
      return { present: false, value: undefined, state: { depth: 0, baseLength: 0 } };
    const rebuilt = appendAll(
      this.serializer.decode(baseValue),
      chain.slice(1).map((blob) => this.serializer.decode(openBlob(blob, scope)!)),
      last.depth,
      (what) =>
        new CorruptionError(
          what === "base"
            ? `checkpoint ${where.checkpointId} of thread "${where.threadId}": channel "${channel}" has appends on a value that is not an array`
            : `checkpoint ${where.checkpointId} of thread "${where.threadId}": an append of channel "${channel}" is not an array`,
          { ...where, channel },
        ),
    );
    return {
      present: true,
      value: rebuilt.value,
      state: { depth: rebuilt.depth, baseLength: rebuilt.baseLength },
    };
  }

  #encodeUpdate(update: ChannelUpdate, threadId: string, checkpointId: string): StoredBlob {
    validateName(update.channel, "channel name");
    const version = String(update.version);
    if (update.empty) {
      return {
        channel: update.channel,
        version,
        kind: "empty",
        prevVersion: null,
        depth: 0,
        value: null,
      };
    }
    const append = update.append;
    if (append) {
      const depth = append.prev.depth + 1;
      const limit = Math.min(
        this.#maxAppendDepth,
        Math.max(this.#minAppendDepth, append.prev.baseLength * this.#appendRatio),
      );
      if (depth <= limit) {
        return {
          channel: update.channel,
          version,
          kind: "append",
          prevVersion: String(append.prevVersion),
          depth,
          value: this.#encode(append.items, threadId, checkpointId),
        };
      }
    }
    return {
      channel: update.channel,
      version,
      kind: "full",
      prevVersion: null,
      depth: 0,
      value: this.#encode(update.value, threadId, checkpointId),
    };
  }

  #encode(value: unknown, threadId: string, checkpointId: string) {
    let encoded: ReturnType<JsonSerializer["encode"]>;
    try {
      encoded = this.serializer.encode(value);
    } catch (cause) {
      if (isRewindError(cause)) {
        throw new SerializationError(cause.message, { threadId, checkpointId, cause });
      }
      throw cause;
    }
    if (encoded.bytes.byteLength > this.#maxValueBytes) {
      throw new InvalidInputError(
        `a value of ${encoded.bytes.byteLength} bytes exceeds maxValueBytes (${this.#maxValueBytes})`,
        { threadId, checkpointId },
      );
    }
    return encoded;
  }

  #encodeMetadata(metadata: CheckpointMetadata, threadId: string, checkpointId: string): string {
    try {
      return this.serializer.stringify(metadata);
    } catch (cause) {
      throw new SerializationError(
        `metadata could not be serialized: ${(cause as Error).message}`,
        {
          threadId,
          checkpointId,
          cause,
        },
      );
    }
  }

  async #call<T>(
    threadId: string,
    checkpointId: string | undefined,
    fn: () => Promise<T>,
  ): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (isRewindError(error)) throw error;
      throw new StorageError(
        `${this.backend.name} backend failed: ${(error as Error)?.message ?? String(error)}`,
        {
          threadId,
          checkpointId,
          cause: error,
        },
      );
    }
  }
}

// NUL and unpaired surrogates cannot be stored faithfully by every database (PostgreSQL refuses
// NUL in text; SQLite cannot read a lone surrogate back), so names containing them are refused.
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function validateName(value: unknown, what: string): void {
  if (typeof value !== "string" || value.length === 0 || value.length > NAME_MAX) {
    throw new InvalidInputError(
      `${what} must be a non-empty string of at most ${NAME_MAX} characters`,
    );
  }
  if (value.includes("\0") || LONE_SURROGATE.test(value)) {
    throw new InvalidInputError(`${what} must not contain NUL or unpaired surrogate characters`);
  }
}

/** A channel -> version map as the seam defines it: a plain object of strings and numbers. */
function isVersionMap(value: unknown): value is Record<string, ChannelVersion> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  return Object.values(value).every((v) => typeof v === "string" || typeof v === "number");
}

function validateTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0)
    throw new InvalidInputError("ttlMs must be a positive number");
}

/** Wraps a backend: `createCheckpointer(new MemoryBackend())`. */
export function createCheckpointer(
  backend: CheckpointBackend,
  options?: CheckpointerOptions,
): Checkpointer {
  return new Checkpointer(backend, options);
}
