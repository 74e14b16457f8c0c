/** What a node receives besides the state. */

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
}
