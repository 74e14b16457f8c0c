/**
 * Encryption at rest as a codec layer: every stored value is sealed with AES-256-GCM under its
 * tenant's current data key ({@link Keyring}). The additional authenticated data binds the
 * ciphertext to every field of its {@link ValueSite} (tenant, thread, checkpoint, channel, blob
 * version, task, store item...) and to the serializer's tag, so a value copied anywhere else,
 * or altered by one byte, fails to open with an {@link EncryptionError}. With the layer on, a
 * value that is not sealed (plaintext) is refused, never returned.
 *
 * Sealed form: tag `@e1:<key version>:<tag>`; bytes = 12-byte IV, ciphertext, 16-byte GCM tag.
 */

import type { KeyObject } from "node:crypto";
import type { CodecLayer, ValueSite } from "../checkpoint/checkpoint-codec.js";
import { parseThreadKey } from "../checkpoint/thread-key.js";
import { EncryptionError, isRewindError } from "../errors.js";
import type { SerializedValue } from "../serde/serializer.js";
import { openBytes, sealBytes } from "./key-provider.js";
import type { Keyring } from "./keyring.js";

const PREFIX = "@e1:";
const TEXT_PREFIX = "@e1.";

/** Encryption options of a storage: `{ keys }`, a keyring from `Keyring.open`. */
export interface EncryptionOptions {
  readonly keys: Keyring;
}

/** The tenant a site belongs to: its own `tenantId` field, else the tenant of its thread key. */
export function tenantOfSite(site: ValueSite): string | undefined {
  if ("tenantId" in site) return site.tenantId ?? undefined;
  const key = site.threadId;
  if (key === undefined || key[0] !== "\u001f") return undefined;
  let tenant = tenants.get(key);
  if (tenant === undefined) {
    if (tenants.size >= 1024) tenants.clear();
    tenant = parseThreadKey(key).tenantId!;
    tenants.set(key, tenant);
  }
  return tenant;
}

/** Tenants of recently seen thread keys (parsing validates, which is not free). */
const tenants = new Map<string, string>();

/** Canonical text of every present field of `site`, keys sorted. */
function siteText(site: ValueSite, tenantId: string | undefined): string {
  let text = `rewind-e1\0${tenantId === undefined ? "d" : `t${tenantId}`}\0`;
  const record = site as Readonly<Record<string, unknown>>;
  for (const name of Object.keys(record).sort()) {
    const value = record[name];
    if (name === "tenantId" || value === undefined || value === null) continue;
    text += `${name}=${String(value)}\0`;
  }
  return text;
}

function where(site: ValueSite): string {
  const parts: string[] = [];
  if (site.threadId !== undefined) parts.push(`thread "${site.threadId}"`);
  if (site.checkpointId !== undefined) parts.push(`checkpoint ${site.checkpointId}`);
  if (site.channel !== undefined) parts.push(`channel "${site.channel}"`);
  return parts.length > 0 ? ` (${parts.join(", ")})` : "";
}

/** The layer; `name` is `"aes-256-gcm"`. */
export class EncryptionLayer implements CodecLayer {
  readonly name = "aes-256-gcm";
  readonly keys: Keyring;

  constructor(options: EncryptionOptions) {
    this.keys = options.keys;
  }

  seal(value: SerializedValue, site: ValueSite): SerializedValue {
    const tenantId = tenantOfSite(site);
    const { version, key } = this.keys.current(tenantId);
    const aad = Buffer.from(`${siteText(site, tenantId)}${version}\0${value.tag}`);
    return { tag: `${PREFIX}${version}:${value.tag}`, bytes: sealBytes(key, value.bytes, aad) };
  }

  open(value: SerializedValue, site: ValueSite): SerializedValue {
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

  /** Text payloads (store items, effect outcomes): the sealed value as one string. */
  sealText(text: string, site: ValueSite): string {
    const sealed = this.seal({ tag: "t", bytes: Buffer.from(text, "utf8") }, site);
    return `${TEXT_PREFIX}${sealed.tag.slice(PREFIX.length)}:${Buffer.from(sealed.bytes).toString("base64")}`;
  }

  /** The inverse of {@link sealText}; a plaintext or altered text is refused. */
  openText(text: string, site: ValueSite): string {
    const last = text.startsWith(TEXT_PREFIX) ? text.lastIndexOf(":") : -1;
    const tag = last < 0 ? "" : `${PREFIX}${text.slice(TEXT_PREFIX.length, last)}`;
    const bytes = last < 0 ? new Uint8Array(0) : Buffer.from(text.slice(last + 1), "base64");
    return Buffer.from(this.open({ tag, bytes }, site).bytes).toString("utf8");
  }
}
