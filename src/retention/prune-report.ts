/**
 * What a prune reports, dry run or not: per thread, per tenant and in total, the checkpoints,
 * rows and bytes that go (or went), and what is lost (how far back time travel still reaches).
 */

import type { SpaceReport } from "../checkpoint/checkpoint-backend.js";
import type { CollectReport } from "../checkpoint/large-value-gc.js";

/** Counts of what goes. `rows` counts checkpoint rows, pending writes and stored values. */
export interface PruneTally {
  readonly threads: number;
  readonly checkpoints: number;
  readonly writes: number;
  readonly values: number;
  readonly rows: number;
  /** Estimated bytes freed: the rows' bytes, less the full values a rebase writes. */
  readonly bytes: number;
}

/** What happens to one thread. */
export interface ThreadPrune {
  /** The thread's storage key (see `threadKey`). */
  readonly key: string;
  readonly threadId: string;
  readonly tenantId: string | undefined;
  /**
   * `prune`: old checkpoints go; `delete`: the idle thread goes whole; `archive`: the idle
   * thread goes to the archiver (or is only reported, without one); `skipped`: it could not be
   * pruned (see `error`), nothing of it changed.
   */
  readonly action: "prune" | "delete" | "archive" | "skipped";
  readonly checkpoints: number;
  readonly writes: number;
  readonly values: number;
  readonly bytes: number;
  /** Checkpoints that stay. */
  readonly kept: number;
  /** Append chains re-based onto a full value. */
  readonly rebased: number;
  /** The oldest step time travel still reaches on the root graph, when older ones go. */
  readonly oldestStepKept?: number | undefined;
  /** What is lost, in words, e.g. "time travel before step 40". */
  readonly lost?: string | undefined;
  /** Whether it was carried out (false on a dry run, and for a thread left to archive). */
  readonly applied: boolean;
  readonly error?: string | undefined;
}

/** The whole prune. */
export interface PruneReport {
  readonly dryRun: boolean;
  /** Threads with something to do, in the order they were visited. */
  readonly threads: readonly ThreadPrune[];
  /** Totals per tenant (`""` for the default tenant). */
  readonly tenants: Readonly<Record<string, PruneTally>>;
  readonly total: PruneTally;
  /** Threads looked at. */
  readonly scanned: number;
  /** True when the signal stopped it between batches (a rerun continues). */
  readonly interrupted: boolean;
  /** Space given back after an applied prune (when asked). */
  readonly space?: SpaceReport | undefined;
  /** Large values an applied prune collected afterwards (see `collectLargeValues`). */
  readonly largeValues?: CollectReport | undefined;
}

const ZERO: PruneTally = { threads: 0, checkpoints: 0, writes: 0, values: 0, rows: 0, bytes: 0 };

/** Sums thread results into a total and per-tenant totals. */
export function tally(threads: readonly ThreadPrune[]): {
  total: PruneTally;
  tenants: Record<string, PruneTally>;
} {
  const tenants: Record<string, PruneTally> = {};
  let total = ZERO;
  for (const t of threads) {
    if (t.action === "skipped") continue;
    const add = (into: PruneTally): PruneTally => ({
      threads: into.threads + 1,
      checkpoints: into.checkpoints + t.checkpoints,
      writes: into.writes + t.writes,
      values: into.values + t.values,
      rows: into.rows + t.checkpoints + t.writes + t.values,
      bytes: into.bytes + t.bytes,
    });
    total = add(total);
    const tenant = t.tenantId ?? "";
    tenants[tenant] = add(tenants[tenant] ?? ZERO);
  }
  return { total, tenants };
}
