/**
 * Import: the threads and store items of an export directory into any backend. The whole data
 * file is hashed against its manifest before anything is written, so a damaged export writes
 * nothing. Each thread is then written checkpoint by checkpoint, oldest first (values and pending
 * writes before the row that needs them). A thread that fails part-way is reported as failed:
 * every write is idempotent, so running the import again completes it; a thread already complete
 * is skipped, and one whose existing history is not part of the export is refused.
 */
import type { StoredBlob, StoredWrite } from "../checkpoint/checkpoint-backend.js";
import type { CheckpointDoor } from "../checkpoint/checkpoint-door.js";
import { validateThreadKey } from "../checkpoint/thread-key.js";
import { ArchiveDamagedError, ConflictError, isRewindError, type RewindError } from "../errors.js";
import type { Store } from "../store/store.js";
import type { ExportManifest, ThreadSection } from "./export-format.js";
import { blobFrom, readManifest, readSection, verifyData, writeFrom } from "./export-read.js";
import type { ArchiveProgress } from "./export-threads.js";
import { importStoreItem } from "./store-items.js";
import { type CheckpointStorage, doorOf } from "./thread-selection.js";

/** How one thread fared. */
export interface ThreadImport {
  /** The thread's storage key. */
  readonly threadId: string;
  /** `skipped`: the target already holds the whole thread. */
  readonly status: "imported" | "skipped" | "failed";
  readonly checkpoints: number;
  readonly error?: RewindError | undefined;
}

/** What an import did, per thread, plus the store items written. */
export interface ImportResult {
  readonly manifest: ExportManifest;
  readonly threads: readonly ThreadImport[];
  readonly items: number;
  /** Threads that failed (rerun the import to complete them). */
  readonly failed: number;
}

/** Options of {@link importThreads}. */
export interface ImportOptions {
  /** Where store items go; without it, the export's store items are not imported. */
  readonly store?: Store | undefined;
  /** Import only these threads (storage keys); default: all in the export. */
  readonly threadIds?: readonly string[] | undefined;
  readonly onProgress?: ((progress: ArchiveProgress) => void) | undefined;
  /** Stops between checkpoints when aborted; what was written is completed by a rerun. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Imports the export in `dir` into `storage` (and its store items into `options.store`).
 * Throws {@link ArchiveDamagedError} for an unreadable or damaged export, before any write.
 *
 * @example
 * const result = await importThreads(new MemoryBackend(), "./export");
 * if (result.failed > 0) console.log(result.threads.filter((t) => t.status === "failed"));
 */
export async function importThreads(
  storage: CheckpointStorage,
  dir: string,
  options: ImportOptions = {},
): Promise<ImportResult> {
  const manifest = await readManifest(dir);
  for (const section of manifest.threads) validateSectionKey(section);
  await verifyData(dir, manifest);
  const door = doorOf(storage);
  const wanted = options.threadIds && new Set(options.threadIds);
  const sections = manifest.threads.filter((s) => !wanted || wanted.has(s.threadId));
  const threads: ThreadImport[] = [];
  let checkpoints = 0;
  for (const section of sections) {
    options.signal?.throwIfAborted();
    const done = await importSection(door, dir, section, options.signal);
    threads.push(done);
    checkpoints += done.checkpoints;
    options.onProgress?.({
      threadsDone: threads.length,
      threadsTotal: sections.length,
      checkpoints,
    });
  }
  const items = options.store ? await importStoreSections(dir, manifest, options.store) : 0;
  const failed = threads.filter((t) => t.status === "failed").length;
  return { manifest, threads, items, failed };
}

/** Puts back the store items of every tenant section of a verified export; returns how many. */
export async function importStoreSections(
  dir: string,
  manifest: ExportManifest,
  store: Store,
): Promise<number> {
  let items = 0;
  for (const section of manifest.store) {
    for await (const record of readSection(dir, section)) {
      if (record.k !== "i")
        throw new ArchiveDamagedError("a store section holds a non-item record");
      await importStoreItem(store, section.tenantId, record);
      items++;
    }
  }
  return items;
}

function validateSectionKey(section: ThreadSection): void {
  try {
    validateThreadKey(section.threadId);
  } catch (cause) {
    throw new ArchiveDamagedError(`the manifest names an invalid thread id`, { cause });
  }
}

/** Imports one thread section; a failure is reported, not thrown (unless aborted). */
export async function importSection(
  door: CheckpointDoor,
  dir: string,
  section: ThreadSection,
  signal?: AbortSignal,
): Promise<ThreadImport> {
  const threadId = section.threadId;
  try {
    const existing = await existingIds(door, threadId);
    if (existing.size > 0) {
      const last = [...existing].some((key) => key.endsWith(`\0${section.lastId}`));
      if (existing.size === section.checkpoints && last) {
        return { threadId, status: "skipped", checkpoints: 0 };
      }
      await requireSubset(dir, section, existing);
    }
    const written = await writeSection(door, dir, section, signal);
    return { threadId, status: "imported", checkpoints: written };
  } catch (error) {
    if (signal?.aborted) throw error;
    if (!isRewindError(error)) throw error;
    return { threadId, status: "failed", checkpoints: 0, error };
  }
}

async function existingIds(door: CheckpointDoor, threadId: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const row of door.listCheckpoints({ threadId, includeValues: false })) {
    ids.add(`${row.checkpoint.ns}\0${row.checkpoint.id}`);
  }
  return ids;
}

/** A thread already in the target must be an earlier, partial import of this very thread. */
async function requireSubset(dir: string, section: ThreadSection, existing: Set<string>) {
  const missing = new Set(existing);
  for await (const record of readSection(dir, section, section.threadId)) {
    if (record.k === "c") missing.delete(`${record.row.ns}\0${record.row.id}`);
  }
  if (missing.size > 0) {
    throw new ConflictError(
      `thread "${section.threadId}" already exists with checkpoints that are not in the export; delete it or import elsewhere`,
      { threadId: section.threadId },
    );
  }
  // Written last, the thread's greatest id is present only when a previous import completed.
  existing.clear();
}

async function writeSection(
  door: CheckpointDoor,
  dir: string,
  section: ThreadSection,
  signal: AbortSignal | undefined,
): Promise<number> {
  const threadId = section.threadId;
  let blobs: StoredBlob[] = [];
  let writes = new Map<string, StoredWrite[]>();
  let checkpoints = 0;
  let blobCount = 0;
  let writeCount = 0;
  for await (const record of readSection(dir, section, threadId)) {
    if (record.k === "b") {
      blobs.push(blobFrom(record, threadId));
      blobCount++;
    } else if (record.k === "w") {
      const key = `${record.ns}\0${record.cp}`;
      const list = writes.get(key) ?? [];
      list.push(writeFrom(record, threadId));
      writes.set(key, list);
      writeCount++;
    } else if (record.k === "c") {
      signal?.throwIfAborted();
      const { ns, id } = record.row;
      const own = writes.get(`${ns}\0${id}`) ?? [];
      if (own.length > 0) await door.putWrites({ threadId, ns, checkpointId: id }, own);
      await door.putCheckpoint({ checkpoint: { ...record.row, threadId }, blobs });
      checkpoints++;
      blobs = [];
      writes = new Map();
    } else {
      throw new ArchiveDamagedError("a thread section holds a store item", { threadId });
    }
  }
  if (
    checkpoints !== section.checkpoints ||
    blobCount !== section.blobs ||
    writeCount !== section.writes ||
    blobs.length > 0
  ) {
    throw new ArchiveDamagedError(
      `thread "${threadId}" in the export does not match its manifest counts`,
      { threadId },
    );
  }
  return checkpoints;
}
