/**
 * The large values of one storage in this process: where they are kept (a
 * {@link LargeValueTarget}), which ones this process stored or touched recently (a touch is
 * written once per `touchEveryMs`), and a bounded cache of the ones it read. Shared by both
 * cores: the checkpointer's large-value layer and the store.
 */
import { InvalidInputError } from "../errors.js";
import type { LargeValueRef, LargeValueTarget } from "./large-value-target.js";

/**
 * Every store of large values of this process (held weakly), so that forgetting a removed value
 * reaches each of them.
 */
const LIVE = new Set<WeakRef<LargeValueStore<LargeValueReferrer>>>();

/** Defaults of large values, declared once. */
export const LARGE_VALUE_DEFAULTS = Object.freeze({
  /** Serialized values above this many bytes are stored by hash (see the README's measurement). */
  thresholdBytes: 128 * 1024,
  /** Bytes of large values a process keeps after reading them. */
  cacheBytes: 64 * 1024 * 1024,
  /** A process touches a value it stored or touched less than this long ago only once. */
  touchEveryMs: 5 * 60 * 1000,
});

/** Options of large values (`createCheckpointer(backend, { largeValues })`). */
export interface LargeValueOptions {
  /** Serialized values above this many bytes are stored once by hash. Default 128 KiB. */
  readonly thresholdBytes?: number | undefined;
  /** Where they are kept. Default: the backend's own database. */
  readonly target?: LargeValueTarget | undefined;
  /** Bytes of large values kept in this process after reading them. Default 64 MiB. */
  readonly cacheBytes?: number | undefined;
  /**
   * How long a touch lasts for this process: a value it stored or touched less than this long
   * ago is not touched again. Garbage collection's grace period must exceed it. Default 5 min.
   */
  readonly touchEveryMs?: number | undefined;
  /** Clock in epoch milliseconds (tests). Default `Date.now`. */
  readonly now?: (() => number) | undefined;
}

/**
 * Storage whose rows reference large values: a checkpoint backend or a store backend. Garbage
 * collection lists the references (on SQLite and PostgreSQL, every reference in the database:
 * checkpoint values, pending writes and store items, so either storage's collection keeps what
 * the other references).
 */
export interface LargeValueReferrer {
  readonly name: string;
  listLargeValueRefs?(): AsyncIterable<LargeValueRef>;
}

/** A store of large values for one backend: its target, cache and touch memory. */
export class LargeValueStore<B extends LargeValueReferrer = LargeValueReferrer> {
  readonly target: LargeValueTarget;
  /** The backend whose rows reference the values (garbage collection lists its references). */
  readonly backend: B;
  readonly thresholdBytes: number;
  /** Whether the target belongs to this store (an external one, closed with it). */
  readonly external: boolean;
  readonly #cacheBytes: number;
  readonly #touchEveryMs: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, Uint8Array>();
  #cached = 0;
  readonly #touched = new Map<string, number>();

  constructor(backend: B, target: LargeValueTarget, options: LargeValueOptions, external: boolean) {
    const setting = (key: keyof typeof LARGE_VALUE_DEFAULTS, min: number) => {
      const value = options[key] ?? LARGE_VALUE_DEFAULTS[key];
      if (typeof value !== "number" || !(value >= min)) {
        throw new InvalidInputError(`largeValues.${key} must be a number of at least ${min}`);
      }
      return value;
    };
    this.target = target;
    this.backend = backend;
    this.external = external;
    this.thresholdBytes = setting("thresholdBytes", 1);
    this.#cacheBytes = setting("cacheBytes", 0);
    this.#touchEveryMs = setting("touchEveryMs", 0);
    this.#now = options.now ?? Date.now;
    if (LIVE.size >= 64) for (const ref of LIVE) if (!ref.deref()) LIVE.delete(ref);
    LIVE.add(new WeakRef(this));
  }

  /**
   * Writes a frame unless this process stored or touched it recently. It is not cached here:
   * only reads fill the cache. Holding every new value a writer produces (each a fresh megabyte
   * for a 1 MB file) cost a 1 MB put a third of its time (median wall time per put over 8
   * alternated rounds, 30-55 ms held against 24-32 ms not held, load 10-14 on 2 cores), for a
   * read that may never come; a value read once is cached from then on.
   */
  async store(tenant: string, hash: string, frame: Uint8Array): Promise<void> {
    const key = `${tenant}\0${hash}`;
    const now = this.#now();
    const last = this.#touched.get(key);
    if (last === undefined || now - last >= this.#touchEveryMs) {
      await this.target.put(tenant, hash, frame, now);
      if (this.#touched.size >= 100_000) this.#touched.clear();
      this.#touched.set(key, now);
    }
  }

  /** The frame of (`tenant`, `hash`), or `undefined` when the target lacks it. */
  async load(tenant: string, hash: string): Promise<Uint8Array | undefined> {
    const key = `${tenant}\0${hash}`;
    const hit = this.#cache.get(key);
    if (hit) {
      this.#cache.delete(key);
      this.#cache.set(key, hit);
      return hit;
    }
    const bytes = await this.target.get(tenant, hash);
    if (bytes) this.#remember(key, bytes);
    return bytes;
  }

  /**
   * Forgets what this process cached and touched of (`tenant`, `hash`), in every store of large
   * values it holds (after a collection removed the value, or re-encryption replaced it): a
   * checkpointer and a store of one database share its table, and one's memory of a recent
   * touch would otherwise keep it from storing the value again.
   */
  forget(tenant: string, hash: string): void {
    const key = `${tenant}\0${hash}`;
    for (const ref of LIVE) {
      const store = ref.deref();
      if (store) store.#drop(key);
    }
  }

  #drop(key: string): void {
    const bytes = this.#cache.get(key);
    if (bytes) this.#cached -= bytes.byteLength;
    this.#cache.delete(key);
    this.#touched.delete(key);
  }

  #remember(key: string, bytes: Uint8Array): void {
    if (bytes.byteLength > this.#cacheBytes || this.#cache.has(key)) return;
    this.#cache.set(key, bytes);
    this.#cached += bytes.byteLength;
    for (const [old, held] of this.#cache) {
      if (this.#cached <= this.#cacheBytes) break;
      this.#cache.delete(old);
      this.#cached -= held.byteLength;
    }
  }
}
