/**
 * The forms an effect's policy and a human's (or a reconcile's) answer take, their checks, and
 * the one way an unknown outcome is settled by hand. Shared by every runtime that runs effects:
 * Rewind's graphs and the LangGraph adapter.
 */
import { ConflictError, InvalidInputError, NotFoundError } from "../errors.js";
import { validateName } from "../ids.js";
import type { LeaseFence } from "./checkpoint-backend.js";
import type { EffectLedger, EffectRecord } from "./effect-ledger.js";

/**
 * What to do with an effect that started and never reported back:
 * - `"ask"` (default): pause the node with an interrupt showing the effect, for a human to
 *   answer with an {@link EffectResolution};
 * - `"retry"`: run it again (for idempotent calls; a throw is not recorded, so it runs again
 *   next time too);
 * - `"fail"`: throw {@link EffectUnknownError} (settle it with `app.resolveEffect`);
 * - `reconcile(fn)`: ask the remote system what happened.
 */
export type EffectPolicy = "ask" | "retry" | "fail" | ReconcilePolicy;

/** A policy that asks the remote system what became of an effect cut off mid-call. */
export interface ReconcilePolicy {
  readonly reconcile: (effect: EffectRecord) => EffectResolution | Promise<EffectResolution>;
}

/**
 * What became of an effect whose outcome is unknown: it happened (`done`, with what it
 * returned), it failed, or it never happened (`not-run`: run it now).
 */
export type EffectResolution =
  | { readonly status: "done"; readonly result?: unknown }
  | {
      readonly status: "failed";
      readonly error: string | { readonly name?: string; readonly message: string };
    }
  | { readonly status: "not-run" };

/** Wraps a policy that asks the remote system what happened: `ctx.effect(..., reconcile(fn))`. */
export function reconcile(
  fn: (effect: EffectRecord) => EffectResolution | Promise<EffectResolution>,
): ReconcilePolicy {
  if (typeof fn !== "function") throw new InvalidInputError("reconcile() needs a function");
  return { reconcile: fn };
}

/** Throws `InvalidInputError` unless `policy` is one of the {@link EffectPolicy} forms. */
export function checkPolicy(policy: unknown): asserts policy is EffectPolicy {
  if (policy === "ask" || policy === "retry" || policy === "fail") return;
  if (
    typeof policy === "object" &&
    policy !== null &&
    typeof (policy as ReconcilePolicy).reconcile === "function"
  ) {
    return;
  }
  throw new InvalidInputError(
    `an effect policy is "ask", "retry", "fail" or reconcile(fn) (got ${describe(policy)})`,
  );
}

/** Throws `InvalidInputError` unless `value` is an {@link EffectResolution}. */
export function checkResolution(value: unknown): asserts value is EffectResolution {
  const problem = resolutionProblem(value);
  if (problem !== undefined) throw new InvalidInputError(problem);
}

/** Why `value` is not an {@link EffectResolution}, or `undefined` when it is one. */
export function resolutionProblem(value: unknown): string | undefined {
  const status = (value as { status?: unknown } | null)?.status;
  if (status === "done" || status === "not-run") return undefined;
  if (status === "failed") {
    const error = (value as { error?: unknown }).error;
    if (typeof error === "string" || typeof (error as { message?: unknown })?.message === "string")
      return undefined;
  }
  return `an effect resolution is { status: "done", result }, { status: "failed", error } or { status: "not-run" } (got ${describe(value)})`;
}

/** A resolution's error in the ledger's shape. */
export function errorOf(error: string | { readonly name?: string; readonly message: string }) {
  return typeof error === "string"
    ? { name: "Error", message: error }
    : { name: error.name ?? "Error", message: error.message };
}

/** Throws `InvalidInputError` unless `key` and `resolution` can settle an effect by hand. */
export function checkSettlement(
  key: unknown,
  resolution: unknown,
): asserts resolution is Exclude<EffectResolution, { status: "not-run" }> {
  validateName(key, "effect key");
  checkResolution(resolution);
  if (resolution.status === "not-run") {
    throw new InvalidInputError(
      'resolveEffect records what happened ("done" or "failed"); an effect that never ran runs again from a run whose policy is "ask" (answer { status: "not-run" }) or "retry"',
    );
  }
}

/**
 * Records what became of an effect that started and never reported back (`done` with its
 * result, or `failed`). Refuses `not-run` (an effect that never ran runs again from a run whose
 * policy allows it), an unknown key (`NotFoundError`), and an effect that already has an outcome
 * or gets one meanwhile (`ConflictError`): the first outcome stands.
 */
export async function settleEffect(
  ledger: EffectLedger,
  threadId: string,
  key: string,
  resolution: EffectResolution,
  fence?: LeaseFence,
): Promise<EffectRecord> {
  checkSettlement(key, resolution);
  const effect = await ledger.get(threadId, key);
  if (!effect) throw new NotFoundError(`thread "${threadId}" has no effect ${key}`, { threadId });
  if (effect.status !== "started") {
    throw new ConflictError(
      `effect "${effect.name}" (${key}) already has an outcome (${effect.status}); it stands`,
      { threadId },
    );
  }
  const finished = await ledger.finish({
    threadId,
    key,
    attempt: effect.attempt,
    fence,
    ...(resolution.status === "done"
      ? { status: "done" as const, result: resolution.result }
      : { status: "failed" as const, error: errorOf(resolution.error) }),
  });
  if (!finished?.recorded) {
    throw new ConflictError(`effect "${effect.name}" (${key}) changed while it was resolved`, {
      threadId,
    });
  }
  return finished.effect;
}

/** `value` as text for an error message. */
export function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
