/**
 * The effect ledger for LangGraph.js, kept by `RewindSaver`'s storage next to its checkpoints:
 * `saver.effects.run(config, name, args, fn, policy)` from a node (and `effectTool` for tools)
 * records an intent before `fn` runs and its outcome after, and returns a recorded outcome
 * without running `fn` again: on a retry, a resume, a replay from an earlier checkpoint and an
 * `updateState` fork alike. The engine and policies are Rewind's own; an `"ask"` pauses with
 * LangGraph's `interrupt()`, answered with `new Command({ resume: resolution })`.
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import type { TextSealer } from "../checkpoint/checkpoint-codec.js";
import type { CheckpointDoor } from "../checkpoint/checkpoint-door.js";
import {
  type EffectCall,
  type EffectHost,
  type EffectQuestion,
  type EffectsInFlight,
  runEffectAt,
} from "../checkpoint/effect-engine.js";
import { EffectLedger, type EffectRecord } from "../checkpoint/effect-ledger.js";
import {
  checkSettlement,
  type EffectPolicy,
  type EffectResolution,
  settleEffect,
} from "../checkpoint/effect-policy.js";
import { unscopeError } from "../checkpoint/thread-key.js";
import { InvalidInputError } from "../errors.js";
import { importOptionalPeer } from "../optional-peer.js";
import type { JsonSerializer } from "../serde/serializer.js";
import { requiredThreadKey } from "./saver-input.js";

/** Where LangGraph puts a task's id and the checkpoint its step started from, in `configurable`. */
const TASK_ID = "__pregel_task_id";
const CHECKPOINT_MAP = "checkpoint_map";

/**
 * `saver.effects`: side effects that happen once per LangGraph thread. An effect is identified
 * by its name and arguments (not by the task or checkpoint), so every re-run of a node finds
 * it. The thread is the config's `thread_id` in the tenant of `tenant_id`, like the saver's.
 *
 * Fencing: LangGraph has no leases, so nothing stops two processes from running the same
 * thread at once. The ledger then only guarantees that the first outcome recorded for an effect
 * stands: a second process that starts the effect while the first is mid-call finds an intent
 * with no outcome and follows its policy, and an outcome recorded late never overwrites an
 * earlier one. Run each thread in one process at a time to get at-most-once calls.
 */
export class SaverEffects {
  readonly #ledger: EffectLedger;
  /** Effects running in this process, by thread and key: a second call waits for the first. */
  readonly #inflight = new Map<string, Promise<unknown>>();

  constructor(door: CheckpointDoor, serializer: JsonSerializer, sealer?: TextSealer | undefined) {
    // Errors name the caller's thread id, never a tenant's storage key.
    this.#ledger = new EffectLedger(
      door,
      serializer,
      { key: (id) => id, own: unscopeError },
      sealer,
    );
  }

  /**
   * Runs `fn` as the effect `name` with `args` in the thread of `config` (the config LangGraph
   * hands the node or tool), at most once: a recorded result is returned (a recorded failure
   * throws `EffectFailedError`) without running `fn`. An intent with no outcome follows `policy`
   * (default `"ask"`: a LangGraph interrupt showing an `EffectQuestion`, answered with
   * `new Command({ resume: { status: "done", result } })`, `{ status: "failed", error }` or
   * `{ status: "not-run" }`). Arguments and result must be serializable by the saver's
   * serializer: arguments it refuses throw `SerializationError` before anything is recorded.
   *
   * @example
   * const saver = new RewindSaver(new MemoryBackend());
   * // In a node `async (state, config) => ...`:
   * const booking = await saver.effects.run(config, "book_flight", { to: "Tokyo" }, ({ key }) =>
   *   airline.book({ to: "Tokyo", idempotencyKey: key }),
   * );
   */
  async run<T>(
    config: RunnableConfig,
    name: string,
    args: unknown,
    fn: (call: EffectCall) => T | Promise<T>,
    policy: EffectPolicy = "ask",
  ): Promise<Awaited<T>> {
    const threadId = requiredThreadKey(config, "effect");
    const task = taskOf(config);
    const host = await langGraphHost();
    const inflight: EffectsInFlight = {
      get: (key) => this.#inflight.get(`${threadId}\0${key}`),
      set: (key, running) => this.#inflight.set(`${threadId}\0${key}`, running),
      delete: (key) => this.#inflight.delete(`${threadId}\0${key}`),
    };
    try {
      return await runEffectAt(
        {
          ledger: this.#ledger,
          threadId,
          ...task,
          fence: undefined,
          epochs: {},
          inflight,
          marks: [],
        },
        host,
        name,
        args,
        fn,
        policy,
      );
    } catch (error) {
      throw unscopeError(error);
    }
  }

  /** The effects recorded in the thread of `config`, oldest intent first. */
  list(config: RunnableConfig): Promise<EffectRecord[]> {
    return this.#ledger.list(requiredThreadKey(config, "effects.list"));
  }

  /**
   * Records what became of an effect that started and never reported back (`done` with its
   * result, or `failed`), so the next run gets that outcome: how a `"fail"` effect is settled.
   * An effect that already has an outcome is refused (`ConflictError`), as is `not-run`.
   */
  async resolve(
    config: RunnableConfig,
    key: string,
    resolution: EffectResolution,
  ): Promise<EffectRecord> {
    const threadId = requiredThreadKey(config, "effects.resolve");
    checkSettlement(key, resolution);
    try {
      return await settleEffect(this.#ledger, threadId, key, resolution);
    } catch (error) {
      throw unscopeError(error);
    }
  }
}

/** The task running the effect, from the config LangGraph hands a node or tool. */
function taskOf(config: RunnableConfig) {
  const configurable = config.configurable ?? {};
  const taskId = configurable[TASK_ID];
  const taskNs = configurable.checkpoint_ns;
  if (typeof taskId !== "string" || taskId === "" || typeof taskNs !== "string") {
    throw new InvalidInputError(
      "an effect runs inside a LangGraph node or tool: pass the config LangGraph hands it (this one names no running task)",
    );
  }
  // A task's namespace is its graph's namespace, then "|node:taskId" (just "node:taskId" at the root).
  const cut = taskNs.lastIndexOf("|");
  const ns = cut === -1 ? "" : taskNs.slice(0, cut);
  const checkpointId = (configurable[CHECKPOINT_MAP] as Record<string, unknown> | undefined)?.[ns];
  if (typeof checkpointId !== "string" || checkpointId === "") {
    throw new InvalidInputError(
      `an effect runs inside a LangGraph node or tool: the config names no checkpoint for namespace "${ns}"`,
    );
  }
  const node = config.metadata?.langgraph_node;
  return {
    checkpointId,
    taskId,
    ns,
    node: typeof node === "string" && node !== "" ? node : taskNs.slice(cut + 1).split(":")[0]!,
  };
}

let host: Promise<EffectHost> | undefined;

/** LangGraph's side of the engine: its `interrupt()` and its control-flow throws, loaded once. */
function langGraphHost(): Promise<EffectHost> {
  host ??= importOptionalPeer(
    "@langchain/langgraph",
    "an effect's policy",
    () => import("@langchain/langgraph"),
  ).then(
    (lg): EffectHost => ({
      ask: (_id, question, check) => {
        // LangGraph numbers a task's interrupts by their order: a refused answer is asked again
        // as the next one, with the reason.
        let asked: EffectQuestion = question;
        for (;;) {
          const answer: unknown = lg.interrupt(asked);
          const problem = check(answer);
          if (problem === undefined) return answer as EffectResolution;
          asked = { ...question, problem };
        }
      },
      isControlFlow: (error) => lg.isGraphBubbleUp(error),
      settleWith: "saver.effects.resolve()",
    }),
  );
  return host;
}
