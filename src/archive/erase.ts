/**
 * Erasure: deleting threads (by id, tenant or all) with every checkpoint, value, pending write
 * and quarantined row, their archived copies, and for a tenant its store items too. Each thread
 * keeps its tombstone (the seam's delete leaves one), so a late write cannot bring it back; the
 * report says what was removed.
 */
import { collectLargeValues, collectsLargeValues } from "../checkpoint/large-value-gc.js";
import { threadKey } from "../checkpoint/thread-key.js";
import { InvalidInputError } from "../errors.js";
import type { Store } from "../store/store.js";
import type { StoreOp } from "../store/store-backend.js";
import { validateTenantId } from "../store/store-validation.js";
import { type ArchiveTarget, archivedThreadsOf, storeArchiveKey } from "./archive-target.js";
import { storeItemsOf } from "./store-items.js";
import {
  type CheckpointStorage,
  doorOf,
  selectThreads,
  type ThreadFilter,
} from "./thread-selection.js";

/** What an erasure removed. */
export interface ErasureReport {
  /** Storage keys of the threads deleted (and tombstoned). */
  readonly threadIds: readonly string[];
  readonly checkpoints: number;
  readonly writes: number;
  /** Archived copies removed from the target. */
  readonly archives: number;
  /** Store items deleted (`deleteTenant` with a store). */
  readonly storeItems: number;
}

/** Options of {@link deleteThreads} and {@link deleteTenant}. */
export interface ErasureOptions {
  /** The archive whose copies of these threads are removed too. */
  readonly archive?: ArchiveTarget | undefined;
  /** Called after each thread. */
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
}

/**
 * Deletes the threads `filter` names (archived ones included, found in `options.archive`) and
 * their archived copies. Rerunnable: a thread deleted already is skipped, a copy left behind by an
 * interrupted run is found and removed.
 *
 * @example
 * const report = await deleteThreads(backend, { threadIds: ["t1", "t2"], tenantId: "acme" });
 */
export async function deleteThreads(
  storage: CheckpointStorage,
  filter: ThreadFilter,
  options: ErasureOptions = {},
): Promise<ErasureReport> {
  if (filter.idleDays !== undefined) {
    throw new InvalidInputError("deleteThreads takes thread ids, a tenant or all, not idleDays");
  }
  const door = doorOf(storage);
  const keys = new Set(await selectThreads(door, filter));
  const { archive } = options;
  const archived = new Set<string>();
  if (archive) {
    const listed =
      filter.threadIds !== undefined
        ? filter.threadIds.map((id) => threadKey(id, filter.tenantId))
        : filter.all === true && filter.tenantId === undefined
          ? await allArchived(archive)
          : await archivedThreadsOf(archive, filter.tenantId);
    const present = new Set(await allArchived(archive));
    for (const key of listed) if (present.has(key)) archived.add(key);
  }
  for (const key of [...keys]) if ((await door.readArchive(key)) !== undefined) archived.add(key);
  const all = [...new Set([...keys, ...archived])].sort();
  let checkpoints = 0;
  let writes = 0;
  let archives = 0;
  let done = 0;
  for (const key of all) {
    for await (const row of door.listCheckpoints({ threadId: key })) {
      checkpoints++;
      writes += row.writes.length;
    }
    await door.deleteThread(key);
    if (archive && archived.has(key)) {
      await archive.remove(key);
      archives++;
    }
    options.onProgress?.(++done, all.length);
  }
  return { threadIds: all, checkpoints, writes, archives, storeItems: 0 };
}

async function allArchived(archive: ArchiveTarget): Promise<string[]> {
  const out: string[] = [];
  for await (const key of archive.list()) out.push(key);
  return out;
}

/**
 * Erases a tenant: every thread of it (live or archived), their archived copies, the tenant's
 * archived store items, and, with `store`, every store item of the tenant.
 *
 * @example
 * const report = await deleteTenant(backend, "acme", { store, archive: new DirectoryArchive("./archive") });
 */
export async function deleteTenant(
  storage: CheckpointStorage,
  tenantId: string,
  options: ErasureOptions & { readonly store?: Store | undefined } = {},
): Promise<ErasureReport> {
  validateTenantId(tenantId);
  const report = await deleteThreads(storage, { tenantId }, options);
  const storeItems = options.store ? await deleteStoreItems(options.store, tenantId) : 0;
  // The tenant's large values go now, whatever their age: nothing of the tenant is left to
  // reference them (no other tenant can: each tenant's values are its own).
  for (const holder of [storage, options.store]) {
    if (holder && collectsLargeValues(holder)) {
      await collectLargeValues(holder, { tenant: tenantId, graceMs: 0 });
    }
  }
  await options.archive?.remove(storeArchiveKey(tenantId));
  return { ...report, storeItems };
}

/** Deletes every item of `tenantId` in batches; returns how many. */
async function deleteStoreItems(store: Store, tenantId: string): Promise<number> {
  let deleted = 0;
  for (;;) {
    const page: StoreOp[] = [];
    for await (const item of storeItemsOf(store, tenantId)) {
      page.push({ kind: "delete", tenant: tenantId, namespace: item.namespace, key: item.key });
      if (page.length >= 500) break;
    }
    if (page.length === 0) break;
    await store.backend.batch(page, Date.now());
    deleted += page.length;
  }
  // Expired items are invisible to search but still stored: sweep them too.
  while ((await store.backend.sweepExpired(Date.now(), 1000)) > 0);
  return deleted;
}
