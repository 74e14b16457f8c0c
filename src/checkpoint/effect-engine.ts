/**
 * The one engine behind every effect: records an intent in the thread's effect ledger before the
 * effect's function runs and its outcome after, never runs the function when the thread already
 * has an outcome for the same effect (same name and arguments), and follows the effect's policy
 * for an intent with no outcome (the process died mid-call). What is runtime-specific (how a
 * node pauses for a human, which throws are the runtime's control flow) is an {@link EffectHost},
 * so Rewind's graphs and the LangGraph adapter share this engine.
 */

import { EffectFailedError, EffectUnknownError, InvalidInputError } from "../errors.js";
import { traced } from "../tracing.js";
import type { LeaseFence } from "./checkpoint-backend.js";
import type { EffectLedger, EffectRecord } from "./effect-ledger.js";
import {
  checkPolicy,
  checkResolution,
  type EffectPolicy,
  type EffectResolution,
  errorOf,
  resolutionProblem,
} from "./effect-policy.js";

/** What an effect's function is handed. */
export interface EffectCall {
  /** The effect's identity in the thread: pass it to the remote API as its idempotency key. */
  readonly key: string;
  /** 1 on the first run; grows when an intent with no outcome is run again. */
  readonly attempt: number;
}

/** The interrupt value an `"ask"` effect pauses with. */
export interface EffectQuestion {
  readonly type: "effect-outcome-unknown";
  readonly key: string;
  readonly name: string;
  readonly args: unknown;
  readonly attempt: number;
  readonly startedAt: string;
  readonly node: string;
  /** Set when an earlier answer was not an `EffectResolution`: why, so it is asked again. */
  readonly problem?: string;
}

/** How an effect was met in a step, as the step's checkpoint metadata lists it. */
export interface EffectMark {
  readonly key: string;
  readonly name: string;
  /** True when its recorded outcome was used and its function did not run. */
  readonly reused: boolean;
}

/** Effects in flight, by key (a `Map` will do): a second call of the same effect waits for the first. */
export interface EffectsInFlight {
  get(key: string): Promise<unknown> | undefined;
  set(key: string, running: Promise<unknown>): unknown;
  delete(key: string): unknown;
}

/** Where an effect is recorded: the task calling it, and what its run shares. */
export interface EffectSite {
  readonly ledger: EffectLedger;
  readonly threadId: string;
  readonly checkpointId: string;
  readonly taskId: string;
  readonly node: string;
  /** The namespace of the graph the task runs in (default: the root, ""). */
  readonly ns?: string | undefined;
  readonly fence: LeaseFence | undefined;
  /** Effect name or key -> the epoch a fork gave it (it then runs anew on that branch). */
  readonly epochs: Readonly<Record<string, string>>;
  /** Effects in flight in this run: a second call of the same effect waits for the first. */
  readonly inflight: EffectsInFlight;
  /** Effects met by this task, in order. */
  readonly marks: EffectMark[];
}

/** What the runtime running the effect supplies. */
export interface EffectHost {
  /**
   * Pauses the node for a human (the runtime's interrupt) with `question`, under `id` (unique
   * in the task) where the runtime names interrupts: returns the answer once there is one that
   * `check` accepts (`check` says why an answer is refused), else throws the runtime's pause.
   */
  ask(
    id: string,
    question: EffectQuestion,
    check: (answer: unknown) => string | undefined,
  ): EffectResolution | Promise<EffectResolution>;
  /** Whether a throw from the effect's function is the runtime's control flow, not an outcome. */
  isControlFlow(error: unknown): boolean;
  /** How the runtime's user settles an unknown outcome by hand, for error messages. */
  readonly settleWith: string;
}

/** Runs `fn` at most once per thread lineage for (name, args); see the module comment. */
export async function runEffectAt<T>(
  site: EffectSite,
  host: EffectHost,
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
  const call = new EffectRun(site, host, key, name, args, fn, policy).run();
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
    readonly host: EffectHost,
    readonly key: string,
    readonly name: string,
    readonly args: unknown,
    readonly fn: (call: EffectCall) => T | Promise<T>,
    readonly policy: EffectPolicy,
  ) {}

  run(): Promise<unknown> {
    return traced(
      `execute_tool ${this.name}`,
      {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": this.name,
        "rewind.effect.key": this.key,
      },
      async (span) => {
        const { effect, recorded } = await this.#begin(false);
        // `recorded`: a fresh intent, so the function runs; else the thread's earlier entry.
        span.setAttribute("rewind.effect.reused", !recorded);
        if (recorded) return this.#execute(effect);
        return this.#settle(effect);
      },
    );
  }

  /** An entry the thread already had: its outcome, or the policy's answer to an unknown one. */
  async #settle(effect: EffectRecord): Promise<unknown> {
    if (effect.status !== "started") return this.#recorded(effect);
    const { policy } = this;
    if (policy === "retry") return this.#rerun();
    if (policy === "fail") {
      throw this.#unknown(
        effect,
        `effect "${this.name}" started (attempt ${effect.attempt}, ${effect.startedAt}) and never reported back; its policy is "fail": settle it with ${this.host.settleWith}`,
      );
    }
    let resolution: EffectResolution;
    if (policy === "ask") {
      resolution = await this.host.ask(
        `effect:${this.key}:${effect.attempt}`,
        {
          type: "effect-outcome-unknown",
          key: this.key,
          name: this.name,
          args: effect.args,
          attempt: effect.attempt,
          startedAt: effect.startedAt,
          node: effect.node,
        },
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
      if (this.policy !== "retry" && !this.host.isControlFlow(error)) {
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
      ns: site.ns,
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
