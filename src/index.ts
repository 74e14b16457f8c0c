/**
 * Rewind: durable state for LLM agents. The runtime, the agent layer, the storage seam and the
 * memory backend; SQLite and PostgreSQL live at `rewind/sqlite` and `rewind/postgres`.
 */
export * from "./agent/index.js";
export * from "./errors.js";
export * from "./graph/index.js";
export { MAX_THREAD_ID_LENGTH, newCheckpointId, threadIdFrom, validateThreadId } from "./ids.js";
export * from "./serde/index.js";
export * from "./storage/checkpointer.js";
export { MemoryBackend } from "./storage/memory/index.js";
export { createMemoryStore, MemoryStoreBackend } from "./storage/memory/memory-store.js";
export { checkpointerForTenant } from "./storage/tenant-checkpointer.js";
export { parseThreadKey, type ThreadAddress, threadKey } from "./storage/thread-key.js";
export type * from "./storage/types.js";
export * from "./store/index.js";
