/**
 * The one encoding of checkpoints, shared by the runtime's Checkpointer and the LangGraph saver:
 * a value becomes stored bytes (the value serializer, the size limit, then the codec layers), a
 * growing list is stored as its new items until the append policy asks for a full value again,
 * a channel is rebuilt from its stored chain, and each checkpoint row carries one JSON body.
 * Backends only ever see this codec's output. Every value, pending write and checkpoint row is
 * sealed with a checksum (the checksum layer, checksum.ts) and verified on read, whichever side
 * (runtime or LangGraph saver) wrote it; rows written before checksums read as before. Later
 * concerns on stored bytes (compression, encryption, large-value offload) stack here as
 * {@link CodecLayer}s, never inside a backend.
 */
import {
  CorruptionError,
  EncryptionError,
  InvalidInputError,
  SerializationError,
} from "../errors.js";
import { extended } from "../extended.js";
import { frame, refHash, unframe } from "../offload/large-value-frame.js";
import { isSealedTag, type TextSealer } from "../serde/encryption-layer.js";
import type { SerializedValue } from "../serde/serializer.js";
import { appendAll, isJsonArrayText } from "./blob-chain.js";
import type {
  ChannelVersion,
  StoredBlob,
  StoredCheckpoint,
  StoredWrite,
} from "./checkpoint-backend.js";
import * as checksum from "./checksum.js";
import { openLarge, sealLarge } from "./large-value-ref.js";
import { after, all, guard, type Maybe } from "./maybe-async.js";
import { tenantOfKey } from "./thread-key.js";

export type { TextSealer };

/** Defaults of every codec, declared once. */
export const CODEC_DEFAULTS = Object.freeze({
  /** Largest serialized value accepted, in bytes (64 MiB). */
  maxValueBytes: 64 * 1024 * 1024,
  appendRatio: 4,
  minAppendDepth: 64,
  maxAppendDepth: 4096,
  /** Serialized values above this many bytes are stored by hash: never, unless set. */
  largeValueBytes: Number.POSITIVE_INFINITY,
});

/**
 * When a growing list is written in full again: once its appends since the last full value
 * exceed `appendRatio` times that value's length, but never before `minAppendDepth` appends and
 * always at `maxAppendDepth`. Storage stays linear in the items appended; a read touches one full
 * value plus its appends.
 */
export interface AppendPolicy {
  readonly appendRatio: number;
  readonly minAppendDepth: number;
  readonly maxAppendDepth: number;
}

/**
 * Where a value belongs; named by the errors the codec raises, and bound by layers that seal
 * values to their place (encryption binds every field present). A channel value is stored once
 * per version and read from any checkpoint, so layers see it at `{threadId, channel, version}`;
 * a pending write at `{threadId, checkpointId, channel, task}`; the body of a large value at
 * `{tenantId, blob}` only (its tenant and hash): one body serves every thread, checkpoint and
 * branch of the tenant that holds the value.
 */
export interface ValueSite {
  readonly threadId?: string | undefined;
  readonly checkpointId?: string | undefined;
  readonly channel?: string | undefined;
  /** The channel version of a stored channel value. */
  readonly version?: string | undefined;
  /** A pending write's task id and index. */
  readonly task?: string | undefined;
  /** The tenant, for a value stored outside any thread (`null`: the default tenant). */
  readonly tenantId?: string | null | undefined;
  /** A store item's encoded namespace and key. */
  readonly item?: string | undefined;
  /** The hash of a large value's body (see large-value-ref.ts). */
  readonly blob?: string | undefined;
}

/**
 * Values to tagged bytes and back: Rewind's synchronous `JsonSerializer`, or an asynchronous one
 * (the LangGraph adapter falls back to LangGraph's serde). A codec built on a synchronous
 * serializer answers synchronously.
 */
export interface ValueSerializer {
  encode(value: unknown): SerializedValue | Promise<SerializedValue>;
  decode(value: SerializedValue): unknown;
  /**
   * A tag whose bytes, for an array, are UTF-8 JSON array text decoded item by item, so that
   * two such arrays joined (`[` + both inner texts, comma-separated + `]`) decode to the items
   * of both. Append payloads of this tag are marked {@link StoredBlob.concat}. Leave it
   * undefined unless the serializer guarantees it.
   */
  readonly jsonArrayTag?: string | undefined;
}

/**
 * A reversible transform of stored bytes, stacked under the serializer: `seal` runs at write in
 * stack order, `open` at read in reverse. It throws a Rewind error when stored bytes fail it.
 */
export interface CodecLayer {
  readonly name: string;
  /** True when sealing a concatenable JSON array leaves one (the bytes are kept as they are). */
  readonly keepsJsonArrays?: boolean;
  seal(value: SerializedValue, site: ValueSite): SerializedValue;
  open(value: SerializedValue, site: ValueSite): SerializedValue;
  /** The secret large values of a tenant are named with (`null`: default), if the layer has one. */
  hashKey?(tenantId: string | null): Uint8Array | undefined;
}

/** Options of a {@link CheckpointCodec}; omitted fields take {@link CODEC_DEFAULTS}. */
export interface CheckpointCodecOptions extends Partial<AppendPolicy> {
  /** Largest serialized value accepted, in bytes. */
  maxValueBytes?: number;
  /** Byte layers, outermost last. */
  layers?: readonly CodecLayer[];
  /**
   * Serialized values above this many bytes are stored once per tenant by content hash and
   * referenced from rows (see large-value-ref.ts); only for storage that keeps them (a
   * `Checkpointer` sets it up). Default: never.
   */
  largeValueBytes?: number | undefined;
}

/** A changed channel to store at `version`: its whole value, the items appended, or cleared. */
export type ChannelWrite =
  | { readonly kind: "full"; readonly channel: string; readonly version: string; value: unknown }
  | { readonly kind: "empty"; readonly channel: string; readonly version: string }
  | {
      readonly kind: "append";
      readonly channel: string;
      readonly version: string;
      readonly prevVersion: string;
      /** Appends since the last full value, this one included. */
      readonly depth: number;
      readonly items: readonly unknown[];
    };

/** A channel rebuilt from its chain, with the append facts of its stored form. */
export interface RebuiltChannel {
  /** False when the channel has no value (cleared, or never stored where that is allowed). */
  readonly present: boolean;
  readonly value: unknown;
  /** Appends since the last full value. */
  readonly depth: number;
  /** Items in that full value. */
  readonly baseLength: number;
}

/**
 * A value as the byte layers sealed it, at the site they sealed it at, sealed again (by a layer
 * that can: re-encryption under a newer key), or `undefined` to leave it as it is.
 */
export type Reseal = (value: SerializedValue, site: ValueSite) => SerializedValue | undefined;

/**
 * The JSON body stored with each checkpoint row (`{vs, sv, f, x, ts}`, defaults left out): what
 * the row's columns do not hold.
 */
export interface CheckpointBody {
  /** Versions of each channel seen by each node. */
  readonly versionsSeen: Readonly<Record<string, Readonly<Record<string, ChannelVersion>>>>;
  /** Version of the state schema the values were written with. Default 1. */
  readonly schemaVersion: number;
  /** Checkpoint format version (LangGraph's `v`). Default 1. */
  readonly format: number;
  /** Small plain-JSON fields of the writer (the runtime's next nodes and joins). */
  readonly extra?: Readonly<Record<string, unknown>> | undefined;
  /** The writer's timestamp, only when it is not the canonical ISO text kept as `createdAt`. */
  readonly ts?: string | undefined;
}

/**
 * What a method of a codec on `S` returns: `T` for a synchronous serializer; for one that may
 * answer with a promise (always, or only for some values), something to await (a promise, or
 * `T` itself when nothing had to wait).
 */
export type Encoded<S extends ValueSerializer, T> = MaybeIf<ReturnType<S["encode"]>, T>;
/** Like {@link Encoded}, for reads. */
export type Decoded<S extends ValueSerializer, T> = MaybeIf<ReturnType<S["decode"]>, T>;
/** `Maybe<T>` when `R` is or includes a promise, else `T`. */
type MaybeIf<R, T> = [Extract<R, Promise<unknown>>] extends [never] ? T : Maybe<T>;

const ABSENT: RebuiltChannel = { present: false, value: undefined, depth: 0, baseLength: 0 };

/**
 * The checkpoint codec. Build one per serializer; it holds no per-thread state.
 *
 * @example
 * const codec = new CheckpointCodec(new JsonSerializer(), { maxAppendDepth: 1024 });
 * const blob = codec.encodeBlob({ kind: "full", channel: "messages", version: id, value: [] }, { threadId, checkpointId: id });
 */
export class CheckpointCodec<S extends ValueSerializer = ValueSerializer> {
  readonly serializer: S;
  readonly policy: AppendPolicy;
  readonly maxValueBytes: number;
  /** See {@link CheckpointCodecOptions.largeValueBytes}; `Infinity` when off. */
  readonly largeValueBytes: number;
  readonly #layers: readonly CodecLayer[];
  readonly #jsonArrayTag: string | undefined;

  constructor(serializer: S, options: CheckpointCodecOptions = {}) {
    this.serializer = serializer;
    const setting = (key: keyof typeof CODEC_DEFAULTS, min: number) => {
      const value = options[key] ?? CODEC_DEFAULTS[key];
      if (typeof value !== "number" || !(value >= min)) {
        throw new InvalidInputError(`${key} must be a number of at least ${min}`);
      }
      return value;
    };
    this.maxValueBytes = setting("maxValueBytes", 1);
    this.largeValueBytes = setting("largeValueBytes", 1);
    // 0 is a valid policy: never store an append.
    this.policy = {
      appendRatio: setting("appendRatio", 0),
      minAppendDepth: setting("minAppendDepth", 0),
      maxAppendDepth: setting("maxAppendDepth", 0),
    };
    this.#layers = options.layers ?? [];
    this.#jsonArrayTag = this.#layers.every((layer) => layer.keepsJsonArrays === true)
      ? serializer.jsonArrayTag
      : undefined;
  }

  /** The secret of the first layer that names large values (encryption), if any. */
  readonly #hashKey = (tenantId: string | null): Uint8Array | undefined => {
    for (const layer of this.#layers) {
      const key = layer.hashKey?.(tenantId);
      if (key) return key;
    }
    return undefined;
  };

  /** The byte layers, outermost last. */
  get layers(): readonly CodecLayer[] {
    return this.#layers;
  }

  /** Whether the `depth`-th append on a full value of `baseLength` items may stay an append. */
  mayAppend(depth: number, baseLength: number): boolean {
    const { appendRatio, minAppendDepth, maxAppendDepth } = this.policy;
    return depth <= Math.min(maxAppendDepth, Math.max(minAppendDepth, baseLength * appendRatio));
  }

  /**
   * One value as stored: serialized, size-checked, sealed. A refusal of the serializer becomes a
   * {@link SerializationError}, a value over `maxValueBytes` an {@link InvalidInputError}.
   */
  encodeValue(value: unknown, site: ValueSite, sealAt = site): Encoded<S, SerializedValue> {
    return after(this.#serialize(value, site), (encoded) =>
      this.#seal(encoded, site, sealAt),
    ) as never;
  }

  /**
   * A stored value opened and decoded; any failure is a {@link SerializationError} naming `site`
   * (a layer's own Rewind error, such as a refused decryption, passes as it is).
   */
  decodeValue(stored: SerializedValue, site: ValueSite, sealAt = site): Decoded<S, unknown> {
    const opened = this.#open(stored, site, sealAt);
    return guard(
      () => this.serializer.decode(opened),
      (cause) => undecodable(cause, site),
    ) as never;
  }

  /** The blob storing `write`. Append payloads of the serializer's JSON-array tag are marked `concat`. */
  encodeBlob(write: ChannelWrite, site: ValueSite): Encoded<S, StoredBlob> {
    const at = extended(site, { channel: write.channel });
    if (write.kind === "empty") {
      const blob: StoredBlob = {
        channel: write.channel,
        version: write.version,
        kind: "empty",
        prevVersion: null,
        depth: 0,
        value: null,
      };
      return blob as never;
    }
    const sealAt = blobSite(site, write.channel, write.version);
    if (write.kind === "full") {
      return after(this.encodeValue(write.value, at, sealAt), (value) =>
        checksum.sealBlob({
          channel: write.channel,
          version: write.version,
          kind: "full" as const,
          prevVersion: null,
          depth: 0,
          value,
        }),
      ) as never;
    }
    return after(this.#serialize(write.items, at), (encoded) => {
      const value = this.#seal(encoded, at, sealAt);
      const concat =
        refHash(value.tag) === undefined &&
        encoded.tag === this.#jsonArrayTag &&
        isJsonArrayText(encoded.bytes);
      // The checksum goes in the tag only, so a concat payload's bytes stay a JSON array.
      return checksum.sealBlob({
        channel: write.channel,
        version: write.version,
        kind: "append" as const,
        prevVersion: write.prevVersion,
        depth: write.depth,
        value,
        ...(concat ? { concat: true } : {}),
      });
    }) as never;
  }

  /** A pending write as stored. */
  encodeWrite(
    write: { taskId: string; taskPath: string; idx: number; channel: string; value: unknown },
    site: ValueSite,
  ): Encoded<S, StoredWrite> {
    const at = extended(site, { channel: write.channel });
    return after(this.encodeValue(write.value, at, writeSite(at, write)), (value) => ({
      taskId: write.taskId,
      taskPath: write.taskPath,
      idx: write.idx,
      channel: write.channel,
      value: checksum.sealValue(value, checksum.writeIdentity(write)),
    })) as never;
  }

  /** A stored pending write's value, verified and decoded. */
  decodeWrite(write: StoredWrite, site: ValueSite): Decoded<S, unknown> {
    const at = extended(site, { channel: write.channel });
    const value = checksum.openValue(write.value, checksum.writeIdentity(write), at);
    return this.decodeValue(value, at, writeSite(at, write));
  }

  /** A checkpoint row ready to store: its body carries the checksum of the whole row. */
  sealRow(row: StoredCheckpoint): StoredCheckpoint {
    return checksum.sealCheckpoint(row);
  }

  /**
   * A stored checkpoint row verified, its body as written. A row that fails its checksum, or
   * whose channel versions are not a map of names to versions, raises a {@link CorruptionError}.
   */
  openRow(row: StoredCheckpoint): StoredCheckpoint {
    const versions: unknown = row.channelVersions;
    const valid =
      typeof versions === "object" &&
      versions !== null &&
      !Array.isArray(versions) &&
      Object.values(versions).every((v) => typeof v === "string" || typeof v === "number");
    if (!valid) {
      throw new CorruptionError(
        `checkpoint ${row.id} of thread "${row.threadId}" has unreadable channel versions`,
        { threadId: row.threadId, checkpointId: row.id },
      );
    }
    return checksum.openCheckpoint(row);
  }

  /**
   * A channel's value at `version` from its chain (oldest first: a full or empty blob, then
   * appends, ending at `version`; a backend may have merged a run of appends into one). A chain
   * that is missing or does not end at `version` raises a {@link SerializationError}, unless
   * `allowMissing` and nothing at all was stored (the channel is then absent).
   */
  rebuild(
    channel: string,
    version: ChannelVersion,
    chain: readonly StoredBlob[] | undefined,
    site: ValueSite,
    allowMissing = false,
  ): Decoded<S, RebuiltChannel> {
    if ((chain === undefined || chain.length === 0) && allowMissing) return ABSENT as never;
    const base = chain?.[0];
    const last = chain?.at(-1);
    const at = extended(site, { channel });
    if (!base || base.kind === "append" || last?.version !== String(version)) {
      throw new CorruptionError(
        `checkpoint ${site.checkpointId} of thread "${site.threadId}" is missing stored values of channel "${channel}" (version ${String(version)})`,
        at,
      );
    }
    // Every blob (each piece of a merged run too) is verified before anything is decoded.
    const opened = chain!.map((blob) => checksum.openBlob(blob, at));
    if (base.kind === "empty") return ABSENT as never;
    const decoded = opened.map(
      (value, k) =>
        this.decodeValue(value!, at, blobSite(site, channel, chain![k]!.version)) as Maybe<unknown>,
    );
    return after(all(decoded), ([value, ...appends]) =>
      appendAll(value, appends, last.depth, at),
    ) as never;
  }

  /**
   * A stored channel value of `threadId` with its bytes replaced by `reseal` (given them as the
   * layers sealed them, at the site they were sealed at) and its checksum sealed again; or
   * `undefined` when `reseal` leaves them, or the blob holds no sealed bytes of its own (empty,
   * a merged run, a large value's reference). Verified first: a damaged value throws.
   */
  resealBlob(blob: StoredBlob, threadId: string, reseal: Reseal): StoredBlob | undefined {
    if (blob.value === null || blob.pieces !== undefined) return undefined;
    const value = checksum.openBlob(blob, { threadId, channel: blob.channel });
    if (!value || refHash(value.tag) !== undefined) return undefined;
    const next = reseal(value, withTenant(blobSite({ threadId }, blob.channel, blob.version)));
    return next && checksum.sealBlob({ ...blob, value: next });
  }

  /** Like {@link resealBlob}, for a pending write of `threadId` stored against `checkpointId`. */
  resealWrite(
    write: StoredWrite,
    threadId: string,
    checkpointId: string,
    reseal: Reseal,
  ): StoredWrite | undefined {
    const at = { threadId, checkpointId, channel: write.channel };
    const value = checksum.openValue(write.value, checksum.writeIdentity(write), at);
    if (refHash(value.tag) !== undefined) return undefined;
    const next = reseal(value, withTenant(writeSite(at, write)));
    return next && { ...write, value: checksum.sealValue(next, checksum.writeIdentity(write)) };
  }

  /** Like {@link resealBlob}, for the frame of a large value's body (`tenantId` null: default). */
  resealFrame(
    bytes: Uint8Array,
    tenantId: string | null,
    hash: string,
    reseal: Reseal,
  ): Uint8Array | undefined {
    const body = unframe(bytes);
    if (body === undefined) {
      throw new CorruptionError(`large value ${hash} is damaged: its frame does not parse`);
    }
    const next = reseal(body, { tenantId, blob: hash });
    return next && frame(next);
  }

  /** The body text of a checkpoint row. */
  encodeBody(body: CheckpointBody): string {
    return JSON.stringify({
      ...(Object.keys(body.versionsSeen).length > 0 ? { vs: body.versionsSeen } : {}),
      ...(body.schemaVersion !== 1 ? { sv: body.schemaVersion } : {}),
      ...(body.format !== 1 ? { f: body.format } : {}),
      ...(body.extra ? { x: body.extra } : {}),
      ...(body.ts !== undefined ? { ts: body.ts } : {}),
    });
  }

  /** Parses a row's body; malformed text raises a {@link SerializationError} naming `site`. */
  decodeBody(text: string, site: ValueSite): CheckpointBody {
    let body: { vs?: unknown; sv?: unknown; f?: unknown; x?: unknown; ts?: unknown };
    try {
      body = JSON.parse(text);
    } catch (cause) {
      throw undecodable(cause, site);
    }
    return {
      versionsSeen: (body.vs ?? {}) as CheckpointBody["versionsSeen"],
      schemaVersion: typeof body.sv === "number" ? body.sv : 1,
      format: typeof body.f === "number" ? body.f : 1,
      extra: (body.x ?? {}) as Record<string, unknown>,
      ts: typeof body.ts === "string" ? body.ts : undefined,
    };
  }

  #serialize(value: unknown, site: ValueSite): Maybe<SerializedValue> {
    return guard(
      () => this.serializer.encode(value),
      (cause) =>
        new SerializationError(
          `a value${site.channel === undefined ? "" : ` of channel "${site.channel}"`} could not be serialized: ${messageOf(cause)}`,
          { threadId: site.threadId, checkpointId: site.checkpointId, cause },
        ),
    );
  }

  #seal(encoded: SerializedValue, site: ValueSite, sealAt: ValueSite): SerializedValue {
    if (encoded.bytes.byteLength > this.maxValueBytes) {
      throw new InvalidInputError(
        `a value of ${encoded.bytes.byteLength} bytes exceeds maxValueBytes (${this.maxValueBytes})`,
        { threadId: site.threadId, checkpointId: site.checkpointId },
      );
    }
    if (encoded.bytes.byteLength > this.largeValueBytes && site.threadId !== undefined) {
      return sealLarge(
        encoded,
        site.threadId,
        (value, at) => this.#layered(value, at),
        this.#hashKey,
      );
    }
    return this.#layered(encoded, sealAt);
  }

  #layered(encoded: SerializedValue, site: ValueSite): SerializedValue {
    let sealed = encoded;
    if (this.#layers.length === 0) return sealed;
    const at = withTenant(site);
    for (const layer of this.#layers) sealed = layer.seal(sealed, at);
    return sealed;
  }

  /** `stored` opened: a large value's body at its tenant and hash, others at `sealAt`. */
  #open(stored: SerializedValue, site: ValueSite, sealAt: ValueSite): SerializedValue {
    const hash = refHash(stored.tag);
    if (hash !== undefined) {
      return openLarge(
        hash,
        stored.bytes,
        site,
        (value, at) => this.#unlayered(value, at),
        this.#hashKey,
      );
    }
    return this.#unlayered(stored, sealAt);
  }

  #unlayered(stored: SerializedValue, site: ValueSite): SerializedValue {
    let opened = stored;
    if (this.#layers.length === 0) {
      if (isSealedTag(stored.tag)) {
        throw new EncryptionError(
          `checkpoint ${site.checkpointId} of thread "${site.threadId}" holds encrypted values: open the storage with its keys (encryption: { keys })`,
          { threadId: site.threadId, checkpointId: site.checkpointId },
        );
      }
      return opened;
    }
    const at = withTenant(site);
    for (let i = this.#layers.length - 1; i >= 0; i--) opened = this.#layers[i]!.open(opened, at);
    return opened;
  }
}

/** `site` with its tenant (from its thread key), which layers such as encryption bind. */
function withTenant(site: ValueSite): ValueSite {
  return site.tenantId !== undefined
    ? site
    : extended(site, { tenantId: tenantOfKey(site.threadId) });
}

/** Where layers see a channel value: stored once per version, read from any checkpoint. */
function blobSite(site: ValueSite, channel: string, version: string): ValueSite {
  return { threadId: site.threadId, channel, version };
}

/** Where layers see a pending write: its checkpoint, channel and task. */
function writeSite(at: ValueSite, write: { taskId: string; idx: number }): ValueSite {
  return extended(at, { task: `${write.taskId}#${write.idx}` });
}

function undecodable(cause: unknown, site: ValueSite): SerializationError | CorruptionError {
  if (cause instanceof SerializationError && cause.checkpointId !== undefined) return cause;
  if (cause instanceof CorruptionError) return cause;
  const channel = site.channel === undefined ? "" : ` (channel "${site.channel}")`;
  return new SerializationError(
    `checkpoint ${site.checkpointId} of thread "${site.threadId}" could not be decoded${channel}: ${messageOf(cause)}`,
    { threadId: site.threadId, checkpointId: site.checkpointId, cause },
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
