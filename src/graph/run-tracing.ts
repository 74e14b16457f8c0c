/**
 * The run's spans (see `tracing.ts`): the run itself, in GenAI terms, its super-steps and their
 * tasks. A run continues the trace its thread's head was written in (a run resumed hours later,
 * or on another machine) and links the caller's active span; a thread with no stored trace
 * starts under the caller's.
 */
import { trace } from "@opentelemetry/api";
import type { CheckpointMetadata } from "../checkpoint/checkpointer.js";
import { contextOf, traced, traceparentOf } from "../tracing.js";
import type { RunOptions } from "./run-types.js";
import type { Outcome, Task } from "./task.js";

/** Runs `fn` in the run's span; `fn` gets the span's `traceparent` to store (undefined: untraced). */
export function traceRun<T>(
  options: RunOptions,
  head: Readonly<CheckpointMetadata> | undefined,
  fn: (traceparent: string | undefined) => Promise<T>,
): Promise<T> {
  const stored = contextOf(head?.traceparent);
  const active = trace.getActiveSpan()?.spanContext();
  return traced(
    "invoke_agent rewind",
    {
      "gen_ai.operation.name": "invoke_agent",
      "gen_ai.conversation.id": options.threadId,
      ...(options.tenantId !== undefined ? { "rewind.tenant": options.tenantId } : {}),
    },
    (span) => fn(traceparentOf(span)),
    stored,
    stored && active && trace.isSpanContextValid(active) ? [{ context: active }] : undefined,
  );
}

/** Runs a super-step's tasks, each in a span of its own, under the step's span. */
export function traceStep(
  step: number,
  tasks: readonly Task[],
  run: (task: Task) => Promise<Outcome>,
): Promise<Outcome[]> {
  return traced("rewind.superstep", { "rewind.step": step, "rewind.tasks": tasks.length }, () =>
    Promise.all(
      tasks.map((task) =>
        traced(
          `rewind.task ${task.node}`,
          { "rewind.node": task.node, "rewind.task.id": task.id, "rewind.step": step },
          async (span) => {
            const outcome = await run(task);
            const kind = outcome.kind === "done" && !outcome.fresh ? "reused" : outcome.kind;
            span.setAttribute("rewind.task.outcome", kind);
            return outcome;
          },
        ),
      ),
    ),
  );
}
