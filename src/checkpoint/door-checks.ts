/**
 * What the door checks before any I/O (see `checkpoint-door.ts`): every row, name, fence, effect
 * and batch as the seam accepts it, with the one validator of `ids.ts`. Each check throws
 * `InvalidInputError` and changes nothing.
 */
import { InvalidInputError } from "../errors.js";
import { validateName } from "../ids.js";
import type * as seam from "./checkpoint-backend.js";

/** Longest namespace or task path, in UTF-16 units (nested subgraphs make them long). */
export const MAX_PATH_LENGTH = 4096;

export function checkRow(row: seam.StoredCheckpoint): void {
  checkNamespace(row.ns);
  validateName(row.id, "checkpoint id");
  if (row.parentId !== null) validateName(row.parentId, "parent checkpoint id");
  for (const [channel, version] of Object.entries(row.channelVersions)) {
    validateName(channel, "channel name");
    if (typeof version !== "number") validateName(version, "channel version");
    else if (!Number.isFinite(version))
      throw new InvalidInputError("a channel version is not finite");
  }
  if (typeof row.metadata !== "string" || typeof row.body !== "string") {
    throw new InvalidInputError("checkpoint metadata and body must be text");
  }
}

/**
 * A batch with each (taskId, idx) once, as two batches in a row would leave it: a special write
 * (idx < 0) repeated keeps its last value (LangGraph sends a task's resume values again with
 * each answer), a regular one its first. Backends may then write a batch as one statement.
 */
export function distinctWrites(writes: readonly seam.StoredWrite[]): readonly seam.StoredWrite[] {
  const kept = new Map<string, seam.StoredWrite>();
  for (const write of writes) {
    const key = `${write.taskId}\0${write.idx}`;
    if (write.idx < 0 || !kept.has(key)) kept.set(key, write);
  }
  return kept.size === writes.length ? writes : [...kept.values()];
}

export function checkEffect(effect: seam.StoredEffect): void {
  validateName(effect.key, "effect key");
  validateName(effect.name, "effect name");
  checkNamespace(effect.ns);
  validateName(effect.checkpointId, "checkpoint id");
  validateName(effect.taskId, "task id");
  validateName(effect.node, "node name");
  if (effect.status !== "started" || effect.outcome !== null || effect.finishedAt !== null) {
    throw new InvalidInputError("an effect intent is recorded as started, with no outcome");
  }
  checkCount(effect.attempt, "effect attempt", 1);
  checkCount(effect.token, "lease token", 0);
  if (typeof effect.args !== "string" || typeof effect.startedAt !== "string") {
    throw new InvalidInputError("effect arguments and start time must be text");
  }
  validateName(effect.args, "effect arguments", EFFECT_TEXT);
}

/**
 * Effect arguments and outcomes are JSON text of any length: never a raw NUL (JSON escapes it,
 * and PostgreSQL text cannot hold it) nor a lone surrogate (no engine stores it as it is).
 */
const EFFECT_TEXT = { maxLength: Number.POSITIVE_INFINITY, allowEmpty: true };

export function checkCount(value: unknown, what: string, min: number): void {
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw new InvalidInputError(`${what} must be an integer >= ${min}`);
  }
}

export function checkNamespace(ns: unknown): void {
  validateName(ns, "checkpoint namespace", { maxLength: MAX_PATH_LENGTH, allowEmpty: true });
}

export function checkFence(fence: seam.LeaseFence): void {
  validateName(fence.owner, "lease owner");
  if (!Number.isSafeInteger(fence.token))
    throw new InvalidInputError("lease token must be an integer");
}

export function checkTtl(ttlMs: number): void {
  if (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new InvalidInputError("ttlMs must be a positive number");
  }
}

/** An effect's outcome as the door accepts it (see `CheckpointBackend.finishEffect`). */
export function checkEffectOutcome(outcome: seam.EffectOutcome): void {
  validateName(outcome.key, "effect key");
  if (outcome.status !== "done" && outcome.status !== "failed") {
    throw new InvalidInputError('an effect outcome is "done" or "failed"');
  }
  checkCount(outcome.attempt, "effect attempt", 1);
  checkCount(outcome.token, "lease token", 0);
  if (typeof outcome.outcome !== "string" || typeof outcome.finishedAt !== "string") {
    throw new InvalidInputError("an effect outcome and its time must be text");
  }
  validateName(outcome.outcome, "effect outcome", EFFECT_TEXT);
  if (outcome.fence) checkFence(outcome.fence);
}

/** A prune batch as the door accepts it (see `CheckpointBackend.pruneCheckpoints`). */
export function checkPruneBatch(batch: seam.PruneBatch): void {
  checkNamespace(batch.ns);
  for (const id of batch.checkpointIds) validateName(id, "checkpoint id");
  for (const blob of batch.blobs) {
    validateName(blob.channel, "channel name");
    validateName(blob.version, "channel version");
  }
  for (const blob of batch.rebase) {
    validateName(blob.channel, "channel name");
    validateName(blob.version, "channel version");
    if (blob.kind !== "full" || blob.value === null) {
      throw new InvalidInputError("a rebase writes full values only");
    }
  }
}
