/**
 * Key-encryption keys (KEKs): a {@link KeyProvider} wraps and unwraps tenants' data keys and
 * never hands out its own key. The interface is the shape of a cloud KMS (asynchronous wrap and
 * unwrap, every wrapped key naming the KEK id that wrapped it); the two shipped providers keep
 * their KEKs locally (a key file, an environment variable) and also answer synchronously.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { EncryptionError, InvalidInputError } from "../errors.js";
import { openBytes, sealBytes } from "../serde/encryption-layer.js";

/** What a data key is bound to when wrapped: its tenant (`null`: the default tenant) and version. */
export interface KeyContext {
  readonly tenantId: string | null;
  readonly version: number;
}

/** A data key as a provider wrapped it, with the id of the KEK that did. */
export interface WrappedKey {
  readonly kekId: string;
  readonly wrapped: Uint8Array;
}

/**
 * Wraps data keys under a key-encryption key. `kekId` is the KEK new wraps use; `unwrap` must
 * open keys wrapped by any KEK id it still holds (KEK rotation keeps old ones). A wrap is bound
 * to its {@link KeyContext}: unwrapping under another context fails. `wrapSync`/`unwrapSync` are
 * optional; without them, tenants' keys must be loaded before use (`Keyring.prepare`).
 */
export interface KeyProvider {
  readonly kekId: string;
  wrap(dataKey: Uint8Array, context: KeyContext): Promise<WrappedKey>;
  unwrap(key: WrappedKey, context: KeyContext): Promise<Uint8Array>;
  wrapSync?(dataKey: Uint8Array, context: KeyContext): WrappedKey;
  unwrapSync?(key: WrappedKey, context: KeyContext): Uint8Array;
}

const KEY_BYTES = 32;
/** Additional data binding a wrap to its context (shared by the local providers). */
function contextBytes(context: KeyContext): Buffer {
  return Buffer.from(
    `rewind-dek\0${context.tenantId ?? ""}\0${context.tenantId === null ? "d" : "t"}\0${context.version}`,
  );
}

/**
 * A provider over local KEKs (32 bytes each, oldest first; the last is current). Each KEK's id
 * is `local:` and the first 16 hex digits of its SHA-256.
 */
export function localKeyProvider(keks: readonly Uint8Array[]): KeyProvider {
  if (keks.length === 0) throw new InvalidInputError("a key provider needs at least one KEK");
  const byId = new Map<string, Uint8Array>();
  for (const kek of keks) {
    if (kek.byteLength !== KEY_BYTES) {
      throw new InvalidInputError(`a KEK must be ${KEY_BYTES} bytes, got ${kek.byteLength}`);
    }
    byId.set(`local:${createHash("sha256").update(kek).digest("hex").slice(0, 16)}`, kek);
  }
  const kekId = [...byId.keys()].at(-1)!;
  const wrapSync = (dataKey: Uint8Array, context: KeyContext): WrappedKey => ({
    kekId,
    wrapped: sealBytes(byId.get(kekId)!, dataKey, contextBytes(context)),
  });
  const unwrapSync = (key: WrappedKey, context: KeyContext): Uint8Array => {
    const kek = byId.get(key.kekId);
    if (!kek) throw new EncryptionError(`KEK ${key.kekId} is not held by this key provider`);
    const plain = openBytes(kek, key.wrapped, contextBytes(context));
    if (!plain || plain.byteLength !== KEY_BYTES) {
      throw new EncryptionError(`a data key wrapped by ${key.kekId} failed to unwrap`);
    }
    return plain;
  };
  return {
    kekId,
    wrapSync,
    unwrapSync,
    wrap: async (dataKey, context) => wrapSync(dataKey, context),
    unwrap: async (key, context) => unwrapSync(key, context),
  };
}

/** KEKs from text: one per line, base64 or 64 hex digits; blank lines and `#` comments skipped. */
export function parseKeks(text: string, where: string): Uint8Array[] {
  const keks = text
    .split(/[\r\n,]+/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) =>
      /^[0-9a-fA-F]{64}$/.test(line) ? Buffer.from(line, "hex") : Buffer.from(line, "base64"),
    );
  if (keks.length === 0) throw new InvalidInputError(`${where} holds no key`);
  for (const kek of keks) {
    if (kek.byteLength !== KEY_BYTES) {
      throw new InvalidInputError(
        `${where} holds a key that is not ${KEY_BYTES} bytes (base64 or hex)`,
      );
    }
  }
  return keks;
}

/**
 * KEKs read from a key file (one per line, base64 or hex, the last current; append a line to
 * rotate the KEK). Keep the file apart from the database and its backups.
 *
 * @example
 * const provider = fileKeyProvider("/etc/agent/rewind.kek");
 */
export function fileKeyProvider(path: string): KeyProvider {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw new InvalidInputError(`key file ${path} cannot be read`, { cause });
  }
  return localKeyProvider(parseKeks(text, `key file ${path}`));
}

/** KEKs from an environment variable (comma-separated, base64 or hex, the last current). */
export function envKeyProvider(variable = "REWIND_KEK"): KeyProvider {
  const text = process.env[variable];
  if (text === undefined || text.trim() === "") {
    throw new InvalidInputError(`environment variable ${variable} holds no key`);
  }
  return localKeyProvider(parseKeks(text, `environment variable ${variable}`));
}

/** A new random 32-byte key, base64: for a key file or `REWIND_KEK`. */
export function generateKek(): string {
  return randomBytes(KEY_BYTES).toString("base64");
}
