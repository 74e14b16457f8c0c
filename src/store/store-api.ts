/**
 * The store as its callers see it: items, the options of each call, and the operations of a
 * batch with their typed results. `prepareOp` (store-ops.ts) turns them into the seam's raw
 * operations.
 */
import type { StoreFilter } from "./store-filter.js";

/** A stored item as callers see it. */
export interface StoreItem<T = unknown> {
  readonly namespace: string[];
  readonly key: string;
  readonly value: T;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  /** When the item stops being visible; `undefined` if it never expires. */
  readonly expiresAt: Date | undefined;
  /** Cosine similarity to the query, on results of a semantic search. */
  readonly score?: number;
}

/** Options of a put. */
export interface StorePutOptions {
  /** Expiry in ms from now; `null` never expires; omitted: the store's `defaultTtlMs`. */
  ttlMs?: number | null;
  /** Fail with `ConflictError` (writing nothing) if a live item already has this key. */
  ifAbsent?: boolean;
  /**
   * On a store with an `index`: `false` leaves this item out of semantic search; an array of dot
   * paths embeds those fields instead of the index's `fields`.
   */
  index?: false | readonly string[];
}

/** Options of a get. */
export interface StoreGetOptions {
  /** Push a TTL'd item's expiry to now + its TTL. Default: the store's `refreshTtlOnRead`. */
  refreshTtl?: boolean;
}

/** Options of a search. */
export interface StoreSearchOptions extends StoreGetOptions {
  filter?: StoreFilter;
  /**
   * Natural-language query (needs a store `index`): results are the items with a vector, most
   * similar first, each with a `score`.
   */
  query?: string;
  /** Default 10, at most 10,000. */
  limit?: number;
  offset?: number;
}

/** Options of a namespace listing. */
export interface StoreListNamespacesOptions {
  /** Only namespaces starting with these whole labels. */
  prefix?: readonly string[];
  /** Only namespaces ending with these whole labels. */
  suffix?: readonly string[];
  /** Cut each namespace to its first `maxDepth` labels (then deduplicate). */
  maxDepth?: number;
  /** Default 100, at most 10,000. */
  limit?: number;
  offset?: number;
}

/** One operation of a {@link TenantStore.batch}. */
export type StoreOperation =
  | ({ op: "get"; namespace: readonly string[]; key: string } & StoreGetOptions)
  | ({ op: "put"; namespace: readonly string[]; key: string; value: unknown } & StorePutOptions)
  | { op: "delete"; namespace: readonly string[]; key: string }
  | ({ op: "search"; namespacePrefix: readonly string[] } & StoreSearchOptions)
  | ({ op: "listNamespaces" } & StoreListNamespacesOptions);

/** The result of one batch operation: an item or `undefined`, nothing, a flag, items, namespaces. */
export type StoreOperationResult<O extends StoreOperation> = O extends { op: "get" }
  ? StoreItem | undefined
  : O extends { op: "put" }
    ? undefined
    : O extends { op: "delete" }
      ? boolean
      : O extends { op: "search" }
        ? StoreItem[]
        : string[][];
