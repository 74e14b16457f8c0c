/**
 * Human-in-the-loop answers. A run claims the pending interrupts it answers (insert-or-ignore,
 * then read back: a claim another run won fails with `AlreadyResumedError`), and records a
 * resume command's update and goto as writes of the paused checkpoint.
 */

import { isDeepStrictEqual } from "node:util";
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
    if (pending.claims.size > 0) return answeredBefore(run, current, pending, command, where);
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
  return recordCommand(run, current, await claim(run, current, answers), command, run.runId);
}

/**
 * A resume of a checkpoint whose interrupts an earlier run already claimed, and which has not
 * moved on since: that run stopped before its next checkpoint (it failed, or its caller lost the
 * reply), and this run holds the thread's lease, so the earlier one is not running. The same
 * answers again are a retry and continue from the recorded answers (a command's update and goto
 * are recorded once); different answers are refused, naming what was recorded.
 */
function answeredBefore(
  run: RunScope,
  current: Snapshot,
  pending: PendingIndex,
  command: Command,
  where: { threadId: string; checkpointId: string | undefined },
): Promise<PendingIndex> {
  const claims = [...pending.claims];
  const answer = command.resume;
  const same = isAnswerMap(answer)
    ? Object.entries(answer as Record<string, unknown>).every(([id, value]) =>
        isDeepStrictEqual(pending.claims.get(id)?.answer, value),
      )
    : claims.length === 1 && isDeepStrictEqual(claims[0]![1].answer, answer);
  if (!same) {
    throw new AlreadyResumedError(
      `thread "${run.threadId}" was already resumed with a different answer by a run that stopped ` +
        `before its next checkpoint; invoke with null input to continue with the recorded answer`,
      where,
    );
  }
  const earlierRun = claims[0]![1].runId;
  const recorded = pending.commandWrites.some((w) => w.taskId === commandTaskId(earlierRun));
  return recorded
    ? Promise.resolve(pending)
    : recordCommand(run, current, pending, command, earlierRun);
}

/** Records a resume command's update and goto (if any) against the paused checkpoint. */
async function recordCommand(
  run: RunScope,
  current: Snapshot,
  claimed: PendingIndex,
  command: Command,
  runId: string,
): Promise<PendingIndex> {
  if (command.update === undefined && command.goto.length === 0) return claimed;
  const { writes } = command.update
    ? toWrites(run.ctx.spec.channels, "resume", command.update)
    : { writes: [] };
  const taskId = commandTaskId(runId);
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
