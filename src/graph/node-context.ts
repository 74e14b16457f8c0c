/** What a node receives besides the state. */
import type { TenantStore } from "../store/tenant-store.js";

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
}
