/** Options, results and stream events of a graph run. */
import type { Interrupt } from "./interrupt.js";
import type { LeaseOptions } from "./thread-lease.js";

/**
 * How eagerly a run writes. `sync` (default): each checkpoint and task write is durable before
 * the run goes on; a crash loses at most the tasks still running. `async`: writes are queued in
 * order and awaited when the run ends; a crash may lose the last few steps, never reorder them.
 * `exit`: only the final checkpoint (plus the writes of a step that paused or failed) is written;
 * a crash loses the whole run. For short, high-frequency work.
 */
export type Durability = "sync" | "async" | "exit";

/** Options of `invoke` and `stream`. */
export interface RunOptions extends LeaseOptions {
  readonly threadId: string;
  /** Run from this checkpoint (a replay/fork) instead of the thread's head. */
  readonly checkpointId?: string;
  /** Stored on every checkpoint this run writes; filterable in the history. */
  readonly metadata?: Readonly<Record<string, unknown>>;
  /**
   * Applies the input at most once on the thread. Each entry is stored in the metadata of every
   * checkpoint the run writes; when a checkpoint of the thread already carries all of them
   * (checked once the run holds the thread's lease), the input is dropped and the run only
   * continues the thread. For the retry of a request whose earlier attempt may have applied its
   * input, or may still be running: `{ applyOnce: { requestId: "r-17" } }`.
   */
  readonly applyOnce?: Readonly<Record<string, string>>;
  /** Maximum super-steps in this call. Default 25. */
  readonly recursionLimit?: number;
  readonly durability?: Durability;
  /** Breakpoints for this call (replacing the compiled ones). */
  readonly interruptBefore?: readonly string[];
  readonly interruptAfter?: readonly string[];
  /**
   * The tenant the run works for: the thread is that tenant's `threadId` (another tenant's
   * thread of the same id is a different thread), and nodes see that tenant's slice of the
   * cross-thread store as `ctx.store`. Omitted: the default tenant, whose threads are stored
   * under their own id.
   */
  readonly tenantId?: string;
  /**
   * Stops the run between super-steps once aborted: the steps finished so far are saved, the
   * lease is released, and `invoke` rejects with `RunStoppedError`; `invoke(null)` continues
   * from there. A step already running finishes first (nodes are never cut off mid-way). A run
   * still waiting for a busy thread (`onBusy: "enqueue"`) stops waiting, having written nothing.
   */
  readonly signal?: AbortSignal;
}

/** What `invoke` returns. */
export interface RunResult<S = any> {
  readonly threadId: string;
  /** The thread's checkpoint when the run stopped (undefined if nothing was ever written). */
  readonly checkpointId: string | undefined;
  /** `interrupted` when the run paused for a human (see `interrupts`). */
  readonly status: "done" | "interrupted";
  readonly values: S;
  readonly interrupts: readonly Interrupt[];
  /** Nodes that would run next (empty when the graph reached its end). */
  readonly next: readonly string[];
}

/** Events of `stream`: per-node updates and full values after each super-step. */
export type StreamEvent<S = any> =
  | {
      readonly type: "updates";
      readonly step: number;
      readonly node: string;
      readonly update: Record<string, unknown>;
    }
  | {
      readonly type: "values";
      readonly step: number;
      readonly checkpointId: string;
      readonly values: S;
    }
  | { readonly type: "interrupt"; readonly interrupts: readonly Interrupt[] }
  | { readonly type: "custom"; readonly node: string; readonly data: unknown };
