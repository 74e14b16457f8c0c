/**
 * One invocation of a compiled graph on one thread: loads the head, applies the input or the
 * resume, then runs super-steps (tasks concurrently, writes applied at the barrier, one
 * checkpoint per step) until the graph ends, pauses, or a node fails.
 */
import { createHash, randomUUID } from "node:crypto";
import type { LeaseFence } from "../checkpoint/checkpoint-backend.js";
import type {
  Checkpointer,
  CheckpointMetadata,
  CheckpointTuple,
  PendingWrite,
} from "../checkpoint/checkpointer.js";
import {
  AlreadyResumedError,
  InvalidInputError,
  NodeFailedError,
  NotFoundError,
  RecursionLimitError,
} from "../errors.js";
import { newCheckpointId } from "../ids.js";
import type { Store } from "../store/store.js";
import type { TenantStore } from "../store/tenant-store.js";
import { applyWrites, type ChannelWrite, stateView, toWrites } from "./apply.js";
import { type Command, isCommand } from "./command.js";
import {
  BREAKPOINT_TASK,
  DONE_CHANNEL,
  ERROR_CHANNEL,
  ERROR_IDX,
  INTERRUPT_CHANNEL,
  INTERRUPT_IDX,
  RESUME_CHANNEL,
  ROUTE_CHANNEL,
  START,
} from "./constants.js";
import { GraphInterrupt, type Interrupt, interruptId, taskScope } from "./interrupt.js";
import { migrateSnapshot, type StateMigration } from "./migrations.js";
import type { NodeContext } from "./node-context.js";
import { claimTaskId, commandTaskId, PendingIndex } from "./pending.js";
import { withRetry } from "./retry.js";
import { route } from "./routing.js";
import type { Durability, RunOptions, RunResult, StreamEvent } from "./run-types.js";
import {
  diffUpdates,
  EMPTY_SNAPSHOT,
  extraOf,
  nextOf,
  type Snapshot,
  snapshotFromTuple,
} from "./snapshot.js";
import type { GraphSpec } from "./state-graph.js";
import type { HeldLease } from "./thread-lease.js";

interface Task {
  readonly node: string;
  readonly id: string;
  readonly path: string;
}

type Outcome =
  | { kind: "done"; task: Task; writes: ChannelWrite[]; goto: string[]; fresh: boolean }
  | { kind: "interrupted"; task: Task; interrupt: Interrupt }
  | { kind: "failed"; task: Task; error: unknown };

export interface RunContext {
  readonly spec: GraphSpec<any>;
  readonly checkpointer: Checkpointer;
  readonly interruptBefore: readonly string[];
  readonly interruptAfter: readonly string[];
  readonly schemaVersion: number;
  readonly migrations: Readonly<Record<number, StateMigration>>;
  readonly store: Store | undefined;
}

export class Run {
  readonly #ctx: RunContext;
  readonly #options: RunOptions;
  readonly #emit: (event: StreamEvent) => void;
  readonly #threadId: string;
  readonly #runId = randomUUID();
  readonly #durability: Durability;
  readonly #fence: LeaseFence | undefined;
  /** The last snapshot handed to storage, and the thread's newest checkpoint id. */
  #saved: Snapshot = EMPTY_SNAPSHOT;
  #headId: string | null = null;
  #chain: Promise<void> = Promise.resolve();
  /** Set once a queued write has failed; the run stops before its next step. */
  #writeFailed = false;
  #unsaved: Snapshot | undefined;
  #deferred: { checkpointId: string; writes: PendingWrite[] }[] = [];

  readonly #rollbackTo: string | null | undefined;

  constructor(
    ctx: RunContext,
    options: RunOptions,
    emit: (event: StreamEvent) => void,
    held?: HeldLease,
  ) {
    this.#ctx = ctx;
    this.#options = options;
    this.#emit = emit;
    this.#threadId = options.threadId;
    this.#durability = options.durability ?? "sync";
    this.#fence = held?.fence;
    this.#rollbackTo = held?.rollbackTo;
    if (!["sync", "async", "exit"].includes(this.#durability)) {
      throw new InvalidInputError(`durability must be "sync", "async" or "exit"`);
    }
  }

  async execute(input: unknown): Promise<RunResult> {
    const { checkpointer } = this.#ctx;
    // A rollback continues from where the preempted run started (null: an empty thread).
    const from = this.#rollbackTo !== undefined ? this.#rollbackTo : this.#options.checkpointId;
    // A replay from an older checkpoint needs only the head's id: a damaged head must not stop it.
    let latest: CheckpointTuple | undefined;
    let headId: string | undefined;
    if (typeof from === "string") {
      headId = await checkpointer.headId(this.#threadId);
      if (from === headId) latest = await checkpointer.get(this.#threadId, { checkpointId: from });
    } else {
      latest = await checkpointer.get(this.#threadId);
      headId = latest?.checkpoint.id;
    }
    this.#headId = headId ?? null;
    let tuple = latest;
    if (from === null) tuple = undefined;
    else if (from !== undefined && from !== this.#headId) {
      tuple = await checkpointer.get(this.#threadId, { checkpointId: from });
      if (!tuple) {
        throw new NotFoundError(`checkpoint ${from} not found`, {
          threadId: this.#threadId,
          checkpointId: from,
        });
      }
    }
    const loaded = tuple ? snapshotFromTuple(tuple) : EMPTY_SNAPSHOT;
    this.#saved = loaded;
    let current = tuple ? loadSnapshot(this.#ctx, tuple) : EMPTY_SNAPSHOT;
    let pending = new PendingIndex(tuple && tuple === latest ? tuple.pendingWrites : []);
    const isResume = isCommand(input) && input.hasResume;

    if (tuple && tuple !== latest && !isResume && from !== undefined) {
      current = await this.#fork(current);
      pending = new PendingIndex([]);
    }
    if (isResume) {
      if (tuple !== latest)
        throw new InvalidInputError("resume only applies to the thread's newest checkpoint");
      pending = await this.#resume(current, pending, input as Command);
    } else if (input === null || input === undefined) {
      if (!tuple) return this.#result(current, []);
      if (pending.interrupts.some((i) => i.kind === "interrupt"))
        return this.#result(current, pending.interrupts);
      const breakpoints = pending.interrupts.filter((i) => i.kind !== "interrupt");
      if (breakpoints.length > 0)
        pending = await this.#claim(
          current,
          pending,
          breakpoints.map((i) => [i.id, undefined]),
        );
    } else {
      current = await this.#input(current, input);
      pending = new PendingIndex([]);
    }
    return this.#loop(current, pending);
  }

  async #loop(start: Snapshot, startPending: PendingIndex): Promise<RunResult> {
    const limit = this.#options.recursionLimit ?? 25;
    const before = this.#options.interruptBefore ?? this.#ctx.interruptBefore;
    const after = this.#options.interruptAfter ?? this.#ctx.interruptAfter;
    let current = start;
    let pending = startPending;
    for (let stepsRun = 0; ; stepsRun++) {
      // A background write (async durability) that failed ends the run here with its error:
      // steps run after it could never be saved, and would run again when the thread resumes.
      if (this.#writeFailed) await this.#chain;
      const next = nextOf(current);
      if (next.length === 0) return this.#finish(current, []);
      if (stepsRun >= limit) {
        await this.#finishPersistence();
        throw new RecursionLimitError(
          `the run reached its recursion limit of ${limit} super-steps`,
          {
            threadId: this.#threadId,
            checkpointId: current.id,
          },
        );
      }
      const stopAt = next.filter((n) => before.includes(n));
      if (stopAt.length > 0) {
        const breakpointId = interruptId(`${BREAKPOINT_TASK}:before:${current.id}`, 0);
        if (!pending.claims.has(breakpointId))
          return this.#breakpoint(current, "before", stopAt, breakpointId);
      }
      const step = current.step + 1;
      const tasks = next.map((node, i) => ({
        node,
        id: taskIdOf(current.id, step, node, i),
        path: String(i).padStart(6, "0"),
      }));
      const outcomes = await Promise.all(
        tasks.map((task) => this.#runTask(current, step, task, pending, tasks.length === 1)),
      );
      for (const o of outcomes) {
        if (o.kind === "done" && o.fresh)
          this.#emit({
            type: "updates",
            step,
            node: o.task.node,
            update: Object.fromEntries(o.writes.map((w) => [w.channel, w.value])),
          });
      }
      const failed = outcomes.find((o) => o.kind === "failed");
      if (failed && failed.kind === "failed") {
        await this.#finishPersistence();
        const error = failed.error;
        throw new NodeFailedError(
          failed.task.node,
          `node "${failed.task.node}" failed: ${(error as Error)?.message ?? String(error)}`,
          {
            cause: error,
            threadId: this.#threadId,
            checkpointId: current.id,
          },
        );
      }
      const paused = outcomes.flatMap((o) => (o.kind === "interrupted" ? [o.interrupt] : []));
      if (paused.length > 0) {
        await this.#finishPersistence();
        this.#emit({ type: "interrupt", interrupts: paused });
        return this.#result(current, paused);
      }
      const done = outcomes as Extract<Outcome, { kind: "done" }>[];
      current = await this.#barrier(current, step, done, pending);
      pending = new PendingIndex([]);
      const ran = done.map((o) => o.task.node).filter((n) => after.includes(n));
      if (ran.length > 0 && nextOf(current).length > 0) {
        return this.#breakpoint(
          current,
          "after",
          ran,
          interruptId(`${BREAKPOINT_TASK}:after:${current.id}`, 0),
        );
      }
    }
  }

  async #runTask(
    current: Snapshot,
    step: number,
    task: Task,
    pending: PendingIndex,
    solo: boolean,
  ): Promise<Outcome> {
    if (pending.done.has(task.id)) {
      const stored = pending.writesOf(task.id);
      return {
        kind: "done",
        task,
        fresh: false,
        writes: stored
          .filter((w) => w.channel !== ROUTE_CHANNEL)
          .map((w) => ({ channel: w.channel, value: w.value })),
        goto: stored.filter((w) => w.channel === ROUTE_CHANNEL).flatMap((w) => w.value as string[]),
      };
    }
    const node = this.#ctx.spec.nodes.get(task.node);
    if (!node) {
      return {
        kind: "failed",
        task,
        error: new InvalidInputError(`checkpoint names unknown node "${task.node}"`),
      };
    }
    const answers = pending.answersFor(task.id);
    const state = stateView(this.#ctx.spec.channels, current.values);
    try {
      const returned = await withRetry(
        node.retry,
        (attempt) =>
          taskScope.run({ taskId: task.id, node: task.node, answers, counter: 0 }, async () =>
            node.fn(state, this.#nodeContext(current.id, step, task, attempt)),
          ),
        (error) => error instanceof GraphInterrupt,
      );
      const { writes, goto } = toWrites(this.#ctx.spec.channels, task.node, returned);
      const stored: PendingWrite[] = writes.map((w, idx) => ({
        taskId: task.id,
        taskPath: task.path,
        idx,
        channel: w.channel,
        value: w.value,
      }));
      if (goto.length > 0)
        stored.push({
          taskId: task.id,
          taskPath: task.path,
          idx: stored.length,
          channel: ROUTE_CHANNEL,
          value: goto,
        });
      stored.push({
        taskId: task.id,
        taskPath: task.path,
        idx: stored.length,
        channel: DONE_CHANNEL,
        value: null,
      });
      // A step's only task is recorded by the step's checkpoint itself, written right after:
      // saving its writes separately too would cost a second write of the same data.
      if (!solo) await this.#saveWrites(current.id, stored);
      return { kind: "done", task, writes, goto, fresh: true };
    } catch (error) {
      if (error instanceof GraphInterrupt) {
        await this.#saveWrites(current.id, [
          {
            taskId: task.id,
            taskPath: task.path,
            idx: INTERRUPT_IDX,
            channel: INTERRUPT_CHANNEL,
            value: error.interrupt,
          },
        ]);
        return { kind: "interrupted", task, interrupt: error.interrupt };
      }
      await this.#saveWrites(current.id, [
        {
          taskId: task.id,
          taskPath: task.path,
          idx: ERROR_IDX,
          channel: ERROR_CHANNEL,
          value: toStoredError(error),
        },
      ]);
      return { kind: "failed", task, error };
    }
  }

  #nodeContext(checkpointId: string, step: number, task: Task, attempt: number): NodeContext {
    const store = this.#store;
    return {
      threadId: this.#threadId,
      checkpointId,
      step,
      node: task.node,
      taskId: task.id,
      attempt,
      metadata: this.#options.metadata ?? {},
      idempotencyKey: `${this.#threadId}/${task.id}`,
      emit: (data) => this.#emit({ type: "custom", node: task.node, data }),
      get store(): TenantStore {
        return store();
      },
    };
  }

  /** The tenant-bound store, or a named error saying why there is none. */
  #store = (): TenantStore => {
    const { store } = this.#ctx;
    if (!store)
      throw new InvalidInputError("this graph has no store: compile({ store }) to give nodes one");
    if (this.#options.tenantId === undefined) {
      throw new InvalidInputError(
        "ctx.store needs the run's tenant: invoke(input, { threadId, tenantId })",
      );
    }
    return store.forTenant(this.#options.tenantId);
  };

  async #barrier(
    current: Snapshot,
    step: number,
    done: readonly Extract<Outcome, { kind: "done" }>[],
    pending: PendingIndex,
  ): Promise<Snapshot> {
    const { spec } = this.#ctx;
    const id = newCheckpointId(current.id);
    const commandWrites = pending.commandWrites.filter((w) => w.channel !== ROUTE_CHANNEL);
    const commandGoto = pending.commandWrites
      .filter((w) => w.channel === ROUTE_CHANNEL)
      .flatMap((w) => w.value as string[]);
    const writes: ChannelWrite[] = [
      ...commandWrites.map((w) => ({ channel: w.channel, value: w.value })),
      ...done.flatMap((o) => o.writes),
    ];
    const applied = applyWrites(spec.channels, current, writes, id, { singleWriterCheck: true });
    const state = stateView(spec.channels, applied.values);
    const gotos = [...commandGoto, ...done.flatMap((o) => o.goto)];
    const routed = await route(
      spec,
      done.map((o) => o.task.node),
      state,
      current.joins as Record<string, string[]>,
      gotos,
    );
    return this.#advance(
      current,
      id,
      "loop",
      step,
      applied,
      routed.next,
      routed.joins ?? current.joins,
    );
  }

  /** Writes the child of `current` (per the durability mode) and emits its values. */
  async #advance(
    current: Snapshot,
    id: string,
    source: CheckpointMetadata["source"],
    step: number,
    applied: { values: Record<string, unknown>; versions: Record<string, string> },
    next: readonly string[],
    joins: Snapshot["joins"],
  ): Promise<Snapshot> {
    const snapshot: Snapshot = {
      id,
      parentId: current.id || undefined,
      step,
      values: applied.values,
      versions: applied.versions,
      next,
      joins,
      appendState: current.appendState,
      metadata: this.#metadata(source, step),
      createdAt: new Date().toISOString(),
    };
    await this.#persist(snapshot);
    this.#emit({
      type: "values",
      step,
      checkpointId: id,
      values: stateView(this.#ctx.spec.channels, snapshot.values),
    });
    return snapshot;
  }

  async #input(current: Snapshot, input: unknown): Promise<Snapshot> {
    const { spec } = this.#ctx;
    let update: unknown = input;
    let goto: readonly string[] = [];
    if (isCommand(input)) {
      update = input.update ?? {};
      goto = input.goto;
    }
    if (typeof update !== "object" || update === null || Array.isArray(update)) {
      throw new InvalidInputError(
        "input must be an object of state channels, a Command, or null to continue",
      );
    }
    const { writes } = toWrites(spec.channels, "input", update);
    const id = newCheckpointId(current.id || undefined);
    const applied = applyWrites(spec.channels, current, writes, id, { singleWriterCheck: false });
    let next = [...goto];
    if (next.length === 0) {
      next = (await route(spec, [START], stateView(spec.channels, applied.values), undefined, []))
        .next;
    } else {
      next = (await route(spec, [], stateView(spec.channels, applied.values), undefined, next))
        .next;
    }
    return this.#advance(current, id, "input", current.step + 1, applied, next, {});
  }

  async #fork(from: Snapshot): Promise<Snapshot> {
    const id = newCheckpointId(this.#headId ?? from.id);
    const snapshot: Snapshot = {
      ...from,
      id,
      parentId: from.id,
      step: from.step + 1,
      metadata: this.#metadata("fork", from.step + 1),
      createdAt: new Date().toISOString(),
    };
    await this.#persist(snapshot);
    return snapshot;
  }

  async #resume(current: Snapshot, pending: PendingIndex, command: Command): Promise<PendingIndex> {
    const open = pending.interrupts;
    if (open.length === 0) {
      throw new AlreadyResumedError(
        `thread "${this.#threadId}" has no pending interrupt to resume`,
        {
          threadId: this.#threadId,
          checkpointId: current.id || undefined,
        },
      );
    }
    let answers: [string, unknown][];
    const resume = command.resume;
    const ids = new Set(open.map((i) => i.id));
    if (isAnswerMap(resume)) {
      answers = Object.entries(resume as Record<string, unknown>);
      const unknown = answers.find(([id]) => !ids.has(id));
      if (unknown) {
        throw new AlreadyResumedError(
          `interrupt ${unknown[0]} is not pending (already resumed, or unknown)`,
          {
            threadId: this.#threadId,
            checkpointId: current.id,
          },
        );
      }
    } else if (open.length === 1) {
      answers = [[open[0]!.id, resume]];
    } else {
      throw new InvalidInputError(
        `${open.length} interrupts are pending; resume with a map of interrupt id -> answer`,
        { threadId: this.#threadId, checkpointId: current.id },
      );
    }
    const claimed = await this.#claim(current, pending, answers);
    if (command.update !== undefined || command.goto.length > 0) {
      const { writes } = command.update
        ? toWrites(this.#ctx.spec.channels, "resume", command.update)
        : { writes: [] };
      const taskId = commandTaskId(this.#runId);
      const stored: PendingWrite[] = writes.map((w, idx) => ({
        taskId,
        taskPath: "",
        idx,
        channel: w.channel,
        value: w.value,
      }));
      if (command.goto.length > 0)
        stored.push({
          taskId,
          taskPath: "",
          idx: stored.length,
          channel: ROUTE_CHANNEL,
          value: [...command.goto],
        });
      await this.#ctx.checkpointer.putWrites(
        { threadId: this.#threadId, checkpointId: current.id },
        stored,
        this.#fence,
      );
      return new PendingIndex([...claimedWrites(claimed), ...stored.map((w) => w)]);
    }
    return claimed;
  }

  /** Claims interrupts (insert-or-ignore), then reads back: a claim won by another run fails. */
  async #claim(
    current: Snapshot,
    _pending: PendingIndex,
    answers: [string, unknown][],
  ): Promise<PendingIndex> {
    const key = { threadId: this.#threadId, checkpointId: current.id };
    await this.#ctx.checkpointer.putWrites(
      key,
      answers.map(([id, answer]) => ({
        taskId: claimTaskId(id),
        taskPath: "",
        idx: 0,
        channel: RESUME_CHANNEL,
        value: { runId: this.#runId, answer },
      })),
      this.#fence,
    );
    const fresh = await this.#ctx.checkpointer.get(this.#threadId, { checkpointId: current.id });
    const index = new PendingIndex(fresh?.pendingWrites ?? []);
    for (const [id] of answers) {
      if (index.claims.get(id)?.runId !== this.#runId) {
        throw new AlreadyResumedError(`interrupt ${id} was already resumed by another run`, key);
      }
    }
    return index;
  }

  async #breakpoint(
    current: Snapshot,
    kind: "before" | "after",
    nodes: string[],
    id: string,
  ): Promise<RunResult> {
    const pause: Interrupt = { id, value: { breakpoint: kind, nodes }, node: nodes[0]!, kind };
    await this.#persistNow();
    await this.#ctx.checkpointer.putWrites(
      { threadId: this.#threadId, checkpointId: current.id },
      [
        {
          taskId: `${BREAKPOINT_TASK}:${kind}`,
          taskPath: "",
          idx: INTERRUPT_IDX,
          channel: INTERRUPT_CHANNEL,
          value: pause,
        },
      ],
      this.#fence,
    );
    this.#emit({ type: "interrupt", interrupts: [pause] });
    return this.#result(current, [pause]);
  }

  #metadata(source: CheckpointMetadata["source"], step: number): CheckpointMetadata {
    return { ...(this.#options.metadata ?? {}), source, step };
  }

  // --- persistence, by durability mode ---
  // sync: every write awaited in order; async: writes chained in order in the background and
  // awaited when the run stops; exit: only the last checkpoint (and, when the run stops
  // mid-step, that step's task writes) is written when the run stops.

  async #persist(snapshot: Snapshot): Promise<void> {
    if (this.#durability === "exit") {
      this.#unsaved = snapshot;
      return;
    }
    this.#enqueuePut(snapshot);
    if (this.#durability === "sync") await this.#chain;
  }

  #enqueuePut(snapshot: Snapshot): void {
    const saved = this.#saved;
    const encoded = this.#ctx.checkpointer.encode({
      threadId: this.#threadId,
      id: snapshot.id,
      parentId: saved.id || undefined,
      channelVersions: snapshot.versions,
      versionsSeen: {},
      metadata: snapshot.metadata,
      schemaVersion: this.#ctx.schemaVersion,
      createdAt: snapshot.createdAt,
      extra: extraOf(snapshot),
      updates: diffUpdates(saved, snapshot, (channel) => this.#ctx.spec.channels[channel]?.kind),
    });
    const expectedHead = this.#headId;
    this.#saved = { ...snapshot, appendState: { ...saved.appendState, ...encoded.appendState } };
    this.#headId = snapshot.id;
    this.#unsaved = undefined;
    this.#enqueue(() =>
      this.#ctx.checkpointer.write(encoded, { expectedHead, fence: this.#fence }),
    );
  }

  #enqueue(work: () => Promise<void>): void {
    this.#chain = this.#chain.then(work);
    // Marked handled here; the rejection still surfaces where the chain is awaited.
    this.#chain.catch(() => {
      this.#writeFailed = true;
    });
  }

  async #saveWrites(checkpointId: string, writes: PendingWrite[]): Promise<void> {
    if (this.#durability === "exit") {
      this.#deferred.push({ checkpointId, writes });
      return;
    }
    this.#enqueue(() =>
      this.#ctx.checkpointer.putWrites(
        { threadId: this.#threadId, checkpointId },
        writes,
        this.#fence,
      ),
    );
    if (this.#durability === "sync") await this.#chain;
  }

  /** Everything up to `current` is durable when this resolves, whatever the durability. */
  async #persistNow(): Promise<void> {
    if (this.#unsaved) this.#enqueuePut(this.#unsaved);
    await this.#chain;
  }

  /** The run stops mid-step: the step's checkpoint, then the writes its tasks made. */
  async #finishPersistence(): Promise<void> {
    if (this.#unsaved) this.#enqueuePut(this.#unsaved);
    for (const d of this.#deferred) {
      this.#enqueue(() =>
        this.#ctx.checkpointer.putWrites(
          { threadId: this.#threadId, checkpointId: d.checkpointId },
          d.writes,
          this.#fence,
        ),
      );
    }
    this.#deferred = [];
    await this.#chain;
  }

  async #finish(current: Snapshot, interrupts: Interrupt[]): Promise<RunResult> {
    this.#deferred = [];
    await this.#persistNow();
    return this.#result(current, interrupts);
  }

  #result(current: Snapshot, interrupts: readonly Interrupt[]): RunResult {
    return {
      threadId: this.#threadId,
      checkpointId: current.id || undefined,
      status: interrupts.length > 0 ? "interrupted" : "done",
      values: stateView(this.#ctx.spec.channels, current.values),
      interrupts: [...interrupts],
      next: nextOf(current),
    };
  }
}

/** Deterministic task id: the same step of the same checkpoint always yields the same ids. */
export function taskIdOf(checkpointId: string, step: number, node: string, index: number): string {
  return createHash("sha256")
    .update(`${checkpointId}\0${step}\0${node}\0${index}`)
    .digest("hex")
    .slice(0, 32);
}

function toStoredError(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: String(error) };
}

/**
 * A map of interrupt id -> answer: a non-empty object whose keys all look like interrupt ids.
 * Its keys must then all be pending (checked by the caller): a map naming none of them is
 * refused rather than taken whole as the answer.
 */
function isAnswerMap(resume: unknown): boolean {
  if (typeof resume !== "object" || resume === null || Array.isArray(resume)) return false;
  const keys = Object.keys(resume);
  return keys.length > 0 && keys.every((k) => /^[0-9a-f]{32}$/.test(k));
}

function claimedWrites(index: PendingIndex): PendingWrite[] {
  const out: PendingWrite[] = [];
  for (const list of index.byTask.values()) out.push(...list);
  for (const [id, claim] of index.claims) {
    out.push({
      taskId: claimTaskId(id),
      taskPath: "",
      idx: 0,
      channel: RESUME_CHANNEL,
      value: claim,
    });
  }
  out.push(...index.commandWrites);
  return out;
}

/** A stored checkpoint as the running graph sees it: migrated to its state schema. */
export function loadSnapshot(ctx: RunContext, tuple: CheckpointTuple): Snapshot {
  return migrateSnapshot(
    snapshotFromTuple(tuple),
    tuple.checkpoint.schemaVersion,
    ctx.schemaVersion,
    ctx.migrations,
    Object.keys(ctx.spec.channels),
    `${tuple.checkpoint.id}.s${ctx.schemaVersion}`,
    { threadId: tuple.checkpoint.threadId },
  );
}
