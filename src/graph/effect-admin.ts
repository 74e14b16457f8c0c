/**
 * The effect ledger from outside a run: settling an effect that never reported back, and what
 * a fork would reuse. Both are scoped like every graph call (the tenant's view of the thread).
 */
import type { Checkpointer } from "../checkpoint/checkpointer.js";
import type { EffectRecord } from "../checkpoint/effect-ledger.js";
import {
  checkSettlement,
  type EffectResolution,
  settleEffect,
} from "../checkpoint/effect-policy.js";
import { validateName } from "../ids.js";
import { type LeaseOptions, withThreadLease } from "./thread-lease.js";

/** What re-running a thread from a checkpoint would do with the effects recorded after it. */
export interface ForkPreview {
  /** Recorded with an outcome: reused (not run) when the fork calls them with the same arguments. */
  readonly reused: readonly EffectRecord[];
  /** Named in `reexecute`: they run anew on the fork's branch. */
  readonly rerun: readonly EffectRecord[];
  /** Started and never reported back: their policy decides when the fork calls them. */
  readonly unknown: readonly EffectRecord[];
}

/**
 * Records what became of an effect that started and never reported back (`done` with its result,
 * or `failed`), under the thread's lease, so the next run gets that outcome. An effect that
 * already has an outcome is refused (`ConflictError`), as is `not-run`: to run it again, use
 * the `"ask"` policy's interrupt or the `"retry"` policy.
 */
export async function resolveEffect(
  threads: Checkpointer,
  threadId: string,
  key: string,
  resolution: EffectResolution,
  lease: LeaseOptions,
): Promise<EffectRecord> {
  // Checked before the lease is taken: bad input never waits for a busy thread.
  checkSettlement(key, resolution);
  return withThreadLease(threads, threadId, lease, ({ fence }) =>
    settleEffect(threads.effects, threadId, key, resolution, fence),
  );
}

/**
 * The effects recorded at or after `checkpointId` (on any branch of the thread), sorted by what a
 * re-run from there would do with them: reuse, run anew (named in `reexecute`), or ask their policy.
 */
export async function previewFork(
  threads: Checkpointer,
  threadId: string,
  checkpointId: string,
  reexecute: readonly string[] = [],
): Promise<ForkPreview> {
  validateName(checkpointId, "checkpoint id");
  const fresh = new Set(reexecute);
  const after = (await threads.effects.list(threadId)).filter(
    (e) => e.checkpointId >= checkpointId,
  );
  const rerun = after.filter((e) => fresh.has(e.name) || fresh.has(e.key));
  const rest = after.filter((e) => !rerun.includes(e));
  return {
    reused: rest.filter((e) => e.status !== "started"),
    rerun,
    unknown: rest.filter((e) => e.status === "started"),
  };
}
