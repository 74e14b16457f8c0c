/**
 * A runnable graph bound to a checkpointer: run it (`invoke`, `stream`), read it (`getState`,
 * `getStateHistory`, `getLineage`, `diff`), travel in time (`updateState`, `fork`, replay
 * with `invoke(null, { threadId, checkpointId })`) and delete threads. Every call is scoped by
 * its `tenantId`: a tenant only ever reaches its own threads.
 */

import { type ArchivedThreads, ensureNotArchived } from "../checkpoint/archived-threads.js";
import type { CheckpointBackend } from "../checkpoint/checkpoint-backend.js";
import {
  type Checkpointer,
  type CheckpointMetadata,
  type CheckpointTuple,
  createCheckpointer,
} from "../checkpoint/checkpointer.js";
import type { EffectRecord } from "../checkpoint/effect-ledger.js";
import { MemoryBackend } from "../checkpoint/memory-backend.js";
import type { RepairResult } from "../checkpoint/repair.js";
import { checkpointerForTenant } from "../checkpoint/tenant-checkpointer.js";
import { threadKey } from "../checkpoint/thread-key.js";
import { NotFoundError } from "../errors.js";
import { validateThreadId } from "../ids.js";
import type { Store } from "../store/store.js";
import { stateView } from "./apply.js";
import type { ChannelMap, StateOf, UpdateOf } from "./channels.js";
import type { Command } from "./command.js";
import type { StateChange } from "./diff.js";
import type { EffectResolution } from "./effect.js";
import { type ForkPreview, previewFork, resolveEffect } from "./effect-admin.js";
import type { GraphSpec, RunContext } from "./graph-spec.js";
import type { Interrupt } from "./interrupt.js";
import { type Lineage, readLineage } from "./lineage.js";
import { loadSnapshot, type StateMigration, validateMigrations } from "./migrations.js";
import { PendingIndex } from "./pending.js";
import { Run } from "./run.js";
import { validateRunOptions } from "./run-options.js";
import type { RunOptions, RunResult, StreamEvent } from "./run-types.js";
import { nextOf } from "./snapshot.js";
import { taskIdOf } from "./task.js";
import { type HeldLease, type LeaseOptions, withThreadLease } from "./thread-lease.js";
import { diff, type UpdateStateOptions, updateState } from "./time-travel.js";

/** Options of `compile()`. */
export interface CompileOptions {
  /** Where checkpoints go. A backend is wrapped for you. Default: a new in-memory backend. */
  checkpointer?: Checkpointer | CheckpointBackend;
  /** Pause before these nodes run (resume with `invoke(null, { threadId })`). */
  interruptBefore?: readonly string[];
  /** Pause after these nodes ran. */
  interruptAfter?: readonly string[];
  /** Version of the state shape, stored with every checkpoint. Default 1. */
  schemaVersion?: number;
  /**
   * Migrations keyed by the version they produce: `{ 2: (v1) => v2, 3: (v2) => v3 }`. Older
   * state is migrated when read; the next checkpoint stores the new shape.
   */
  migrations?: Readonly<Record<number, StateMigration>>;
  /** The cross-thread store nodes reach as `ctx.store`, bound to each run's `tenantId`. */
  store?: Store;
  /**
   * What `invoke`, `stream` and `getState` do with an archived thread: restore it on first use
   * (`restoreOnUse(target)` from `rewind/archive`). Default: throw `ThreadArchivedError`, which
   * says how to restore it.
   */
  archive?: ArchivedThreads;
}

/** A task of a checkpoint's next step, as `getState` shows it. */
export interface TaskInfo {
  readonly id: string;
  readonly node: string;
  readonly status: "pending" | "done" | "interrupted" | "failed";
  readonly interrupts: readonly Interrupt[];
  readonly error?: { name: string; message: string };
}

/** A thread's state at one checkpoint. */
export interface StateSnapshot<S = any> {
  readonly threadId: string;
  readonly checkpointId: string;
  readonly parentCheckpointId: string | undefined;
  readonly step: number;
  readonly values: S;
  readonly next: readonly string[];
  readonly tasks: readonly TaskInfo[];
  readonly interrupts: readonly Interrupt[];
  readonly metadata: Readonly<CheckpointMetadata>;
  readonly createdAt: string;
}

/** A thread: its id within its tenant (omitted: the default tenant). Tenants never share one. */
export interface ThreadSelector {
  readonly threadId: string;
  readonly tenantId?: string | undefined;
}

/** Where a time-travel call applies: the thread's head, or a given checkpoint. */
export interface ThreadRef extends ThreadSelector {
  readonly checkpointId?: string | undefined;
}

export class CompiledGraph<C extends ChannelMap> {
  /**
   * The checkpointer, unscoped: it reaches every tenant's threads by storage key (`threadKey`).
   * An administrator's handle; the graph's own methods are scoped by `tenantId`.
   */
  readonly checkpointer: Checkpointer;
  readonly #spec: GraphSpec<C>;
  readonly #ctx: RunContext;
  readonly #archive: ArchivedThreads | undefined;

  constructor(spec: GraphSpec<C>, options: CompileOptions) {
    this.#spec = spec;
    const given = options.checkpointer;
    this.checkpointer =
      given === undefined
        ? createCheckpointer(new MemoryBackend())
        : "door" in given
          ? given
          : createCheckpointer(given);
    validateMigrations(options.schemaVersion ?? 1, options.migrations ?? {});
    this.#archive = options.archive;
    this.#ctx = {
      spec,
      checkpointer: this.checkpointer,
      interruptBefore: options.interruptBefore ?? [],
      interruptAfter: options.interruptAfter ?? [],
      schemaVersion: options.schemaVersion ?? 1,
      migrations: options.migrations ?? {},
      store: options.store,
    };
  }

  /**
   * Runs the graph on a thread. `input` is a state update (a new turn), `null` to continue from
   * the head (after a crash, a breakpoint, or from `checkpointId` as a replay), or a `Command`
   * (e.g. `Command.resume(answer)`).
   */
  async invoke(
    input: UpdateOf<C> | Command<UpdateOf<C>> | null,
    options: RunOptions,
  ): Promise<RunResult<StateOf<C>>> {
    return this.#run(input, options, () => undefined);
  }

  /** Like `invoke`, yielding per-node `updates`, `values` after each step, and `interrupt`s. */
  async *stream(
    input: UpdateOf<C> | Command<UpdateOf<C>> | null,
    options: RunOptions,
  ): AsyncGenerator<StreamEvent<StateOf<C>>, RunResult<StateOf<C>>> {
    const queue: StreamEvent[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    const done = this.#run(input, options, (event) => {
      queue.push(event);
      wake?.();
    }).finally(() => {
      finished = true;
      wake?.();
    });
    done.catch(() => undefined);
    while (true) {
      while (queue.length > 0) yield queue.shift()!;
      if (finished) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
    while (queue.length > 0) yield queue.shift()!;
    return done;
  }

  async #run(
    input: unknown,
    options: RunOptions,
    emit: (e: StreamEvent) => void,
  ): Promise<RunResult<StateOf<C>>> {
    validateRunOptions(options, this.#spec);
    // The tenant's view stores the thread (and takes its lease) under the tenant's key, while
    // the run, its nodes, results and errors keep the caller's thread id.
    const threads = this.#threads(options);
    const ctx = { ...this.#ctx, checkpointer: threads };
    const run = (held: HeldLease) => new Run(ctx, options, emit, held).execute(input);
    // Where the backend folds leases, the grant reads the archive mark (and the head) itself: an
    // archived thread gives its lease back and takes the ordinary path (restore, or the error).
    if (this.checkpointer.door.foldsLease) {
      const archived = Symbol("archived");
      const result = await withThreadLease<RunResult | typeof archived>(
        threads,
        options.threadId,
        options,
        (held) => (held.archive ? Promise.resolve(archived) : run(held)),
        true,
      );
      if (result !== archived) return result as RunResult<StateOf<C>>;
    }
    await this.#notArchived(options);
    return withThreadLease(threads, options.threadId, options, run);
  }

  #threads(thread: ThreadSelector): Checkpointer {
    return checkpointerForTenant(this.checkpointer, thread.tenantId);
  }

  /** Restores an archived thread (`archive` option) or throws `ThreadArchivedError`. */
  #notArchived(thread: ThreadSelector): Promise<void> {
    const key = threadKey(thread.threadId, thread.tenantId);
    return ensureNotArchived(this.checkpointer, key, this.#archive);
  }

  /** The state at the head (or at `checkpointId`), or `undefined` for a thread never written. */
  async getState(ref: ThreadRef): Promise<StateSnapshot<StateOf<C>> | undefined> {
    validateThreadId(ref.threadId);
    let tuple = await this.#threads(ref).get(ref.threadId, { checkpointId: ref.checkpointId });
    if (!tuple) {
      await this.#notArchived(ref);
      tuple = await this.#threads(ref).get(ref.threadId, { checkpointId: ref.checkpointId });
    }
    if (!tuple) {
      if (ref.checkpointId !== undefined) {
        throw new NotFoundError(`checkpoint ${ref.checkpointId} not found`, ref);
      }
      return undefined;
    }
    return this.#toState(tuple);
  }

  /** Checkpoints newest first, paged with `before` and `limit`, filtered on metadata. */
  async *getStateHistory(
    ref: ThreadSelector,
    options: { before?: string; limit?: number; filter?: Record<string, unknown> } = {},
  ): AsyncGenerator<StateSnapshot<StateOf<C>>> {
    validateThreadId(ref.threadId);
    for await (const tuple of this.#threads(ref).list({
      threadId: ref.threadId,
      ns: "",
      ...options,
    })) {
      yield this.#toState(tuple);
    }
  }

  /**
   * Writes a new checkpoint whose parent is the chosen one (the head by default), applying
   * `values` through the reducers as if `asNode` had returned them; the graph then continues
   * from `asNode`'s successors. From an older checkpoint this starts a new branch.
   */
  async updateState(
    ref: ThreadRef,
    values: UpdateOf<C> | null,
    options: UpdateStateOptions = {},
  ): Promise<{ threadId: string; checkpointId: string }> {
    return updateState(this.#ctx, () => this.#threads(ref), ref, values, options);
  }

  /** A new branch from `ref` with `values` applied (a fork keeps the old branch intact). */
  fork(
    ref: ThreadRef & { checkpointId: string },
    values: UpdateOf<C> | null = null,
    options: {
      asNode?: string;
      metadata?: Record<string, unknown>;
      reexecute?: readonly string[];
    } = {},
  ) {
    return this.updateState(ref, values, { ...options, source: "fork" });
  }

  /** The thread's effect ledger (every branch), oldest first. */
  async listEffects(ref: ThreadSelector): Promise<EffectRecord[]> {
    validateThreadId(ref.threadId);
    return this.#threads(ref).effects.list(ref.threadId);
  }

  /**
   * Settles an effect that started and never reported back (its process died mid-call): records
   * what happened, under the thread's lease, so the next run uses it.
   *
   * @example
   * for (const effect of await app.listEffects({ threadId: "trip-1" })) {
   *   if (effect.status !== "started") continue;
   *   await app.resolveEffect({ threadId: "trip-1", key: effect.key }, { status: "done", result: "BK-1" });
   * }
   */
  async resolveEffect(
    ref: ThreadSelector & { key: string } & LeaseOptions,
    resolution: EffectResolution,
  ): Promise<EffectRecord> {
    validateThreadId(ref.threadId);
    return resolveEffect(this.#threads(ref), ref.threadId, ref.key, resolution, ref);
  }

  /** What a fork from `checkpointId` would do with the effects recorded after it. */
  async previewFork(
    ref: ThreadSelector & { checkpointId: string },
    options: { reexecute?: readonly string[] } = {},
  ): Promise<ForkPreview> {
    validateThreadId(ref.threadId);
    return previewFork(this.#threads(ref), ref.threadId, ref.checkpointId, options.reexecute);
  }

  /** The thread's checkpoints as a tree of branches. */
  async getLineage(ref: ThreadSelector): Promise<Lineage> {
    validateThreadId(ref.threadId);
    return readLineage(this.#threads(ref), ref.threadId);
  }

  /**
   * Recovery from damaged storage: moves the thread's head back to its newest intact checkpoint
   * and keeps the damaged checkpoints above it aside, readable with
   * `checkpointer.listQuarantined(threadId)`. Returns what it moved; a no-op on an intact head.
   *
   * @example
   * const { headId, quarantined } = await app.repairThread({ threadId: "support-1" });
   */
  async repairThread(ref: ThreadSelector): Promise<RepairResult> {
    validateThreadId(ref.threadId);
    return this.#threads(ref).repairThread(ref.threadId);
  }

  /** What changed in the values between two checkpoints of a thread. */
  async diff(ref: ThreadSelector & { from: string; to: string }): Promise<StateChange[]> {
    return diff((checkpointId) => this.getState({ ...ref, checkpointId }), ref.from, ref.to);
  }

  /** Deletes the thread and leaves a tombstone: later writes to it fail (`ThreadDeletedError`). */
  async deleteThread(ref: ThreadSelector): Promise<void> {
    validateThreadId(ref.threadId);
    await this.#threads(ref).deleteThread(ref.threadId);
  }

  #toState(tuple: CheckpointTuple): StateSnapshot<StateOf<C>> {
    const snapshot = loadSnapshot(this.#ctx, tuple);
    const pending = new PendingIndex(tuple.pendingWrites);
    const next = nextOf(snapshot);
    const step = snapshot.step + 1;
    const tasks: TaskInfo[] = next.map((node, i) => {
      const id = taskIdOf(snapshot.id, step, node, i);
      const interrupts = pending.interrupts.filter(
        (x) =>
          x.kind === "interrupt" &&
          pending.byTask.get(id)?.some((w) => (w.value as Interrupt)?.id === x.id),
      );
      const error = pending.errors.get(id) as TaskInfo["error"];
      const status = pending.done.has(id)
        ? "done"
        : interrupts.length > 0
          ? "interrupted"
          : error
            ? "failed"
            : "pending";
      return { id, node, status, interrupts, ...(error ? { error } : {}) };
    });
    return {
      threadId: tuple.checkpoint.threadId,
      checkpointId: snapshot.id,
      parentCheckpointId: snapshot.parentId,
      step: snapshot.step,
      values: stateView(this.#spec.channels, snapshot.values),
      next,
      tasks,
      interrupts: pending.interrupts,
      metadata: snapshot.metadata,
      createdAt: snapshot.createdAt,
    };
  }
}
