/**
 * Side effects that happen once: `ctx.effect(name, args, fn, policy)` records an intent in the
 * thread's effect ledger before `fn` runs and its outcome after, and never runs `fn` when the
 * thread already has an outcome for the same effect (same name and arguments): a retry, a
 * resume, a replay and a fork all get the recorded result instead. An intent with no outcome
 * (the process died mid-call) follows the effect's policy. The engine is shared with the
 * LangGraph adapter (`checkpoint/effect-engine.ts`); this file plugs in the runtime's interrupt.
 */
import {
  type EffectCall,
  type EffectHost,
  type EffectSite,
  runEffectAt,
} from "../checkpoint/effect-engine.js";
import type { EffectPolicy } from "../checkpoint/effect-policy.js";
import { GraphInterrupt, interruptAs } from "./interrupt.js";

export type {
  EffectCall,
  EffectMark,
  EffectQuestion,
  EffectSite,
} from "../checkpoint/effect-engine.js";
export {
  checkPolicy,
  checkResolution,
  type EffectPolicy,
  type EffectResolution,
  type ReconcilePolicy,
  reconcile,
} from "../checkpoint/effect-policy.js";

/** `ctx.effect`: runs `fn` as the effect `name` with `args` (see `NodeContext.effect`). */
export type EffectRunner = <T>(
  name: string,
  args: unknown,
  fn: (call: EffectCall) => T | Promise<T>,
  policy?: EffectPolicy,
) => Promise<Awaited<T>>;

/** Rewind's runtime: `"ask"` pauses with `interruptAs`, under an id derived from the effect. */
const RUNTIME: EffectHost = {
  ask: (id, question, check) => interruptAs(id, question, check),
  isControlFlow: (error) => error instanceof GraphInterrupt,
  settleWith: "resolveEffect()",
};

/** Runs `fn` at most once per thread lineage for (name, args); see the module comment. */
export function runEffect<T>(
  site: EffectSite,
  name: string,
  args: unknown,
  fn: (call: EffectCall) => T | Promise<T>,
  policy: EffectPolicy = "ask",
): Promise<Awaited<T>> {
  return runEffectAt(site, RUNTIME, name, args, fn, policy);
}
