/**
 * `rewind/backend`: for authors of a backend or an adapter. The two seams (a checkpoint backend
 * and a store backend), the stored shapes that cross them, the codec and the door every caller
 * reaches a checkpoint backend through, the checkpointer's own records and the store's batch
 * operations (what an adapter such as `rewind/langgraph` speaks), the reference in-memory store
 * backend, the serializer's extension points, the model seam's tool specs, and the helpers
 * Rewind's own backends share (namespace paths, blob chains, the reference filter evaluator,
 * vector bytes, limits). Prove a backend with the conformance suites of `rewind/testing`.
 *
 * @example
 * import { type CheckpointBackend, encodeNamespace } from "rewind/backend";
 * import { createCheckpointer } from "rewind";
 * const checkpointer = createCheckpointer(myBackend satisfies CheckpointBackend);
 * const path = encodeNamespace(["users", "alice"]); // sorts like the namespace, prefix-searchable
 */
export type { ChatOptions } from "./agent/chat-model.js";
export { type ToolSchema, type ToolSpec, toolSpec } from "./agent/tools.js";
export { MemoryStoreBackend } from "./backends/memory/memory-store.js";
export { compareWrites, MAX_CHAIN, resolveBlobChain } from "./checkpoint/blob-chain.js";
export type * from "./checkpoint/checkpoint-backend.js";
export {
  type AppendPolicy,
  type ChannelWrite,
  type CheckpointBody,
  CheckpointCodec,
  type CheckpointCodecOptions,
  CODEC_DEFAULTS,
  type CodecLayer,
  type Decoded,
  type Encoded,
  type RebuiltChannel,
  type ValueSerializer,
  type ValueSite,
} from "./checkpoint/checkpoint-codec.js";
export { CheckpointDoor, MAX_PATH_LENGTH } from "./checkpoint/checkpoint-door.js";
export type {
  ChannelUpdate,
  Checkpoint,
  CheckpointerOptions,
  CheckpointMetadata,
  CheckpointTuple,
  EncodedCheckpoint,
  ListOptions,
  NewCheckpoint,
  PendingWrite,
  PutOptions,
} from "./checkpoint/checkpoint-types.js";
export type { ThreadAddress } from "./checkpoint/thread-key.js";
export { asRewindError, type RewindErrorOptions } from "./errors.js";
export { MAX_THREAD_ID_LENGTH, newCheckpointId, validateThreadId } from "./ids.js";
export type {
  LargeValueEntry,
  LargeValueRef,
  LargeValueTarget,
} from "./offload/large-value-target.js";
export {
  BYTES_TAG,
  type ClassCodec,
  defaultSerializer,
  JSON_TAG,
  type SerializedValue,
  type Serializer,
} from "./serde/serializer.js";
export {
  compareCodePoints,
  decodeNamespace,
  encodeNamespace,
  PATH_TERMINATOR,
  pathDepth,
  pathHasSuffix,
  truncatePath,
  upperBound,
} from "./store/namespace-path.js";
export type { StoreOperation, StoreOperationResult } from "./store/store-api.js";
export type * from "./store/store-backend.js";
export { MAX_FILTER_LIST, matchesFilter } from "./store/store-filter.js";
export {
  MAX_KEY_LENGTH,
  MAX_LABEL_LENGTH,
  MAX_LIMIT,
  MAX_NAMESPACE_DEPTH,
  RESERVED_LABEL_PREFIX,
} from "./store/store-validation.js";
export {
  MAX_QUERY_LENGTH,
  type RankCandidate,
  rankBySimilarity,
  vectorFromBytes,
  vectorToBytes,
} from "./store/store-vectors.js";
export type { BatchResults, TenantRunner } from "./store/tenant-store.js";
