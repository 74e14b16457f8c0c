/**
 * Large values by reference, as both cores store them: the stored form of a value above the
 * threshold. The value is kept once per tenant under a content hash (HMAC-SHA256 keyed by the
 * tenant, so equal values of two tenants get unrelated names and one tenant cannot probe for
 * another's values), and the row holds only a reference: for a checkpoint value, tag `&` + 64
 * hex digits and no bytes; for a store item, a placeholder in its text (store-large-values.ts).
 *
 * Between the codec and the large-value store (large-value-store.ts) a reference travels with
 * its "frame" as bytes: the body's tag and bytes after the byte layers, which were sealed with
 * the tenant and hash as their site (never a thread or an item), so one body serves every thread
 * and item that references it. The body is checked against the hash itself when it is opened.
 */
import { createHmac } from "node:crypto";
import { claimHeadroom, type SerializedValue } from "../serde/serializer.js";

/** Where a body is sealed: its tenant (`null`: the default tenant) and its hash, never a thread. */
export interface FrameSite {
  readonly tenantId?: string | null | undefined;
  readonly blob?: string | undefined;
}
/** The byte layers, run with a site (sealing at write, opening at read). */
export type Layered = (value: SerializedValue, site: FrameSite) => SerializedValue;
/** The secret a tenant's values are named with, when a layer (encryption) holds one. */
export type HashKeyOf = (tenantId: string | null) => Uint8Array | undefined;

/**
 * Frames of large values this process made or checked against their hash: the store's cache
 * hands the same bytes back, so an unchanged large value is hashed once per process, not per read.
 */
const VERIFIED = new WeakSet<Uint8Array>();

/** The first character of a reference's tag. Serializer tags never start with it. */
export const REF_MARK = "&";
const HASH = /^[0-9a-f]{64}$/;
const EMPTY = new Uint8Array(0);

/**
 * A value's name: HMAC-SHA256 keyed by the tenant's secret when encryption gives one (`key`, see
 * `Keyring.hashKey`: nobody without the keys can confirm a guessed value from the database),
 * else by the tenant's name (`""` for the default tenant), which keeps tenants apart only.
 */
export function hashOf(tenant: string, value: SerializedValue, key?: Uint8Array): string {
  const hmac = key
    ? createHmac("sha256", key).update(`rewind-large-value-keyed\0${tenant}\0`)
    : createHmac("sha256", `rewind-large-value\0${tenant}`);
  return hmac.update(value.tag).update("\0").update(value.bytes).digest("hex");
}

/** Whether `text` is a large value's name: 64 lowercase hex digits. */
export function isValueHash(text: string): boolean {
  return HASH.test(text);
}

/** The hash a reference tag names, or `undefined` for any other tag. */
export function refHash(tag: string): string | undefined {
  if (tag[0] !== REF_MARK) return undefined;
  const hash = tag.slice(1);
  return isValueHash(hash) ? hash : undefined;
}

/**
 * The hash a stored tag names, whether or not the checksum layer sealed it (`~` + 8 hex + `~`
 * in front, see checksum.ts), or `undefined` for a value stored in place.
 */
export function storedRefHash(tag: string): string | undefined {
  return refHash(tag[0] === "~" && tag[9] === "~" ? tag.slice(10) : tag);
}

/** The tag that references the large value `hash`. */
export function refTag(hash: string): string {
  return `${REF_MARK}${hash}`;
}

/** A reference carrying its frame (on the way to the store, or back from it). */
export function refValue(hash: string, frame: Uint8Array): SerializedValue {
  return { tag: refTag(hash), bytes: frame };
}

/** A reference as a row keeps it: the tag alone. */
export function withoutFrame(value: SerializedValue): SerializedValue {
  return { tag: value.tag, bytes: EMPTY };
}

/**
 * The bytes of a body: its tag's length (4 bytes), its tag (UTF-8), its bytes. Written in the
 * room the serializer left in front of the bytes when it left some (see `claimHeadroom`), so a
 * large value is not copied once more only to put a few bytes before it.
 */
export function frame(body: SerializedValue): Uint8Array {
  const tag = Buffer.from(body.tag, "utf8");
  const head = 4 + tag.byteLength;
  const { bytes } = body;
  if (claimHeadroom(bytes) >= head) {
    const out = new Uint8Array(bytes.buffer, bytes.byteOffset - head, head + bytes.byteLength);
    new DataView(out.buffer, out.byteOffset).setUint32(0, tag.byteLength);
    out.set(tag, 4);
    return out;
  }
  const out = new Uint8Array(4 + tag.byteLength + body.bytes.byteLength);
  new DataView(out.buffer).setUint32(0, tag.byteLength);
  out.set(tag, 4);
  out.set(body.bytes, 4 + tag.byteLength);
  return out;
}

/** A frame's body, or `undefined` when the bytes are no frame. */
export function unframe(bytes: Uint8Array): SerializedValue | undefined {
  if (bytes.byteLength < 4) return undefined;
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  if (4 + length > bytes.byteLength) return undefined;
  const tag = Buffer.from(bytes.buffer, bytes.byteOffset + 4, length).toString("utf8");
  return { tag, bytes: bytes.subarray(4 + length) };
}

/** A body of tenant `tenantId` named by its hash and framed, sealed by the layers at its site. */
export function sealFrame(
  encoded: SerializedValue,
  tenantId: string | null,
  seal: Layered,
  keyOf: HashKeyOf,
): { hash: string; framed: Uint8Array } {
  const hash = hashOf(tenantId ?? "", encoded, keyOf(tenantId));
  const framed = frame(seal(encoded, { tenantId, blob: hash }));
  VERIFIED.add(framed);
  return { hash, framed };
}

/**
 * The body of tenant `tenantId`'s large value `hash` from its frame, opened by the layers and
 * checked against the hash (once per process for the same bytes); `fail("could not load its")`
 * or `fail("has a damaged")` is thrown for a frame that is empty, does not parse or does not
 * match, so each caller names its own site.
 */
export function openFrame(
  tenantId: string | null,
  hash: string,
  bytes: Uint8Array,
  open: Layered,
  keyOf: HashKeyOf,
  fail: (what: string) => Error,
): SerializedValue {
  const body = bytes.byteLength === 0 ? undefined : unframe(bytes);
  if (body === undefined) throw fail("could not load its");
  const opened = open(body, { tenantId, blob: hash });
  if (VERIFIED.has(bytes)) return opened;
  // A value named before its tenant had a secret (written without encryption) keeps its name.
  const key = keyOf(tenantId);
  const named = (k: Uint8Array | undefined) => hashOf(tenantId ?? "", opened, k) === hash;
  if (!named(key) && (key === undefined || !named(undefined))) throw fail("has a damaged");
  VERIFIED.add(bytes);
  return opened;
}
