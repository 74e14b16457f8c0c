/**
 * The memory backend's effect ledger (see `CheckpointBackend.beginEffect`): one map per thread,
 * changed to completion on the event loop, so each call is atomic.
 */
import type { EffectIntent, EffectOutcome, StoredEffect } from "./checkpoint-backend.js";
import type { ThreadEntry } from "./memory-retention.js";

/** Records an intent in a writable thread (tombstone and fence checked by the caller). */
export function beginEffectIn(thread: ThreadEntry, intent: EffectIntent) {
  const { effect } = intent;
  const stored = thread.effects.get(effect.key);
  if (!stored) {
    thread.effects.set(effect.key, effect);
    return { effect, recorded: true };
  }
  if (!intent.retake || stored.status !== "started") return { effect: stored, recorded: false };
  const retaken: StoredEffect = {
    ...stored,
    ns: effect.ns,
    checkpointId: effect.checkpointId,
    taskId: effect.taskId,
    node: effect.node,
    token: effect.token,
    startedAt: effect.startedAt,
    attempt: stored.attempt + 1,
  };
  thread.effects.set(effect.key, retaken);
  return { effect: retaken, recorded: true };
}

/** Records an outcome, only for a `started` entry at the outcome's attempt. */
export function finishEffectIn(thread: ThreadEntry, outcome: EffectOutcome) {
  const stored = thread.effects.get(outcome.key);
  if (!stored) return undefined;
  if (stored.status !== "started" || stored.attempt !== outcome.attempt) {
    return { effect: stored, recorded: false };
  }
  const finished: StoredEffect = {
    ...stored,
    status: outcome.status,
    outcome: outcome.outcome,
    token: outcome.token,
    finishedAt: outcome.finishedAt,
  };
  thread.effects.set(outcome.key, finished);
  return { effect: finished, recorded: true };
}

/** The thread's ledger (or these keys), oldest intent first, then by key. */
export function listEffectsIn(
  thread: ThreadEntry | undefined,
  keys?: readonly string[],
): StoredEffect[] {
  if (!thread) return [];
  const wanted = keys && new Set(keys);
  return [...thread.effects.values()]
    .filter((e) => !wanted || wanted.has(e.key))
    .sort((a, b) =>
      a.startedAt !== b.startedAt
        ? a.startedAt < b.startedAt
          ? -1
          : 1
        : a.key < b.key
          ? -1
          : a.key > b.key
            ? 1
            : 0,
    );
}
