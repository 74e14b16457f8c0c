/**
 * Stored values as statement parameters. node-postgres sends a `Buffer` parameter as raw bytes,
 * but each element of an array parameter as hex text inside an array literal: twice the bytes,
 * and a server that parses them one character at a time (a 100 KB value cost more than the rest
 * of its checkpoint's put). So a statement writing many values takes them as one byte string and
 * where each starts; a driver that sends a `Buffer` as hex text still gives a valid bytea.
 */
import type { StoredBlob } from "../../checkpoint/checkpoint-backend.js";
import type { SerializedValue } from "../../serde/serializer.js";

/** A value row's kind as stored: its index here (the `kind` column of `rewind_blobs`). */
export const KIND_NAMES: readonly StoredBlob["kind"][] = ["full", "append", "empty"];

/** The stored code of a value row's kind (see {@link KIND_NAMES}). */
export function kindCode(kind: StoredBlob["kind"]): number {
  return KIND_NAMES.indexOf(kind);
}

/** The values of one statement: joined bytes, each value's 1-based start and its length. */
export interface PackedValues {
  readonly bytes: Buffer;
  /** `null` for an absent value (SQL `substring` of a NULL start is NULL). */
  readonly starts: (number | null)[];
  readonly lengths: (number | null)[];
}

/** `values` (`null`: no value) as one byte string; a single value is passed without a copy. */
export function packValues(values: readonly (SerializedValue | null)[]): PackedValues {
  const parts: Buffer[] = [];
  const starts: (number | null)[] = [];
  const lengths: (number | null)[] = [];
  let at = 0;
  for (const value of values) {
    if (value === null) {
      starts.push(null);
      lengths.push(null);
      continue;
    }
    const { buffer, byteOffset, byteLength } = value.bytes;
    parts.push(Buffer.from(buffer, byteOffset, byteLength));
    starts.push(at + 1);
    lengths.push(byteLength);
    at += byteLength;
  }
  return { bytes: parts.length === 1 ? parts[0]! : Buffer.concat(parts, at), starts, lengths };
}
