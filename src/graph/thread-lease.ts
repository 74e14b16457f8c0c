/**
 * One active run per thread. A run holds the thread's lease (with a fencing token) while it
 * works and renews it in the background (a heartbeat); every write it makes carries the fence,
 * so a run that lost its lease cannot write. A second run on a busy thread follows its `onBusy`
 * strategy.
 *
 * The rule that keeps finished work: a run reports success only if, when it finished, the lease
 * was still its own, checked and released in one atomic step. A takeover (`interrupt`,
 * `rollback`) is therefore ordered either before that step (the run reports `LeaseLostError`,
 * and only then may its work be discarded) or after it (the taker sees a free thread and starts
 * from the head, which holds the finished run's work). A rollback continues from the start point
 * the preempted run recorded when it took the lease, so it discards exactly that run's work.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Lease, LeaseFence } from "../checkpoint/checkpoint-backend.js";
import type { Checkpointer, LeaseWithHead } from "../checkpoint/checkpointer.js";
import { InvalidInputError, LeaseLostError, RunStoppedError, ThreadBusyError } from "../errors.js";
import { holderIsGone, thisProcess } from "./lease-holder.js";

/**
 * What a run does when another run holds the thread:
 * - `reject` (default): fail at once with `ThreadBusyError`;
 * - `enqueue`: wait for the lease (up to `enqueueTimeoutMs`), then run on the new head;
 * - `interrupt`: take the lease over; the running run stops at its next step boundary (its
 *   next write is refused) and this run continues from the state it had reached;
 * - `rollback`: take the lease over and continue from the state before the running run
 *   started; what that run wrote stays in the history as an abandoned branch, and that run
 *   reports `LeaseLostError` (a run already told it succeeded is never rolled back).
 */
export type BusyStrategy = "reject" | "enqueue" | "interrupt" | "rollback";

const STRATEGIES: readonly BusyStrategy[] = ["reject", "enqueue", "interrupt", "rollback"];

/** Default lease lifetime: how long a holder on another machine that died keeps a thread. */
export const DEFAULT_LEASE_TTL_MS = 10_000;

/** Lease options of a run. */
export interface LeaseOptions {
  readonly onBusy?: BusyStrategy;
  /**
   * Lease lifetime, renewed every quarter of it while the run is alive. Default 10 s. A holder
   * that was killed is taken over at once by a process on the same machine; elsewhere, once
   * its lease expires.
   */
  readonly leaseTtlMs?: number;
  /** How long `enqueue` waits before giving up with `ThreadBusyError`. Default 5 min. */
  readonly enqueueTimeoutMs?: number;
  /** @deprecated Renamed `enqueueTimeoutMs`. */
  readonly busyTimeoutMs?: number;
  /** Ends an `enqueue` wait once aborted, with `RunStoppedError` (nothing written). */
  readonly signal?: AbortSignal;
}

/** What the run works under. */
export interface HeldLease {
  readonly fence: LeaseFence;
  /**
   * For `rollback`: the checkpoint the preempted run started from (`null`: the thread was
   * empty), or `undefined` when nothing was preempted.
   */
  readonly rollbackTo: string | null | undefined;
  /**
   * Read with the grant where the backend folds leases (see `LeaseWithHead`; each `undefined`
   * when it did not, or the run did not ask): the root head's id, its decoder, the archive mark.
   */
  readonly headId?: string | null | undefined;
  readonly head?: LeaseWithHead["head"];
  readonly archive?: LeaseWithHead["archive"];
  /**
   * Called by the run once its last write, made with `release`, has released the lease with it:
   * the lease is then not released again (the write's fence check was the release's check).
   */
  readonly released: () => void;
}

/** Refuses malformed lease options with `InvalidInputError` before anything is touched. */
export function validateLeaseOptions(options: LeaseOptions): void {
  if (options.onBusy !== undefined && !STRATEGIES.includes(options.onBusy)) {
    throw new InvalidInputError(
      `onBusy must be one of ${STRATEGIES.map((s) => `"${s}"`).join(", ")}; got ${JSON.stringify(options.onBusy)}`,
    );
  }
  const ttl = options.leaseTtlMs;
  // Renewed every quarter of the lifetime, on a timer (which holds at most 2^31 - 1 ms).
  if (ttl !== undefined && (typeof ttl !== "number" || !(ttl >= 4 && ttl <= 2 ** 31 - 1))) {
    throw new InvalidInputError("leaseTtlMs must be a number of milliseconds from 4 to 2^31 - 1");
  }
  for (const name of ["enqueueTimeoutMs", "busyTimeoutMs"] as const) {
    const value = options[name];
    if (value !== undefined && (typeof value !== "number" || !(value >= 0) || value === Infinity))
      throw new InvalidInputError(`${name} must be a finite, non-negative number of milliseconds`);
  }
}

/**
 * Runs `fn` under the thread's lease. With `readHead`, the grant also reads the thread's head
 * and archive mark where the backend folds leases (one round trip for both; see `HeldLease`).
 */
export async function withThreadLease<T>(
  checkpointer: Checkpointer,
  threadId: string,
  options: LeaseOptions,
  fn: (held: HeldLease) => Promise<T>,
  readHead = false,
): Promise<T> {
  validateLeaseOptions(options);
  const strategy = options.onBusy ?? "reject";
  const ttlMs = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
  const take = takeLease(checkpointer, threadId, randomUUID(), ttlMs, strategy, readHead);
  let granted = await take();
  if (!granted && strategy === "enqueue")
    granted = await waitForLease(
      take,
      options.enqueueTimeoutMs ?? options.busyTimeoutMs ?? 300_000,
      threadId,
      options.signal,
    );
  if (!granted) {
    throw new ThreadBusyError(`thread "${threadId}" is busy with another run`, { threadId });
  }
  const lease = granted.lease;
  let current: Lease = lease;
  let released = false;
  const timer = setInterval(
    () => {
      checkpointer.renewLease(current, ttlMs).then(
        (renewed) => {
          if (renewed) current = renewed;
        },
        () => undefined,
      );
    },
    Math.max(1, Math.floor(ttlMs / 4)),
  );
  timer.unref();
  const rollbackTo =
    strategy === "rollback" && lease.stolenFrom !== undefined ? lease.startedFrom : undefined;
  let result: T;
  try {
    result = await fn({
      fence: { owner: lease.owner, token: lease.token },
      rollbackTo,
      headId: granted.headId,
      head: granted.head,
      archive: granted.archive,
      released: () => {
        released = true;
      },
    });
  } catch (error) {
    clearInterval(timer);
    await checkpointer.releaseLease(current).catch(() => undefined);
    throw error;
  }
  clearInterval(timer);
  if (!released && !(await checkpointer.releaseLease(current))) {
    throw new LeaseLostError(
      `another run took thread "${threadId}" over before this run finished (it preempted this run, or this run's lease had expired): this run did not complete, and a rollback discards what it wrote`,
      { threadId },
    );
  }
  return result;
}

/**
 * One attempt at the lease: taken if free (or, for `interrupt`/`rollback`, taken over); when a
 * holder is found whose process is provably gone, taken over from exactly that holder. The
 * holder is looked at on the first attempt and then at most once a second (an `enqueue` wait
 * polls far more often than that).
 */
function takeLease(
  checkpointer: Checkpointer,
  threadId: string,
  owner: string,
  ttlMs: number,
  strategy: BusyStrategy,
  readHead: boolean,
): () => Promise<LeaseWithHead | undefined> {
  const acquire = (request: Parameters<Checkpointer["acquireLease"]>[3]) =>
    readHead
      ? checkpointer.acquireLeaseWithHead(threadId, owner, ttlMs, request)
      : checkpointer
          .acquireLease(threadId, owner, ttlMs, request)
          .then(
            (lease) => lease && { lease, headId: undefined, head: undefined, archive: undefined },
          );
  const request = {
    steal: strategy === "interrupt" || strategy === "rollback",
    inheritStart: strategy === "rollback",
    holder: thisProcess(),
  };
  let lastLook = Number.NEGATIVE_INFINITY;
  return async () => {
    const granted = await acquire(request);
    if (granted || Date.now() - lastLook < 1_000) return granted;
    lastLook = Date.now();
    const held = await checkpointer.readLease(threadId);
    if (!held || !holderIsGone(held.holder)) return undefined;
    return acquire({ ...request, replacing: held.token });
  };
}

/**
 * Polls for the lease until `timeoutMs` has passed (then `undefined`) or `signal` is aborted
 * (then `RunStoppedError`: the run never started, so a worker told to stop, or a caller who gave
 * up, is not held for the rest of the wait).
 */
async function waitForLease(
  take: () => Promise<LeaseWithHead | undefined>,
  timeoutMs: number,
  threadId: string,
  signal: AbortSignal | undefined,
): Promise<LeaseWithHead | undefined> {
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  while (Date.now() < deadline) {
    await sleep(delay + Math.random() * delay, undefined, { signal }).catch(() => undefined);
    if (signal?.aborted) {
      throw new RunStoppedError(
        `the run stopped before it started: its signal was aborted while it waited for thread "${threadId}", which another run holds; nothing was written`,
        { threadId },
      );
    }
    const lease = await take();
    if (lease) return lease;
    delay = Math.min(delay * 2, 100);
  }
  return undefined;
}
