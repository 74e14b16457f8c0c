/** Node retry policies: attempts with exponential backoff, limited to the errors you choose. */

/** Retry a failing node. Intervals in milliseconds. */
export interface RetryPolicy {
  /** Total attempts including the first. Default 3. */
  maxAttempts?: number;
  /** Delay before the second attempt. Default 200 ms. */
  initialIntervalMs?: number;
  /** Multiplier per attempt. Default 2. */
  backoffFactor?: number;
  /** Cap on a single delay. Default 10 s. */
  maxIntervalMs?: number;
  /** Which errors to retry. Default: every error. */
  retryOn?: (error: unknown) => boolean;
}

/** Runs `fn`, retrying per `policy`; interrupts (non-Error control flow) are never retried. */
export async function withRetry<T>(
  policy: RetryPolicy | undefined,
  fn: (attempt: number) => Promise<T>,
  isControlFlow: (error: unknown) => boolean,
): Promise<T> {
  const maxAttempts = Math.max(1, policy ? (policy.maxAttempts ?? 3) : 1);
  let delay = policy?.initialIntervalMs ?? 200;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      const retryable =
        attempt < maxAttempts && !isControlFlow(error) && (policy?.retryOn?.(error) ?? true);
      if (!retryable) throw error;
      await new Promise((resolve) =>
        setTimeout(resolve, Math.min(delay, policy?.maxIntervalMs ?? 10_000)),
      );
      delay *= policy?.backoffFactor ?? 2;
    }
  }
}
