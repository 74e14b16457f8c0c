/**
 * One invocation of a compiled graph on one thread: the super-step loop. It loads the head,
 * applies the input or the resume, then runs super-steps (tasks concurrently, writes applied at
 * the barrier, one checkpoint per step) until the graph ends, pauses, or a node fails. Running a
 * task lives in `task.ts`, answering interrupts in `resume.ts`, and every write goes through the
 * run's {@link RunWriter}.
 */
import { randomUUID } from "node:crypto";
import type { CheckpointMetadata, CheckpointTuple } from "../checkpoint/checkpointer.js";
import {
  InvalidInputError,
  NodeFailedError,
  NotFoundError,
  RecursionLimitError,
  RunStoppedError,
} from "../errors.js";
import { newCheckpointId } from "../ids.js";
import { applyWrites, type ChannelWrite, stateView, toWrites } from "./apply.js";
import { type Command, isCommand } from "./command.js";
import {
  BREAKPOINT_TASK,
  INTERRUPT_CHANNEL,
  INTERRUPT_IDX,
  ROUTE_CHANNEL,
  START,
} from "./constants.js";
import type { EffectMark } from "./effect.js";
import type { RunContext } from "./graph-spec.js";
import { type Interrupt, interruptId } from "./interrupt.js";
import { loadSnapshot } from "./migrations.js";
import { PendingIndex } from "./pending.js";
import { claim, resume } from "./resume.js";
import { route } from "./routing.js";
import type { RunScope } from "./run-scope.js";
import { traceRun, traceStep } from "./run-tracing.js";
import type { Durability, RunOptions, RunResult, StreamEvent } from "./run-types.js";
import { RunWriter } from "./run-writer.js";
import {
  type ChildFields,
  childOf,
  EMPTY_SNAPSHOT,
  nextOf,
  type Snapshot,
  snapshotFromTuple,
} from "./snapshot.js";
import { type Done, runTask, tasksOf } from "./task.js";
import type { HeldLease } from "./thread-lease.js";

export class Run {
  readonly #ctx: RunContext;
  readonly #options: RunOptions;
  readonly #emit: (event: StreamEvent) => void;
  readonly #threadId: string;
  readonly #durability: Durability;
  readonly #held: HeldLease | undefined;
  /** The run span's trace context, stored with each checkpoint it writes (when traced). */
  #traceparent: string | undefined;
  /** What the run's tasks, resume and writes share; set once the start checkpoint is loaded. */
  #run!: RunScope;

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
    this.#held = held;
    if (!["sync", "async", "exit"].includes(this.#durability)) {
      throw new InvalidInputError(`durability must be "sync", "async" or "exit"`);
    }
  }

  get #writer(): RunWriter {
    return this.#run.writer;
  }

  async execute(input: unknown): Promise<RunResult> {
    const { checkpointer } = this.#ctx;
    // A rollback continues from where the preempted run started (null: an empty thread).
    const rollbackTo = this.#held?.rollbackTo;
    const from = rollbackTo !== undefined ? rollbackTo : this.#options.checkpointId;
    // A replay from an older checkpoint needs only the head's id: a damaged head must not stop it.
    // Where the backend folds leases, the head was read with the grant (`held.head`).
    const held = this.#held;
    let latest: CheckpointTuple | undefined;
    let storedHead: string | undefined;
    if (typeof from === "string") {
      storedHead =
        held?.headId !== undefined
          ? (held.headId ?? undefined)
          : await checkpointer.headId(this.#threadId);
      if (from === storedHead)
        latest = held?.head
          ? held.head()
          : await checkpointer.get(this.#threadId, { checkpointId: from });
    } else {
      latest = held?.head ? held.head() : await checkpointer.get(this.#threadId);
      storedHead = latest?.checkpoint.id;
    }
    const headId = storedHead ?? null;
    // Under the lease, so an earlier attempt still running has finished its writes by now.
    if (input != null && (await this.#appliedBefore(headId, latest))) input = null;
    let tuple = latest;
    if (from === null) tuple = undefined;
    else if (from !== undefined && from !== headId) {
      tuple = await checkpointer.get(this.#threadId, { checkpointId: from });
      if (!tuple) {
        throw new NotFoundError(`checkpoint ${from} not found`, {
          threadId: this.#threadId,
          checkpointId: from,
        });
      }
    }
    return traceRun(this.#options, latest?.checkpoint.metadata, (traceparent) => {
      this.#traceparent = traceparent;
      return this.#begin(input, latest, tuple, headId, from);
    });
  }

  async #begin(
    input: unknown,
    latest: CheckpointTuple | undefined,
    tuple: CheckpointTuple | undefined,
    headId: string | null,
    from: string | null | undefined,
  ): Promise<RunResult> {
    const writer = new RunWriter(
      {
        checkpointer: this.#ctx.checkpointer,
        threadId: this.#threadId,
        schemaVersion: this.#ctx.schemaVersion,
        channels: this.#ctx.spec.channels,
        durability: this.#durability,
        fence: this.#held?.fence,
        released: this.#held?.released,
      },
      tuple ? snapshotFromTuple(tuple) : EMPTY_SNAPSHOT,
      headId,
    );
    this.#run = {
      ctx: this.#ctx,
      options: this.#options,
      threadId: this.#threadId,
      runId: randomUUID(),
      writer,
      emit: this.#emit,
      inflight: new Map(),
    };
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
      pending = await resume(this.#run, current, pending, input as Command);
    } else if (input === null || input === undefined) {
      if (!tuple) return this.#result(current, []);
      if (pending.interrupts.some((i) => i.kind === "interrupt"))
        return this.#result(current, pending.interrupts);
      const breakpoints = pending.interrupts.filter((i) => i.kind !== "interrupt");
      if (breakpoints.length > 0)
        pending = await claim(
          this.#run,
          current,
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
      if (this.#writer.failed) await this.#writer.settle();
      const next = nextOf(current);
      if (next.length === 0) return this.#finish(current);
      if (this.#options.signal?.aborted) {
        await this.#writer.flushAll();
        throw new RunStoppedError(
          `the run stopped at checkpoint ${current.id || "(none)"}: its signal was aborted; invoke(null) continues it`,
          { threadId: this.#threadId, checkpointId: current.id || undefined },
        );
      }
      if (stepsRun >= limit) {
        await this.#writer.flushAll();
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
      const tasks = tasksOf(current.id, step, next);
      const outcomes = await traceStep(step, tasks, (task) =>
        runTask(this.#run, current, step, task, pending, tasks.length === 1),
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
        await this.#writer.flushAll();
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
        await this.#writer.flushAll();
        this.#emit({ type: "interrupt", interrupts: paused });
        return this.#result(current, paused);
      }
      const done = outcomes as Done[];
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

  async #barrier(
    current: Snapshot,
    step: number,
    done: readonly Done[],
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
    return this.#advance(current, {
      id,
      step,
      ...applied,
      next: routed.next,
      joins: routed.joins ?? current.joins,
      metadata: withEffects(
        this.#metadata("loop", step),
        done.flatMap((o) => o.effects),
      ),
    });
  }

  /** Writes the child of `current` (per the durability mode) and emits its values. */
  async #advance(current: Snapshot, fields: ChildFields): Promise<Snapshot> {
    const snapshot = childOf(current, fields);
    // With nothing next, the run finishes on this checkpoint: its write releases the lease.
    await this.#writer.persist(snapshot, nextOf(snapshot).length === 0);
    this.#emit({
      type: "values",
      step: snapshot.step,
      checkpointId: snapshot.id,
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
    const state = stateView(spec.channels, applied.values);
    const next = (
      goto.length === 0
        ? await route(spec, [START], state, undefined, [])
        : await route(spec, [], state, undefined, [...goto])
    ).next;
    const step = current.step + 1;
    return this.#advance(current, {
      id,
      step,
      ...applied,
      next,
      joins: {},
      metadata: this.#metadata("input", step),
    });
  }

  async #fork(from: Snapshot): Promise<Snapshot> {
    const id = newCheckpointId(this.#writer.headId ?? from.id);
    const snapshot: Snapshot = {
      ...from,
      id,
      parentId: from.id,
      step: from.step + 1,
      metadata: this.#metadata("fork", from.step + 1),
      createdAt: new Date().toISOString(),
    };
    await this.#writer.persist(snapshot);
    return snapshot;
  }

  async #breakpoint(
    current: Snapshot,
    kind: "before" | "after",
    nodes: string[],
    id: string,
  ): Promise<RunResult> {
    const pause: Interrupt = { id, value: { breakpoint: kind, nodes }, node: nodes[0]!, kind };
    await this.#writer.flush();
    await this.#writer.writeNow(current.id, [
      {
        taskId: `${BREAKPOINT_TASK}:${kind}`,
        taskPath: "",
        idx: INTERRUPT_IDX,
        channel: INTERRUPT_CHANNEL,
        value: pause,
      },
    ]);
    this.#emit({ type: "interrupt", interrupts: [pause] });
    return this.#result(current, [pause]);
  }

  /**
   * Whether a checkpoint of the thread carries the run's `applyOnce` entries already. The head
   * (`headId`, loaded as `latest` when it was read) answers without a search when it can: an
   * empty thread carries nothing, and a head written by the run that applied them carries them.
   */
  async #appliedBefore(headId: string | null, latest: CheckpointTuple | undefined) {
    const filter = this.#options.applyOnce;
    if (filter === undefined || headId === null) return false;
    if (latest?.checkpoint.id === headId) {
      const metadata = latest.checkpoint.metadata as Record<string, unknown>;
      if (Object.entries(filter).every(([key, value]) => metadata[key] === value)) return true;
    }
    const found = this.#ctx.checkpointer.listHeaders({
      threadId: this.#threadId,
      filter,
      limit: 1,
    });
    for await (const _ of found) return true;
    return false;
  }

  #metadata(source: CheckpointMetadata["source"], step: number): CheckpointMetadata {
    const { metadata: extra, applyOnce } = this.#options;
    const metadata = { ...(extra ?? {}), ...(applyOnce ?? {}), source, step };
    return this.#traceparent ? { ...metadata, traceparent: this.#traceparent } : metadata;
  }

  async #finish(current: Snapshot): Promise<RunResult> {
    this.#writer.dropDeferred();
    await this.#writer.flush();
    return this.#result(current, []);
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

/** The step's metadata, listing the effects its tasks met (when they met any). */
function withEffects(
  metadata: CheckpointMetadata,
  effects: readonly EffectMark[],
): CheckpointMetadata {
  return effects.length === 0 ? metadata : { ...metadata, effects: [...effects] };
}
