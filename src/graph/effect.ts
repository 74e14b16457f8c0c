/**
 * Side effects that happen once: `ctx.effect(name, args, fn, policy)` records an intent in the
 * thread's effect ledger before `fn` runs and its outcome after, and never runs `fn` when the
 * thread already has an outcome for the same effect (same name and arguments): a retry, a
 * resume, a replay and a fork all get the recorded result instead. An intent with no outcome
 * (the process died mid-call) follows the effect's policy.
 */
import type { LeaseFence } from "../checkpoint/checkpoint-backend.js";
import type { EffectLedger, EffectRecord } from "../checkpoint/effect-ledger.js";
import { EffectFailedError, EffectUnknownError, InvalidInputError } from "../errors.js";
import { GraphInterrupt, interruptAs } from "./interrupt.js";

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

/** What an effect's function is handed. */
export interface EffectCall {
  /** The effect's identity in the thread: pass it to the remote API as its idempotency key. */
  readonly key: string;
  /** 1 on the first run; grows when an intent with no outcome is run again. */
  readonly attempt: number;
}

/** `ctx.effect`: runs `fn` as the effect `name` with `args` (see `NodeContext.effect`). */
export type EffectRunner = <T>(
  name: string,
  args: unknown,
  fn: (call: EffectCall) => T | Promise<T>,
  policy?: EffectPolicy,
) => Promise<Awaited<T>>;

/** The interrupt value an `"ask"` effect pauses with. */
export interface EffectQuestion {
  readonly type: "effect-outcome-unknown";
  readonly key: string;
  readonly name: string;
  readonly args: unknown;
  readonly attempt: number;
  readonly startedAt: string;
  readonly node: string;
}

/** How an effect was met in a step, as the step's checkpoint metadata lists it. */
export interface EffectMark {
  readonly key: string;
  readonly name: string;
  /** True when its recorded outcome was used and its function did not run. */
  readonly reused: boolean;
}

/** Where an effect is recorded: the task calling it, and what its run shares. */
export interface EffectSite {
  readonly ledger: EffectLedger;
  readonly threadId: string;
  readonly checkpointId: string;
  readonly taskId: string;
  readonly node: string;
  readonly fence: LeaseFence | undefined;
  /** Effect name or key -> the epoch a fork gave it (it then runs anew on that branch). */
  readonly epochs: Readonly<Record<string, string>>;
  /** Effects in flight in this run, by key: a second call of the same effect waits for the first. */
  readonly inflight: Map<string, Promise<unknown>>;
  /** Effects met by this task, in order. */
  readonly marks: EffectMark[];
}

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

/** Runs `fn` at most once per thread lineage for (name, args); see the module comment. */
export async function runEffect<T>(
  site: EffectSite,
  name: string,
  args: unknown,
  fn: (call: EffectCall) => T | Promise<T>,
  policy: EffectPolicy = "ask",
): Promise<Awaited<T>> {
  checkPolicy(policy);
  if (typeof fn !== "function") {
    throw new InvalidInputError(`effect "${String(name)}" needs a function to run`);
  }
  const base = site.ledger.key(name, args);
  const epoch = site.epochs[name] ?? site.epochs[base];
  const key = epoch === undefined ? base : site.ledger.key(name, args, epoch);
  const running = site.inflight.get(key);
  if (running) return (await running) as Awaited<T>;
  const call = new EffectRun(site, key, name, args, fn, policy).run();
  site.inflight.set(key, call);
  try {
    return (await call) as Awaited<T>;
  } finally {
    site.inflight.delete(key);
  }
}

class EffectRun<T> {
  constructor(
    readonly site: EffectSite,
    readonly key: string,
    readonly name: string,
    readonly args: unknown,
    readonly fn: (call: EffectCall) => T | Promise<T>,
    readonly policy: EffectPolicy,
  ) {}

  async run(): Promise<unknown> {
    const { effect, recorded } = await this.#begin(false);
    if (recorded) return this.#execute(effect);
    return this.#settle(effect);
  }

  /** An entry the thread already had: its outcome, or the policy's answer to an unknown one. */
  async #settle(effect: EffectRecord): Promise<unknown> {
    if (effect.status !== "started") return this.#recorded(effect);
    const { policy } = this;
    if (policy === "retry") return this.#rerun();
    if (policy === "fail") {
      throw this.#unknown(
        effect,
        `effect "${this.name}" started (attempt ${effect.attempt}, ${effect.startedAt}) and never reported back; its policy is "fail": settle it with resolveEffect()`,
      );
    }
    let resolution: EffectResolution;
    if (policy === "ask") {
      resolution = interruptAs<EffectResolution>(
        `effect:${this.key}:${effect.attempt}`,
        {
          type: "effect-outcome-unknown",
          key: this.key,
          name: this.name,
          args: effect.args,
          attempt: effect.attempt,
          startedAt: effect.startedAt,
          node: effect.node,
        } satisfies EffectQuestion,
        resolutionProblem,
      );
    } else {
      try {
        resolution = await policy.reconcile(effect);
      } catch (cause) {
        throw this.#unknown(
          effect,
          `effect "${this.name}" never reported back and its reconcile threw: ${(cause as Error)?.message ?? String(cause)}`,
          cause,
        );
      }
    }
    return this.#resolve(effect, resolution);
  }

  async #resolve(effect: EffectRecord, resolution: EffectResolution): Promise<unknown> {
    checkResolution(resolution);
    if (resolution.status === "not-run") return this.#rerun();
    const finished = await this.site.ledger.finish({
      ...this.#where(),
      attempt: effect.attempt,
      ...(resolution.status === "done"
        ? { status: "done" as const, result: resolution.result }
        : { status: "failed" as const, error: errorOf(resolution.error) }),
    });
    this.#mark(true);
    return this.#recorded(finished?.effect ?? effect, false);
  }

  /** Takes the intent over (its earlier run never reported back) and runs the function. */
  async #rerun(): Promise<unknown> {
    const { effect, recorded } = await this.#begin(true);
    return recorded ? this.#execute(effect) : this.#settle(effect);
  }

  async #execute(effect: EffectRecord): Promise<unknown> {
    let result: unknown;
    try {
      result = await this.fn({ key: this.key, attempt: effect.attempt });
    } catch (error) {
      // A retried effect is safe to run again: its failure is not recorded. An interrupt from
      // inside the function is not an outcome either.
      if (this.policy !== "retry" && !(error instanceof GraphInterrupt)) {
        await this.site.ledger.finish({
          ...this.#where(),
          attempt: effect.attempt,
          status: "failed",
          error:
            error instanceof Error
              ? { name: error.name, message: error.message }
              : { name: "Error", message: String(error) },
        });
      }
      this.#mark(false);
      throw error;
    }
    const finished = await this.site.ledger.finish({
      ...this.#where(),
      attempt: effect.attempt,
      status: "done",
      result,
    });
    this.#mark(false);
    // Another outcome was recorded first (a resolution raced this run): that one stands.
    if (finished && !finished.recorded) return this.#recorded(finished.effect, false);
    return result;
  }

  #recorded(effect: EffectRecord, mark = true): unknown {
    if (mark) this.#mark(true);
    if (effect.status === "done") return effect.result;
    if (effect.status === "failed") {
      const error = effect.error ?? { name: "Error", message: "failed" };
      throw new EffectFailedError(
        effect,
        `effect "${this.name}" failed when it ran (${error.name}: ${error.message}); its recorded failure stands`,
        { cause: error, threadId: this.site.threadId },
      );
    }
    return this.#settle(effect);
  }

  #begin(retake: boolean) {
    const { site } = this;
    return site.ledger.begin({
      ...this.#where(),
      name: this.name,
      args: this.args,
      checkpointId: site.checkpointId,
      taskId: site.taskId,
      node: site.node,
      retake,
    });
  }

  #where() {
    return { threadId: this.site.threadId, key: this.key, fence: this.site.fence };
  }

  #mark(reused: boolean): void {
    if (!this.site.marks.some((m) => m.key === this.key)) {
      this.site.marks.push({ key: this.key, name: this.name, reused });
    }
  }

  #unknown(effect: EffectRecord, message: string, cause?: unknown): EffectUnknownError {
    return new EffectUnknownError(effect, message, { cause, threadId: this.site.threadId });
  }
}

/** Throws `InvalidInputError` unless `value` is an {@link EffectResolution}. */
export function checkResolution(value: unknown): asserts value is EffectResolution {
  const problem = resolutionProblem(value);
  if (problem !== undefined) throw new InvalidInputError(problem);
}

/** Why `value` is not an {@link EffectResolution}, or `undefined` when it is one. */
function resolutionProblem(value: unknown): string | undefined {
  const status = (value as { status?: unknown } | null)?.status;
  if (status === "done" || status === "not-run") return undefined;
  if (status === "failed") {
    const error = (value as { error?: unknown }).error;
    if (typeof error === "string" || typeof (error as { message?: unknown })?.message === "string")
      return undefined;
  }
  return `an effect resolution is { status: "done", result }, { status: "failed", error } or { status: "not-run" } (got ${describe(value)})`;
}

function errorOf(error: string | { name?: string; message: string }) {
  return typeof error === "string"
    ? { name: "Error", message: error }
    : { name: error.name ?? "Error", message: error.message };
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
