/**
 * Rewind: durable state for LLM agents. What an application needs: the graph runtime, the agent
 * layer, the checkpointer and the store with their in-memory backends, tenants, the serializer
 * and the errors. SQLite and PostgreSQL live at `rewind/sqlite` and `rewind/postgres`; the seams,
 * the stored and batch shapes and the helpers for writing a backend, a model or an adapter of
 * your own at `rewind/backend`.
 */
export {
  type AgentChannels,
  type ApprovalDecision,
  type ApprovalRequest,
  assistantMessage,
  type ChatMessage,
  type ChatModel,
  type ChatRequest,
  createReactAgent,
  OpenAIChatModel,
  type ReactAgent,
  ScriptExhaustedError,
  ScriptedModel,
  type ScriptedResponse,
  systemMessage,
  type Tool,
  type ToolContext,
  tool,
  toolMessage,
  userMessage,
} from "./agent/index.js";
export { MemoryBackend } from "./backends/memory/index.js";
export { createMemoryStore } from "./backends/memory/memory-store.js";
export { Checkpointer, createCheckpointer } from "./checkpoint/checkpointer.js";
export type { EffectRecord } from "./checkpoint/effect-ledger.js";
export { checkpointerForTenant } from "./checkpoint/tenant-checkpointer.js";
export { parseThreadKey, threadKey } from "./checkpoint/thread-key.js";
export {
  AlreadyResumedError,
  ArchiveDamagedError,
  ClosedError,
  ConflictError,
  ConnectionError,
  CorruptionError,
  EffectFailedError,
  EffectUnknownError,
  InvalidGraphError,
  InvalidInputError,
  isRewindError,
  LeaseLostError,
  MigrationError,
  MissingPeerError,
  NodeFailedError,
  NotFoundError,
  RecursionLimitError,
  RewindError,
  type RewindErrorCode,
  RunStoppedError,
  SerializationError,
  StorageError,
  ThreadArchivedError,
  ThreadBusyError,
  ThreadDeletedError,
  TimeoutError,
} from "./errors.js";
export type {
  EffectCall,
  EffectPolicy,
  EffectQuestion,
  EffectResolution,
  EffectRunner,
  ForkPreview,
  NodeContext,
  ReconcilePolicy,
  RunOptions,
  RunResult,
  StreamEvent,
} from "./graph/index.js";
export {
  appendChannel,
  Command,
  CompiledGraph,
  type CompileOptions,
  END,
  interrupt,
  lastValue,
  type Message,
  messagesChannel,
  reconcile,
  reducer,
  removeMessage,
  renderLineage,
  START,
  StateGraph,
  type StateOf,
  type StateSnapshot,
  type ThreadRef,
} from "./graph/index.js";
export { threadIdFrom } from "./ids.js";
export {
  type PruneReport,
  pin,
  prune,
  type RetentionPolicy,
  type RetentionRule,
  type Sweeper,
  startSweeper,
  unpin,
} from "./retention/index.js";
export { JsonSerializer } from "./serde/serializer.js";
export { createStore, Store } from "./store/store.js";
export type { StoreItem } from "./store/store-api.js";
export { TenantStore } from "./store/tenant-store.js";
