/**
 * Row encodings of the SQLite backend: how checkpoint fields, blob kinds and values map to
 * columns, and back. Kept apart so the writer and the reader cannot disagree.
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import type {
  BlobPiece,
  ChannelVersion,
  StoredBlob,
  StoredCheckpoint,
} from "../../checkpoint/checkpoint-backend.js";
import { isCanonicalIsoTime } from "../../checkpoint/iso-time.js";
import { CorruptionError } from "../../errors.js";
import type { SerializedValue } from "../../serde/serializer.js";
import { estimateDeflated } from "./sqlite-compressibility.js";

/** Blob kinds as stored (an integer costs no payload byte for 0 and 1). */
export const KIND_CODES: Readonly<Record<StoredBlob["kind"], number>> = {
  full: 0,
  append: 1,
  empty: 2,
};
/** An append the codec marked {@link StoredBlob.concat}: the reader may merge runs of these. */
export const CONCAT_APPEND = 3;
const KINDS: readonly StoredBlob["kind"][] = ["full", "append", "empty", "append"];

/** The stored kind code of a blob. */
export function kindCode(blob: StoredBlob): number {
  return blob.kind === "append" && blob.concat === true ? CONCAT_APPEND : KIND_CODES[blob.kind];
}

/** A checkpoint row as selected: `thread_id` is only present when the query spans threads. */
export interface CheckpointRow {
  readonly tid: number;
  readonly thread_id?: string;
  readonly ns: string;
  readonly id: string;
  /** Formatted with {@link idText}. */
  readonly parent_id: string | null;
  readonly created_at: number | string;
  readonly versions: string;
  readonly metadata: string;
  readonly body: string;
  /** Small values kept in the row (see sqlite-inline.ts), or null. */
  readonly vals: Uint8Array | null;
}

/** A blob row of a resolved chain; `pos` counts links back from the version the checkpoint names. */
export interface BlobRow {
  readonly channel: string;
  /** Formatted with {@link idText}, like `prev_version`. */
  readonly version: string;
  readonly kind: number;
  readonly prev_version: string | null;
  readonly depth: number;
  readonly tag: string | null;
  readonly value: Uint8Array | null;
  readonly spilled: Uint8Array | null;
  readonly codec: number | null;
  readonly pos: number;
  /** On a merged run of appends: JSON `[[tag, length, depth, prev_version], ...]`, oldest first. */
  readonly pieces: string | null;
}

/** A pending-write row. */
export interface WriteRow {
  readonly task_id: string;
  readonly task_path: string;
  readonly idx: number;
  readonly channel: string;
  readonly tag: string;
  readonly value: Uint8Array | null;
  readonly spilled: Uint8Array | null;
  readonly codec: number | null;
}

/** An id or version as stored: text, or 16 bytes for a canonical UUID (see {@link packId}). */
export type StoredId = string | Uint8Array;

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * An id that is only ever compared for equality (parent ids, channel versions, the checkpoint id
 * of a write) as stored: a canonical lowercase UUID, which is what Rewind and LangGraph generate,
 * becomes its 16 bytes instead of 36 characters; anything else stays text. A BLOB never equals
 * a TEXT in SQLite, so the mapping stays one-to-one. Ordered ids (`rewind_checkpoints.id`) stay
 * text, since bytes and text do not sort alike.
 */
export function packId(id: string): StoredId {
  return CANONICAL_UUID.test(id) ? Buffer.from(id.replaceAll("-", ""), "hex") : id;
}

/**
 * SQL for the text of a {@link packId}-stored column: formatted by SQLite, so that reading a long
 * append chain does not allocate a Buffer per id.
 */
export function idText(column: string): string {
  const hex = `lower(hex(${column}))`;
  const part = (from: number, length?: number) =>
    length === undefined ? `substr(${hex}, ${from})` : `substr(${hex}, ${from}, ${length})`;
  const uuid = [part(1, 8), part(9, 4), part(13, 4), part(17, 4), part(21)].join(" || '-' || ");
  return `CASE WHEN typeof(${column}) = 'blob' THEN ${uuid} ELSE ${column} END`;
}

/** A version as a JSON-safe seed for SQL: `h:` + hex when packed, `t:` + the text otherwise. */
export function seedOf(version: string): string {
  const packed = packId(version);
  return typeof packed === "string" ? `t:${packed}` : `h:${Buffer.from(packed).toString("hex")}`;
}

/** Epoch milliseconds when the ISO text round-trips through them exactly, else the text itself. */
export function encodeCreatedAt(createdAt: string): number | string {
  return isCanonicalIsoTime(createdAt) ? Date.parse(createdAt) : createdAt;
}

/** Inverse of {@link encodeCreatedAt}. */
export function decodeCreatedAt(stored: number | string): string {
  return typeof stored === "number" ? new Date(stored).toISOString() : String(stored);
}

/** Channel versions as JSON, with `null` standing for "the checkpoint's own id" (the usual case). */
export function encodeVersions(versions: Readonly<Record<string, ChannelVersion>>, id: string) {
  return JSON.stringify(
    Object.fromEntries(Object.entries(versions).map(([c, v]) => [c, v === id ? null : v])),
  );
}

/** The checkpoint a row holds. A row that cannot be read raises a CorruptionError naming it. */
export function toStoredCheckpoint(row: CheckpointRow, threadId: string): StoredCheckpoint {
  try {
    const versions = JSON.parse(row.versions) as Record<string, ChannelVersion | null>;
    if (typeof versions !== "object" || versions === null || Array.isArray(versions)) {
      throw new Error("channel versions are not an object");
    }
    return {
      threadId,
      ns: row.ns,
      id: row.id,
      parentId: row.parent_id,
      createdAt: decodeCreatedAt(row.created_at),
      channelVersions: Object.fromEntries(
        Object.entries(versions).map(([c, v]) => [c, v === null ? row.id : v]),
      ),
      metadata: row.metadata,
      body: row.body,
    };
  } catch (cause) {
    throw new CorruptionError(
      `checkpoint ${row.id} of thread "${threadId}" has an unreadable row: ${(cause as Error).message}`,
      { threadId, checkpointId: row.id, cause },
    );
  }
}

/** A blob row as the seam's {@link StoredBlob}; an unknown kind is reported against `owner`. */
export function toStoredBlob(row: BlobRow, owner: StoredCheckpoint): StoredBlob {
  const kind = KINDS[row.kind];
  if (kind === undefined) {
    throw new CorruptionError(
      `checkpoint ${owner.id} of thread "${owner.threadId}" has a value of unknown kind ${row.kind} (channel "${row.channel}")`,
      { threadId: owner.threadId, checkpointId: owner.id, channel: row.channel },
    );
  }
  if (row.pieces !== null && row.pieces !== undefined) {
    const run = orderRun(row.value, row.pieces);
    return {
      channel: row.channel,
      version: row.version,
      kind,
      prevVersion: run.pieces[0]?.prevVersion ?? null,
      depth: row.depth,
      value: toValue(row.tag ?? "", run.value),
      concat: true,
      pieces: run.pieces,
    };
  }
  return {
    channel: row.channel,
    version: row.version,
    kind,
    prevVersion: row.prev_version,
    depth: row.depth,
    value: row.tag === null ? null : toValue(row.tag, inlineOrSpilled(row)),
    ...(row.kind === CONCAT_APPEND ? { concat: true } : {}),
  };
}

/**
 * SQL for a stored id as a merged run's pieces carry it (see {@link orderRun}): the hex digits
 * of a packed one ({@link packId}), `t:` and the text otherwise. Hex never holds a colon.
 */
export function rawId(column: string): string {
  return `CASE WHEN typeof(${column}) = 'blob' THEN hex(${column}) ELSE 't:' || ${column} END`;
}

/** The text of an id carried by {@link rawId}. */
function fromRawId(raw: string | null): string | null {
  if (raw === null || raw.startsWith("t:")) return raw === null ? null : raw.slice(2);
  const hex = raw.toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A merged run's piece as the reader selects it: tag, length, depth, raw prev_version, position. */
type RawPiece = [string, number, number, string | null, number];

/**
 * A merged run (see the reader's CHAINS) oldest first. SQLite joins the run's values and lists
 * its pieces in one order, whichever it picks (the same for both aggregates of one group);
 * here the pieces are sorted by position, oldest (largest) first, and the values' bytes put in
 * that order: `[` + each non-empty piece's items, comma-separated, + `]`. Bytes that do not
 * match the pieces' lengths throw (the reader reports the checkpoint as damaged).
 */
export function orderRun(
  value: Uint8Array | null,
  json: string,
): { value: Uint8Array; pieces: BlobPiece[] } {
  const raw = JSON.parse(json) as RawPiece[];
  const bytes = value ?? new Uint8Array(0);
  let at = 1;
  let filled = 0;
  const slices = raw.map(([, length]) => {
    const inner = length - 2;
    if (!Number.isInteger(inner) || inner < 0 || at + inner > bytes.byteLength - 1) {
      throw new Error("a merged run's values do not match its pieces");
    }
    const slice = bytes.subarray(at, at + inner);
    if (inner > 0) {
      at += inner + 1;
      filled++;
    }
    return slice;
  });
  if (at !== (filled > 0 ? bytes.byteLength : bytes.byteLength - 1)) {
    throw new Error("a merged run's values do not match its pieces");
  }
  const order = raw.map((_, i) => i).sort((a, b) => raw[b]![4] - raw[a]![4]);
  const pieces = order.map((i) => {
    const [tag, length, depth, prev] = raw[i]!;
    return { tag, length, depth, prevVersion: fromRawId(prev) as string };
  });
  return { value: joinArrayTexts(order.map((i) => slices[i]!)), pieces };
}

/**
 * JSON arrays' texts without their brackets (`inners`), joined into one array's text: `[` + the
 * non-empty ones, comma-separated, + `]` (how a merged run of appends holds its pieces' items).
 */
export function joinArrayTexts(inners: readonly Uint8Array[]): Buffer {
  let size = 2;
  for (const inner of inners) if (inner.byteLength > 0) size += inner.byteLength + 1;
  const out = Buffer.allocUnsafe(size);
  out[0] = OPEN_BRACKET;
  let to = 1;
  for (const inner of inners) {
    if (inner.byteLength === 0) continue;
    if (to > 1) out[to++] = COMMA;
    out.set(inner, to);
    to += inner.byteLength;
  }
  out[to++] = CLOSE_BRACKET;
  return out.subarray(0, to);
}

const OPEN_BRACKET = 0x5b;
const COMMA = 0x2c;
const CLOSE_BRACKET = 0x5d;

const CODEC_RAW = 0;
const CODEC_DEFLATE = 1;

/**
 * Out-of-line values smaller than this are stored as they are. Deflating one costs a fixed
 * 20-40 µs (a zlib stream per call), more than the write transaction itself, while it still fits
 * one table page either way; above it, the saving (60-70% on message text) pays for the CPU.
 * Measured per value size with `npx tsx bench/compression.ts`.
 */
export const DEFLATE_MIN_BYTES = 4096;

/**
 * Values at least this large are deflated only when an estimate from their first
 * {@link SAMPLE_BYTES} (sqlite-compressibility.ts, plain JavaScript: no zlib stream is set up
 * for it) says deflate keeps at most two thirds: message text saves 60-70% and is deflated;
 * base64 files, images and other dense data save a quarter at most, and deflating a 100 KB one
 * cost more than half of its whole put (`node --cpu-prof`), so they are stored as they are.
 */
export const SAMPLED_MIN_BYTES = 16 * 1024;
const SAMPLE_BYTES = 4096;

/**
 * How an out-of-line value is stored: deflated (fast level) when it is at least
 * {@link DEFLATE_MIN_BYTES}, the estimate says it compresses well (from {@link SAMPLED_MIN_BYTES}),
 * and deflating it saves at least an eighth; else as is. Out-of-line values that large are
 * mostly full snapshots of long message lists, where compression pays for its CPU many times
 * over in file size. Rows stored either way read back the same (their `codec` says how).
 */
export function packSpilled(bytes: Uint8Array): { codec: number; bytes: Uint8Array } {
  if (bytes.byteLength < DEFLATE_MIN_BYTES) return { codec: CODEC_RAW, bytes };
  if (bytes.byteLength >= SAMPLED_MIN_BYTES) {
    if (estimateDeflated(bytes, SAMPLE_BYTES) * 3 > SAMPLE_BYTES * 2) {
      return { codec: CODEC_RAW, bytes };
    }
  }
  const deflated = deflateRawSync(bytes, { level: 1 });
  return deflated.byteLength <= bytes.byteLength - (bytes.byteLength >> 3)
    ? { codec: CODEC_DEFLATE, bytes: deflated }
    : { codec: CODEC_RAW, bytes };
}

/** The bytes of a row, whether stored inline or out of line. */
export function inlineOrSpilled(row: {
  value: Uint8Array | null;
  spilled: Uint8Array | null;
  codec: number | null;
}): Uint8Array | null {
  if (row.spilled === null) return row.value;
  if (row.codec === CODEC_RAW) return row.spilled;
  if (row.codec === CODEC_DEFLATE) return inflateRawSync(row.spilled);
  throw new Error(`unknown value codec ${String(row.codec)}`);
}

/** Tag and bytes as a {@link SerializedValue}; bytes come back as a plain Uint8Array view. */
export function toValue(tag: string, bytes: Uint8Array | null): SerializedValue {
  const view = bytes ?? new Uint8Array(0);
  // better-sqlite3 hands out Buffers; callers expect exactly Uint8Array (a top-level bytes value).
  return { tag, bytes: new Uint8Array(view.buffer, view.byteOffset, view.byteLength) };
}
