/**
 * Time travel on a thread: `updateState` (and `fork`, its branching form) writes a checkpoint
 * whose parent is a chosen one, as if a node had returned the given values; `diff` compares the
 * values of two checkpoints (the lineage tree is read by `readLineage` in `lineage.ts`).
 * New checkpoints are built and saved by the same {@link RunWriter} a run uses.
 */

import type { Checkpointer } from "../checkpoint/checkpointer.js";
import { InvalidInputError, NotFoundError } from "../errors.js";
import { newCheckpointId, validateThreadId } from "../ids.js";
import { applyWrites, stateView, toWrites } from "./apply.js";
import { END, START } from "./constants.js";
import { diffValues, type StateChange } from "./diff.js";
import type { RunContext } from "./graph-spec.js";
import { loadSnapshot } from "./migrations.js";
import { route } from "./routing.js";
import { RunWriter } from "./run-writer.js";
import { childOf, nextOf, snapshotFromTuple } from "./snapshot.js";

/** Where a time-travel call applies: the thread's head, or a given checkpoint. */
export interface TravelRef {
  readonly threadId: string;
  readonly checkpointId?: string | undefined;
}

/** Options of `updateState`. */
export interface UpdateStateOptions {
  asNode?: string;
  metadata?: Record<string, unknown>;
  source?: "update" | "fork";
  /**
   * Effects (by name, or by key) to run anew on the new branch instead of reusing their recorded
   * outcomes: calls of them after this checkpoint get new keys.
   */
  reexecute?: readonly string[];
}

/**
 * Writes a new checkpoint whose parent is `ref`'s (the head by default), applying `values`
 * through the reducers as if `asNode` had returned them. `threadsOf` opens the tenant's view
 * (after the arguments are checked).
 */
export async function updateState(
  ctx: RunContext,
  threadsOf: () => Checkpointer,
  ref: TravelRef,
  values: unknown,
  options: UpdateStateOptions = {},
): Promise<{ threadId: string; checkpointId: string }> {
  const { spec } = ctx;
  validateThreadId(ref.threadId);
  const asNode = options.asNode;
  if (asNode !== undefined && asNode !== START && asNode !== END && !spec.nodes.has(asNode)) {
    throw new InvalidInputError(`asNode "${asNode}" is not a node of this graph`);
  }
  const reexecute = options.reexecute ?? [];
  if (!Array.isArray(reexecute) || reexecute.some((n) => typeof n !== "string" || n === "")) {
    throw new InvalidInputError("reexecute must be a list of effect names or keys");
  }
  const threads = threadsOf();
  // Only the head's id is needed (the new id sorts after it, and the write is a compare-and-set
  // on it), so a damaged head does not stop a fork from an intact checkpoint.
  const headId = await threads.headId(ref.threadId);
  const base =
    headId === undefined
      ? undefined
      : await threads.get(ref.threadId, { checkpointId: ref.checkpointId ?? headId });
  if (!base) {
    throw new NotFoundError(
      ref.checkpointId
        ? `checkpoint ${ref.checkpointId} not found`
        : `thread "${ref.threadId}" has no state to update`,
      ref,
    );
  }
  const current = loadSnapshot(ctx, base);
  const id = newCheckpointId(headId);
  const { writes } = toWrites(spec.channels, asNode ?? "update", values ?? {});
  const applied = applyWrites(spec.channels, current, writes, id, { singleWriterCheck: false });
  let next = nextOf(current);
  if (asNode === END) next = [];
  else if (asNode !== undefined) {
    const state = stateView(spec.channels, applied.values);
    next = (await route(spec, [asNode], state, undefined, [])).next;
  }
  const step = current.step + 1;
  const source = options.source ?? "update";
  const snapshot = childOf(current, {
    id,
    step,
    ...applied,
    next,
    joins: asNode === undefined ? current.joins : {},
    effectEpochs:
      reexecute.length === 0
        ? undefined
        : { ...current.effectEpochs, ...Object.fromEntries(reexecute.map((name) => [name, id])) },
    metadata: {
      ...(options.metadata ?? {}),
      source,
      step,
      ...(asNode ? { asNode } : {}),
      ...(reexecute.length > 0 ? { reexecute: [...reexecute] } : {}),
    },
  });
  // Written against the stored (unmigrated) values, so channels a migration changed are
  // rewritten.
  const writer = new RunWriter(
    {
      checkpointer: threads,
      threadId: ref.threadId,
      schemaVersion: ctx.schemaVersion,
      channels: spec.channels,
      durability: "sync",
    },
    snapshotFromTuple(base),
    headId ?? null,
  );
  await writer.persist(snapshot);
  return { threadId: ref.threadId, checkpointId: id };
}

/** What changed in the values between two checkpoints, read by `stateAt`. */
export async function diff(
  stateAt: (checkpointId: string) => Promise<{ values: unknown } | undefined>,
  from: string,
  to: string,
): Promise<StateChange[]> {
  const [a, b] = await Promise.all([stateAt(from), stateAt(to)]);
  return diffValues(a!.values, b!.values);
}
