/**
 * Human in the loop: `interrupt(value)` pauses the running node; a later resume makes the same
 * call return the human's answer. Control flow, not an error: a {@link GraphInterrupt} escapes
 * the node and the runtime records it as a pending interrupt.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { createHash } from "node:crypto";
import { InvalidInputError } from "../errors.js";

/** A pending pause, as returned by `invoke` and `getState`. */
export interface Interrupt {
  /** Stable id; answer it with `Command.resume({ [id]: answer })`. */
  readonly id: string;
  /** What the node asked (shown to the human). */
  readonly value: unknown;
  /** The node that paused, or the node a breakpoint stopped before or after. */
  readonly node: string;
  /** `interrupt` for `interrupt()` calls, `before`/`after` for static breakpoints. */
  readonly kind: "interrupt" | "before" | "after";
}

/** Thrown by `interrupt()` when no answer exists yet; caught by the runtime. */
export class GraphInterrupt {
  readonly interrupt: Interrupt;
  constructor(interrupt: Interrupt) {
    this.interrupt = interrupt;
  }
}

/** What a running task knows about itself; reachable from `interrupt()` through async context. */
export interface TaskScope {
  readonly taskId: string;
  readonly node: string;
  /** Answers to this task's interrupts, in the order the node calls `interrupt()`. */
  readonly answers: readonly unknown[];
  counter: number;
  /** The answer claimed for an interrupt of this task raised with its own id (see `interruptAs`). */
  readonly answerOf?: ((id: string) => { answer: unknown } | undefined) | undefined;
}

export const taskScope = new AsyncLocalStorage<TaskScope>();

/** The id of a task's n-th interrupt: deterministic, so a rerun of the task finds its answers. */
export function interruptId(taskId: string, index: number): string {
  return createHash("sha256").update(`${taskId}:${index}`).digest("hex").slice(0, 32);
}

/**
 * Pauses the current node until a human answers. Returns the answer on resume; calls are
 * answered in order, so a node may ask several questions. Code before the call runs again on
 * resume: keep side effects after it, or make them idempotent.
 *
 * @example
 * const approved = interrupt({ question: "Book this flight?", flight });
 */
export function interrupt<Answer = unknown>(value: unknown): Answer {
  const scope = taskScope.getStore();
  if (!scope) {
    throw new InvalidInputError("interrupt() can only be called inside a running graph node");
  }
  const index = scope.counter++;
  if (index < scope.answers.length) return scope.answers[index] as Answer;
  throw new GraphInterrupt({
    id: interruptId(scope.taskId, index),
    value,
    node: scope.node,
    kind: "interrupt",
  });
}

/**
 * Like {@link interrupt}, under an id of the caller's choosing (unique within the task) rather
 * than its position among the node's calls: for a question the node asks only sometimes (an
 * effect whose outcome is unknown), so the node's other interrupts keep their ids and answers.
 */
export function interruptAs<Answer = unknown>(
  key: string,
  value: unknown,
  check: (answer: unknown) => string | undefined = () => undefined,
): Answer {
  const scope = taskScope.getStore();
  if (!scope) {
    throw new InvalidInputError("interrupt() can only be called inside a running graph node");
  }
  let id = createHash("sha256").update(`${scope.taskId}:${key}`).digest("hex").slice(0, 32);
  let asked = value;
  // An answer `check` refuses is asked again (under an id derived from it), with the reason.
  for (let claimed = scope.answerOf?.(id); claimed; claimed = scope.answerOf?.(id)) {
    const problem = check(claimed.answer);
    if (problem === undefined) return claimed.answer as Answer;
    id = createHash("sha256")
      .update(`${id}:${stableText(claimed.answer)}`)
      .digest("hex")
      .slice(0, 32);
    asked = { ...(value as object), problem };
  }
  throw new GraphInterrupt({ id, value: asked, node: scope.node, kind: "interrupt" });
}

function stableText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
