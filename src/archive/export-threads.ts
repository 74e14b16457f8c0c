/**
 * Export: threads (every checkpoint, value and pending write, as stored) and, if asked, tenants'
 * store items, into an export directory (see export-format.ts). Threads are read one checkpoint
 * at a time, oldest first, so an export never holds more than one checkpoint's rows and the
 * list of one thread's checkpoint ids in memory.
 */
import type { BlobPiece, LoadedCheckpoint, StoredBlob } from "../checkpoint/checkpoint-backend.js";
import type { CheckpointDoor } from "../checkpoint/checkpoint-door.js";
import { NotFoundError } from "../errors.js";
import type { Store } from "../store/store.js";
import { validateTenantId } from "../store/store-validation.js";
import { ExportFile, toWire } from "./export-file.js";
import {
  EXPORT_FORMAT,
  EXPORT_FORMAT_VERSION,
  type ExportManifest,
  type StoreSection,
  type ThreadSection,
} from "./export-format.js";
import { exportStoreItems } from "./store-items.js";
import {
  type CheckpointStorage,
  doorOf,
  selectThreads,
  type ThreadFilter,
} from "./thread-selection.js";

/** Progress of a long export or import, reported after each thread. */
export interface ArchiveProgress {
  readonly threadsDone: number;
  readonly threadsTotal: number;
  readonly checkpoints: number;
}

/** Options of {@link exportThreads}. */
export interface ExportOptions extends ThreadFilter {
  /** The store whose items go with the export, for `storeTenants`. */
  readonly store?: Store | undefined;
  /** Tenants whose store items are exported (default: `tenantId`, when a store is given). */
  readonly storeTenants?: readonly string[] | undefined;
  /** Called after each thread. */
  readonly onProgress?: ((progress: ArchiveProgress) => void) | undefined;
  /** Stops between threads when aborted (the directory then has no manifest). */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Writes the threads `options` names (and store items of `storeTenants`) to directory `dir`;
 * returns the manifest. Listed `threadIds` that have no checkpoint raise `NotFoundError`
 * before anything is written.
 *
 * @example
 * const manifest = await exportThreads(backend, "./export", { tenantId: "acme", store });
 */
export async function exportThreads(
  storage: CheckpointStorage,
  dir: string,
  options: ExportOptions,
): Promise<ExportManifest> {
  const door = doorOf(storage);
  const keys = await selectThreads(door, options);
  if (options.threadIds !== undefined) await requireThreads(door, keys);
  const tenants =
    options.storeTenants ?? (options.tenantId !== undefined ? [options.tenantId] : []);
  for (const tenant of tenants) validateTenantId(tenant);
  const file = await ExportFile.create(dir);
  try {
    const threads: ThreadSection[] = [];
    let checkpoints = 0;
    for (const key of keys) {
      options.signal?.throwIfAborted();
      const section = await exportThread(door, key, file);
      if (section) threads.push(section);
      checkpoints += section?.checkpoints ?? 0;
      options.onProgress?.({ threadsDone: threads.length, threadsTotal: keys.length, checkpoints });
    }
    const store: StoreSection[] = [];
    if (options.store) {
      for (const tenantId of tenants)
        store.push(await exportStoreItems(options.store, tenantId, file));
    }
    const sum = (pick: (t: ThreadSection) => number) => threads.reduce((n, t) => n + pick(t), 0);
    return await file.finish({
      format: EXPORT_FORMAT,
      version: EXPORT_FORMAT_VERSION,
      createdAt: new Date().toISOString(),
      source: door.name,
      counts: {
        threads: threads.length,
        checkpoints,
        writes: sum((t) => t.writes),
        blobs: sum((t) => t.blobs),
        items: store.reduce((n, s) => n + s.items, 0),
      },
      threads,
      store,
    });
  } catch (error) {
    await file.abort();
    throw error;
  }
}

async function requireThreads(door: CheckpointDoor, keys: readonly string[]): Promise<void> {
  for (const key of keys) {
    if (!(await hasCheckpoints(door, key))) {
      throw new NotFoundError(`thread "${key}" has no checkpoints to export`, { threadId: key });
    }
  }
}

/** Whether the thread has at least one checkpoint (in any namespace). */
export async function hasCheckpoints(door: CheckpointDoor, threadId: string): Promise<boolean> {
  for await (const _ of door.listCheckpoints({ threadId, limit: 1, includeValues: false })) {
    return true;
  }
  return false;
}

/**
 * One thread's section, oldest checkpoint first: for each checkpoint, the values it needs that
 * were not written yet, its pending writes, then its row. `undefined` when it has no checkpoint.
 */
export async function exportThread(
  door: CheckpointDoor,
  threadId: string,
  file: ExportFile,
): Promise<ThreadSection | undefined> {
  const headers: { ns: string; id: string }[] = [];
  for await (const row of door.listCheckpoints({ threadId, includeValues: false })) {
    headers.push({ ns: row.checkpoint.ns, id: row.checkpoint.id });
  }
  if (headers.length === 0) return undefined;
  headers.reverse();
  file.beginSection();
  const written = new Set<string>();
  let writes = 0;
  for (const { ns, id } of headers) {
    const loaded = await door.getCheckpoint(threadId, ns, id);
    if (!loaded) continue;
    for (const blob of newBlobs(loaded, written)) {
      await file.write({
        k: "b",
        ns,
        blob: { ...stripBlob(blob), value: blob.value ? toWire(blob.value) : null },
      });
    }
    for (const write of loaded.writes) {
      await file.write({ k: "w", ns, cp: id, write: { ...write, value: toWire(write.value) } });
    }
    writes += loaded.writes.length;
    const { threadId: _, ...row } = loaded.checkpoint;
    await file.write({ k: "c", row });
  }
  const range = file.endSection();
  return {
    threadId,
    ...range,
    checkpoints: headers.length,
    writes,
    blobs: written.size,
    lastId: headers
      .map((h) => h.id)
      .sort()
      .at(-1)!,
  };
}

/** The stored blobs of `loaded`'s chains not written yet (merged runs split back), oldest first. */
function newBlobs(loaded: LoadedCheckpoint, written: Set<string>): StoredBlob[] {
  const out: StoredBlob[] = [];
  const ns = loaded.checkpoint.ns;
  for (const chain of Object.values(loaded.blobs)) {
    for (const blob of chain.flatMap(splitMerged)) {
      const key = `${ns}\0${blob.channel}\0${blob.version}`;
      if (written.has(key)) continue;
      written.add(key);
      out.push(blob);
    }
  }
  return out;
}

/** A blob without the fields that only describe how it was read. */
function stripBlob(blob: StoredBlob) {
  const { value: _v, pieces: _p, ...rest } = blob;
  return rest;
}

/**
 * The appends a backend merged into one blob (see `LoadedCheckpoint.blobs`), each as stored:
 * piece `k` is `[` + its slice of the merged array + `]`, the slices joined by commas.
 */
export function splitMerged(blob: StoredBlob): StoredBlob[] {
  const pieces: readonly BlobPiece[] | undefined = blob.pieces;
  if (pieces === undefined || blob.value === null) return [blob];
  const bytes = blob.value.bytes;
  let at = 1;
  return pieces.map((piece, k) => {
    const inner = Math.max(piece.length - 2, 0);
    const own = new Uint8Array(inner + 2);
    own[0] = 0x5b;
    own.set(bytes.subarray(at, at + inner), 1);
    own[inner + 1] = 0x5d;
    if (inner > 0) at += inner + 1;
    return {
      channel: blob.channel,
      version: pieces[k + 1]?.prevVersion ?? blob.version,
      kind: "append",
      prevVersion: piece.prevVersion,
      depth: piece.depth,
      value: { tag: piece.tag, bytes: own },
      concat: true,
    };
  });
}
