/**
 * Archive as a tier: cold threads move, with their full history, to an {@link ArchiveTarget} in
 * the export format, and leave a stub (the backend's archive mark) that `getState` and `invoke`
 * notice. The order makes it crash-safe: the archiver takes the thread's lease, exports the
 * thread, stores the copy and verifies it against its hashes, and only then removes the rows and
 * sets the mark, in one step; a crash anywhere before that leaves the thread readable as it was.
 * A restore reverses it: the mark turns to `restoring`, the copy is checked and imported, then
 * the mark goes (a crash in between is completed by the next restore, which imports idempotently).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ArchivedThreads } from "../checkpoint/archived-threads.js";
import type { CheckpointDoor } from "../checkpoint/checkpoint-door.js";
import {
  ArchiveDamagedError,
  ConflictError,
  isRewindError,
  NotFoundError,
  type RewindError,
  ThreadBusyError,
} from "../errors.js";
import type { ArchiveTarget } from "./archive-target.js";
import { ExportFile } from "./export-file.js";
import { EXPORT_FORMAT, EXPORT_FORMAT_VERSION, type ExportManifest } from "./export-format.js";
import { readManifest } from "./export-read.js";
import type { ArchiveProgress } from "./export-threads.js";
import { exportThread } from "./export-threads.js";
import { importThreads } from "./import-threads.js";
import {
  type CheckpointStorage,
  doorOf,
  selectThreads,
  type ThreadFilter,
} from "./thread-selection.js";

/** What the backend keeps in place of an archived thread (its mark's `stub`, as JSON). */
export interface ArchiveStub {
  readonly location: string;
  /** SHA-256 of the archive's data file (its manifest's `data.sha256`). */
  readonly sha256: string;
  readonly checkpoints: number;
  readonly archivedAt: string;
}

/** How one thread fared. */
export interface ThreadArchival {
  readonly threadId: string;
  /** `skipped`: archived already, or it had no checkpoint. */
  readonly status: "archived" | "skipped" | "failed";
  readonly checkpoints: number;
  readonly error?: RewindError | undefined;
}

/** Options of {@link archiveThreads}. */
export interface ArchiveOptions extends ThreadFilter {
  readonly onProgress?: ((progress: ArchiveProgress) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
  /** The clock for `idleDays`, epoch ms. Default `Date.now`. */
  readonly now?: (() => number) | undefined;
}

const OWNER = "rewind-archive";
const LEASE_MS = 10 * 60_000;

/**
 * Moves the threads `options` names (ids, a tenant, all; `idleDays` for cold ones) to `target`,
 * one at a time; returns a result per thread. A thread in use (leased) is reported as failed
 * with `ThreadBusyError` and left alone.
 *
 * @example
 * await archiveThreads(backend, new DirectoryArchive("./archive"), { all: true, idleDays: 30 });
 */
export async function archiveThreads(
  storage: CheckpointStorage,
  target: ArchiveTarget,
  options: ArchiveOptions,
): Promise<ThreadArchival[]> {
  const door = doorOf(storage);
  const keys = await selectThreads(door, options, (options.now ?? Date.now)());
  const results: ThreadArchival[] = [];
  let checkpoints = 0;
  for (const key of keys) {
    options.signal?.throwIfAborted();
    const result = await archiveOne(door, target, key);
    results.push(result);
    checkpoints += result.checkpoints;
    options.onProgress?.({ threadsDone: results.length, threadsTotal: keys.length, checkpoints });
  }
  return results;
}

async function archiveOne(
  door: CheckpointDoor,
  target: ArchiveTarget,
  threadId: string,
): Promise<ThreadArchival> {
  if ((await door.readArchive(threadId)) !== undefined) {
    return { threadId, status: "skipped", checkpoints: 0 };
  }
  const lease = await door.acquireLease({ threadId, owner: OWNER, ttlMs: LEASE_MS });
  if (!lease) {
    const error = new ThreadBusyError(`thread "${threadId}" is in use; archive it later`, {
      threadId,
    });
    return { threadId, status: "failed", checkpoints: 0, error };
  }
  const dir = await mkdtemp(join(tmpdir(), "rewind-archive-"));
  try {
    const manifest = await exportOne(door, threadId, dir);
    if (!manifest) return { threadId, status: "skipped", checkpoints: 0 };
    await target.upload(threadId, dir);
    await requireUnchanged(door, threadId, manifest);
    const stub: ArchiveStub = {
      location: target.locationOf(threadId),
      sha256: manifest.data.sha256,
      checkpoints: manifest.counts.checkpoints,
      archivedAt: new Date().toISOString(),
    };
    await door.archiveThread(threadId, JSON.stringify(stub), lease);
    return { threadId, status: "archived", checkpoints: manifest.counts.checkpoints };
  } catch (error) {
    await door.releaseLease(lease).catch(() => undefined);
    if (!isRewindError(error)) throw error;
    return { threadId, status: "failed", checkpoints: 0, error };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A writer that takes no lease (a LangGraph app on RewindSaver) may have added a checkpoint
 * while the copy was made: then the copy is not the whole thread, and the archive is refused.
 */
async function requireUnchanged(
  door: CheckpointDoor,
  threadId: string,
  manifest: ExportManifest,
): Promise<void> {
  let count = 0;
  let lastId = "";
  for await (const row of door.listCheckpoints({ threadId, includeValues: false })) {
    count++;
    if (row.checkpoint.id > lastId) lastId = row.checkpoint.id;
  }
  if (count !== manifest.counts.checkpoints || lastId !== manifest.threads[0]?.lastId) {
    throw new ConflictError(
      `thread "${threadId}" changed while it was being archived; it was left as it is, run the archive again`,
      { threadId },
    );
  }
}

/** One thread as an export directory; `undefined` when it has no checkpoint. */
async function exportOne(
  door: CheckpointDoor,
  threadId: string,
  dir: string,
): Promise<ExportManifest | undefined> {
  const file = await ExportFile.create(dir);
  const section = await exportThread(door, threadId, file).catch(async (error) => {
    await file.abort();
    throw error;
  });
  if (!section) {
    await file.abort();
    return undefined;
  }
  return file.finish({
    format: EXPORT_FORMAT,
    version: EXPORT_FORMAT_VERSION,
    createdAt: new Date().toISOString(),
    source: door.name,
    counts: {
      threads: 1,
      checkpoints: section.checkpoints,
      writes: section.writes,
      blobs: section.blobs,
      items: 0,
    },
    threads: [section],
    store: [],
  });
}

/** Options of {@link restoreThread}. */
export interface RestoreOptions {
  /** Keep the archived copy after the restore (default: remove it). */
  readonly keepArchive?: boolean | undefined;
}

/**
 * Puts an archived thread back exactly as it was archived (`threadId` is its storage key, see
 * `threadKey`) and removes the mark, then the archived copy. Returns false for a thread that is
 * not archived but live; `NotFoundError` for a thread that is neither.
 *
 * @example
 * await restoreThread(backend, new DirectoryArchive("./archive"), threadKey("t1", "acme"));
 */
export async function restoreThread(
  storage: CheckpointStorage,
  target: ArchiveTarget,
  threadId: string,
  options: RestoreOptions = {},
): Promise<boolean> {
  const door = doorOf(storage);
  const mark = await door.readArchive(threadId);
  if (!mark) {
    if ((await door.headId(threadId, "")) !== undefined) return false;
    throw new NotFoundError(`thread "${threadId}" is not archived`, { threadId });
  }
  const stub = parseStub(mark.stub, threadId);
  const dir = await mkdtemp(join(tmpdir(), "rewind-restore-"));
  try {
    await target.download(threadId, dir);
    const manifest = await readManifest(dir);
    if (manifest.data.sha256 !== stub.sha256) {
      throw new ArchiveDamagedError(
        `the archive of thread "${threadId}" at ${stub.location} is not the copy its stub names`,
        { threadId },
      );
    }
    await door.setArchiveState(threadId, "restoring");
    const result = await importThreads(door, dir, { threadIds: [threadId] });
    const thread = result.threads[0];
    if (!thread) {
      throw new ArchiveDamagedError(`the archive at ${stub.location} does not hold the thread`, {
        threadId,
      });
    }
    if (thread.error) throw thread.error;
    await door.setArchiveState(threadId, "live");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  if (!options.keepArchive) await target.remove(threadId);
  return true;
}

/** The stub a mark holds. */
export function parseStub(text: string, threadId: string): ArchiveStub {
  try {
    const stub = JSON.parse(text) as ArchiveStub;
    if (typeof stub.location === "string" && typeof stub.sha256 === "string") return stub;
  } catch {
    // reported below
  }
  throw new ArchiveDamagedError(`the archive stub of thread "${threadId}" is unreadable`, {
    threadId,
  });
}

/**
 * The `archive` option of `compile()` that restores an archived thread from `target` the first
 * time `invoke`, `stream` or `getState` meets it.
 *
 * @example
 * const app = graph.compile({ checkpointer, archive: restoreOnUse(new DirectoryArchive("./archive")) });
 */
export function restoreOnUse(target: ArchiveTarget, options: RestoreOptions = {}): ArchivedThreads {
  return {
    async restore(checkpointer, threadId) {
      try {
        await restoreThread(checkpointer, target, threadId, options);
      } catch (error) {
        // Another caller restored it meanwhile (and removed the copy): it is live now.
        if ((await checkpointer.door.readArchive(threadId)) === undefined) return;
        throw error;
      }
    },
  };
}
