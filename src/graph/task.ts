/**
 * Running one task of a super-step: the node under its retry policy and interrupt scope, and its
 * outcome turned into stored writes. A finished task records its channel writes, its gotos (a
 * ROUTE record) and a DONE record; a paused one its interrupt; a failed one its error. A task
 * already recorded as done against the checkpoint is not run again: its stored writes are used.
 */
import { createHash } from "node:crypto";
import type { PendingWrite } from "../checkpoint/checkpointer.js";
import { InvalidInputError, isRewindError } from "../errors.js";
import type { TenantStore } from "../store/tenant-store.js";
import { type ChannelWrite, stateView, toWrites } from "./apply.js";
import {
  DONE_CHANNEL,
  ERROR_CHANNEL,
  ERROR_IDX,
  INTERRUPT_CHANNEL,
  INTERRUPT_IDX,
  ROUTE_CHANNEL,
} from "./constants.js";
import { type EffectMark, runEffect } from "./effect.js";
import { GraphInterrupt, type Interrupt, taskScope } from "./interrupt.js";
import type { NodeContext } from "./node-context.js";
import type { PendingIndex } from "./pending.js";
import { withRetry } from "./retry.js";
import type { RunScope } from "./run-scope.js";
import type { Snapshot } from "./snapshot.js";

export interface Task {
  readonly node: string;
  readonly id: string;
  readonly path: string;
}

export type Outcome =
  | {
      kind: "done";
      task: Task;
      writes: ChannelWrite[];
      goto: string[];
      fresh: boolean;
      /** The effects the task met (ran, or reused from the ledger). */
      effects: readonly EffectMark[];
    }
  | { kind: "interrupted"; task: Task; interrupt: Interrupt }
  | { kind: "failed"; task: Task; error: unknown };

export type Done = Extract<Outcome, { kind: "done" }>;

/** The tasks of the step after `checkpointId`, one per node of `next`, in order. */
export function tasksOf(checkpointId: string, step: number, next: readonly string[]): Task[] {
  return next.map((node, i) => ({
    node,
    id: taskIdOf(checkpointId, step, node, i),
    path: String(i).padStart(6, "0"),
  }));
}

/** Deterministic task id: the same step of the same checkpoint always yields the same ids. */
export function taskIdOf(checkpointId: string, step: number, node: string, index: number): string {
  return createHash("sha256")
    .update(`${checkpointId}\0${step}\0${node}\0${index}`)
    .digest("hex")
    .slice(0, 32);
}

/**
 * Runs `task` on `current` and saves what it wrote. `solo`: the step's only task, whose writes
 * the step's checkpoint records itself.
 */
export async function runTask(
  run: RunScope,
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
      effects: [],
      writes: stored
        .filter((w) => w.channel !== ROUTE_CHANNEL)
        .map((w) => ({ channel: w.channel, value: w.value })),
      goto: stored.filter((w) => w.channel === ROUTE_CHANNEL).flatMap((w) => w.value as string[]),
    };
  }
  const { spec } = run.ctx;
  const node = spec.nodes.get(task.node);
  if (!node) {
    return {
      kind: "failed",
      task,
      error: new InvalidInputError(`checkpoint names unknown node "${task.node}"`),
    };
  }
  const answers = pending.answersFor(task.id);
  const state = stateView(spec.channels, current.values);
  const record = (idx: number, channel: string, value: unknown): PendingWrite => ({
    taskId: task.id,
    taskPath: task.path,
    idx,
    channel,
    value,
  });
  const marks: EffectMark[] = [];
  const answerOf = (id: string) => pending.claims.get(id);
  try {
    const returned = await withRetry(
      node.retry,
      (attempt) =>
        taskScope.run(
          { taskId: task.id, node: task.node, answers, counter: 0, answerOf },
          async () => node.fn(state, nodeContext(run, current, step, task, attempt, marks)),
        ),
      // An effect's recorded failure or unknown outcome is the same on every attempt.
      (error) =>
        error instanceof GraphInterrupt ||
        isRewindError(error, "EFFECT_FAILED") ||
        isRewindError(error, "EFFECT_UNKNOWN"),
    );
    const { writes, goto } = toWrites(spec.channels, task.node, returned);
    const stored = writes.map((w, idx) => record(idx, w.channel, w.value));
    if (goto.length > 0) stored.push(record(stored.length, ROUTE_CHANNEL, goto));
    stored.push(record(stored.length, DONE_CHANNEL, null));
    // A step's only task is recorded by the step's checkpoint itself, written right after:
    // saving its writes separately too would cost a second write of the same data.
    if (!solo) await run.writer.saveWrites(current.id, stored);
    return { kind: "done", task, writes, goto, fresh: true, effects: marks };
  } catch (error) {
    if (error instanceof GraphInterrupt) {
      await run.writer.saveWrites(current.id, [
        record(INTERRUPT_IDX, INTERRUPT_CHANNEL, error.interrupt),
      ]);
      return { kind: "interrupted", task, interrupt: error.interrupt };
    }
    await run.writer.saveWrites(current.id, [
      record(ERROR_IDX, ERROR_CHANNEL, toStoredError(error)),
    ]);
    return { kind: "failed", task, error };
  }
}

function nodeContext(
  run: RunScope,
  current: Snapshot,
  step: number,
  task: Task,
  attempt: number,
  marks: EffectMark[],
): NodeContext {
  const checkpointId = current.id;
  const site = {
    ledger: run.ctx.checkpointer.effects,
    threadId: run.threadId,
    checkpointId,
    taskId: task.id,
    node: task.node,
    fence: run.writer.fence,
    epochs: current.effectEpochs ?? {},
    inflight: run.inflight,
    marks,
  };
  return {
    threadId: run.threadId,
    checkpointId,
    step,
    node: task.node,
    taskId: task.id,
    attempt,
    metadata: run.options.metadata ?? {},
    signal: run.options.signal,
    idempotencyKey: `${run.threadId}/${task.id}`,
    emit: (data) => run.emit({ type: "custom", node: task.node, data }),
    effect: (name, args, fn, policy) => runEffect(site, name, args, fn, policy),
    get store(): TenantStore {
      return tenantStore(run);
    },
  };
}

/** The tenant-bound store, or a named error saying why there is none. */
function tenantStore(run: RunScope): TenantStore {
  const { store } = run.ctx;
  if (!store)
    throw new InvalidInputError("this graph has no store: compile({ store }) to give nodes one");
  if (run.options.tenantId === undefined) {
    throw new InvalidInputError(
      "ctx.store needs the run's tenant: invoke(input, { threadId, tenantId })",
    );
  }
  return store.forTenant(run.options.tenantId);
}

function toStoredError(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: String(error) };
}
