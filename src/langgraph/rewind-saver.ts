/**
 * A LangGraph.js checkpoint saver on any Rewind backend (memory, SQLite, PostgreSQL): switch a
 * LangGraph app to Rewind storage in one line. Only the channels in `newVersions` are written,
 * growing lists are stored as appends, values keep their types (Date, Uint8Array, messages),
 * pending writes come back in (task_path, task_id, idx) order, `list` streams, a deleted thread
 * leaves a tombstone, and a run whose parent checkpoint is no longer the thread's head is refused
 * with a `ConflictError` instead of silently overwriting another run's turn.
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import {
  BaseCheckpointSaver,
  type ChannelVersions,
  type Checkpoint,
  type CheckpointListOptions,
  type CheckpointMetadata,
  type CheckpointTuple,
  getCheckpointId,
  maxChannelVersion,
  type PendingWrite,
  type SerializerProtocol,
  TASKS,
  WRITES_IDX_MAP,
} from "@langchain/langgraph-checkpoint";
import { InvalidInputError, isRewindError, StorageError } from "../errors.js";
import type { JsonSerializer } from "../serde/serializer.js";
import { Checkpointer } from "../storage/checkpointer.js";
import { isKeyOfTenant, unscopeError, validateThreadKey } from "../storage/thread-key.js";
import type {
  CheckpointBackend,
  LoadedCheckpoint,
  StoredBlob,
  StoredCheckpoint,
  StoredWrite,
} from "../storage/types.js";
import { type AppendPolicy, AppendTracker, channelKey } from "./append-tracker.js";
import {
  canonicalTime,
  headToExpect,
  isUniqueVersion,
  namespaceOf,
  nextChannelVersion,
  optionalThreadKey,
  requiredThreadKey,
  requireName,
  tenantOf,
} from "./saver-input.js";
import { type CheckpointBody, checkpointConfig, readTuple, readWrites } from "./tuple-reader.js";
import {
  createLangGraphSerializer,
  LangGraphValueCodec,
  registerLangChainClasses,
} from "./value-codec.js";

/** Options of {@link RewindSaver}. */
export interface RewindSaverOptions extends Partial<AppendPolicy> {
  /** LangGraph serde for values Rewind's serializer refuses. Default: LangGraph's JsonPlusSerializer. */
  serde?: SerializerProtocol;
  /**
   * Rewind serializer (register your own classes on it); LangChain's message classes are
   * registered on it too. Default: a fresh one.
   */
  serializer?: JsonSerializer;
  /** Largest serialized value accepted, in bytes. Default 64 MiB. */
  maxValueBytes?: number;
  /**
   * Channels remembered to store growing arrays as appends; 0 stores full values. Default 1024.
   * An array is stored as an append only when it starts with the very objects (same identity
   * and `id`) stored last time; an element mutated in place is not noticed, so set 0 if your
   * nodes edit stored messages in place instead of replacing them.
   */
  appendCacheSize?: number;
  /**
   * Refuse a `put` whose parent is no longer the head of its thread (see the class doc).
   * Default true.
   */
  refuseStaleWrites?: boolean;
}

/**
 * `BaseCheckpointSaver` backed by a Rewind {@link CheckpointBackend} (or a {@link Checkpointer}
 * wrapping one). The schema is created on first use; `close()` closes the storage.
 *
 * Racing writers: a `put` with a parent is a compare-and-set on the head of its (thread,
 * namespace): it succeeds only if the parent is still the newest checkpoint there, otherwise it
 * throws `ConflictError` and writes nothing, so a second run started from the same head is
 * refused rather than forking the thread silently. Writes that branch on purpose are exempt:
 * `source` "update" and "fork" (`updateState`, replays), and the first write of a run that
 * addressed its parent explicitly by `checkpoint_id` (LangChain copies it to `config.metadata`).
 *
 * Channel versions are strings unique to one branch (`getNextVersion`), because values are
 * stored once per (thread, namespace, channel, version): LangGraph's default integers would
 * make a fork's new value collide with the old branch's value of the same number.
 *
 * `configurable.tenant_id` scopes threads and listings like the runtime's `tenantId`; returned
 * configs carry it. Below, a thread id is its storage key (`threadKey`).
 *
 * @example
 * const saver = new RewindSaver(new SqliteBackend("agent.sqlite"));
 * const app = graph.compile({ checkpointer: saver });
 */
export class RewindSaver extends BaseCheckpointSaver {
  /** The wrapped storage (lazy setup, close). */
  readonly checkpointer: Checkpointer;
  readonly #backend: CheckpointBackend;
  readonly #codec: LangGraphValueCodec;
  readonly #tracker: AppendTracker;
  readonly #refuseStale: boolean;

  constructor(storage: CheckpointBackend | Checkpointer, options: RewindSaverOptions = {}) {
    super(options.serde);
    this.checkpointer = storage instanceof Checkpointer ? storage : new Checkpointer(storage);
    this.#backend = this.checkpointer.backend;
    const serializer = options.serializer
      ? registerLangChainClasses(options.serializer)
      : createLangGraphSerializer();
    this.#codec = new LangGraphValueCodec(
      this.serde,
      serializer,
      options.maxValueBytes ?? 64 * 1024 * 1024,
    );
    this.#tracker = new AppendTracker(
      options.appendCacheSize ?? 1024,
      {
        appendRatio: options.appendRatio ?? 4,
        minAppendDepth: options.minAppendDepth ?? 64,
        maxAppendDepth: options.maxAppendDepth ?? 4096,
      },
      isUniqueVersion,
    );
    this.#refuseStale = options.refuseStaleWrites ?? true;
  }

  override async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const threadId = optionalThreadKey(config);
    if (threadId === undefined) return undefined;
    const ns = namespaceOf(config) ?? "";
    const id = getCheckpointId(config) || undefined;
    if (id !== undefined) requireName(id, "checkpoint_id");
    await this.checkpointer.ready();
    return this.#call(threadId, id, async () => {
      const loaded = await this.#backend.getCheckpoint(threadId, ns, id);
      return loaded && this.#toTuple(loaded, true);
    });
  }

  override async *list(
    config: RunnableConfig,
    options: CheckpointListOptions = {},
  ): AsyncGenerator<CheckpointTuple> {
    const threadId = optionalThreadKey(config);
    // Across threads, another tenant's rows are skipped before they are decoded or counted.
    const tenant = threadId === undefined ? { id: tenantOf(config) } : undefined;
    const { limit } = options;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
      throw new InvalidInputError("list: limit must be a non-negative integer");
    }
    const filter: Record<string, string> = {};
    // A filter value of undefined matches metadata that lacks the key; JSON cannot say that.
    const mustLack: string[] = [];
    for (const [key, value] of Object.entries(options.filter ?? {})) {
      if (value === undefined) mustLack.push(key);
      else filter[key] = this.#codec.filterValue(value);
    }
    if (limit === 0) return;
    const checkpointId = getCheckpointId(config) || undefined;
    const before = options.before ? getCheckpointId(options.before) || undefined : undefined;
    await this.checkpointer.ready();
    const rows = this.#backend.listCheckpoints({
      threadId,
      ns: namespaceOf(config),
      checkpointId,
      before,
      filter,
      limit: mustLack.length > 0 || tenant ? undefined : limit,
    });
    let count = 0;
    try {
      for await (const loaded of rows) {
        if (tenant && !isKeyOfTenant(loaded.checkpoint.threadId, tenant.id)) continue;
        const tuple = await this.#toTuple(loaded, false);
        if (mustLack.some((key) => tuple.metadata?.[key as keyof CheckpointMetadata] !== undefined))
          continue;
        yield tuple;
        if (limit !== undefined && ++count >= limit) return;
      }
    } catch (error) {
      throw this.#wrap(error, threadId, undefined);
    }
  }

  override async put(
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    newVersions: ChannelVersions,
  ): Promise<RunnableConfig> {
    if (config.configurable === undefined) {
      throw new InvalidInputError('put: config has no "configurable" field');
    }
    const threadId = requiredThreadKey(config, "put");
    const ns = namespaceOf(config) ?? "";
    requireName(checkpoint.id, "checkpoint id");
    const parentId = (config.configurable.checkpoint_id as string | undefined) || undefined;
    const plans = Object.entries(newVersions).map(([channel, version]) => {
      requireName(channel, "channel name");
      return this.#blobFor(threadId, ns, checkpoint, channel, String(version));
    });
    const blobs = await Promise.all(plans.map((plan) => plan.blob));
    const row: StoredCheckpoint = {
      threadId,
      ns,
      id: checkpoint.id,
      parentId: parentId ?? null,
      createdAt: canonicalTime(checkpoint.ts) ?? new Date().toISOString(),
      channelVersions: { ...checkpoint.channel_versions },
      metadata: await this.#codec.encodeMetadata(metadata),
      body: JSON.stringify({
        vs: checkpoint.versions_seen,
        sv: 1,
        f: checkpoint.v,
        ...(canonicalTime(checkpoint.ts) === undefined && typeof checkpoint.ts === "string"
          ? { ts: checkpoint.ts }
          : {}),
      } satisfies CheckpointBody),
    };
    const expectedHead = this.#refuseStale ? headToExpect(config, metadata, parentId) : undefined;
    await this.checkpointer.ready();
    await this.#call(threadId, checkpoint.id, () =>
      this.#backend.putCheckpoint({ checkpoint: row, blobs, expectedHead }),
    );
    for (const plan of plans) plan.commit();
    return checkpointConfig(threadId, ns, checkpoint.id);
  }

  override async putWrites(
    config: RunnableConfig,
    writes: PendingWrite[],
    taskId: string,
    taskPath = "",
  ): Promise<void> {
    const threadId = requiredThreadKey(config, "putWrites");
    const checkpointId = config.configurable?.checkpoint_id as string | undefined;
    if (!checkpointId) {
      throw new InvalidInputError("putWrites: config.configurable.checkpoint_id is missing");
    }
    requireName(checkpointId, "checkpoint_id");
    requireName(taskId, "task id");
    if (typeof taskPath !== "string")
      throw new InvalidInputError("putWrites: taskPath must be a string");
    const stored = await Promise.all(
      writes.map(async ([channel, value], i): Promise<StoredWrite> => {
        requireName(channel, "channel name");
        return {
          taskId,
          taskPath,
          idx: WRITES_IDX_MAP[channel] ?? i,
          channel,
          value: await this.#codec.encode(value),
        };
      }),
    );
    if (stored.length === 0) return;
    const key = { threadId, ns: namespaceOf(config) ?? "", checkpointId };
    await this.checkpointer.ready();
    await this.#call(threadId, checkpointId, () => this.#backend.putWrites(key, stored));
  }

  /**
   * Deletes the thread in every namespace; later writes to it throw `ThreadDeletedError`.
   * A named tenant's thread is named by its key: `deleteThread(threadKey(threadId, tenantId))`.
   */
  override async deleteThread(threadId: string): Promise<void> {
    const id = validateThreadKey(typeof threadId === "number" ? String(threadId) : threadId);
    await this.checkpointer.ready();
    await this.#call(id, undefined, () => this.#backend.deleteThread(id));
    this.#tracker.forgetThread(id);
  }

  /**
   * The next version of a channel: the step number zero-padded (so versions compare correctly
   * as strings) and a random suffix that keeps two branches of a thread from sharing a version.
   * The value is a string; it is typed `number` only because `compile({ checkpointer })` accepts
   * `BaseCheckpointSaver<number>`, and LangGraph's runtime handles string versions throughout.
   */
  override getNextVersion(current: number | undefined): number {
    return nextChannelVersion(current as number | string | undefined) as unknown as number;
  }

  /** Closes the storage (idempotent); later calls throw `ClosedError`. */
  close(): Promise<void> {
    return this.checkpointer.close();
  }

  #blobFor(
    threadId: string,
    ns: string,
    checkpoint: Checkpoint,
    channel: string,
    version: string,
  ): { blob: Promise<StoredBlob>; commit: () => void } {
    const key = channelKey(threadId, ns, channel);
    if (!Object.hasOwn(checkpoint.channel_values, channel)) {
      const blob: StoredBlob = {
        channel,
        version,
        kind: "empty",
        prevVersion: null,
        depth: 0,
        value: null,
      };
      return { blob: Promise.resolve(blob), commit: () => undefined };
    }
    const value = (checkpoint.channel_values as Record<string, unknown>)[channel];
    const plan = this.#tracker.plan(key, version, value);
    if (plan.kind === "append") {
      return {
        blob: this.#codec.encode(plan.items).then((encoded) => ({
          channel,
          version,
          kind: "append",
          prevVersion: plan.prevVersion,
          depth: plan.depth,
          value: encoded,
        })),
        commit: () => this.#tracker.record(key, version, value, plan.depth, plan.baseLength),
      };
    }
    return {
      blob: this.#codec.encode(value).then((encoded) => ({
        channel,
        version,
        kind: "full",
        prevVersion: null,
        depth: 0,
        value: encoded,
      })),
      commit: () =>
        this.#tracker.record(key, version, value, 0, Array.isArray(value) ? value.length : 0),
    };
  }

  async #toTuple(loaded: LoadedCheckpoint, remember: boolean): Promise<CheckpointTuple> {
    const row = loaded.checkpoint;
    const tuple = await readTuple(
      loaded,
      this.#codec,
      remember
        ? (channel, version, rebuilt) =>
            this.#tracker.record(
              channelKey(row.threadId, row.ns, channel),
              version,
              rebuilt.value,
              rebuilt.depth,
              rebuilt.baseLength,
            )
        : undefined,
    );
    if (tuple.checkpoint.v < 4 && row.parentId !== null) {
      await this.#migratePendingSends(tuple.checkpoint, row.threadId, row.ns, row.parentId);
    }
    return tuple;
  }

  /** Format v<4 kept `Send`s in the checkpoint; they now are the parent's TASKS writes. */
  async #migratePendingSends(
    checkpoint: Checkpoint,
    threadId: string,
    ns: string,
    parentId: string,
  ) {
    const parent = await this.#call(threadId, parentId, () =>
      this.#backend.getCheckpoint(threadId, ns, parentId),
    );
    const sends = parent ? parent.writes.filter((w) => w.channel === TASKS) : [];
    const values = await readWrites(sends, this.#codec);
    (checkpoint.channel_values as Record<string, unknown>)[TASKS] = values.map((w) => w[2]);
    const versions = Object.values(checkpoint.channel_versions);
    (checkpoint.channel_versions as Record<string, number | string>)[TASKS] =
      versions.length > 0 ? maxChannelVersion(...versions) : this.getNextVersion(undefined);
  }

  async #call<T>(threadId: string, checkpointId: string | undefined, fn: () => Promise<T>) {
    try {
      return await fn();
    } catch (error) {
      throw this.#wrap(error, threadId, checkpointId);
    }
  }

  /** A Rewind error naming the caller's thread id, never a tenant's storage key. */
  #wrap(error: unknown, threadId: string | undefined, checkpointId: string | undefined): unknown {
    if (isRewindError(error)) return unscopeError(error);
    return unscopeError(
      new StorageError(
        `${this.#backend.name} backend failed: ${(error as Error)?.message ?? String(error)}`,
        { threadId, checkpointId, cause: error },
      ),
    );
  }
}
