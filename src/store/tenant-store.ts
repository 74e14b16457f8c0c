/**
 * The store as nodes and tools see it: bound to one tenant, with no parameter that could name
 * another. Obtain one from {@link Store.forTenant} (or, deliberately, {@link Store.unscoped}).
 */

import type {
  StoreGetOptions,
  StoreItem,
  StoreListNamespacesOptions,
  StoreOperation,
  StoreOperationResult,
  StorePutOptions,
  StoreSearchOptions,
} from "./store-api.js";
import type { StoreFilter } from "./store-filter.js";

/** Runs already-bound operations; supplied by the {@link Store} that created the view. */
export type TenantRunner = (ops: readonly StoreOperation[]) => Promise<unknown[]>;

/** Results of a {@link TenantStore.batch}, one per operation, typed by operation. */
export type BatchResults<O extends readonly StoreOperation[]> = {
  -readonly [I in keyof O]: StoreOperationResult<O[I]>;
};

/**
 * A tenant's view of the store. Every item it writes is stored under its tenant, and every read,
 * search, listing and delete only ever sees that tenant's items, whatever the namespaces and
 * keys contain.
 *
 * @example
 * const memory = store.forTenant("acme");
 * await memory.put(["users", "u1", "prefs"], "theme", { dark: true }, { ttlMs: 86_400_000 });
 * const hits = await memory.search(["users", "u1"], { filter: { dark: true } });
 */
export class TenantStore {
  /** The tenant every operation is bound to; `undefined` for the unscoped view. */
  readonly tenantId: string | undefined;
  readonly #run: TenantRunner;

  /** @internal Use {@link Store.forTenant}. */
  constructor(tenantId: string | undefined, run: TenantRunner) {
    this.tenantId = tenantId;
    this.#run = run;
  }

  /** Stores `value` under `(namespace, key)`, replacing any item there (its `createdAt` is kept). */
  async put(
    namespace: readonly string[],
    key: string,
    value: unknown,
    options: StorePutOptions = {},
  ): Promise<void> {
    await this.#one({ op: "put", namespace, key, value, ...options });
  }

  /** The live item under `(namespace, key)`, or `undefined`. */
  async get<T = unknown>(
    namespace: readonly string[],
    key: string,
    options: StoreGetOptions = {},
  ): Promise<StoreItem<T> | undefined> {
    return (await this.#one({ op: "get", namespace, key, ...options })) as StoreItem<T> | undefined;
  }

  /** Deletes the item; `true` if a live item was there. */
  async delete(namespace: readonly string[], key: string): Promise<boolean> {
    return (await this.#one({ op: "delete", namespace, key })) as boolean;
  }

  /**
   * Live items under `namespacePrefix` (whole labels: `["a"]` never matches `["ab"]`) passing
   * `filter`, most recently updated first.
   */
  async search<T = unknown>(
    namespacePrefix: readonly string[],
    options: StoreSearchOptions & { filter?: StoreFilter } = {},
  ): Promise<StoreItem<T>[]> {
    return (await this.#one({ op: "search", namespacePrefix, ...options })) as StoreItem<T>[];
  }

  /** Distinct namespaces holding live items, in ascending label order. */
  async listNamespaces(options: StoreListNamespacesOptions = {}): Promise<string[][]> {
    return (await this.#one({ op: "listNamespaces", ...options })) as string[][];
  }

  /**
   * Applies the operations in order, atomically: if any fails (bad input, a conflict, a storage
   * error) nothing of the batch is stored. Reads see the batch's earlier writes.
   */
  async batch<const O extends readonly StoreOperation[]>(ops: O): Promise<BatchResults<O>> {
    return (await this.#run(ops)) as BatchResults<O>;
  }

  async #one(op: StoreOperation): Promise<unknown> {
    return (await this.#run([op]))[0];
  }
}
