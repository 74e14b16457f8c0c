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
import type { AppendTracker } from "../checkpoint/append-tracker.js";
import type {
  CheckpointBackend,
  LoadedCheckpoint,
  StoredCheckpoint,
} from "../checkpoint/checkpoint-backend.js";
import {
  type AppendPolicy,
  CheckpointCodec,
  type ValueSite,
} from "../checkpoint/checkpoint-codec.js";
import type { CheckpointDoor } from "../checkpoint/checkpoint-door.js";
import { Checkpointer } from "../checkpoint/checkpointer.js";
import { all, isPromise } from "../checkpoint/maybe-async.js";
import { isKeyOfTenant, unscopeError } from "../checkpoint/thread-key.js";
import { ConflictError, InvalidInputError } from "../errors.js";
import type { EncryptionOptions } from "../serde/encryption-layer.js";
import type { JsonSerializer } from "../serde/serializer.js";
import { planChannelWrite, rememberRead } from "./saver-appends.js";
import { SaverEffects } from "./saver-effects.js";
import {
  canonicalTime,
  discardedNodes,
  headToExpect,
  namespaceOf,
  nextChannelVersion,
  optionalThreadKey,
  requiredThreadKey,
  tenantOf,
} from "./saver-input.js";
import { checkpointConfig, readTuple, readWrites, type SaverCodec } from "./tuple-reader.js";
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
   * Entries of the storage's memory of append chains, shared with the runtime's checkpointer on
   * the same storage (least recently used dropped first; a forgotten channel's next value is
   * stored in full). Default 4096; 0 stores full values. Given a `Checkpointer`, only 0 may be
   * set here: the memory is that checkpointer's (its own `appendCacheSize`).
   * An array is stored as an append only when it starts with the very objects (same identity
   * and `id`) stored last time; an element mutated in place is not noticed, so set 0 if your
   * nodes edit stored messages in place instead of replacing them. The memory holds elements
   * weakly: it never keeps a value alive.
   */
  appendCacheSize?: number;
  /**
   * Refuse a `put` whose parent is no longer the head of its thread (see the class doc).
   * Default true.
   */
  refuseStaleWrites?: boolean;
  /**
   * Encryption at rest (`{ keys }`, see `rewind/encryption`) when the saver is given a backend;
   * given a `Checkpointer`, the saver uses that checkpointer's encryption.
   */
  encryption?: EncryptionOptions | undefined;
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
 * A new input whose head still has tasks to run (another run is on its way from it, or stopped
 * there) is refused too, before anything is stored: built on that unfinished turn, the new run
 * would carry its input while the other run's next write is refused, leaving a message nobody
 * answered. Resume the stopped run, or name its checkpoint to start over from it.
 *
 * Channel versions are strings unique to one branch (`getNextVersion`), because values are
 * stored once per (thread, namespace, channel, version): LangGraph's default integers would
 * make a fork's new value collide with the old branch's value of the same number.
 *
 * @example
 * const saver = new RewindSaver(new SqliteBackend("agent.sqlite"));
 * const app = graph.compile({ checkpointer: saver });
 */
export class RewindSaver extends BaseCheckpointSaver {
  /** The wrapped storage (lazy setup, close); the saver reaches it through its door. */
  readonly checkpointer: Checkpointer;
  /** Side effects that happen once per thread, recorded by the same storage (see {@link SaverEffects}). */
  readonly effects: SaverEffects;
  readonly #door: CheckpointDoor;
  readonly #codec: SaverCodec;
  /** The storage's memory of append chains (the checkpointer's); none when appends are off. */
  readonly #appends: AppendTracker | undefined;
  readonly #refuseStale: boolean;

  constructor(storage: CheckpointBackend | Checkpointer, options: RewindSaverOptions = {}) {
    super(options.serde);
    const { appendCacheSize } = options;
    if (storage instanceof Checkpointer) {
      if (appendCacheSize !== undefined && appendCacheSize !== 0) {
        throw new InvalidInputError(
          "appendCacheSize: given a Checkpointer, the saver shares its memory of append chains; set appendCacheSize on the checkpointer (or 0 here to store full values)",
        );
      }
      if (options.encryption !== undefined) {
        throw new InvalidInputError(
          "encryption: given a Checkpointer, the saver uses its encryption; set it on the checkpointer",
        );
      }
      this.checkpointer = storage;
    } else {
      this.checkpointer = new Checkpointer(storage, {
        appendCacheSize,
        encryption: options.encryption,
      });
    }
    this.#door = this.checkpointer.door;
    this.#appends = appendCacheSize === 0 ? undefined : this.checkpointer.appends;
    const serializer = options.serializer
      ? registerLangChainClasses(options.serializer)
      : createLangGraphSerializer();
    this.effects = new SaverEffects(this.#door, serializer, this.checkpointer.sealer);
    this.#codec = new CheckpointCodec(new LangGraphValueCodec(this.serde, serializer), {
      ...options,
      largeValueBytes: this.checkpointer.codec.largeValueBytes,
      layers: this.checkpointer.codec.layers,
    });
    this.#refuseStale = options.refuseStaleWrites ?? true;
  }

  override async getTuple(config: RunnableConfig): Promise<CheckpointTuple | undefined> {
    const threadId = optionalThreadKey(config);
    if (threadId === undefined) return undefined;
    const ns = namespaceOf(config) ?? "";
    const id = getCheckpointId(config) || undefined;
    try {
      const loaded = await this.#door.getCheckpoint(threadId, ns, id);
      return loaded && (await this.#toTuple(loaded, true));
    } catch (error) {
      throw unscopeError(error);
    }
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
      else filter[key] = this.#codec.serializer.filterValue(value);
    }
    if (limit === 0) return;
    const checkpointId = getCheckpointId(config) || undefined;
    const before = options.before ? getCheckpointId(options.before) || undefined : undefined;
    const rows = this.#door.listCheckpoints({
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
      throw unscopeError(error);
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
    const parentId = (config.configurable.checkpoint_id as string | undefined) || undefined;
    const site = { threadId, checkpointId: checkpoint.id };
    const plans = Object.entries(newVersions).map(([channel, version]) =>
      planChannelWrite(
        this.#appends,
        this.#codec,
        { threadId, ns },
        checkpoint,
        channel,
        `${version}`,
      ),
    );
    // Encoding answers at once unless LangGraph's serde takes a value: no promise is made for
    // nothing (each costs the hooks of LangGraph's context, and a put is made of a dozen).
    const encoded = all(plans.map((plan) => this.#codec.encodeBlob(plan.write, site)));
    const blobs = isPromise(encoded) ? await encoded : encoded;
    const text = this.#codec.serializer.encodeMetadata(metadata);
    const createdAt = canonicalTime(checkpoint.ts);
    const row: StoredCheckpoint = this.#codec.sealRow({
      threadId,
      ns,
      id: checkpoint.id,
      parentId: parentId ?? null,
      createdAt: createdAt ?? new Date().toISOString(),
      channelVersions: { ...checkpoint.channel_versions },
      metadata: isPromise(text) ? await text : text,
      body: this.#codec.encodeBody({
        versionsSeen: checkpoint.versions_seen,
        schemaVersion: 1,
        format: checkpoint.v,
        ts:
          createdAt === undefined && typeof checkpoint.ts === "string" ? checkpoint.ts : undefined,
      }),
    });
    const expectedHead = this.#refuseStale ? headToExpect(config, metadata, parentId) : undefined;
    try {
      if (expectedHead !== undefined && metadata?.source === "input") {
        await this.#refuseDiscarding(threadId, ns, expectedHead, checkpoint);
      }
      await this.#door.putCheckpoint({ checkpoint: row, blobs, expectedHead });
    } catch (error) {
      throw unscopeError(error);
    }
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
    const site = { threadId, checkpointId };
    const encoded = all(
      writes.map(([channel, value], i) =>
        this.#codec.encodeWrite(
          { taskId, taskPath, idx: WRITES_IDX_MAP[channel] ?? i, channel, value },
          site,
        ),
      ),
    );
    const stored = isPromise(encoded) ? await encoded : encoded;
    const key = { threadId, ns: namespaceOf(config) ?? "", checkpointId };
    try {
      await this.#door.putWrites(key, stored);
    } catch (error) {
      throw unscopeError(error);
    }
  }

  /**
   * Deletes the thread in every namespace; later writes to it throw `ThreadDeletedError`.
   * A named tenant's thread is named by its key: `deleteThread(threadKey(threadId, tenantId))`.
   */
  override async deleteThread(threadId: string): Promise<void> {
    const id = typeof threadId === "number" ? String(threadId) : threadId;
    try {
      await this.checkpointer.deleteThread(id);
    } catch (error) {
      throw unscopeError(error);
    }
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

  /**
   * A new input on a head whose tasks have not run (another run is still on its way, or stopped
   * there) would discard them and build on that run's unfinished turn, which is then lost when
   * the run's next write is refused. Refused instead, before anything is stored.
   */
  async #refuseDiscarding(threadId: string, ns: string, headId: string, checkpoint: Checkpoint) {
    const heads = this.#door.listCheckpoints({
      threadId,
      ns,
      checkpointId: headId,
      limit: 1,
      includeValues: false,
    });
    for await (const head of heads) {
      const site = { threadId, checkpointId: headId };
      const { body } = this.#codec.openRow(head.checkpoint);
      const seen = this.#codec.decodeBody(body, site).versionsSeen;
      const discarded = discardedNodes(
        seen as Checkpoint["versions_seen"],
        checkpoint.versions_seen,
      );
      if (discarded.length === 0) return;
      throw new ConflictError(
        `put: checkpoint ${headId} of thread "${threadId}" has tasks that have not run (${discarded.join(", ")}): another run is still on its way from it, or stopped there. Resume it, or name checkpoint ${headId} in the config to start over from it`,
        { threadId, checkpointId: checkpoint.id },
      );
    }
  }

  async #toTuple(loaded: LoadedCheckpoint, remember: boolean): Promise<CheckpointTuple> {
    const row = loaded.checkpoint;
    const appends = remember ? this.#appends : undefined;
    const tuple = await readTuple(loaded, this.#codec, appends && rememberRead(appends, row));
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
    const parent = await this.#door.getCheckpoint(threadId, ns, parentId);
    const sends = parent ? parent.writes.filter((w) => w.channel === TASKS) : [];
    const site: ValueSite = { threadId, checkpointId: parentId };
    const values = await readWrites(sends, this.#codec, site);
    (checkpoint.channel_values as Record<string, unknown>)[TASKS] = values.map((w) => w[2]);
    const versions = Object.values(checkpoint.channel_versions);
    (checkpoint.channel_versions as Record<string, number | string>)[TASKS] =
      versions.length > 0 ? maxChannelVersion(...versions) : this.getNextVersion(undefined);
  }
}
