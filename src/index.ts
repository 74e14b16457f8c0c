/**
 * Rewind: durable state for LLM agents. The runtime, the agent layer, the storage seam and the
 * memory backend; SQLite and PostgreSQL live at `rewind/sqlite` and `rewind/postgres`.
 */
export * from "./agent/index.js";
export { MemoryBackend } from "./backends/memory/index.js";
export { createMemoryStore, MemoryStoreBackend } from "./backends/memory/memory-store.js";
export type * from "./checkpoint/checkpoint-backend.js";
export * from "./checkpoint/checkpointer.js";
export { checkpointerForTenant } from "./checkpoint/tenant-checkpointer.js";
export { parseThreadKey, type ThreadAddress, threadKey } from "./checkpoint/thread-key.js";
export * from "./errors.js";
export * from "./graph/index.js";
export { MAX_THREAD_ID_LENGTH, newCheckpointId, threadIdFrom, validateThreadId } from "./ids.js";
export * from "./serde/index.js";
export * from "./store/index.js";
