/** What the parts of one run share: the graph's context, the call's options, and its writer. */
import type { RunContext } from "./graph-spec.js";
import type { RunOptions, StreamEvent } from "./run-types.js";
import type { RunWriter } from "./run-writer.js";

export interface RunScope {
  readonly ctx: RunContext;
  readonly options: RunOptions;
  /** The caller's thread id (the checkpointer in `ctx` is already scoped to the tenant). */
  readonly threadId: string;
  /** This run's id: it marks the interrupts the run claims. */
  readonly runId: string;
  readonly writer: RunWriter;
  readonly emit: (event: StreamEvent) => void;
  /** Effects in flight in this run, by key (see `effect.ts`). */
  readonly inflight: Map<string, Promise<unknown>>;
}
