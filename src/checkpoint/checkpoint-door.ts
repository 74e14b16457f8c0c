/**
 * The only door to a `CheckpointBackend`: the runtime's Checkpointer, the LangGraph saver
 * and the conformance suite all reach a backend through one. It runs the backend's setup once
 * (concurrent first calls share it; a failed setup is retried by the next call), closes it once
 * however often `close()` is called, refuses every call after close with a {@link ClosedError},
 * validates every name and id before any I/O with the one validator of `ids.ts`, and turns every
 * error that is not a Rewind error into a {@link StorageError} naming thread and checkpoint.
 * Backends therefore keep no lifecycle guards and trust what they are given.
 */
import { CallsUnderway } from "../calls-underway.js";
import {
  asRewindError,
  ClosedError,
  InvalidInputError,
  isRewindError,
  LeaseLostError,
  StorageError,
} from "../errors.js";
import { validateName } from "../ids.js";
import type * as seam from "./checkpoint-backend.js";
import {
  checkEffect,
  checkEffectOutcome,
  checkFence,
  checkNamespace,
  checkPruneBatch,
  checkRow,
  checkTtl,
  distinctWrites,
  MAX_PATH_LENGTH,
} from "./door-checks.js";
import { validateThreadKey } from "./thread-key.js";

export { MAX_PATH_LENGTH } from "./door-checks.js";

/**
 * A backend behind its door. It is itself a `CheckpointBackend`, so anything written
 * against the seam can be handed a door; {@link CheckpointDoor.of} never wraps a door twice.
 */
export class CheckpointDoor implements seam.CheckpointBackend {
  readonly name: string;
  readonly #backend: seam.CheckpointBackend;
  #ready: Promise<void> | undefined;
  /** Set up, so a call need not wait for {@link ready} (each wait is a promise more). */
  #setUp = false;
  #closed: Promise<void> | undefined;
  readonly #calls = new CallsUnderway();

  constructor(backend: seam.CheckpointBackend) {
    this.#backend = backend;
    this.name = backend.name;
  }

  /** `storage` itself when it is a door already, else a new door on it. */
  static of(storage: seam.CheckpointBackend): CheckpointDoor {
    return storage instanceof CheckpointDoor ? storage : new CheckpointDoor(storage);
  }

  /** Runs the backend's setup once; a failed setup is retried by the next call. */
  ready(): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new ClosedError(`the ${this.name} checkpoint storage is closed`));
    }
    this.#ready ??= this.#backend.setup().then(
      () => {
        this.#setUp = true;
      },
      (error) => {
        this.#ready = undefined;
        throw asRewindError(error, `${this.name} backend setup failed`);
      },
    );
    return this.#ready;
  }

  /** Same as {@link ready}: a door is set up on first use. */
  setup(): Promise<void> {
    return this.ready();
  }

  async putCheckpoint(put: seam.CheckpointPut): Promise<void> {
    const row = put.checkpoint;
    const threadId = this.#thread(row.threadId);
    checkRow(row);
    for (const blob of put.blobs) {
      validateName(blob.channel, "channel name");
      validateName(blob.version, "channel version");
      if (blob.prevVersion !== null) validateName(blob.prevVersion, "previous channel version");
    }
    if (typeof put.expectedHead === "string") validateName(put.expectedHead, "expected head");
    if (put.fence) checkFence(put.fence);
    if (!put.release) {
      await this.#call(threadId, row.id, () => this.#backend.putCheckpoint(put));
      return;
    }
    const fence = put.fence;
    if (!fence) throw new InvalidInputError("a write that releases the lease needs its fence");
    if (this.foldsLease) {
      await this.#call(threadId, row.id, () => this.#backend.putCheckpoint(put));
      return;
    }
    // The same outcome in two steps: the write (fenced), then the release (checked).
    const { release: _, ...write } = put;
    await this.#call(threadId, row.id, () => this.#backend.putCheckpoint(write));
    const lease = { threadId, ...fence, expiresAt: 0, startedFrom: null };
    if (!(await this.#call(threadId, row.id, () => this.#backend.releaseLease(lease)))) {
      throw new LeaseLostError(`the lease on thread "${threadId}" was lost`, {
        threadId,
        checkpointId: row.id,
      });
    }
  }

  /** Whether the backend folds leases into its reads and writes (see the seam). */
  get foldsLease(): boolean {
    return this.#backend.foldsLease === true;
  }

  async putWrites(
    key: seam.CheckpointKey,
    writes: readonly seam.StoredWrite[],
    fence?: seam.LeaseFence,
  ): Promise<void> {
    const threadId = this.#thread(key.threadId);
    checkNamespace(key.ns);
    validateName(key.checkpointId, "checkpoint id");
    for (const write of writes) {
      validateName(write.taskId, "task id");
      validateName(write.taskPath, "task path", { maxLength: MAX_PATH_LENGTH, allowEmpty: true });
      validateName(write.channel, "channel name");
      if (!Number.isInteger(write.idx)) throw new InvalidInputError("write idx must be an integer");
    }
    if (fence) checkFence(fence);
    if (writes.length === 0) return;
    const batch = distinctWrites(writes);
    await this.#call(threadId, key.checkpointId, () => this.#backend.putWrites(key, batch, fence));
  }

  async getCheckpoint(
    threadId: string,
    ns: string,
    checkpointId?: string,
  ): Promise<seam.LoadedCheckpoint | undefined> {
    const thread = this.#thread(threadId);
    checkNamespace(ns);
    if (checkpointId !== undefined) validateName(checkpointId, "checkpoint id");
    return this.#call(thread, checkpointId, () =>
      this.#backend.getCheckpoint(thread, ns, checkpointId),
    );
  }

  async *listCheckpoints(query: seam.CheckpointQuery): AsyncIterable<seam.LoadedCheckpoint> {
    const threadId = query.threadId === undefined ? undefined : this.#thread(query.threadId);
    if (query.ns !== undefined) checkNamespace(query.ns);
    if (query.checkpointId !== undefined) validateName(query.checkpointId, "checkpoint id");
    if (query.before !== undefined) validateName(query.before, "before");
    const { limit } = query;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
      throw new InvalidInputError("limit must be a non-negative integer");
    }
    if (limit === 0) return;
    await this.ready();
    try {
      yield* this.#backend.listCheckpoints(query);
    } catch (error) {
      throw this.#wrap(error, threadId, undefined);
    }
  }

  /**
   * The id of the newest checkpoint of (threadId, ns), from its row's header only (never
   * decoded), so a damaged head still has an id; `undefined` for an empty thread.
   */
  async headId(threadId: string, ns: string): Promise<string | undefined> {
    const thread = this.#thread(threadId);
    checkNamespace(ns);
    const query = { threadId: thread, ns, limit: 1, includeValues: false };
    return this.#call(thread, undefined, async () => {
      try {
        for await (const loaded of this.#backend.listCheckpoints(query)) {
          return loaded.checkpoint.id;
        }
        return undefined;
      } catch (error) {
        // A backend that cannot read the head's row names it.
        if (isRewindError(error, "CORRUPTED") && error.checkpointId) return error.checkpointId;
        throw error;
      }
    });
  }

  /** Moves damaged checkpoints aside (repair); a backend without quarantine refuses. */
  async quarantine(request: seam.QuarantineRequest): Promise<void> {
    const threadId = this.#thread(request.threadId);
    checkNamespace(request.ns);
    validateName(request.expectedHead, "expected head");
    for (const { id, reason } of request.checkpoints) {
      validateName(id, "checkpoint id");
      if (typeof reason !== "string") throw new InvalidInputError("a reason must be text");
    }
    const backend = this.#backend;
    if (!backend.quarantine) {
      throw new StorageError(`the ${this.name} backend cannot move checkpoints aside`, {
        threadId,
      });
    }
    await this.#call(threadId, request.expectedHead, () => backend.quarantine!(request));
  }

  /**
   * Rewrites the thread's stored values in place through `rewrite` (re-encryption); a backend
   * without it refuses with a `StorageError`. Returns how many values were replaced.
   */
  async rewriteValues(threadId: string, rewrite: seam.ValueRewrite): Promise<number> {
    const thread = this.#thread(threadId);
    const backend = this.#backend;
    if (!backend.rewriteValues) {
      throw new StorageError(`the ${this.name} backend cannot rewrite stored values`, {
        threadId: thread,
      });
    }
    return this.#call(thread, undefined, () => backend.rewriteValues!(thread, rewrite));
  }

  /** The thread's quarantined checkpoints, newest first (none on a backend without quarantine). */
  async listQuarantined(threadId: string): Promise<seam.QuarantinedCheckpoint[]> {
    const thread = this.#thread(threadId);
    const backend = this.#backend;
    return this.#call(thread, undefined, async () =>
      backend.listQuarantined ? backend.listQuarantined(thread) : [],
    );
  }

  async deleteThread(threadId: string): Promise<void> {
    const thread = this.#thread(threadId);
    await this.#call(thread, undefined, () => this.#backend.deleteThread(thread));
  }

  async acquireLease(request: seam.LeaseRequest): Promise<seam.Lease | undefined> {
    const threadId = this.#thread(request.threadId);
    validateName(request.owner, "lease owner");
    checkTtl(request.ttlMs);
    return this.#call(threadId, undefined, () => this.#backend.acquireLease(request));
  }

  async renewLease(lease: seam.Lease, ttlMs: number): Promise<seam.Lease | undefined> {
    const threadId = this.#thread(lease.threadId);
    checkFence(lease);
    checkTtl(ttlMs);
    return this.#call(threadId, undefined, () => this.#backend.renewLease(lease, ttlMs));
  }

  async readLease(threadId: string): Promise<seam.Lease | undefined> {
    const thread = this.#thread(threadId);
    return this.#call(thread, undefined, () => this.#backend.readLease(thread));
  }

  async releaseLease(lease: seam.Lease): Promise<boolean> {
    const threadId = this.#thread(lease.threadId);
    checkFence(lease);
    return this.#call(threadId, undefined, () => this.#backend.releaseLease(lease));
  }

  async beginEffect(
    intent: seam.EffectIntent,
  ): Promise<{ effect: seam.StoredEffect; recorded: boolean }> {
    const { effect } = intent;
    const threadId = this.#thread(effect.threadId);
    checkEffect(effect);
    if (intent.fence) checkFence(intent.fence);
    return this.#call(threadId, effect.checkpointId, () => this.#backend.beginEffect(intent));
  }

  async finishEffect(
    outcome: seam.EffectOutcome,
  ): Promise<{ effect: seam.StoredEffect; recorded: boolean } | undefined> {
    const threadId = this.#thread(outcome.threadId);
    checkEffectOutcome(outcome);
    return this.#call(threadId, undefined, () => this.#backend.finishEffect(outcome));
  }

  async listEffects(threadId: string, keys?: readonly string[]): Promise<seam.StoredEffect[]> {
    const thread = this.#thread(threadId);
    for (const key of keys ?? []) validateName(key, "effect key");
    if (keys?.length === 0) return [];
    return this.#call(thread, undefined, () => this.#backend.listEffects(thread, keys));
  }

  /** A page of live threads, ascending by id (see `CheckpointBackend.listThreads`). */
  async listThreads(query: seam.ThreadQuery): Promise<seam.ThreadSummary[]> {
    if (query.after !== undefined) validateThreadKey(query.after, "after");
    if (query.prefix !== undefined && typeof query.prefix !== "string") {
      throw new InvalidInputError("prefix must be text");
    }
    if (!Number.isInteger(query.limit) || query.limit < 1) {
      throw new InvalidInputError("limit must be a positive integer");
    }
    return this.#call(undefined, undefined, () => this.#backend.listThreads(query));
  }

  /** The thread's checkpoint tree and sizes, or `undefined` when it has none. */
  async footprint(threadId: string): Promise<seam.ThreadFootprint | undefined> {
    const thread = this.#thread(threadId);
    return this.#call(thread, undefined, () => this.#backend.footprint(thread));
  }

  /** One atomic batch of a prune; see `CheckpointBackend.pruneCheckpoints`. */
  async pruneCheckpoints(batch: seam.PruneBatch): Promise<seam.PruneBatchResult> {
    const threadId = this.#thread(batch.threadId);
    checkPruneBatch(batch);
    const empty = { checkpoints: 0, blobs: 0, writes: 0 };
    if (batch.checkpointIds.length + batch.blobs.length + batch.rebase.length === 0) {
      return empty;
    }
    return this.#call(threadId, batch.checkpointIds[0], () =>
      this.#backend.pruneCheckpoints(batch),
    );
  }

  /** Pins or unpins a checkpoint; see `CheckpointBackend.setPin`. */
  async setPin(threadId: string, checkpointId: string, pinned: boolean): Promise<void> {
    const thread = this.#thread(threadId);
    validateName(checkpointId, "checkpoint id");
    if (typeof pinned !== "boolean") throw new InvalidInputError("pinned must be a boolean");
    await this.#call(thread, checkpointId, () =>
      this.#backend.setPin(thread, checkpointId, pinned),
    );
  }

  /** Gives deleted rows' space back; see `CheckpointBackend.reclaimSpace`. */
  async reclaimSpace(): Promise<seam.SpaceReport> {
    return this.#call(undefined, undefined, () => this.#backend.reclaimSpace());
  }

  /** Moves the thread's rows out and marks it archived (see the seam); refused without support. */
  async archiveThread(threadId: string, stub: string, fence?: seam.LeaseFence): Promise<void> {
    const thread = this.#thread(threadId);
    if (typeof stub !== "string") throw new InvalidInputError("an archive stub must be text");
    if (fence) checkFence(fence);
    const backend = this.#archiving(thread);
    await this.#call(thread, undefined, () => backend.archiveThread!(thread, stub, fence));
  }

  /** The thread's archive mark (never one on a backend that cannot archive). */
  async readArchive(threadId: string): Promise<seam.ArchiveMark | undefined> {
    const thread = this.#thread(threadId);
    const backend = this.#backend;
    return this.#call(thread, undefined, async () =>
      backend.readArchive ? backend.readArchive(thread) : undefined,
    );
  }

  /** Marks a restore under way (`restoring`) or finished (`live`). */
  async setArchiveState(threadId: string, state: "restoring" | "live"): Promise<void> {
    const thread = this.#thread(threadId);
    if (state !== "restoring" && state !== "live") {
      throw new InvalidInputError('an archive state is "restoring" or "live"');
    }
    const backend = this.#archiving(thread);
    await this.#call(thread, undefined, () => backend.setArchiveState!(thread, state));
  }

  /**
   * Closes the backend once, after a setup in flight and the calls made before it (a write under
   * way is neither cut off nor lost: a server shutting down may close while a run's last writes
   * are in flight); later calls throw {@link ClosedError}.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#ready?.catch(() => undefined);
      await this.#calls.settled();
      try {
        await this.#backend.close();
      } catch (error) {
        throw asRewindError(error, `${this.name} backend close failed`);
      }
    })();
    return this.#closed;
  }

  #archiving(threadId: string): seam.CheckpointBackend {
    const backend = this.#backend;
    if (!backend.archiveThread || !backend.readArchive || !backend.setArchiveState) {
      throw new StorageError(`the ${this.name} backend cannot archive threads`, { threadId });
    }
    return backend;
  }

  /**
   * The one place a thread id is checked on its way to storage: a plain thread id, or a
   * tenant's storage key (see `thread-key.ts`).
   */
  #thread(threadId: string): string {
    return validateThreadKey(threadId);
  }

  async #call<T>(
    threadId: string | undefined,
    checkpointId: string | undefined,
    fn: () => Promise<T>,
  ): Promise<T> {
    const end = this.#calls.begin();
    try {
      if (this.#closed || !this.#setUp) await this.ready();
      return await fn();
    } catch (error) {
      throw this.#wrap(error, threadId, checkpointId);
    } finally {
      end();
    }
  }

  #wrap(error: unknown, threadId: string | undefined, checkpointId: string | undefined) {
    return asRewindError(error, `${this.name} backend failed`, { threadId, checkpointId });
  }
}
