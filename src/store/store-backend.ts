/**
 * The cross-thread store seam. A backend implements {@link StoreBackend}: one atomic `batch` of
 * raw operations, a bounded sweep of expired items, setup and close. Every operation names its
 * tenant in a field of its own; a backend keeps the tenant in its own column and never joins it
 * into the namespace. Values arrive as tagged-JSON text (see `JsonSerializer.stringify`), so SQL
 * backends can filter on them; the core ({@link Store}) validates and serializes.
 */
import type { LargeValueRef, LargeValueTarget } from "../offload/large-value-target.js";

/** A JSON scalar a filter compares against. */
export type FilterScalar = string | number | boolean | null;

/** Operators of a filter condition on one value field. */
export type FilterOperator = "eq" | "ne" | "gt" | "gte" | "lt" | "lte" | "in" | "nin" | "exists";

/**
 * One validated condition: the value at `path` (object keys, outermost first) compared with
 * `operand`. Semantics, identical on every backend:
 * - `eq`: the field is present, has the operand's JSON type and equals it (`null` matches only
 *   a stored `null`); `ne` is its negation, so it also matches a missing field;
 * - `gt gte lt lte`: the field is a number (operand a number) or a string (operand a string,
 *   compared in code-point order); fields of any other type never match;
 * - `in`: `eq` to one of the operands; `nin` its negation;
 * - `exists`: the field is present (a stored `null` counts) when the operand is `true`,
 *   absent when `false`.
 * A path only walks objects: an array on the way makes the field absent. Values the serializer
 * tags (a Date, a Map...) are objects that equal no scalar.
 */
export interface FilterCondition {
  readonly path: readonly string[];
  readonly op: FilterOperator;
  readonly operand: FilterScalar | readonly FilterScalar[];
}

/** An item as a backend stores it. Times are epoch milliseconds. */
export interface StoredItem {
  readonly namespace: readonly string[];
  readonly key: string;
  /** Tagged-JSON text of the value. */
  readonly value: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** `null`: never expires. */
  readonly expiresAt: number | null;
  /** Cosine similarity to the query, on results of a semantic search. */
  readonly score?: number;
  /** The large values the value references by hash (see store-large-values.ts); absent: none. */
  readonly refs?: readonly string[];
}

/** Reads one item. `refreshTtl` pushes a TTL'd item's expiry to `now + its ttl`. */
export interface StoreGetOp {
  readonly kind: "get";
  readonly tenant: string;
  readonly namespace: readonly string[];
  readonly key: string;
  readonly refreshTtl: boolean;
}

/**
 * Inserts or replaces one item. `createdAt` survives a replace of a live item; an expired item
 * is replaced as if absent. With `ifAbsent`, a live item under the key makes the backend throw
 * `ConflictError` (and the whole batch roll back).
 */
export interface StorePutOp {
  readonly kind: "put";
  readonly tenant: string;
  readonly namespace: readonly string[];
  readonly key: string;
  readonly value: string;
  /** `null`: never expires; otherwise the item expires `ttlMs` after `now`. */
  readonly ttlMs: number | null;
  readonly ifAbsent: boolean;
  /** The item's vector for semantic search, or `null`: not indexed. */
  readonly embedding: Float32Array | null;
  /**
   * The hashes of the large values the value references (stored with the item, so garbage
   * collection can list them without reading values, which may be encrypted). Absent: none.
   */
  readonly refs?: readonly string[];
}

/** Deletes one item; its result says whether a live item was there. */
export interface StoreDeleteOp {
  readonly kind: "delete";
  readonly tenant: string;
  readonly namespace: readonly string[];
  readonly key: string;
}

/**
 * Live items whose namespace starts with `namespacePrefix` (whole labels; `[]` matches all) and
 * whose value passes every condition, ordered by `updatedAt` descending, then namespace and key
 * ascending (code-point order, label by label).
 */
export interface StoreSearchOp {
  readonly kind: "search";
  readonly tenant: string;
  readonly namespacePrefix: readonly string[];
  readonly filter: readonly FilterCondition[];
  readonly limit: number;
  readonly offset: number;
  readonly refreshTtl: boolean;
  /**
   * When set, only items with a vector are candidates, ranked by `rankBySimilarity` to this one
   * (not by recency), and each result carries its `score`.
   */
  readonly query: Float32Array | null;
}

/**
 * Distinct namespaces of live items that start with `prefix` and end with `suffix` (whole
 * labels), each cut to its first `maxDepth` labels, deduplicated, in ascending order.
 */
export interface StoreListNamespacesOp {
  readonly kind: "listNamespaces";
  readonly tenant: string;
  readonly prefix: readonly string[];
  readonly suffix: readonly string[];
  readonly maxDepth: number | null;
  readonly limit: number;
  readonly offset: number;
}

/** A raw store operation. */
export type StoreOp =
  | StoreGetOp
  | StorePutOp
  | StoreDeleteOp
  | StoreSearchOp
  | StoreListNamespacesOp;

/** Result of a raw operation, by kind. */
export type StoreOpResult<K extends StoreOp["kind"] = StoreOp["kind"]> = {
  get: StoredItem | undefined;
  put: undefined;
  delete: boolean;
  search: StoredItem[];
  listNamespaces: string[][];
}[K];

/** An item as {@link StoreBackend.rewriteItems} hands it over: where it is and its value text. */
export interface StoredItemText {
  readonly tenant: string;
  /** The encoded namespace (`encodeNamespace`). */
  readonly path: string;
  readonly key: string;
  readonly value: string;
}

/** Which items one call of {@link StoreBackend.rewriteItems} visits. */
export interface ItemRewriteQuery {
  /** Only this tenant's items. Default: every tenant. */
  readonly tenant?: string | undefined;
  /** Only items after this one, in (tenant, path, key) code-point order. */
  readonly after?: Omit<StoredItemText, "value"> | undefined;
  /** Items per call, at least 1. */
  readonly limit: number;
}

/**
 * The storage interface of the cross-thread store. Backends throw Rewind errors
 * (`ConflictError`, `StorageError`) and never partial results.
 */
export interface StoreBackend {
  /** Short name for messages, e.g. `"sqlite"`. */
  readonly name: string;
  /** Creates or migrates the schema. Called by each wrapper before first use; idempotent. */
  setup(): Promise<void>;
  /**
   * Applies `ops` in order, all or nothing: if one throws, none of the batch's writes persist.
   * A read sees the writes of earlier operations in the same batch. An item is live while its
   * `expiresAt` is null or greater than `now` (epoch ms, the caller's clock).
   */
  batch(ops: readonly StoreOp[], now: number): Promise<StoreOpResult[]>;
  /** Deletes at most `limit` items that expired at or before `now`; returns how many. */
  sweepExpired(now: number, limit: number): Promise<number>;
  /**
   * Optional (re-encryption): hands the next `query.limit` items (expired ones too) to
   * `rewrite`, and stores each value text it answers in place of the one it was given, only
   * where the item still holds that one (compare-and-set: an item put meanwhile keeps the
   * newer value). Returns the last item visited (`undefined`: none was left) and how many
   * were replaced.
   */
  rewriteItems?(
    query: ItemRewriteQuery,
    rewrite: (item: StoredItemText) => string | undefined,
  ): Promise<{ last: StoredItemText | undefined; replaced: number }>;
  /**
   * Optional (large values): where this storage keeps large values itself, in the same database
   * (on SQLite and PostgreSQL the checkpointer's table, so a value in both is stored once).
   */
  largeValueTarget?(): LargeValueTarget;
  /**
   * Optional (large values): every stored reference to a large value in this storage's database:
   * the store items' (`{ tenant, tag }`), and where the database also holds checkpoint tables,
   * theirs too, so garbage collection from either side keeps what the other references.
   */
  listLargeValueRefs?(): AsyncIterable<LargeValueRef>;
  /**
   * Releases connections or handles the backend opened itself. Idempotent: stores sharing a
   * backend each call it.
   */
  close(): Promise<void>;
}
