/**
 * `rewind/archive`: moving threads between backends and out of the database. Export and import
 * of any set of threads (and tenants' store items) in a versioned, hashed JSONL format; import of
 * LangGraph.js savers' threads lives in `rewind/langgraph`. Archive as a tier (a local directory
 * or an S3-compatible bucket) with restore on demand or on first use; erasure of threads and
 * tenants, archived copies included.
 *
 * @example
 * import { archiveThreads, DirectoryArchive, restoreOnUse } from "rewind/archive";
 * const target = new DirectoryArchive("./archive");
 * await archiveThreads(backend, target, { all: true, idleDays: 30 });
 * const app = graph.compile({ checkpointer: backend, archive: restoreOnUse(target) });
 */
export type { ArchivedThreads } from "../checkpoint/archived-threads.js";
export { archiveStoreItems, restoreStoreItems } from "./archive-store.js";
export { type ArchiveTarget, archivedThreadsOf } from "./archive-target.js";
export {
  type ArchiveOptions,
  type ArchiveStub,
  archiveThreads,
  type RestoreOptions,
  restoreOnUse,
  restoreThread,
  type ThreadArchival,
} from "./archive-threads.js";
export { DirectoryArchive } from "./directory-archive.js";
export {
  deleteTenant,
  deleteThreads,
  type ErasureOptions,
  type ErasureReport,
} from "./erase.js";
export {
  EXPORT_FORMAT,
  EXPORT_FORMAT_VERSION,
  type ExportManifest,
  type StoreSection,
  type ThreadSection,
} from "./export-format.js";
export { type ArchiveProgress, type ExportOptions, exportThreads } from "./export-threads.js";
export {
  type ImportOptions,
  type ImportResult,
  importThreads,
  type ThreadImport,
} from "./import-threads.js";
export { S3Archive, type S3ArchiveOptions } from "./s3-archive.js";
export { type CheckpointStorage, selectThreads, type ThreadFilter } from "./thread-selection.js";
