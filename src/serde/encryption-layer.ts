/**
 * Encryption at rest as a codec layer: every stored value is sealed with AES-256-GCM under its
 * tenant's current data key (a `Keyring`). The additional authenticated data binds the
 * ciphertext to every field of its site (tenant, thread, checkpoint, channel, blob
 * version, task, store item...) and to the serializer's tag, so a value copied anywhere else,
 * or altered by one byte, fails to open with an {@link EncryptionError}. With the layer on, a
 * value that is not sealed (plaintext) is refused, never returned.
 *
 * Sealed form: tag `@e1:<key version>:<tag>`; bytes = 12-byte IV, ciphertext, 16-byte GCM tag.
 */

import { createCipheriv, createDecipheriv, type KeyObject, randomFillSync } from "node:crypto";
import { EncryptionError, isRewindError } from "../errors.js";
import type { SerializedValue } from "./serializer.js";

const PREFIX = "@e1:";
const TEXT_PREFIX = "@e1.";

/**
 * Where a value is stored, as the layer binds it: every field present goes into the additional
 * authenticated data. `tenantId` is required (`null`: the default tenant); the storage cores
 * set it (a checkpoint value's from its thread key).
 */
export interface SealSite {
  readonly tenantId?: string | null | undefined;
  readonly threadId?: string | undefined;
  readonly checkpointId?: string | undefined;
  readonly channel?: string | undefined;
  /** What else names the value: a store item, an effect record... */
  readonly item?: string | undefined;
}

/**
 * A layer that also seals text stored beside checkpoints (effect records, store items): the
 * sealed text is a string again. `openText` refuses what `sealText` did not produce.
 */
export interface TextSealer {
  sealText(text: string, site: SealSite): string;
  openText(text: string, site: SealSite): string;
}

/** Tenants' data keys as the layer uses them (`Keyring` from `rewind/encryption`). */
export interface DataKeys {
  /** The key new values of the tenant are sealed with (created on first use). */
  current(tenantId: string | undefined): { readonly version: number; readonly key: KeyObject };
  /** The key of `version`; throws a Rewind error when it is gone (shredded) or unknown. */
  key(tenantId: string | undefined, version: number): KeyObject;
  /**
   * Optional: the tenant's secret that large values are named with (kept across rotations,
   * destroyed by shredding). Without it they are named by their tenant only.
   */
  hashKey?(tenantId: string | undefined): Uint8Array;
}

/** Encryption options of a storage: `{ keys }`, a keyring from `Keyring.open`. */
export interface EncryptionOptions {
  readonly keys: DataKeys;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Random IVs drawn from a pool refilled 4 KiB at a time (one system call per 341 IVs). */
const ivPool = Buffer.alloc(IV_BYTES * 341);
let ivAt = ivPool.length;

function nextIv(): Buffer {
  if (ivAt === ivPool.length) {
    randomFillSync(ivPool);
    ivAt = 0;
  }
  ivAt += IV_BYTES;
  // A copy: the pool is overwritten on the next refill.
  return Buffer.from(ivPool.subarray(ivAt - IV_BYTES, ivAt));
}

/** An AES key as `node:crypto` uses it fastest (a secret `KeyObject`), or raw bytes. */
export type CipherKey = Uint8Array | KeyObject;

/** AES-256-GCM with `key` over `plain`: iv, ciphertext, tag. */
export function sealBytes(key: CipherKey, plain: Uint8Array, aad: Uint8Array): Buffer {
  const iv = nextIv();
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(aad);
  const body = cipher.update(plain);
  cipher.final();
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

/** The inverse of {@link sealBytes}; `undefined` when the bytes fail authentication. */
export function openBytes(key: CipherKey, sealed: Uint8Array, aad: Uint8Array): Buffer | undefined {
  if (sealed.byteLength < IV_BYTES + TAG_BYTES) return undefined;
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(aad);
    decipher.setAuthTag(bytes.subarray(bytes.byteLength - TAG_BYTES));
    const plain = decipher.update(bytes.subarray(IV_BYTES, bytes.byteLength - TAG_BYTES));
    decipher.final();
    return plain;
  } catch {
    return undefined;
  }
}

/** The tenant of a site (`undefined`: the default tenant); a site without one is a bug. */
function tenantOfSite(site: SealSite): string | undefined {
  if (site.tenantId === undefined) {
    throw new EncryptionError("a value was sealed or opened without naming its tenant");
  }
  return site.tenantId ?? undefined;
}

/** Canonical text of every present field of `site`, keys sorted. */
function siteText(site: SealSite, tenantId: string | undefined): string {
  let text = `rewind-e1\0${tenantId === undefined ? "d" : `t${tenantId}`}\0`;
  const record = site as Readonly<Record<string, unknown>>;
  for (const name of Object.keys(record).sort()) {
    const value = record[name];
    if (name === "tenantId" || value === undefined || value === null) continue;
    text += `${name}=${String(value)}\0`;
  }
  return text;
}

function where(site: SealSite): string {
  const parts: string[] = [];
  if (site.threadId !== undefined) parts.push(`thread "${site.threadId}"`);
  if (site.checkpointId !== undefined) parts.push(`checkpoint ${site.checkpointId}`);
  if (site.channel !== undefined) parts.push(`channel "${site.channel}"`);
  return parts.length > 0 ? ` (${parts.join(", ")})` : "";
}

/** Whether a stored tag is one this layer sealed (for a clear error where no layer opens it). */
export function isSealedTag(tag: string): boolean {
  return tag.startsWith(PREFIX);
}

/** The key version a sealed tag (or sealed text) names; 0 when it is not sealed. */
export function keyVersionOf(tagOrText: string): number {
  const prefix = tagOrText.startsWith(PREFIX) || tagOrText.startsWith(TEXT_PREFIX);
  const colon = prefix ? tagOrText.indexOf(":", PREFIX.length) : -1;
  const version = colon < 0 ? 0 : Number(tagOrText.slice(PREFIX.length, colon));
  return Number.isSafeInteger(version) && version > 0 ? version : 0;
}

/** The layer (a codec layer and a text sealer); `name` is `"aes-256-gcm"`. */
export class EncryptionLayer implements TextSealer {
  readonly name = "aes-256-gcm";
  readonly keys: DataKeys;

  constructor(options: EncryptionOptions) {
    this.keys = options.keys;
  }

  seal(value: SerializedValue, site: SealSite): SerializedValue {
    const tenantId = tenantOfSite(site);
    const { version, key } = this.keys.current(tenantId);
    const aad = Buffer.from(`${siteText(site, tenantId)}${version}\0${value.tag}`);
    return { tag: `${PREFIX}${version}:${value.tag}`, bytes: sealBytes(key, value.bytes, aad) };
  }

  open(value: SerializedValue, site: SealSite): SerializedValue {
    const tenantId = tenantOfSite(site);
    const { tag } = value;
    const colon = tag.indexOf(":", PREFIX.length);
    const version = Number(tag.slice(PREFIX.length, colon));
    if (!tag.startsWith(PREFIX) || colon < 0 || !Number.isSafeInteger(version) || version < 1) {
      throw new EncryptionError(
        `a stored value is not encrypted${where(site)}: refused, since encryption is on`,
        { threadId: site.threadId, checkpointId: site.checkpointId },
      );
    }
    const inner = tag.slice(colon + 1);
    let key: KeyObject;
    try {
      key = this.keys.key(tenantId, version);
    } catch (error) {
      if (isRewindError(error)) {
        Object.defineProperty(error, "threadId", { value: site.threadId });
        Object.defineProperty(error, "checkpointId", { value: site.checkpointId });
      }
      throw error;
    }
    const aad = Buffer.from(`${siteText(site, tenantId)}${version}\0${inner}`);
    const plain = openBytes(key, value.bytes, aad);
    if (!plain) {
      throw new EncryptionError(
        `a stored value failed to decrypt${where(site)}: it was altered, or written for another tenant, thread, checkpoint or channel`,
        { threadId: site.threadId, checkpointId: site.checkpointId },
      );
    }
    return { tag: inner, bytes: plain };
  }

  /** The secret the tenant's large values are named with (see {@link DataKeys.hashKey}). */
  hashKey(tenantId: string | null): Uint8Array | undefined {
    return this.keys.hashKey?.(tenantId ?? undefined);
  }

  /**
   * `value` (sealed at `site`) sealed again under its tenant's current key, or `undefined` when
   * it is under that key already (re-encryption). A value that fails to open throws as `open`.
   */
  reseal(value: SerializedValue, site: SealSite): SerializedValue | undefined {
    if (keyVersionOf(value.tag) === this.keys.current(tenantOfSite(site)).version) return undefined;
    return this.seal(this.open(value, site), site);
  }

  /** Like {@link reseal}, for a text made by {@link sealText}. */
  resealText(text: string, site: SealSite): string | undefined {
    if (keyVersionOf(text) === this.keys.current(tenantOfSite(site)).version) return undefined;
    return this.sealText(this.openText(text, site), site);
  }

  /** Text payloads (store items, effect outcomes): the sealed value as one string. */
  sealText(text: string, site: SealSite): string {
    const sealed = this.seal({ tag: "t", bytes: Buffer.from(text, "utf8") }, site);
    return `${TEXT_PREFIX}${sealed.tag.slice(PREFIX.length)}:${Buffer.from(sealed.bytes).toString("base64")}`;
  }

  /** The inverse of {@link sealText}; a plaintext or altered text is refused. */
  openText(text: string, site: SealSite): string {
    const last = text.startsWith(TEXT_PREFIX) ? text.lastIndexOf(":") : -1;
    const tag = last < 0 ? "" : `${PREFIX}${text.slice(TEXT_PREFIX.length, last)}`;
    const bytes = last < 0 ? new Uint8Array(0) : Buffer.from(text.slice(last + 1), "base64");
    return Buffer.from(this.open({ tag, bytes }, site).bytes).toString("utf8");
  }
}
