/**
 * One active run per thread. A run holds the thread's lease (with a fencing token) while it
 * works and renews it in the background; every write it makes carries the fence, so a run that
 * lost its lease cannot write. A second run on a busy thread follows its `onBusy` strategy.
 */
import { randomUUID } from "node:crypto";
import { ThreadBusyError } from "../errors.js";
import type { Checkpointer } from "../storage/checkpointer.js";
import type { Lease, LeaseFence } from "../storage/types.js";

/**
 * What a run does when another run holds the thread:
 * - `reject` (default): fail at once with `ThreadBusyError`;
 * - `enqueue`: wait for the lease (up to `busyTimeoutMs`), then run on the new head;
 * - `interrupt`: take the lease over; the running run stops at its next step boundary (its
 *   next write is refused) and this run continues from the state it had reached;
 * - `rollback`: take the lease over and continue from the state before the running run
 *   started; what that run wrote stays in the history as an abandoned branch.
 */
export type BusyStrategy = "reject" | "enqueue" | "interrupt" | "rollback";

/** Lease options of a run. */
export interface LeaseOptions {
  readonly onBusy?: BusyStrategy;
  /** Lease lifetime; renewed every third of it while the run is alive. Default 30 s. */
  readonly leaseTtlMs?: number;
  /** How long `enqueue` waits before giving up with `ThreadBusyError`. Default 5 min. */
  readonly busyTimeoutMs?: number;
}

/** What the run works under. */
export interface HeldLease {
  readonly fence: LeaseFence;
  /**
   * For `rollback`: the checkpoint the preempted run started from (`null`: the thread was
   * empty), or `undefined` when nothing was preempted.
   */
  readonly rollbackTo: string | null | undefined;
}

const SEPARATOR = "|";

export async function withThreadLease<T>(
  checkpointer: Checkpointer,
  threadId: string,
  options: LeaseOptions,
  fn: (held: HeldLease) => Promise<T>,
): Promise<T> {
  const strategy = options.onBusy ?? "reject";
  if (!["reject", "enqueue", "interrupt", "rollback"].includes(strategy)) {
    throw new ThreadBusyError(`unknown onBusy strategy "${String(strategy)}"`, { threadId });
  }
  const ttlMs = options.leaseTtlMs ?? 30_000;
  const startHead = await headOf(checkpointer, threadId);
  const owner = `${randomUUID()}${SEPARATOR}${startHead ?? ""}`;
  const steal = strategy === "interrupt" || strategy === "rollback";
  let lease = await checkpointer.acquireLease(threadId, owner, ttlMs, { steal });
  if (!lease && strategy === "enqueue")
    lease = await waitForLease(
      checkpointer,
      threadId,
      owner,
      ttlMs,
      options.busyTimeoutMs ?? 300_000,
    );
  if (!lease) {
    throw new ThreadBusyError(`thread "${threadId}" is busy with another run`, { threadId });
  }
  let current: Lease = lease;
  const timer = setInterval(
    () => {
      checkpointer.renewLease(current, ttlMs).then(
        (renewed) => {
          if (renewed) current = renewed;
        },
        () => undefined,
      );
    },
    Math.max(10, Math.floor(ttlMs / 3)),
  );
  timer.unref();
  let rollbackTo: string | null | undefined;
  if (strategy === "rollback" && lease.stolenFrom !== undefined) {
    const from = lease.stolenFrom.slice(lease.stolenFrom.indexOf(SEPARATOR) + 1);
    rollbackTo = from === "" ? null : from;
  }
  try {
    return await fn({ fence: { owner: lease.owner, token: lease.token }, rollbackTo });
  } finally {
    clearInterval(timer);
    await checkpointer.releaseLease(current).catch(() => undefined);
  }
}

async function headOf(checkpointer: Checkpointer, threadId: string): Promise<string | undefined> {
  for await (const tuple of checkpointer.list({
    threadId,
    ns: "",
    limit: 1,
    includeValues: false,
  })) {
    return tuple.checkpoint.id;
  }
  return undefined;
}

async function waitForLease(
  checkpointer: Checkpointer,
  threadId: string,
  owner: string,
  ttlMs: number,
  timeoutMs: number,
): Promise<Lease | undefined> {
  const deadline = Date.now() + timeoutMs;
  let delay = 5;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, delay + Math.random() * delay));
    const lease = await checkpointer.acquireLease(threadId, owner, ttlMs);
    if (lease) return lease;
    delay = Math.min(delay * 2, 100);
  }
  return undefined;
}
