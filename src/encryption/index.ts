/**
 * `rewind/encryption`: encryption at rest with per-tenant keys. A {@link Keyring} holds one
 * AES-256 data key per tenant (and key version), wrapped by a {@link KeyProvider}'s
 * key-encryption key and kept in a key directory outside the database; pass it as
 * `encryption: { keys }` to a checkpointer, a store or a LangGraph saver. `shredTenant` destroys a
 * tenant's keys, so every copy of its data becomes unreadable.
 *
 * @example
 * import { fileKeyProvider, Keyring } from "rewind/encryption";
 * const keys = await Keyring.open({ provider: fileKeyProvider("rewind.kek"), directory: "rewind-keys" });
 * const checkpointer = createSqliteCheckpointer("agent.sqlite", { encryption: { keys } });
 */
export { EncryptionError, KeyShreddedError } from "../errors.js";
export { EncryptionLayer, type EncryptionOptions } from "../serde/encryption-layer.js";
export {
  envKeyProvider,
  fileKeyProvider,
  generateKek,
  type KeyContext,
  type KeyProvider,
  localKeyProvider,
  type WrappedKey,
} from "./key-provider.js";
export { type DataKey, Keyring, type KeyringOptions } from "./keyring.js";
export {
  type KeyVersionCount,
  type ReencryptOptions,
  type ReencryptReport,
  reencrypt,
} from "./reencrypt.js";
