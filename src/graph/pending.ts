/**
 * Reading a checkpoint's pending writes: which tasks finished, which are paused, which
 * interrupts were claimed by a resume, and what answers a rerun task gets.
 */
import type { PendingWrite } from "../checkpoint/checkpointer.js";
import {
  COMMAND_TASK,
  DONE_CHANNEL,
  ERROR_CHANNEL,
  INTERRUPT_CHANNEL,
  RESUME_CHANNEL,
} from "./constants.js";
import { type Interrupt, interruptId } from "./interrupt.js";

/** A resume's claim on one interrupt: written insert-or-ignore, so the first claim wins. */
export interface Claim {
  readonly runId: string;
  readonly answer: unknown;
}

export const claimTaskId = (interruptIdValue: string) => `${RESUME_CHANNEL}:${interruptIdValue}`;
export const commandTaskId = (runId: string) => `${COMMAND_TASK}:${runId}`;

/** A checkpoint's pending writes, indexed. */
export class PendingIndex {
  readonly byTask = new Map<string, PendingWrite[]>();
  readonly claims = new Map<string, Claim>();
  readonly done = new Set<string>();
  readonly interrupts: Interrupt[] = [];
  readonly errors = new Map<string, unknown>();
  /** Writes of resume commands (`Command.update` / `goto`), applied before the step's tasks. */
  readonly commandWrites: PendingWrite[] = [];

  constructor(writes: readonly PendingWrite[]) {
    for (const write of writes) {
      if (write.taskId.startsWith(`${RESUME_CHANNEL}:`)) {
        const claim = write.value as Claim;
        this.claims.set(write.taskId.slice(RESUME_CHANNEL.length + 1), claim);
        continue;
      }
      if (write.taskId.startsWith(`${COMMAND_TASK}:`)) {
        this.commandWrites.push(write);
        continue;
      }
      const list = this.byTask.get(write.taskId) ?? [];
      list.push(write);
      this.byTask.set(write.taskId, list);
      if (write.channel === DONE_CHANNEL) this.done.add(write.taskId);
      if (write.channel === ERROR_CHANNEL) this.errors.set(write.taskId, write.value);
    }
    for (const [taskId, list] of this.byTask) {
      if (this.done.has(taskId)) continue;
      for (const write of list) {
        if (write.channel !== INTERRUPT_CHANNEL) continue;
        const pause = write.value as Interrupt;
        if (!this.claims.has(pause.id)) this.interrupts.push(pause);
      }
    }
  }

  /** Answers for a task's interrupts, in call order, as far as they were claimed. */
  answersFor(taskId: string): unknown[] {
    const answers: unknown[] = [];
    for (let k = 0; ; k++) {
      const claim = this.claims.get(interruptId(taskId, k));
      if (!claim) return answers;
      answers.push(claim.answer);
    }
  }

  /** Regular writes of a finished task, in order. */
  writesOf(taskId: string): PendingWrite[] {
    return (this.byTask.get(taskId) ?? []).filter((w) => w.idx >= 0 && w.channel !== DONE_CHANNEL);
  }
}
