/** What a node receives besides the state. */
import type { TenantStore } from "../store/tenant-store.js";
import type { EffectRunner } from "./effect.js";

export interface NodeContext {
  readonly threadId: string;
  /** The checkpoint this super-step started from. */
  readonly checkpointId: string;
  readonly step: number;
  readonly node: string;
  /** Deterministic: the same task of the same step always has the same id. */
  readonly taskId: string;
  /** 1 on the first attempt; grows with retries. */
  readonly attempt: number;
  /** The metadata passed to `invoke`. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /**
   * The run's `signal` (`invoke(..., { signal })`; a worker's run has one): aborted, the run
   * stops after this step. A long node may pass it on (to `fetch`, a model call) or return
   * early; what it returns is saved like any step's writes.
   */
  readonly signal: AbortSignal | undefined;
  /** An idempotency key for side effects of this task: stable across retries and resumes. */
  readonly idempotencyKey: string;
  /**
   * The cross-thread store, bound to the run's tenant (`invoke(..., { tenantId })`). Reading it
   * in a run without a tenant throws: there is no tenant-less default.
   */
  readonly store: TenantStore;
  /**
   * Sends `data` to `stream()` consumers as a `{ type: "custom", node, data }` event (model
   * tokens, progress). Not stored; a no-op under `invoke`.
   */
  emit(data: unknown): void;
  /**
   * Runs a side effect (a booking, an email, a payment) at most once per thread: its intent is
   * recorded before `fn` runs and its outcome after, and when the thread already has an outcome
   * for `name` with these `args` (a retry, a resume, a replay, a fork) `fn` does not run: the
   * recorded result is returned (a recorded failure throws `EffectFailedError`). `fn` gets the
   * effect's key for the remote API's own idempotency. `policy` says what to do when an earlier
   * run started the effect and never reported back (default `"ask"`: pause for a human).
   *
   * @example
   * // `call.key` goes to the airline as its idempotency key.
   * const booking = await ctx.effect("book_flight", { flight: "LH123" }, (call: EffectCall) =>
   *   airline.book({ flight: "LH123", idempotencyKey: call.key }),
   * );
   */
  readonly effect: EffectRunner;
}
