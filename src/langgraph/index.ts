/**
 * `rewind/langgraph`: Rewind storage for LangGraph.js apps. `RewindSaver` is a LangGraph
 * checkpoint saver on any Rewind backend, and keeps a ledger of side effects that happen once
 * (`saver.effects`, `effectTool`); `@langchain/langgraph-checkpoint` is an optional peer
 * dependency, needed only by this entry point (and `@langchain/langgraph`, which a LangGraph app has, by `saver.effects`).
 *
 * @example
 * import { RewindSaver } from "rewind/langgraph";
 * import { SqliteBackend } from "rewind/sqlite";
 * const app = graph.compile({ checkpointer: new RewindSaver(new SqliteBackend("agent.sqlite")) });
 */
export type { AppendPolicy } from "../checkpoint/checkpoint-codec.js";
export type { EffectCall, EffectQuestion } from "../checkpoint/effect-engine.js";
export type { EffectRecord } from "../checkpoint/effect-ledger.js";
export {
  type EffectPolicy,
  type EffectResolution,
  type ReconcilePolicy,
  reconcile,
} from "../checkpoint/effect-policy.js";
export { type EffectToolOptions, effectTool } from "./effect-tool.js";
export { RewindSaver, type RewindSaverOptions } from "./rewind-saver.js";
export { RewindStore } from "./rewind-store.js";
export type { SaverEffects } from "./saver-effects.js";
export {
  createLangGraphSerializer,
  LANGGRAPH_TAG_PREFIX,
  LangGraphValueCodec,
  registerLangChainClasses,
} from "./value-codec.js";
