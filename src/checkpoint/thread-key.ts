/**
 * Where a tenant's thread is stored: the one place that turns (tenant, thread id) into the
 * thread id a backend sees, and back. Backends stay unaware of tenants.
 *
 * - The default tenant (no tenant id) keeps the thread id unchanged, so data written without
 *   tenants stays where it was and single-tenant use sees no difference.
 * - A named tenant's thread is stored as `U+001F tenant U+001F threadId`. Valid thread ids never
 *   contain U+001F (nor any control character), so no thread id of the default tenant can equal
 *   a tenant's key, and the last U+001F always ends the tenant: the key is unforgeable and
 *   parses back to exactly one (tenant, thread id).
 */
import { InvalidInputError, isRewindError } from "../errors.js";
import { MAX_THREAD_ID_LENGTH, validateThreadId } from "../ids.js";
import { MAX_LABEL_LENGTH, validateTenantId } from "../store/store-validation.js";

const SEPARATOR = "\u001f";

/** Longest storage key: a tenant id of {@link MAX_LABEL_LENGTH} units, a thread id, two separators. */
export const MAX_THREAD_KEY_LENGTH = MAX_LABEL_LENGTH + MAX_THREAD_ID_LENGTH + 2;

/** A thread as users name it: its id and the tenant it belongs to (`undefined`: the default tenant). */
export interface ThreadAddress {
  readonly threadId: string;
  readonly tenantId: string | undefined;
}

/**
 * The storage key of `threadId` in `tenantId` (validated both, like the store validates tenant
 * ids). Use it with the unscoped `Checkpointer` to reach a tenant's thread as an administrator.
 *
 * @example
 * await app.checkpointer.deleteThread(threadKey("support-1", "acme"));
 */
export function threadKey(threadId: string, tenantId?: string | undefined): string {
  validateThreadId(threadId);
  if (tenantId === undefined) return threadId;
  validateTenantId(tenantId);
  return `${SEPARATOR}${tenantId}${SEPARATOR}${threadId}`;
}

/**
 * The tenant and thread id a storage key stands for (the inverse of {@link threadKey}).
 * Throws {@link InvalidInputError} for a string no valid thread or tenant could produce.
 */
export function parseThreadKey(key: string): ThreadAddress {
  if (typeof key !== "string" || !key.startsWith(SEPARATOR)) {
    return { threadId: validateThreadId(key), tenantId: undefined };
  }
  const last = key.lastIndexOf(SEPARATOR);
  if (last === 0) throw new InvalidInputError("thread key has a tenant but no thread id");
  const tenantId = key.slice(1, last);
  const threadId = key.slice(last + 1);
  validateTenantId(tenantId);
  validateThreadId(threadId);
  return { threadId, tenantId };
}

/**
 * Checks a thread id as the storage layer accepts it: a plain thread id, or a tenant's key from
 * {@link threadKey}. Returns it unchanged.
 */
export function validateThreadKey(key: unknown, what = "threadId"): string {
  if (typeof key !== "string" || !key.startsWith(SEPARATOR)) return validateThreadId(key, what);
  parseThreadKey(key);
  return key;
}

/** Tenants of recently seen keys: parsing validates, which is not free on a hot path. */
const tenantsOfKeys = new Map<string, string>();

/**
 * The tenant of a storage key, as encryption binds it: `null` for the default tenant. Cached
 * for the keys seen last (a value is sealed per channel per step).
 */
export function tenantOfKey(key: string | undefined): string | null {
  if (key === undefined || key[0] !== SEPARATOR) return null;
  let tenant = tenantsOfKeys.get(key);
  if (tenant === undefined) {
    if (tenantsOfKeys.size >= 1024) tenantsOfKeys.clear();
    tenant = parseThreadKey(key).tenantId!;
    tenantsOfKeys.set(key, tenant);
  }
  return tenant;
}

/** Whether `key` (a valid storage key) is a thread of `tenantId` (`undefined`: the default tenant). */
export function isKeyOfTenant(key: string, tenantId: string | undefined): boolean {
  if (tenantId === undefined) return !key.startsWith(SEPARATOR);
  const prefix = `${SEPARATOR}${tenantId}${SEPARATOR}`;
  // The thread id after the prefix has no separator: a tenant id that itself contains U+001F
  // never claims another tenant's keys.
  return key.startsWith(prefix) && key.indexOf(SEPARATOR, prefix.length) === -1;
}

/**
 * Shows an error as the thread's caller knows it: when its `threadId` is a tenant's storage key,
 * the key becomes the thread id it stands for, in `threadId` and in the message.
 */
export function unscopeError(error: unknown): unknown {
  if (!isRewindError(error) || !error.threadId?.startsWith(SEPARATOR)) return error;
  const key = error.threadId;
  const threadId = key.slice(key.lastIndexOf(SEPARATOR) + 1);
  Object.defineProperty(error, "threadId", { value: threadId });
  error.message = error.message.replaceAll(key, threadId);
  if (typeof error.stack === "string") error.stack = error.stack.replaceAll(key, threadId);
  return error;
}
