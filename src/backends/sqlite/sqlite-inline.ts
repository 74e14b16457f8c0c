/**
 * Small channel values kept inside their checkpoint's row (the `vals` column) instead of rows
 * of their own in `rewind_blobs`. A super-step that changes a counter and a short note then
 * dirties one b-tree page instead of two, and a commit costs what it writes.
 *
 * Only values whose version is the checkpoint's own id can live there (that is how the reader
 * finds them: a version names the checkpoint row holding it), and only `full` and `empty` ones:
 * an `append` delta points back along a chain, which stays in `rewind_blobs`. A value is stored
 * in exactly one place, so the first write of a (channel, version) wins as it does in the table.
 *
 * Layout: a format byte (1), then per value: channel length (u16) and UTF-8 bytes, kind code
 * (u8), tag length (u8, 255 for "no value") and bytes, value length (u32) and bytes.
 */
import type { StoredBlob } from "../../checkpoint/checkpoint-backend.js";
import { storedRefHash } from "../../offload/large-value-frame.js";
import { KIND_CODES } from "./sqlite-rows.js";

const FORMAT = 1;
const NO_VALUE = 255;
/** A value larger than this keeps its own row even when it would fit. */
export const INLINE_VALUE_MAX = 512;

/** One value as kept inline. */
export interface InlineValue {
  readonly kind: "full" | "empty";
  readonly tag: string | null;
  readonly bytes: Uint8Array | null;
}

/** Encoded size of one blob's entry, or undefined when the blob cannot be inlined at all. */
export function inlineSize(blob: StoredBlob, checkpointId: string): number | undefined {
  if (blob.version !== checkpointId || blob.kind === "append") return undefined;
  // A large value's reference keeps a row of its own, where garbage collection finds it.
  if (blob.value && storedRefHash(blob.value.tag) !== undefined) return undefined;
  const bytes = blob.value?.bytes.byteLength ?? 0;
  const tag = blob.value ? Buffer.byteLength(blob.value.tag) : 0;
  if (bytes > INLINE_VALUE_MAX || tag >= NO_VALUE) return undefined;
  return 2 + Buffer.byteLength(blob.channel) + 2 + tag + 4 + bytes;
}

/** The `vals` column for these blobs (all of which passed {@link inlineSize}). */
export function encodeInline(blobs: readonly StoredBlob[]): Uint8Array {
  const parts: Buffer[] = [Buffer.from([FORMAT])];
  for (const blob of blobs) {
    const channel = Buffer.from(blob.channel);
    const tag = blob.value ? Buffer.from(blob.value.tag) : Buffer.alloc(0);
    const head = Buffer.alloc(2 + channel.length + 2 + tag.length + 4);
    let at = head.writeUInt16LE(channel.length, 0);
    at += channel.copy(head, at);
    at = head.writeUInt8(KIND_CODES[blob.kind], at);
    at = head.writeUInt8(blob.value ? tag.length : NO_VALUE, at);
    at += tag.copy(head, at);
    head.writeUInt32LE(blob.value?.bytes.byteLength ?? 0, at);
    parts.push(head);
    if (blob.value) parts.push(Buffer.from(blob.value.bytes));
  }
  return Buffer.concat(parts);
}

/**
 * The values of a `vals` column by channel (empty for NULL). Throws a plain Error on bytes that
 * do not parse; the reader reports it against the thread and checkpoint.
 */
export function decodeInline(vals: Uint8Array | null): Map<string, InlineValue> {
  const out = new Map<string, InlineValue>();
  if (vals === null) return out;
  const buf = Buffer.from(vals.buffer, vals.byteOffset, vals.byteLength);
  if (buf[0] !== FORMAT) throw new Error(`inline values have unknown format ${String(buf[0])}`);
  let at = 1;
  const need = (n: number) => {
    if (at + n > buf.length) throw new Error("inline values are truncated");
  };
  while (at < buf.length) {
    need(2);
    const channelLength = buf.readUInt16LE(at);
    at += 2;
    need(channelLength + 2);
    const channel = buf.toString("utf8", at, at + channelLength);
    at += channelLength;
    const code = buf.readUInt8(at);
    const tagLength = buf.readUInt8(at + 1);
    at += 2;
    const kind = code === KIND_CODES.full ? "full" : code === KIND_CODES.empty ? "empty" : null;
    if (kind === null) throw new Error(`inline value of channel "${channel}" has kind ${code}`);
    const hasValue = tagLength !== NO_VALUE;
    need((hasValue ? tagLength : 0) + 4);
    const tag = hasValue ? buf.toString("utf8", at, at + tagLength) : null;
    at += hasValue ? tagLength : 0;
    const length = buf.readUInt32LE(at);
    at += 4;
    need(length);
    const bytes = hasValue ? new Uint8Array(buf.buffer, buf.byteOffset + at, length) : null;
    at += length;
    if (out.has(channel)) throw new Error(`inline values repeat channel "${channel}"`);
    out.set(channel, { kind, tag, bytes });
  }
  return out;
}
