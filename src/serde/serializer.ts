/**
 * Values <-> bytes. The default {@link JsonSerializer} writes tagged JSON so that Date, Map, Set,
 * BigInt, Uint8Array, undefined, non-finite numbers, Error, RegExp and registered classes
 * round-trip exactly. Decoding fails closed: an unknown tag or an unregistered class name raises
 * a {@link SerializationError}; no constructor is ever called to revive a value.
 */
import { isAscii } from "node:buffer";
import { randomBytes } from "node:crypto";
import { SerializationError } from "../errors.js";

/** Bytes plus the tag of the encoding that produced them; stored side by side in every row. */
export interface SerializedValue {
  readonly tag: string;
  readonly bytes: Uint8Array;
}

/** The serializer seam: synchronous so that encoding never holds a database transaction open. */
export interface Serializer {
  encode(value: unknown): SerializedValue;
  decode(value: SerializedValue): unknown;
  /**
   * A tag whose bytes, for an array, are UTF-8 JSON array text decoded item by item (so two such
   * arrays joined into one decode to the items of both); storage may then merge stored appends.
   * Undefined when the serializer does not guarantee it.
   */
  readonly jsonArrayTag?: string | undefined;
}

/** How a registered class turns into plain data and back. Defaults copy own enumerable fields. */
export interface ClassCodec<T> {
  toData?: (value: T) => unknown;
  fromData?: (data: any) => T;
}

interface Registered {
  name: string;
  ctor: abstract new (...args: any[]) => unknown;
  codec: ClassCodec<any>;
}

const TAG_KEY = "$rw";
const TAG_MARK = `"${TAG_KEY}"`;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Bytes left free in front of the UTF-8 of a long JSON text (see {@link headroomOf}), for the
 * header a large value's frame puts there instead of copying the whole value behind it.
 */
const HEADROOM = 64;
/** JSON texts of at least this many characters are encoded with {@link HEADROOM} in front. */
const HEADROOM_MIN_CHARS = 64 * 1024;
/** Strings of at least this many characters are written apart from the rest of the JSON text. */
const LEAF_MIN_CHARS = 64 * 1024;
/**
 * Characters JSON.stringify escapes below U+0020. Quotes and backslashes are looked for apart
 * (`indexOf`, native) and lone surrogates by `isWellFormed`: one class of all of them scans a
 * long string at less than half the speed.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: JSON escapes exactly these characters.
const CONTROL = /[\u0000-\u001f]/;
/**
 * UTF-8 of at least this many bytes that is all ASCII is decoded by Node's one-byte path: from
 * about 1 MB it hands V8 the text without copying it into the heap, where TextDecoder copies
 * (a 2 MB base64 file: 9.7 ms with TextDecoder, 0.8 ms this way). Below, both cost the same.
 */
const ASCII_MIN_BYTES = 256 * 1024;
/** Encoded texts with free bytes in front of them, and how many. */
const headroom = new WeakMap<Uint8Array, number>();

/**
 * The bytes free in front of `bytes` in its buffer, which nothing else reads (0 when unknown),
 * claimed: a second call answers 0, so only one caller ever writes there.
 */
export function claimHeadroom(bytes: Uint8Array): number {
  const free = headroom.get(bytes) ?? 0;
  headroom.delete(bytes);
  return free;
}

/** The text of UTF-8 `bytes`; invalid UTF-8 throws (as a fatal TextDecoder does). */
export function utf8Text(bytes: Uint8Array): string {
  if (bytes.byteLength >= ASCII_MIN_BYTES && isAscii(bytes)) {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("ascii");
  }
  return decoder.decode(bytes);
}

/** Texts up to this long are copied byte by byte when ASCII (see {@link shortUtf8}). */
const SHORT_CHARS = 64;

/**
 * UTF-8 of a short text: an ASCII one copied a character a byte, which for a few dozen
 * characters costs a fifth of TextEncoder's call (a step's values are mostly such: counters,
 * ids, short notes); any other goes to TextEncoder.
 */
function shortUtf8(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) return encoder.encode(text);
    bytes[i] = code;
  }
  return bytes;
}

/**
 * UTF-8 of `text`. A long text is written once, straight into a buffer with room in front
 * (TextEncoder's `encode` measures the text in a pass of its own first); a text that does not
 * fit the room guessed for it (mostly non-ASCII) is encoded the ordinary way.
 */
function utf8(text: string): Uint8Array {
  if (text.length <= SHORT_CHARS) return shortUtf8(text);
  if (text.length < HEADROOM_MIN_CHARS) return encoder.encode(text);
  const bytes = withHeadroom(text.length, (into) => {
    const { read, written } = encoder.encodeInto(text, into);
    return read === text.length ? written : undefined;
  });
  return bytes ?? encoder.encode(text);
}

/**
 * Bytes that `write` puts into a buffer sized for `chars` mostly-ASCII characters, with
 * {@link HEADROOM} free in front (see {@link claimHeadroom}); `write` returns how many bytes it
 * wrote, or `undefined` when they did not fit (then so does this).
 */
function withHeadroom(
  chars: number,
  write: (into: Uint8Array) => number | undefined,
): Uint8Array | undefined {
  const out = new Uint8Array(HEADROOM + chars + (chars >> 4));
  const written = write(out.subarray(HEADROOM));
  if (written === undefined) return undefined;
  const bytes = out.subarray(HEADROOM, HEADROOM + written);
  headroom.set(bytes, HEADROOM);
  return bytes;
}

/** Tag of the tagged-JSON encoding (`bytes` is UTF-8 JSON text, safe to query as JSON). */
export const JSON_TAG = "json";
/** Tag of a raw top-level Uint8Array, stored as is. */
export const BYTES_TAG = "bytes";

/**
 * Tagged-JSON serializer. Register your own classes with {@link JsonSerializer.register};
 * instances of unregistered classes are refused at encode time rather than silently flattened.
 *
 * @example
 * const serde = new JsonSerializer().register("Money", Money);
 */
export class JsonSerializer implements Serializer {
  /** Arrays encode as plain JSON array text under {@link JSON_TAG}, item by item. */
  readonly jsonArrayTag: string | undefined = JSON_TAG;
  readonly #byName = new Map<string, Registered>();
  readonly #byCtor = new Map<unknown, Registered>();
  /** Long strings of the value `encode` is walking, written after the rest of its text. */
  #leaves: string[] | undefined;
  /** Random for each serializer, so that no stored string can pass for a placeholder. */
  #nonce: string | undefined;

  /** Registers a class under a stable name; returns `this` for chaining. */
  register<T>(
    name: string,
    ctor: abstract new (...args: any[]) => T,
    codec: ClassCodec<T> = {},
  ): this {
    if (typeof name !== "string" || name.length === 0) {
      throw new SerializationError("a registered class needs a non-empty name");
    }
    const entry: Registered = { name, ctor, codec };
    this.#byName.set(name, entry);
    this.#byCtor.set(ctor, entry);
    return this;
  }

  encode(value: unknown): SerializedValue {
    if (value instanceof Uint8Array && value.constructor === Uint8Array) {
      return { tag: BYTES_TAG, bytes: value };
    }
    const leaves: string[] = [];
    const outer = this.#leaves;
    this.#leaves = leaves;
    let tree: unknown;
    try {
      tree = this.#toJson(value, new Set());
    } finally {
      this.#leaves = outer;
    }
    const text = JSON.stringify(tree);
    if (leaves.length === 0) return { tag: JSON_TAG, bytes: utf8(text) };
    // Spliced, or (a placeholder lost, a piece not ASCII) walked again without leaves.
    return { tag: JSON_TAG, bytes: this.#spliced(text, leaves) ?? utf8(this.stringify(value)) };
  }

  /**
   * The UTF-8 of `text` with each leaf put back where its placeholder stands, written straight
   * into one buffer with {@link HEADROOM} in front (see {@link claimHeadroom}); `undefined` when
   * a placeholder is not found or a piece does not fit the room guessed for it (non-ASCII), and
   * the caller encodes the ordinary way.
   */
  #spliced(text: string, leaves: readonly string[]): Uint8Array | undefined {
    let size = text.length;
    for (const leaf of leaves) size += leaf.length;
    return withHeadroom(size, (into) => {
      let at = 0;
      const write = (piece: string) => {
        const { read, written } = encoder.encodeInto(piece, into.subarray(at));
        at += written;
        return read === piece.length;
      };
      let from = 0;
      for (let i = 0; i < leaves.length; i++) {
        const marker = JSON.stringify(this.#placeholder(i));
        const hit = text.indexOf(marker, from);
        // The piece up to the placeholder keeps its opening quote; the closing one starts the next.
        if (hit < 0 || !write(text.slice(from, hit + 1)) || !write(leaves[i]!)) return undefined;
        from = hit + marker.length - 1;
      }
      return write(text.slice(from)) ? at : undefined;
    });
  }

  /** The stand-in of the `index`-th leaf of an encoding: a NUL, this serializer's nonce, the index. */
  #placeholder(index: number): string {
    this.#nonce ??= `\u0000rw-leaf-${randomBytes(12).toString("hex")}-`;
    return `${this.#nonce}${index}`;
  }

  decode(value: SerializedValue): unknown {
    if (value.tag === BYTES_TAG) return value.bytes;
    if (value.tag !== JSON_TAG) {
      throw new SerializationError(`unknown serializer tag "${value.tag}"`);
    }
    let text: string;
    try {
      text = utf8Text(value.bytes);
    } catch (cause) {
      throw new SerializationError("stored bytes are not valid UTF-8", { cause });
    }
    return this.parse(text);
  }

  /** Tagged-JSON text of a value (used for metadata, which must stay queryable as JSON). */
  stringify(value: unknown): string {
    return JSON.stringify(this.#toJson(value, new Set()));
  }

  /** Inverse of {@link JsonSerializer.stringify}. */
  parse(text: string): unknown {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      throw new SerializationError("stored value is not valid JSON", { cause });
    }
    return holdsTag(text) ? this.#fromJson(parsed) : parsed;
  }

  #toJson(value: unknown, seen: Set<object>): unknown {
    switch (typeof value) {
      case "string":
        // A long string JSON would not escape is left out of the text and written in place
        // of its placeholder by `encode` (JSON.stringify would copy it into pieces, and the
        // encoder flatten those into one string again before writing its UTF-8).
        if (this.#leaves && value.length >= LEAF_MIN_CHARS && writtenAsIs(value)) {
          this.#leaves.push(value);
          return this.#placeholder(this.#leaves.length - 1);
        }
        return value;
      case "boolean":
        return value;
      case "number":
        if (Number.isFinite(value) && !Object.is(value, -0)) return value;
        return { [TAG_KEY]: "num", v: String(Object.is(value, -0) ? "-0" : value) };
      case "undefined":
        return { [TAG_KEY]: "undef" };
      case "bigint":
        return { [TAG_KEY]: "bigint", v: value.toString() };
      case "function":
      case "symbol":
        throw new SerializationError(`cannot serialize a ${typeof value}`);
    }
    if (value === null) return null;
    const obj = value as object;
    if (seen.has(obj)) throw new SerializationError("cannot serialize a cyclic structure");
    seen.add(obj);
    try {
      return this.#objectToJson(obj, seen);
    } finally {
      seen.delete(obj);
    }
  }

  #objectToJson(obj: object, seen: Set<object>): unknown {
    if (Array.isArray(obj)) {
      const out = new Array(obj.length);
      for (let i = 0; i < obj.length; i++) out[i] = this.#toJson(obj[i], seen);
      return out;
    }
    const proto = Object.getPrototypeOf(obj);
    if (proto === Object.prototype || proto === null) {
      const out: Record<string, unknown> = {};
      let escaped = false;
      for (const key of Object.keys(obj)) {
        if (key === TAG_KEY) escaped = true;
        setOwn(out, key, this.#toJson((obj as Record<string, unknown>)[key], seen));
      }
      return escaped ? { [TAG_KEY]: "obj", v: Object.entries(out) } : out;
    }
    if (obj instanceof Date) {
      const time = obj.getTime();
      return { [TAG_KEY]: "date", v: Number.isNaN(time) ? null : obj.toISOString() };
    }
    if (obj instanceof Map) {
      return {
        [TAG_KEY]: "map",
        v: [...obj].map(([k, v]) => [this.#toJson(k, seen), this.#toJson(v, seen)]),
      };
    }
    if (obj instanceof Set) {
      return { [TAG_KEY]: "set", v: [...obj].map((v) => this.#toJson(v, seen)) };
    }
    if (obj instanceof Uint8Array && obj.constructor === Uint8Array) {
      return { [TAG_KEY]: "bytes", v: Buffer.from(obj).toString("base64") };
    }
    if (obj instanceof RegExp) return { [TAG_KEY]: "regexp", v: obj.source, f: obj.flags };
    const registered = this.#byCtor.get(proto?.constructor);
    if (registered) {
      const data = registered.codec.toData ? registered.codec.toData(obj) : { ...obj };
      return { [TAG_KEY]: "class", n: registered.name, v: this.#toJson(data, seen) };
    }
    if (obj instanceof Error) {
      return {
        [TAG_KEY]: "error",
        n: obj.name,
        m: obj.message,
        ...("code" in obj && typeof obj.code === "string" ? { c: obj.code } : {}),
      };
    }
    if (Buffer.isBuffer(obj)) {
      return { [TAG_KEY]: "bytes", v: obj.toString("base64") };
    }
    const name = proto?.constructor?.name ?? "anonymous";
    throw new SerializationError(
      `cannot serialize an instance of class ${name}: register it with serializer.register("${name}", ${name})`,
    );
  }

  #fromJson(value: unknown): unknown {
    if (value === null || typeof value !== "object") return value;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = this.#fromJson(value[i]);
      return value;
    }
    const rec = value as Record<string, unknown>;
    const tag = rec[TAG_KEY];
    if (tag === undefined) {
      for (const key of Object.keys(rec)) rec[key] = this.#fromJson(rec[key]);
      return rec;
    }
    return this.#revive(tag, rec);
  }

  #revive(tag: unknown, rec: Record<string, unknown>): unknown {
    switch (tag) {
      case "undef":
        return undefined;
      case "num":
        return rec.v === "-0" ? -0 : Number(rec.v);
      case "bigint":
        return BigInt(String(rec.v));
      case "date":
        return rec.v === null ? new Date(Number.NaN) : new Date(String(rec.v));
      case "map":
        return new Map(
          (rec.v as unknown[][]).map(([k, v]) => [this.#fromJson(k), this.#fromJson(v)]),
        );
      case "set":
        return new Set((rec.v as unknown[]).map((v) => this.#fromJson(v)));
      case "bytes":
        return new Uint8Array(Buffer.from(String(rec.v), "base64"));
      case "regexp":
        return new RegExp(String(rec.v), String(rec.f ?? ""));
      case "error": {
        const error = new Error(String(rec.m ?? ""));
        error.name = String(rec.n ?? "Error");
        if (typeof rec.c === "string") (error as Error & { code?: string }).code = rec.c;
        return error;
      }
      case "obj": {
        const out: Record<string, unknown> = {};
        for (const [k, v] of rec.v as [string, unknown][]) setOwn(out, k, this.#fromJson(v));
        return out;
      }
      case "class": {
        const entry = this.#byName.get(String(rec.n));
        if (!entry) {
          throw new SerializationError(
            `stored value names class "${String(rec.n)}", which is not registered with the serializer`,
          );
        }
        const data = this.#fromJson(rec.v);
        if (entry.codec.fromData) return entry.codec.fromData(data);
        return Object.assign(Object.create(entry.ctor.prototype), data);
      }
      default:
        throw new SerializationError(`unknown value tag "${String(tag)}" in stored value`);
    }
  }
}

/**
 * Whether JSON text holds a tagged value (the key {@link TAG_MARK}). Found from each `$`, which
 * `indexOf` finds at memory-scan speed: `includes` of the whole mark scanned an 8 KB state about
 * 20 times slower, a fifth of its parse.
 */
function holdsTag(text: string): boolean {
  for (let at = text.indexOf("$"); at > 0; at = text.indexOf("$", at + 1)) {
    if (text.startsWith(TAG_MARK, at - 1)) return true;
  }
  return false;
}

/** Whether JSON.stringify writes `value` between its quotes exactly as it is (nothing escaped). */
function writtenAsIs(value: string): boolean {
  return (
    value.indexOf('"') < 0 &&
    value.indexOf("\\") < 0 &&
    !CONTROL.test(value) &&
    (value as string & { isWellFormed(): boolean }).isWellFormed()
  );
}

/** Sets an own property, even one named `__proto__` (a plain assignment would set the prototype). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else target[key] = value;
}

/** The serializer used when none is given. */
export const defaultSerializer = new JsonSerializer();
