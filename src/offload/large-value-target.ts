/**
 * Where large values are kept (see large-value-ref.ts): a store of byte strings named by
 * (tenant, content hash), each with the time it was last written or re-referenced ("touched").
 * The same database keeps them by default (each backend's own target, `largeValueTarget()`);
 * a local directory or an S3-compatible bucket can keep them instead.
 *
 * Garbage collection (large-value-gc.ts) removes a value only when no row references it and it
 * was not touched within a grace period; a writer touches a value before it commits a row that
 * references it, so a value about to be referenced again is never removed under it.
 */

/** One stored large value, as listed. `tenant` is `""` for the default tenant. */
export interface LargeValueEntry {
  readonly tenant: string;
  readonly hash: string;
  /** Bytes as stored (after any compression the target applies). */
  readonly bytes: number;
  /** Epoch milliseconds of the last write or touch. */
  readonly touchedAt: number;
}

/** A store of large values. Every method may be called concurrently, from many processes. */
export interface LargeValueTarget {
  /** Short description for messages, e.g. `sqlite`, `dir:./blobs`, `s3://bucket/prefix`. */
  readonly name: string;
  /** Stores `bytes` under (tenant, hash) unless there already, and sets its touch time to `now`. */
  put(tenant: string, hash: string, bytes: Uint8Array, now: number): Promise<void>;
  /** The bytes under (tenant, hash), or `undefined`. */
  get(tenant: string, hash: string): Promise<Uint8Array | undefined>;
  /** Every stored value (any order). */
  list(): AsyncIterable<LargeValueEntry>;
  /**
   * Removes (tenant, hash) if it was last touched before `touchedBefore` (checked at the removal
   * itself where the target can: a touch that lands first keeps it). Returns whether it removed it.
   */
  remove(tenant: string, hash: string, touchedBefore: number): Promise<boolean>;
  /**
   * Optional (re-encryption): stores `next` under (tenant, hash) in place of `previous`, only if
   * the bytes stored are still `previous` (compare-and-set), keeping the touch time. Returns
   * whether it replaced them.
   */
  replace?(tenant: string, hash: string, previous: Uint8Array, next: Uint8Array): Promise<boolean>;
  /** Releases what the target opened itself. */
  close?(): Promise<void>;
}

/** Large values in this process's memory: the memory backend's own target. */
export class MemoryLargeValues implements LargeValueTarget {
  readonly name = "memory";
  readonly #values = new Map<string, { bytes: Uint8Array; touchedAt: number }>();

  async put(tenant: string, hash: string, bytes: Uint8Array, now: number): Promise<void> {
    const key = `${tenant}\0${hash}`;
    const held = this.#values.get(key);
    if (held) held.touchedAt = now;
    else this.#values.set(key, { bytes: bytes.slice(), touchedAt: now });
  }

  async get(tenant: string, hash: string): Promise<Uint8Array | undefined> {
    return this.#values.get(`${tenant}\0${hash}`)?.bytes;
  }

  async *list(): AsyncIterable<LargeValueEntry> {
    for (const [key, { bytes, touchedAt }] of [...this.#values]) {
      const cut = key.lastIndexOf("\0");
      yield {
        tenant: key.slice(0, cut),
        hash: key.slice(cut + 1),
        bytes: bytes.byteLength,
        touchedAt,
      };
    }
  }

  async remove(tenant: string, hash: string, touchedBefore: number): Promise<boolean> {
    const key = `${tenant}\0${hash}`;
    const held = this.#values.get(key);
    if (!held || held.touchedAt >= touchedBefore) return false;
    return this.#values.delete(key);
  }

  async replace(tenant: string, hash: string, previous: Uint8Array, next: Uint8Array) {
    const held = this.#values.get(`${tenant}\0${hash}`);
    if (!held || !Buffer.from(held.bytes).equals(previous)) return false;
    held.bytes = next.slice();
    return true;
  }

  async close(): Promise<void> {
    this.#values.clear();
  }
}

/**
 * A stored tag that references a large value (see large-value-frame.ts), and whose it is: a
 * thread's (checkpoint values, pending writes) or a tenant's (store items).
 */
export type LargeValueRef =
  | { readonly threadId: string; readonly tag: string }
  | { readonly tenant: string; readonly tag: string };
