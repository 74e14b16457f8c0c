export {
  appendChannel,
  type Channel,
  type ChannelMap,
  lastValue,
  messagesChannel,
  reducer,
  type StateOf,
  type UpdateOf,
} from "./channels.js";
export { Command, type CommandFields, isCommand } from "./command.js";
export type {
  CompileOptions,
  StateSnapshot,
  TaskInfo,
  ThreadRef,
  ThreadSelector,
} from "./compiled-graph.js";
export { CompiledGraph } from "./compiled-graph.js";
export { END, START } from "./constants.js";
export { diffValues, type StateChange } from "./diff.js";
export {
  type EffectCall,
  type EffectPolicy,
  type EffectQuestion,
  type EffectResolution,
  type EffectRunner,
  type ReconcilePolicy,
  reconcile,
} from "./effect.js";
export type { ForkPreview } from "./effect-admin.js";
export type { NodeFn, NodeOptions, Router } from "./graph-spec.js";
export { type Interrupt, interrupt } from "./interrupt.js";
export {
  type Branch,
  buildLineage,
  type Lineage,
  type LineageNode,
  renderLineage,
} from "./lineage.js";
export { type Message, mergeMessages, type RemoveMessage, removeMessage } from "./messages.js";
export type { StateMigration } from "./migrations.js";
export type { NodeContext } from "./node-context.js";
export type { RetryPolicy } from "./retry.js";
export type { Durability, RunOptions, RunResult, StreamEvent } from "./run-types.js";
export { StateGraph } from "./state-graph.js";
