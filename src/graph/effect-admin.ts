/**
 * The effect ledger from outside a run: settling an effect that never reported back, and what
 * a fork would reuse. Both are scoped like every graph call (the tenant's view of the thread).
 */
import type { Checkpointer } from "../checkpoint/checkpointer.js";
import type { EffectRecord } from "../checkpoint/effect-ledger.js";
import { ConflictError, InvalidInputError, NotFoundError } from "../errors.js";
import { validateName } from "../ids.js";
import { checkResolution, type EffectResolution } from "./effect.js";
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
  validateName(key, "effect key");
  checkResolution(resolution);
  if (resolution.status === "not-run") {
    throw new InvalidInputError(
      'resolveEffect records what happened ("done" or "failed"); an effect that never ran runs again from a run whose policy is "ask" (answer { status: "not-run" }) or "retry"',
    );
  }
  return withThreadLease(threads, threadId, lease, async ({ fence }) => {
    const effect = await threads.effects.get(threadId, key);
    if (!effect) throw new NotFoundError(`thread "${threadId}" has no effect ${key}`, { threadId });
    if (effect.status !== "started") {
      throw new ConflictError(
        `effect "${effect.name}" (${key}) already has an outcome (${effect.status}); it stands`,
        { threadId },
      );
    }
    const error = resolution.status === "failed" ? resolution.error : undefined;
    const finished = await threads.effects.finish({
      threadId,
      key,
      attempt: effect.attempt,
      fence,
      ...(resolution.status === "done"
        ? { status: "done" as const, result: resolution.result }
        : {
            status: "failed" as const,
            error:
              typeof error === "string"
                ? { name: "Error", message: error }
                : { name: error?.name ?? "Error", message: error?.message ?? "" },
          }),
    });
    if (!finished?.recorded) {
      throw new ConflictError(`effect "${effect.name}" (${key}) changed while it was resolved`, {
        threadId,
      });
    }
    return finished.effect;
  });
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
