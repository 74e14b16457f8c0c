/**
 * Human-in-the-loop answers. A run claims the pending interrupts it answers (insert-or-ignore,
 * then read back: a claim another run won fails with `AlreadyResumedError`), and records a
 * resume command's update and goto as writes of the paused checkpoint.
 */

import type { PendingWrite } from "../checkpoint/checkpointer.js";
import { AlreadyResumedError, InvalidInputError } from "../errors.js";
import { toWrites } from "./apply.js";
import type { Command } from "./command.js";
import { RESUME_CHANNEL, ROUTE_CHANNEL } from "./constants.js";
import { claimTaskId, commandTaskId, PendingIndex } from "./pending.js";
import type { RunScope } from "./run-scope.js";
import type { Snapshot } from "./snapshot.js";

/** Answers the pending interrupts of `current` with `command.resume`, and records its update. */
export async function resume(
  run: RunScope,
  current: Snapshot,
  pending: PendingIndex,
  command: Command,
): Promise<PendingIndex> {
  const where = { threadId: run.threadId, checkpointId: current.id || undefined };
  const open = pending.interrupts;
  if (open.length === 0) {
    throw new AlreadyResumedError(
      `thread "${run.threadId}" has no pending interrupt to resume`,
      where,
    );
  }
  let answers: [string, unknown][];
  const answer = command.resume;
  const ids = new Set(open.map((i) => i.id));
  if (isAnswerMap(answer)) {
    answers = Object.entries(answer as Record<string, unknown>);
    const unknown = answers.find(([id]) => !ids.has(id));
    if (unknown) {
      throw new AlreadyResumedError(
        `interrupt ${unknown[0]} is not pending (already resumed, or unknown)`,
        where,
      );
    }
  } else if (open.length === 1) {
    answers = [[open[0]!.id, answer]];
  } else {
    throw new InvalidInputError(
      `${open.length} interrupts are pending; resume with a map of interrupt id -> answer`,
      where,
    );
  }
  const claimed = await claim(run, current, answers);
  if (command.update === undefined && command.goto.length === 0) return claimed;
  const { writes } = command.update
    ? toWrites(run.ctx.spec.channels, "resume", command.update)
    : { writes: [] };
  const taskId = commandTaskId(run.runId);
  const record = (idx: number, channel: string, value: unknown): PendingWrite => ({
    taskId,
    taskPath: "",
    idx,
    channel,
    value,
  });
  const stored = writes.map((w, idx) => record(idx, w.channel, w.value));
  if (command.goto.length > 0) stored.push(record(stored.length, ROUTE_CHANNEL, [...command.goto]));
  await run.writer.writeNow(current.id, stored);
  return new PendingIndex([...claimedWrites(claimed), ...stored]);
}

/** Claims interrupts (insert-or-ignore), then reads back: a claim won by another run fails. */
export async function claim(
  run: RunScope,
  current: Snapshot,
  answers: [string, unknown][],
): Promise<PendingIndex> {
  const key = { threadId: run.threadId, checkpointId: current.id };
  await run.writer.writeNow(
    current.id,
    answers.map(([id, answer]) => ({
      taskId: claimTaskId(id),
      taskPath: "",
      idx: 0,
      channel: RESUME_CHANNEL,
      value: { runId: run.runId, answer },
    })),
  );
  const fresh = await run.ctx.checkpointer.get(run.threadId, { checkpointId: current.id });
  const index = new PendingIndex(fresh?.pendingWrites ?? []);
  for (const [id] of answers) {
    if (index.claims.get(id)?.runId !== run.runId) {
      throw new AlreadyResumedError(`interrupt ${id} was already resumed by another run`, key);
    }
  }
  return index;
}

/**
 * A map of interrupt id -> answer: a non-empty object whose keys all look like interrupt ids.
 * Its keys must then all be pending (checked by the caller): a map naming none of them is
 * refused rather than taken whole as the answer.
 */
function isAnswerMap(answer: unknown): boolean {
  if (typeof answer !== "object" || answer === null || Array.isArray(answer)) return false;
  const keys = Object.keys(answer);
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
