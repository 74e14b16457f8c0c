/**
 * Large values in store items. A string of at least `thresholdBytes` characters anywhere in an
 * item's value (a file's text, an image's base64, a retrieved document) is stored once per tenant
 * by content hash in a {@link LargeValueTarget}, exactly as a checkpoint value above the
 * threshold is (the same naming, frame and sealing, see large-value-ref.ts, so one stored body
 * can serve both), and the item's text keeps a placeholder in its place:
 * `{"$rw":"ref","h":"<64 hex>"}`. The rest of the value stays in the row, so filters on its
 * other fields work as before; a filter on the offloaded field sees an object.
 *
 * The placeholder cannot be forged by stored data: inside a JSON string every `"` is escaped,
 * and the serializer escapes an object with a `$rw` key of its own into its `obj` form, so the
 * sequence `{"$rw":"ref"` appears in a serialized text only where this file wrote it.
 */

import { CorruptionError, StorageError } from "../errors.js";
import { type Layered, openFrame, sealFrame } from "../offload/large-value-frame.js";
import type { LargeValueStore } from "../offload/large-value-store.js";
import type { EncryptionLayer } from "../serde/encryption-layer.js";
import { JSON_TAG, type SerializedValue, utf8Text } from "../serde/serializer.js";
import type { StoreBackend } from "./store-backend.js";

const REF_HEAD = '{"$rw":"ref","h":"';
const REF_LENGTH = REF_HEAD.length + 64 + 2;
const BACKSLASH = 92;
const COLON = 58;

/** An item's text with its long strings taken out, and their frames by hash. */
export interface OffloadedText {
  readonly text: string;
  readonly frames: ReadonlyMap<string, Uint8Array>;
}

/** Where an item is, for errors. */
export interface ItemName {
  readonly namespace: readonly string[];
  readonly key: string;
}

/** The large values of one store: splitting texts on the way in, putting them back on the way out. */
export class ItemLargeValues {
  readonly values: LargeValueStore<StoreBackend>;
  readonly #layer: EncryptionLayer | undefined;

  constructor(values: LargeValueStore<StoreBackend>, layer: EncryptionLayer | undefined) {
    this.values = values;
    this.#layer = layer;
  }

  /**
   * `text` (tagged JSON) with every string value of `thresholdBytes` characters or more replaced
   * by its placeholder, each named and framed for `tenant` (`""`: the unscoped space); `undefined`
   * when it has none.
   */
  offload(tenant: string, text: string): OffloadedText | undefined {
    const min = this.values.thresholdBytes;
    if (text.length < min) return undefined;
    const frames = new Map<string, Uint8Array>();
    const tenantId = tenant === "" ? null : tenant;
    let out = "";
    let from = 0;
    for (let open = text.indexOf('"'); open >= 0; ) {
      const close = closingQuote(text, open);
      const after = close + 1;
      // A key is followed by its colon; only values are offloaded.
      if (after - open >= min && text.charCodeAt(after) !== COLON) {
        const body: SerializedValue = {
          tag: JSON_TAG,
          bytes: Buffer.from(text.slice(open, after)),
        };
        const { hash, framed } = sealFrame(body, tenantId, this.#seal, this.#keyOf);
        frames.set(hash, framed);
        out += `${text.slice(from, open)}${REF_HEAD}${hash}"}`;
        from = after;
      }
      open = text.indexOf('"', after);
    }
    return frames.size === 0 ? undefined : { text: out + text.slice(from), frames };
  }

  /** Stores the frames of an offloaded text (before the row that references them commits). */
  async store(tenant: string, frames: ReadonlyMap<string, Uint8Array>): Promise<void> {
    await Promise.all([...frames].map(([hash, frame]) => this.values.store(tenant, hash, frame)));
  }

  /** `text` with each placeholder replaced by its string; a missing or damaged one names `item`. */
  async restore(tenant: string, text: string, item: ItemName): Promise<string> {
    const hashes = referencedBy(text);
    const tenantId = tenant === "" ? null : tenant;
    const strings = new Map<string, string>();
    await Promise.all(
      [...new Set(hashes)].map(async (hash) => {
        const fail = (what: string) =>
          new CorruptionError(
            `store item ${JSON.stringify(item.key)} in namespace ${JSON.stringify(item.namespace)} ${what} large value ${hash}`,
          );
        const bytes = await this.values.load(tenant, hash);
        if (!bytes) throw fail("could not load its");
        const body = openFrame(tenantId, hash, bytes, this.#open, this.#keyOf, fail);
        strings.set(hash, utf8Text(body.bytes));
      }),
    );
    return replaceRefs(text, (hash) => strings.get(hash)!);
  }

  readonly #seal: Layered = (value, site) => (this.#layer ? this.#layer.seal(value, site) : value);

  readonly #open: Layered = (value, site) => (this.#layer ? this.#layer.open(value, site) : value);

  readonly #keyOf = (tenantId: string | null) => this.#layer?.hashKey(tenantId);
}

/** The hashes of the placeholders in `text`, in order (repeats kept). */
export function referencedBy(text: string): string[] {
  const hashes: string[] = [];
  for (let at = text.indexOf(REF_HEAD); at >= 0; at = text.indexOf(REF_HEAD, at + REF_LENGTH)) {
    hashes.push(text.slice(at + REF_HEAD.length, at + REF_HEAD.length + 64));
  }
  return hashes;
}

/** Whether `text` holds a placeholder (reads of items without one need no I/O). */
export function holdsReferences(text: string): boolean {
  return text.includes(REF_HEAD);
}

/** The error for an item that holds placeholders when the store has no large values. */
export function noLargeValues(item: ItemName): StorageError {
  return new StorageError(
    `store item ${JSON.stringify(item.key)} in namespace ${JSON.stringify(item.namespace)} keeps a large value by reference, and this store was opened without large values (largeValues: false, or a backend with no place for them and no target)`,
  );
}

function replaceRefs(text: string, stringOf: (hash: string) => string): string {
  let out = "";
  let from = 0;
  for (let at = text.indexOf(REF_HEAD); at >= 0; at = text.indexOf(REF_HEAD, from)) {
    out += text.slice(from, at) + stringOf(text.slice(at + REF_HEAD.length, at + REF_LENGTH - 2));
    from = at + REF_LENGTH;
  }
  return out + text.slice(from);
}

/** The index of the quote closing the JSON string that opens at `open`. */
function closingQuote(text: string, open: number): number {
  for (let at = open + 1; ; at++) {
    at = text.indexOf('"', at);
    if (at < 0) throw new StorageError("a serialized store value is not valid JSON");
    let slashes = 0;
    while (text.charCodeAt(at - 1 - slashes) === BACKSLASH) slashes++;
    if (slashes % 2 === 0) return at;
  }
}
