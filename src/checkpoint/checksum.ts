/**
 * Checksums of stored rows, as a codec layer: the core seals what it hands a backend and opens
 * (verifies) what comes back, so every backend gets them without storing anything new. CRC32
 * (zlib) detects damage from disks, copies and bugs; it is not a defence against someone who
 * alters rows on purpose (they can recompute it).
 *
 * Sealed forms (backends store them untouched; rows written before checksums read as before):
 * - a value's tag becomes `~` + 8 hex digits + `~` + tag. The CRC covers the value's identity
 *   (a blob's channel, version, kind, previous version and depth; a write's task, path, index
 *   and channel), its tag and its bytes;
 * - a checkpoint's body becomes `~` + 8 hex digits + `~` + body. The CRC covers thread,
 *   namespace, id, parent, creation time, channel versions and metadata (both canonical, since
 *   PostgreSQL's jsonb reorders keys) and the body.
 * A mark on each side of the CRC means that one damaged byte cannot pass a sealed row off as an
 * unsealed one.
 */
import { crc32 } from "node:zlib";
import { CorruptionError } from "../errors.js";
import { refHash } from "../offload/large-value-frame.js";
import type { SerializedValue } from "../serde/serializer.js";
import type {
  BlobPiece,
  ChannelVersion,
  StoredBlob,
  StoredCheckpoint,
} from "./checkpoint-backend.js";

const MARK = "~";
const HEX8 = /^[0-9a-f]{8}$/;
const CLOSE = 0x5d;
const NO_BYTES = new Uint8Array(0);

/**
 * The bytes a value's CRC covers: its own, except for a large value's reference, whose bytes
 * (the frame) are kept apart from the row and checked against the hash in its tag.
 */
function coveredBytes(tag: string, bytes: Uint8Array): Uint8Array {
  return refHash(tag) === undefined ? bytes : NO_BYTES;
}

/** Where a check runs, for the error it raises. */
export interface SealScope {
  readonly threadId?: string | undefined;
  readonly checkpointId?: string | undefined;
  readonly channel?: string | undefined;
}

function seal(crc: number, text: string): string {
  return `${MARK}${(crc >>> 0).toString(16).padStart(8, "0")}${MARK}${text}`;
}

/**
 * A sealed string (a value's tag, a checkpoint's body) without its seal, unchecked; a string
 * never sealed as it is. For a tag, the base tag runs of `concat` appends are joined by, as the
 * SQLite reader's statement computes it.
 */
export function withoutSeal(sealed: string): string {
  return sealed[0] === MARK && sealed[9] === MARK ? sealed.slice(10) : sealed;
}

/** The CRC and the text of a sealed string (`crc` undefined: never sealed). */
function unseal(sealed: string, scope: SealScope): { crc: number | undefined; text: string } {
  const marked = sealed[0] === MARK;
  if (!marked && !(sealed[9] === MARK && HEX8.test(sealed.slice(1, 9)))) {
    return { crc: undefined, text: sealed };
  }
  const hex = sealed.slice(1, 9);
  if (!marked || sealed[9] !== MARK || !HEX8.test(hex)) throw damaged(scope, "its checksum");
  return { crc: Number.parseInt(hex, 16), text: sealed.slice(10) };
}

function damaged(scope: SealScope, what: string): CorruptionError {
  const channel = scope.channel === undefined ? "" : ` (channel "${scope.channel}")`;
  return new CorruptionError(
    `checkpoint ${scope.checkpointId} of thread "${scope.threadId}" is damaged: ${what} does not match what was written${channel}`,
    scope,
  );
}

/** What a blob's CRC covers besides its tag and bytes. */
export function blobIdentity(
  blob: Pick<StoredBlob, "channel" | "version" | "kind" | "prevVersion" | "depth">,
): string {
  return `b\0${blob.channel}\0${blob.version}\0${blob.kind}\0${blob.prevVersion ?? ""}\0${blob.depth}\0`;
}

/** What a pending write's CRC covers besides its tag and bytes. */
export function writeIdentity(write: {
  taskId: string;
  taskPath: string;
  idx: number;
  channel: string;
}): string {
  return `w\0${write.taskId}\0${write.taskPath}\0${write.idx}\0${write.channel}\0`;
}

/** A value ready to store: its tag carries the CRC of `identity`, the tag and the bytes. */
export function sealValue(value: SerializedValue, identity: string): SerializedValue {
  const crc = crc32(coveredBytes(value.tag, value.bytes), crc32(`${identity}${value.tag}\0`));
  return { tag: seal(crc, value.tag), bytes: value.bytes };
}

/** A stored value as written, verified when it was sealed; a mismatch raises CorruptionError. */
export function openValue(
  value: SerializedValue,
  identity: string,
  scope: SealScope,
): SerializedValue {
  const { crc, text: tag } = unseal(value.tag, scope);
  const covered = coveredBytes(tag, value.bytes);
  if (crc !== undefined && crc32(covered, crc32(`${identity}${tag}\0`)) !== crc) {
    throw damaged(scope, "a stored value");
  }
  return crc === undefined ? value : { tag, bytes: value.bytes };
}

/**
 * Verifies each piece of a merged run of appends (see {@link BlobPiece}) against the merged
 * bytes: piece `k` is `[` + its slice + `]`, the slices joined by commas (empty ones skipped).
 */
export function openPieces(merged: StoredBlob, pieces: readonly BlobPiece[], scope: SealScope) {
  const bytes = merged.value?.bytes ?? new Uint8Array(0);
  let at = 1;
  pieces.forEach((piece, k) => {
    const { crc, text: tag } = unseal(piece.tag, scope);
    const inner = piece.length - 2;
    // An empty piece (`[]`) has no slice, and no comma either.
    if (inner < 0 || (inner > 0 && at + inner > bytes.byteLength - 1)) {
      throw damaged(scope, "a merged value");
    }
    const slice = bytes.subarray(at, at + inner);
    if (inner > 0) at += inner + 1;
    if (crc === undefined) return;
    const version = pieces[k + 1]?.prevVersion ?? merged.version;
    const identity = blobIdentity({
      channel: merged.channel,
      version,
      kind: merged.kind,
      prevVersion: piece.prevVersion,
      depth: piece.depth,
    });
    // The piece's own bytes are `[` + its slice + `]`: the brackets join the CRC of the text
    // and of the slice (a merged run of a long conversation has a thousand pieces, and each
    // call of zlib's crc32 costs far more than the few bytes it adds).
    const sum = crc32Byte(crc32(slice, crc32(`${identity}${tag}\0[`)), CLOSE);
    if (sum !== crc) throw damaged(scope, "a stored value");
  });
}

/** CRC-32 (zlib's) of one byte each, for {@link crc32Byte}. */
const CRC_TABLE = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

/** zlib's `crc32(Uint8Array.of(byte), crc)`: one byte added to a CRC, without a native call. */
export function crc32Byte(crc: number, byte: number): number {
  const c = ~crc;
  return ~(CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8)) >>> 0;
}

/**
 * Rows and blobs this process sealed ({@link sealCheckpoint}, {@link sealBlob} returned them):
 * their checksums were computed here from the very fields they hold, so checking them again
 * proves nothing. Everything else a put may carry (an import's rows, sealed elsewhere, damage
 * included) is not in it.
 */
const SEALED_HERE = new WeakSet<StoredCheckpoint | StoredBlob>();

/**
 * Whether `stored` is a row or blob this process sealed and nobody has copied since: for a
 * backend that keeps what a put stored in memory, which may then hand it out as checked
 * (`verified`) without computing its checksum again.
 */
export function sealedHere(stored: StoredCheckpoint | StoredBlob): boolean {
  return SEALED_HERE.has(stored);
}

/** A checkpoint ready to store: its body carries the CRC of the whole row. */
export function sealCheckpoint(checkpoint: StoredCheckpoint): StoredCheckpoint {
  const body = seal(checkpointCrc(checkpoint, checkpoint.body), checkpoint.body);
  const sealed = { ...checkpoint, body };
  SEALED_HERE.add(sealed);
  return sealed;
}

/** A stored checkpoint as written (body unsealed), verified when it was sealed. */
export function openCheckpoint(row: StoredCheckpoint): StoredCheckpoint {
  // Checked already (see `StoredCheckpoint.verified`): only the seal comes off its body.
  return row.verified ? { ...row, body: withoutSeal(row.body) } : checkCheckpoint(row);
}

function checkCheckpoint(row: StoredCheckpoint): StoredCheckpoint {
  const scope = { threadId: row.threadId, checkpointId: row.id };
  const { crc, text: body } = unseal(row.body, scope);
  if (crc === undefined) return row;
  let sum: number;
  try {
    sum = checkpointCrc(row, body);
  } catch {
    throw damaged(scope, "its row");
  }
  if (sum !== crc) throw damaged(scope, "its row");
  return { ...row, body };
}

function checkpointCrc(c: StoredCheckpoint, body: string): number {
  const versions = canonical(c.channelVersions as Record<string, ChannelVersion>);
  const metadata = canonical(JSON.parse(c.metadata));
  const head = `c\0${c.threadId}\0${c.ns}\0${c.id}\0${c.parentId ?? ""}\0${c.createdAt}\0${versions}\0${metadata}\0`;
  return crc32(body, crc32(head));
}

/** JSON text with object keys sorted at every level, so equal data always gives equal text. */
function canonical(value: unknown): string {
  if (typeof value !== "object" || value === null) return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const keys = Object.keys(value).sort();
  const record = value as Record<string, unknown>;
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(record[k])}`).join(",")}}`;
}

/** A blob ready to store, its value sealed. */
export function sealBlob(blob: StoredBlob): StoredBlob {
  if (!blob.value) return blob;
  const sealed = { ...blob, value: sealValue(blob.value, blobIdentity(blob)) };
  SEALED_HERE.add(sealed);
  return sealed;
}

/**
 * A stored blob's value as written, verified (each piece of a merged run too). A kind that
 * contradicts the value (an `empty` blob with bytes, a value without) raises CorruptionError.
 */
export function openBlob(blob: StoredBlob, scope: SealScope): SerializedValue | null {
  if (blob.verified && blob.value !== null && blob.kind !== "empty") {
    // Checked already (see `StoredBlob.verified`): only the seal comes off its tag.
    const tag = blob.pieces === undefined ? withoutSeal(blob.value.tag) : blob.value.tag;
    return tag === blob.value.tag ? blob.value : { tag, bytes: blob.value.bytes };
  }
  return checkBlob(blob, scope);
}

function checkBlob(blob: StoredBlob, scope: SealScope): SerializedValue | null {
  if ((blob.kind === "empty") !== (blob.value === null)) throw damaged(scope, "a stored value");
  if (blob.value === null) return null;
  if (blob.pieces === undefined) return openValue(blob.value, blobIdentity(blob), scope);
  openPieces(blob, blob.pieces, scope);
  return blob.value;
}

/**
 * Whether `blob` is as written, checked as {@link openBlob} checks one never checked (its
 * `verified` mark ignored): for a backend that holds values in memory and marks them.
 */
export function verifyBlob(blob: StoredBlob, scope: SealScope): boolean {
  return passes(() => checkBlob(blob, scope));
}

/** Like {@link verifyBlob}, for a checkpoint row (see {@link openCheckpoint}). */
export function verifyCheckpoint(row: StoredCheckpoint): boolean {
  return passes(() => checkCheckpoint(row));
}

function passes(check: () => unknown): boolean {
  try {
    check();
    return true;
  } catch {
    return false;
  }
}
