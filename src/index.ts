/**
 * Rewind: durable state for LLM agents. What an application needs: the graph runtime, the agent
 * layer, the checkpointer and the store with their in-memory backends, tenants, the serializer
 * and the errors. SQLite and PostgreSQL live at `rewind/sqlite` and `rewind/postgres`; the seams
 * and helpers for writing a backend of your own at `rewind/backend`.
 */
export * from "./agent/index.js";
export { MemoryBackend } from "./backends/memory/index.js";
export { createMemoryStore, MemoryStoreBackend } from "./backends/memory/memory-store.js";
export type {
  CheckpointerOptions,
  CheckpointMetadata,
  CheckpointTuple,
} from "./checkpoint/checkpoint-types.js";
export { Checkpointer, createCheckpointer } from "./checkpoint/checkpointer.js";
export type { EffectRecord } from "./checkpoint/effect-ledger.js";
export { checkpointerForTenant } from "./checkpoint/tenant-checkpointer.js";
export { parseThreadKey, type ThreadAddress, threadKey } from "./checkpoint/thread-key.js";
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
  SerializationError,
  StorageError,
  ThreadArchivedError,
  ThreadBusyError,
  ThreadDeletedError,
  TimeoutError,
} from "./errors.js";
export * from "./graph/index.js";
export { threadIdFrom } from "./ids.js";
export * from "./retention/index.js";
export {
  type ClassCodec,
  defaultSerializer,
  JsonSerializer,
  type Serializer,
} from "./serde/serializer.js";
export { createStore, Store, type StoreOptions } from "./store/store.js";
export type * from "./store/store-api.js";
export type { FilterOperators, StoreFilter } from "./store/store-filter.js";
export type { EmbedFunction, StoreIndexConfig } from "./store/store-vectors.js";
export { type BatchResults, TenantStore } from "./store/tenant-store.js";
