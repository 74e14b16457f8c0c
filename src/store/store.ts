/**
 * The cross-thread store: long-term memory that outlives threads (a user's preferences, facts an
 * agent learned). Wraps any {@link StoreBackend} once with validation, serialization, TTLs, lazy
 * idempotent setup, a bounded background sweep and a `close()` that can be called twice. Data is
 * only reachable through a tenant-bound {@link TenantStore}; there is no tenant-less default.
 */

import { CallsUnderway } from "../calls-underway.js";
import { asRewindError, ClosedError, InvalidInputError } from "../errors.js";
import { type LargeValueOptions, LargeValueStore } from "../offload/large-value-store.js";
import {
  EncryptionLayer,
  type EncryptionOptions,
  type TextSealer,
} from "../serde/encryption-layer.js";
import { defaultSerializer, type JsonSerializer } from "../serde/serializer.js";
import { traced } from "../tracing.js";
import type { StoreOperation } from "./store-api.js";
import type { StoreBackend, StoredItem, StoreOpResult } from "./store-backend.js";
import { ItemLargeValues } from "./store-large-values.js";
import { decodeItem, embedOps, itemText, type PrepareContext, prepareOp } from "./store-ops.js";
import { validateCount, validateTenantId, validateTtl } from "./store-validation.js";
import { type StoreIndexConfig, validateIndex } from "./store-vectors.js";
import { TenantStore } from "./tenant-store.js";

/** Options of {@link Store}. */
export interface StoreOptions {
  serializer?: JsonSerializer;
  /** TTL of items put without one, in ms. Default: items never expire. */
  defaultTtlMs?: number | null;
  /** Whether reads push a TTL'd item's expiry to now + its TTL. Default true. */
  refreshTtlOnRead?: boolean;
  /** Largest value accepted, in UTF-8 bytes of its serialized form. Default 4 MiB. */
  maxValueBytes?: number;
  /** Clock in epoch ms (inject a fake one in tests). Default `Date.now`. */
  now?: () => number;
  /** Sweep expired items every this many ms once the store is in use. Default: no timer. */
  sweepIntervalMs?: number;
  /** Most items one background sweep deletes. Default 1000. */
  sweepLimit?: number;
  /** Told about a failed background sweep (the next one retries). Default: ignored. */
  onSweepError?: (error: unknown) => void;
  /** Enables semantic search (`search(prefix, { query })`) with pluggable embeddings. */
  index?: StoreIndexConfig;
  /**
   * Encryption at rest: `{ keys }` (a `Keyring` from `rewind/encryption`). Values are sealed with
   * their tenant's data key and bound to their namespace and key; unsealed values are refused.
   * Search filters on values are refused (the backend cannot read them); embeddings stay plain.
   */
  encryption?: EncryptionOptions | undefined;
  /**
   * Large values: a string of `thresholdBytes` (default 128 KiB) characters or more anywhere in a
   * value (a file, an image's base64, a document) is stored once per tenant by content hash and
   * the item keeps a reference in its place; reads put it back. Kept in the backend's own
   * database by default (on SQLite and PostgreSQL the checkpointer's table, so a file held in
   * state and in the store is stored once), or in `target`. `false`: every value stays in its
   * row. Settings as the checkpointer's `largeValues`.
   */
  largeValues?: LargeValueOptions | false | undefined;
}

/** The tenant column value of the unscoped space; no tenant id can equal it. */
const UNSCOPED = "";

/**
 * A validated, serializing handle on a store backend.
 *
 * @example
 * const store = createSqliteStore("agent.sqlite");
 * const acme = store.forTenant("acme");
 * await acme.put(["users", "u1"], "prefs", { theme: "dark", since: new Date() });
 * (await acme.get<{ since: Date }>(["users", "u1"], "prefs"))?.value.since; // a Date
 */
export class Store {
  readonly backend: StoreBackend;
  readonly serializer: JsonSerializer;
  readonly #ctx: PrepareContext;
  readonly #now: () => number;
  readonly #sweepIntervalMs: number | undefined;
  readonly #sweepLimit: number;
  readonly #onSweepError: (error: unknown) => void;
  #ready: Promise<void> | undefined;
  #closed: Promise<void> | undefined;
  readonly #calls = new CallsUnderway();
  #timer: ReturnType<typeof setInterval> | undefined;
  #sweeping: Promise<unknown> | undefined;

  constructor(backend: StoreBackend, options: StoreOptions = {}) {
    this.backend = backend;
    this.serializer = options.serializer ?? defaultSerializer;
    const maxValueBytes = validateCount(options.maxValueBytes, "maxValueBytes", 4 * 1024 * 1024);
    const sealer = options.encryption ? new EncryptionLayer(options.encryption) : undefined;
    this.#ctx = {
      serializer: this.serializer,
      maxValueBytes,
      defaultTtlMs: validateTtl(options.defaultTtlMs ?? null, "defaultTtlMs"),
      refreshTtlOnRead: options.refreshTtlOnRead ?? true,
      index: validateIndex(options.index),
      sealer,
      largeValues: largeValuesOf(backend, options.largeValues, sealer, options.now),
    };
    this.#now = options.now ?? Date.now;
    if (options.sweepIntervalMs !== undefined)
      validateTtl(options.sweepIntervalMs, "sweepIntervalMs");
    this.#sweepIntervalMs = options.sweepIntervalMs;
    this.#sweepLimit = validateCount(options.sweepLimit, "sweepLimit", 1000);
    this.#onSweepError = options.onSweepError ?? (() => undefined);
  }

  /** Where long strings of values are kept, when the store keeps them by reference. */
  get largeValues(): LargeValueStore<StoreBackend> | undefined {
    return this.#ctx.largeValues?.values;
  }

  /** Seals item values when the store was opened with `encryption` (re-encryption uses it). */
  get sealer(): TextSealer | undefined {
    return this.#ctx.sealer;
  }

  /**
   * The store bound to `tenantId`: everything it writes is stored under that tenant and it can
   * never read, list or delete another tenant's items.
   */
  forTenant(tenantId: string): TenantStore {
    const tenant = validateTenantId(tenantId);
    return new TenantStore(tenant, (ops) => this.#calls.track(this.#run(tenant, ops)));
  }

  /**
   * The one space that belongs to no tenant, for data shared by the whole application. Chosen
   * explicitly: no tenant's view can see it, and it cannot see any tenant's items.
   */
  unscoped(): TenantStore {
    return new TenantStore(undefined, (ops) => this.#calls.track(this.#run(UNSCOPED, ops)));
  }

  /** Runs the backend's setup once; concurrent first calls share it, a failed setup is retried. */
  ready(): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new ClosedError(`the ${this.backend.name} store is closed`));
    }
    if (!this.#ready) {
      this.#ready = this.backend.setup().then(
        () => this.#startTimer(),
        (error) => {
          this.#ready = undefined;
          throw this.#wrap(error, "setup");
        },
      );
    }
    return this.#ready;
  }

  /**
   * Deletes up to `limit` (default: the `sweepLimit` option) expired items of every tenant and
   * returns how many. Expired items are invisible already; sweeping reclaims their space.
   */
  async sweepExpired(options: { limit?: number } = {}): Promise<number> {
    const limit = validateCount(options.limit, "limit", this.#sweepLimit);
    await this.ready();
    try {
      return await this.backend.sweepExpired(this.#now(), limit);
    } catch (error) {
      throw this.#wrap(error, "sweep");
    }
  }

  /**
   * Stops the sweep timer and closes the backend once the calls made before it have finished;
   * later calls throw {@link ClosedError}. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#timer) clearInterval(this.#timer);
      await this.#ready?.catch(() => undefined);
      await this.#calls.settled();
      await this.#sweeping;
      try {
        await this.backend.close();
      } finally {
        const values = this.#ctx.largeValues?.values;
        if (values?.external) await values.target.close?.();
      }
    })();
    return this.#closed;
  }

  async #run(tenant: string, ops: readonly StoreOperation[]): Promise<unknown[]> {
    if (!Array.isArray(ops)) throw new InvalidInputError("batch takes an array of operations");
    if (this.#closed) throw new ClosedError(`the ${this.backend.name} store is closed`);
    const frames = new Map<string, Uint8Array>();
    let prepared = ops.map((op) => prepareOp(tenant, op, this.#ctx, frames));
    if (prepared.length === 0) return [];
    await this.ready();
    try {
      prepared = await embedOps(ops, prepared, this.#ctx);
    } catch (error) {
      throw this.#wrap(error, "embedding");
    }
    let results: StoreOpResult[];
    try {
      // The values go first: a row that references one never commits without it.
      if (frames.size > 0) await this.#ctx.largeValues!.store(tenant, frames);
      const batch = prepared;
      results = await traced(
        "rewind.store.batch",
        { "rewind.store.operations": batch.length, "rewind.store.kind": batch[0]!.kind },
        () => this.backend.batch(batch, this.#now()),
      );
    } catch (error) {
      throw this.#wrap(error, "batch");
    }
    return settled(
      results.map((result, i) => {
        const kind = prepared[i]!.kind;
        if (kind === "get") return result && this.#decode(result as StoredItem, tenant);
        if (kind === "search") {
          return settled((result as StoredItem[]).map((row) => this.#decode(row, tenant)));
        }
        return result;
      }),
    );
  }

  /** A row as an item; it waits only when the value's large values must be loaded. */
  #decode(row: StoredItem, tenant: string): unknown {
    const decode = (text: string) => decodeItem(row, text, this.serializer);
    const fail = (error: unknown) => {
      throw this.#wrap(error, "read");
    };
    let text: string | Promise<string>;
    try {
      text = itemText(row, tenant, this.#ctx);
    } catch (error) {
      return fail(error);
    }
    return typeof text === "string" ? decode(text) : text.then(decode, fail);
  }

  #startTimer(): void {
    if (this.#sweepIntervalMs === undefined || this.#timer || this.#closed) return;
    this.#timer = setInterval(() => {
      if (this.#sweeping || this.#closed) return;
      this.#sweeping = this.sweepExpired()
        .catch((error) => this.#onSweepError(error))
        .finally(() => {
          this.#sweeping = undefined;
        });
    }, this.#sweepIntervalMs);
    // The sweep is housekeeping: it must never keep a process alive.
    this.#timer.unref?.();
  }

  #wrap(error: unknown, what: string): Error {
    return asRewindError(error, `${this.backend.name} store ${what} failed`);
  }
}

/** `values`, or a promise of them when one of them is a promise. */
function settled(values: unknown[]): unknown[] | Promise<unknown[]> {
  return values.some((value) => value instanceof Promise) ? Promise.all(values) : values;
}

/**
 * The large values of a store: on an external target when one is given, else in the backend's
 * own database where it has one; none when turned off.
 */
function largeValuesOf(
  backend: StoreBackend,
  options: LargeValueOptions | false | undefined,
  layer: EncryptionLayer | undefined,
  now: (() => number) | undefined,
): ItemLargeValues | undefined {
  if (options === false) return undefined;
  // Values are touched on the store's clock unless large values have their own.
  const given = { now, ...options };
  const target = given.target ?? backend.largeValueTarget?.();
  return (
    target &&
    new ItemLargeValues(new LargeValueStore(backend, target, given, !!given.target), layer)
  );
}

/** Wraps a store backend: `createStore(new MemoryStoreBackend())`. */
export function createStore(backend: StoreBackend, options?: StoreOptions): Store {
  return new Store(backend, options);
}
