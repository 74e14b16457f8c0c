/**
 * Garbage collection of large values (mark and sweep with a grace period): a value is removed
 * when no row of the storage references it (kept checkpoints, branches, pending writes,
 * quarantined rows and store items alike, every one in the database on SQLite and PostgreSQL,
 * so a checkpointer's collection keeps what the store beside it references and the other way
 * round; archives hold their values in full) and it was not touched within `graceMs`.
 *
 * Why this is safe against a concurrent writer: a writer touches a value (writes it, or renews
 * its touch time) before it commits the row referencing it, and touches it again whenever its
 * last touch is `touchEveryMs` old. So a value that a row committed after the collection's
 * reference scan began will reference was touched after `now - graceMs` (given a grace longer
 * than `touchEveryMs` plus the longest write), and each removal re-checks the touch time where
 * the target can (in the same statement for SQLite and PostgreSQL): a touch landing between the
 * scan and the removal keeps the value.
 */

import { asRewindError, InvalidInputError } from "../errors.js";
import { storedRefHash } from "../offload/large-value-frame.js";
import { LargeValueStore } from "../offload/large-value-store.js";
import type { Store } from "../store/store.js";
import type { CheckpointBackend } from "./checkpoint-backend.js";
import type { Checkpointer } from "./checkpointer.js";
import { tenantOf } from "./large-value-backend.js";

/** Default grace period: one hour. */
export const DEFAULT_GRACE_MS = 60 * 60 * 1000;

/** Options of {@link collectLargeValues}. */
export interface CollectOptions {
  /**
   * Values touched less than this long ago stay. Default one hour. Keep it above the writers'
   * `touchEveryMs` (default 5 min) plus the longest write, or a concurrent writer may reference
   * a value as it goes; shorter only when nothing writes (tests, a tenant being erased).
   */
  readonly graceMs?: number | undefined;
  /** The collection's clock (epoch ms). Default `Date.now()`. */
  readonly now?: number | undefined;
  /** Only this tenant's values (`""`: the default tenant). Default: every tenant. */
  readonly tenant?: string | undefined;
  /**
   * Other storages whose rows reference values of the same target: a store or a checkpointer
   * in another database that shares this directory or bucket (one database's checkpoints and
   * store already count each other's references). Their references keep values too.
   */
  readonly referencedBy?: readonly LargeValueStorage[] | undefined;
}

/** What a collection found and removed. */
export interface CollectReport {
  /** Values stored before the collection. */
  readonly values: number;
  readonly removed: number;
  readonly bytesRemoved: number;
}

/** Space used by large values, and how much their sharing saves. */
export interface LargeValueStats {
  /** Distinct values stored, and their bytes as stored. */
  readonly values: number;
  readonly storedBytes: number;
  /** References from rows, and the bytes they would take stored once each. */
  readonly references: number;
  readonly referencedBytes: number;
  /** `referencedBytes / storedBytes` (1 when nothing is shared; 0 when nothing is stored). */
  readonly dedupeRatio: number;
}

/**
 * A checkpointer or a store, or a checkpoint backend (whose large values are then those of its
 * own database; use the checkpointer for an external target).
 */
export type LargeValueStorage = Checkpointer | CheckpointBackend | Store;

/**
 * Removes the large values of `checkpointer`'s storage that nothing references any more (see
 * the file's comment for the grace period). Run it after a prune or an erasure, or on a timer.
 *
 * @example
 * await pruneThreads(checkpointer, policy);
 * const { removed } = await collectLargeValues(checkpointer);
 */
export async function collectLargeValues(
  storage: LargeValueStorage,
  options: CollectOptions = {},
): Promise<CollectReport> {
  const store = storeOf(storage);
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
  if (typeof graceMs !== "number" || !(graceMs >= 0)) {
    throw new InvalidInputError("graceMs must be a non-negative number");
  }
  // Values last touched at or before `cutoff` may go: with no grace (erasure), one touched in
  // this very millisecond too (targets remove what was touched strictly before their bound).
  const cutoff = (options.now ?? Date.now()) - graceMs;
  try {
    await ready(storage);
    const referenced = await referencesOf(store);
    for (const other of options.referencedBy ?? []) {
      await ready(other);
      for (const [key, uses] of await referencesOf(storeOf(other))) {
        referenced.set(key, (referenced.get(key) ?? 0) + uses);
      }
    }
    let values = 0;
    let removed = 0;
    let bytesRemoved = 0;
    for await (const entry of store.target.list()) {
      if (options.tenant !== undefined && entry.tenant !== options.tenant) continue;
      values++;
      const key = `${entry.tenant}\0${entry.hash}`;
      if (referenced.has(key) || entry.touchedAt > cutoff) continue;
      if (await store.target.remove(entry.tenant, entry.hash, cutoff + 1)) {
        store.forget(entry.tenant, entry.hash);
        removed++;
        bytesRemoved += entry.bytes;
      }
    }
    return { values, removed, bytesRemoved };
  } catch (error) {
    throw asRewindError(error, `collecting large values in ${store.target.name} failed`);
  }
}

/** Space used by the large values of `checkpointer`'s storage, and the sharing ratio. */
export async function largeValueStats(storage: LargeValueStorage): Promise<LargeValueStats> {
  const store = storeOf(storage);
  try {
    await ready(storage);
    const counts = await referencesOf(store);
    let values = 0;
    let storedBytes = 0;
    let references = 0;
    let referencedBytes = 0;
    for await (const entry of store.target.list()) {
      const uses = counts.get(`${entry.tenant}\0${entry.hash}`) ?? 0;
      values++;
      storedBytes += entry.bytes;
      references += uses;
      referencedBytes += uses * entry.bytes;
    }
    const dedupeRatio = storedBytes === 0 ? 0 : referencedBytes / storedBytes;
    return { values, storedBytes, references, referencedBytes, dedupeRatio };
  } catch (error) {
    throw asRewindError(error, `reading large values in ${store.target.name} failed`);
  }
}

/**
 * Whether `checkpointer` keeps large values it can collect (by hash, on a backend that lists
 * its references): prunes and erasures then collect after themselves.
 */
export function collectsLargeValues(storage: LargeValueStorage): boolean {
  return largeValuesOf(storage)?.backend.listLargeValueRefs !== undefined;
}

/** A checkpointer or a store (not a bare backend): it holds its large values and a `ready()`. */
function isWrapped(storage: LargeValueStorage): storage is Checkpointer | Store {
  return "door" in storage || "forTenant" in storage;
}

/** The storage's large values: a wrapper's own, or a backend's in its own database. */
function largeValuesOf(storage: LargeValueStorage): LargeValueStore | undefined {
  if (isWrapped(storage)) return storage.largeValues;
  const own = storage.largeValueTarget?.();
  return own && new LargeValueStore(storage, own, {}, false);
}

function storeOf(storage: LargeValueStorage): LargeValueStore {
  const store = largeValuesOf(storage);
  if (!store) throw new InvalidInputError("this storage keeps every value in its rows");
  if (!store.backend.listLargeValueRefs) {
    throw new InvalidInputError(
      `the ${store.backend.name} backend cannot list its references to large values`,
    );
  }
  return store;
}

function ready(storage: LargeValueStorage): Promise<void> {
  return isWrapped(storage) ? storage.ready() : storage.setup();
}

/** (tenant \0 hash) -> how many rows reference it. */
async function referencesOf(store: LargeValueStore): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for await (const ref of store.backend.listLargeValueRefs!()) {
    const hash = storedRefHash(ref.tag);
    if (hash === undefined) continue;
    const key = `${"tenant" in ref ? ref.tenant : tenantOf(ref.threadId)}\0${hash}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}
