/**
 * The export format, shared by `exportThreads`, `importThreads` and the archive: a directory
 * with `data.jsonl` (one JSON record per line, each thread's and each tenant's records in one
 * contiguous section) and `manifest.json` (format and version, counts, and the byte range and
 * SHA-256 of every section and of the whole data file). Values are kept as stored: the
 * serializer's tag and the bytes (base64), checksums and codec layers included, so neither side
 * needs the application's serializer.
 */
import type {
  StoredBlob,
  StoredCheckpoint,
  StoredWrite,
} from "../checkpoint/checkpoint-backend.js";
import type { StoredItem } from "../store/store-backend.js";

/** Name of the format, in every manifest. */
export const EXPORT_FORMAT = "rewind-export";
/** Version of the format this code writes and reads. */
export const EXPORT_FORMAT_VERSION = 1;
/** File names inside an export directory. */
export const DATA_FILE = "data.jsonl";
export const MANIFEST_FILE = "manifest.json";

/** Where one section lies in the data file, and its content hash. */
export interface SectionRange {
  /** Byte offset of the section's first line. */
  readonly offset: number;
  /** Byte length of the section, newlines included. */
  readonly bytes: number;
  /** Hex SHA-256 of the section's bytes. */
  readonly sha256: string;
}

/** One thread of an export: its storage key (tenant included), its counts and its section. */
export interface ThreadSection extends SectionRange {
  readonly threadId: string;
  readonly checkpoints: number;
  readonly writes: number;
  readonly blobs: number;
  /** The greatest checkpoint id of the thread (written last). */
  readonly lastId: string;
}

/** One tenant's store items. */
export interface StoreSection extends SectionRange {
  readonly tenantId: string;
  readonly items: number;
}

/** The manifest: everything an importer checks before it writes. */
export interface ExportManifest {
  readonly format: typeof EXPORT_FORMAT;
  readonly version: number;
  /** ISO-8601 time the export finished. */
  readonly createdAt: string;
  /** Name of the backend exported from. */
  readonly source: string;
  readonly data: { readonly file: string; readonly bytes: number; readonly sha256: string };
  readonly counts: {
    readonly threads: number;
    readonly checkpoints: number;
    readonly writes: number;
    readonly blobs: number;
    readonly items: number;
  };
  readonly threads: readonly ThreadSection[];
  readonly store: readonly StoreSection[];
}

/** A stored channel value (`k: "b"`). */
export interface BlobRecord {
  readonly k: "b";
  readonly ns: string;
  readonly blob: Omit<StoredBlob, "value" | "pieces"> & { readonly value: WireValue | null };
}

/** A pending write (`k: "w"`), against checkpoint `cp`. */
export interface WriteRecord {
  readonly k: "w";
  readonly ns: string;
  readonly cp: string;
  readonly write: Omit<StoredWrite, "value"> & { readonly value: WireValue };
}

/** A checkpoint row (`k: "c"`), written after its new blobs and its writes. */
export interface CheckpointRecord {
  readonly k: "c";
  readonly row: Omit<StoredCheckpoint, "threadId">;
}

/** A store item (`k: "i"`). */
export interface ItemRecord {
  readonly k: "i";
  readonly item: Omit<StoredItem, "score">;
  /**
   * The frames of the large values the item references (`item.refs`), by hash, in base64: an
   * archive holds its values in full. Sealed as stored when the store encrypts.
   */
  readonly frames?: Readonly<Record<string, string>>;
}

/** A value on the wire: the tag and the bytes in base64. */
export interface WireValue {
  readonly tag: string;
  readonly b64: string;
}

export type ExportRecord = BlobRecord | WriteRecord | CheckpointRecord | ItemRecord;
