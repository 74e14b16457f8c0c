/**
 * Which threads an export, an archive or an erasure concerns: listed ids (of one tenant or the
 * default one), every thread of a tenant, every thread, or the threads idle for some days. The
 * result is a list of storage keys (see `threadKey`), found from checkpoint headers only (no
 * value is read); a scan of all threads keeps one key per thread in memory, never their rows.
 */
import type { CheckpointBackend } from "../checkpoint/checkpoint-backend.js";
import { CheckpointDoor } from "../checkpoint/checkpoint-door.js";
import type { Checkpointer } from "../checkpoint/checkpointer.js";
import { isKeyOfTenant, threadKey } from "../checkpoint/thread-key.js";
import { InvalidInputError } from "../errors.js";
import { validateTenantId } from "../store/store-validation.js";

/** Checkpoint storage as the archive functions take it: a backend or a `Checkpointer`. */
export type CheckpointStorage = CheckpointBackend | Checkpointer;

/**
 * The threads to act on. `threadIds` names threads of `tenantId` (omitted: the default tenant);
 * without `threadIds`, `tenantId` means all of that tenant's threads and `all` every thread of
 * every tenant. `idleDays` keeps only threads whose newest checkpoint is older than that.
 */
export interface ThreadFilter {
  readonly threadIds?: readonly string[] | undefined;
  readonly tenantId?: string | undefined;
  readonly all?: boolean | undefined;
  readonly idleDays?: number | undefined;
}

/** The door of `storage`. */
export function doorOf(storage: CheckpointStorage): CheckpointDoor {
  return "door" in storage ? storage.door : CheckpointDoor.of(storage);
}

/** The storage keys `filter` names, in code-point order. `now`: epoch ms, for `idleDays`. */
export async function selectThreads(
  storage: CheckpointStorage,
  filter: ThreadFilter,
  now: number = Date.now(),
): Promise<string[]> {
  const door = doorOf(storage);
  const { threadIds, tenantId, all, idleDays } = filter;
  if (tenantId !== undefined) validateTenantId(tenantId);
  if (idleDays !== undefined && !(Number.isFinite(idleDays) && idleDays >= 0)) {
    throw new InvalidInputError("idleDays must be a non-negative number");
  }
  if (threadIds === undefined && tenantId === undefined && all !== true) {
    throw new InvalidInputError("name the threads: threadIds, a tenantId, or all");
  }
  const cutoff = idleDays === undefined ? undefined : now - idleDays * 86_400_000;
  if (threadIds !== undefined) {
    if (!Array.isArray(threadIds)) throw new InvalidInputError("threadIds must be an array");
    const keys = [...new Set(threadIds.map((id) => threadKey(id, tenantId)))].sort();
    if (cutoff === undefined) return keys;
    const idle: string[] = [];
    for (const key of keys) {
      for await (const head of door.listCheckpoints({
        threadId: key,
        limit: 1,
        includeValues: false,
      })) {
        if (Date.parse(head.checkpoint.createdAt) < cutoff) idle.push(key);
      }
    }
    return idle;
  }
  // Newest first across threads: the first row seen of a thread is its newest.
  const newest = new Map<string, number>();
  for await (const row of door.listCheckpoints({ includeValues: false })) {
    const key = row.checkpoint.threadId;
    if (newest.has(key)) continue;
    if (tenantId !== undefined && !isKeyOfTenant(key, tenantId)) continue;
    newest.set(key, Date.parse(row.checkpoint.createdAt));
  }
  return [...newest]
    .filter(([, at]) => cutoff === undefined || at < cutoff)
    .map(([key]) => key)
    .sort();
}
