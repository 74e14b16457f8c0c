/**
 * The cross-thread store: the {@link Store} wrapper, its tenant-bound {@link TenantStore} view,
 * the {@link StoreBackend} seam that memory, SQLite and PostgreSQL implement, and the helpers
 * a backend needs (namespace paths, the reference filter evaluator).
 */
export {
  compareCodePoints,
  decodeNamespace,
  encodeNamespace,
  PATH_TERMINATOR,
  pathDepth,
  pathHasSuffix,
  truncatePath,
  upperBound,
} from "./namespace-path.js";
export * from "./store.js";
export type * from "./store-backend.js";
export type { FilterOperators, StoreFilter } from "./store-filter.js";
export { MAX_FILTER_LIST, matchesFilter } from "./store-filter.js";
export type * from "./store-ops.js";
export {
  MAX_KEY_LENGTH,
  MAX_LABEL_LENGTH,
  MAX_LIMIT,
  MAX_NAMESPACE_DEPTH,
  RESERVED_LABEL_PREFIX,
} from "./store-validation.js";
export {
  type EmbedFunction,
  MAX_QUERY_LENGTH,
  type RankCandidate,
  rankBySimilarity,
  type StoreIndexConfig,
  vectorFromBytes,
  vectorToBytes,
} from "./store-vectors.js";
export * from "./tenant-store.js";
