/**
 * A background sweeper an app can start: it applies a retention policy every so often, one
 * prune at a time, never overlapping itself. `stop()` stops the prune in flight between two
 * batches and resolves once it has.
 */
import type { Checkpointer } from "../checkpoint/checkpointer.js";
import { InvalidInputError } from "../errors.js";
import { type PruneOptions, prune } from "./prune.js";
import type { PruneReport } from "./prune-report.js";
import { type RetentionPolicy, validatePolicy } from "./retention-policy.js";

/** Options of {@link startSweeper}. */
export interface SweeperOptions extends Omit<PruneOptions, "dryRun" | "signal"> {
  /** Milliseconds between the end of one prune and the start of the next. */
  readonly everyMs: number;
  readonly policy: RetentionPolicy;
  /** Each finished prune's report. */
  readonly onReport?: ((report: PruneReport) => void) | undefined;
  /** A prune that failed (the sweeper keeps going). Default: ignored. */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** A running sweeper. */
export interface Sweeper {
  /** Stops sweeping; resolves when the prune in flight (if any) has stopped. Idempotent. */
  stop(): Promise<void>;
  /** Runs one prune now (after the one in flight) and returns its report. */
  runNow(): Promise<PruneReport>;
}

/**
 * Starts applying `options.policy` every `options.everyMs` milliseconds (the first run after one
 * interval). The timer does not keep the process alive.
 *
 * @example
 * const sweeper = startSweeper(checkpointer, { everyMs: 60_000, policy: { keepLast: 50 } });
 * await sweeper.stop();
 */
export function startSweeper(checkpointer: Checkpointer, options: SweeperOptions): Sweeper {
  const { everyMs, policy, onReport, onError, ...pruneOptions } = options;
  if (typeof everyMs !== "number" || !Number.isFinite(everyMs) || everyMs <= 0) {
    throw new InvalidInputError("everyMs must be a positive number");
  }
  validatePolicy(policy);
  const abort = new AbortController();
  let inFlight: Promise<unknown> = Promise.resolve();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const once = (): Promise<PruneReport> => {
    const next = inFlight.then(() =>
      prune(checkpointer, policy, { ...pruneOptions, dryRun: false, signal: abort.signal }),
    );
    inFlight = next.catch(() => undefined);
    return next;
  };
  const schedule = () => {
    if (abort.signal.aborted) return;
    timer = setTimeout(() => {
      once()
        .then(
          (report) => onReport?.(report),
          (error) => onError?.(error),
        )
        .finally(schedule);
    }, everyMs);
    timer.unref?.();
  };
  schedule();
  return {
    async stop() {
      abort.abort();
      if (timer) clearTimeout(timer);
      await inFlight;
    },
    runNow: once,
  };
}
