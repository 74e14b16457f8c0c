/**
 * Where archived threads go. A target keeps each thread's archive (an export directory of that
 * one thread: `manifest.json` and `data.jsonl`) under a name derived from the thread's storage
 * key, verifies what it stored against the manifest's hashes before the thread's rows may be
 * removed, and can list and remove archives. Two targets come with Rewind: a local directory
 * ({@link DirectoryArchive}) and an S3-compatible bucket (`S3Archive`).
 */
import { isKeyOfTenant } from "../checkpoint/thread-key.js";

/** An archive store for threads. */
export interface ArchiveTarget {
  /** Short description for messages, e.g. `s3://bucket/prefix`. */
  readonly name: string;
  /** Where the archive of the thread with storage key `threadId` lives (recorded in its stub). */
  locationOf(threadId: string): string;
  /**
   * Stores the export directory `dir` (one thread) as the archive of `threadId`, then reads it
   * back and checks its hashes; throws (and leaves the thread alone) when the copy does not
   * verify. Replaces an earlier archive of the same thread.
   */
  upload(threadId: string, dir: string): Promise<void>;
  /** Copies the archive of `threadId` into directory `dir` (`NotFoundError` when absent). */
  download(threadId: string, dir: string): Promise<void>;
  /** Removes the archive of `threadId`; a no-op when there is none. */
  remove(threadId: string): Promise<void>;
  /** Storage keys of every archived thread (archived store items are not listed). */
  list(): AsyncIterable<string>;
}

/** The name a thread's archive has inside a target (its storage key, URI-encoded). */
export function archiveName(threadId: string): string {
  return encodeURIComponent(threadId);
}

/** The storage key an archive name stands for, or `undefined` for a foreign name. */
export function threadOfName(name: string): string | undefined {
  try {
    return decodeURIComponent(name);
  } catch {
    return undefined;
  }
}

const STORE_MARK = "\u001e";

/**
 * The name under which a tenant's archived store items are kept in a target (a key no thread
 * can have: thread keys never start with U+001E).
 */
export function storeArchiveKey(tenantId: string): string {
  return `${STORE_MARK}store${STORE_MARK}${tenantId}`;
}

/** Whether a name a target lists is a thread's archive (not a tenant's store items). */
export function isThreadArchive(key: string): boolean {
  return !key.startsWith(STORE_MARK);
}

/** Storage keys of a tenant's archived threads (`undefined`: the default tenant). */
export async function archivedThreadsOf(
  target: ArchiveTarget,
  tenantId: string | undefined,
): Promise<string[]> {
  const out: string[] = [];
  for await (const key of target.list()) if (isKeyOfTenant(key, tenantId)) out.push(key);
  return out.sort();
}
