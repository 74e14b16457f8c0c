/**
 * Tenants' data keys: one AES-256 key per tenant and version, created on first use, wrapped by
 * the {@link KeyProvider}'s KEK and kept in a key directory, never in the database. Unwrapped
 * keys are cached, so sealing and opening values stays synchronous. Because the wrapped keys
 * live only here, `shredTenant` (deleting them) makes every copy of the tenant's data (live
 * rows, backups of the database, archives) unreadable at once.
 *
 * Layout: `<directory>/<tenant digest>/v<N>.json` per key version (created exclusively, so two
 * processes never write two keys for one version) and `shredded.json` after a shred.
 */
import { createHash, createSecretKey, type KeyObject, randomBytes } from "node:crypto";
import {
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { EncryptionError, InvalidInputError, KeyShreddedError } from "../errors.js";
import { validateTenantId } from "../store/store-validation.js";
import type { KeyContext, KeyProvider, WrappedKey } from "./key-provider.js";

/** The file of a tenant's large-value key; its provider context has version 0. */
const HASH_FILE = "hash.json";
const HASH_CONTEXT = (tenantId: string | null): KeyContext => ({ tenantId, version: 0 });

function unwrapped(file: KeyFile): WrappedKey {
  return { kekId: file.kekId, wrapped: Buffer.from(file.wrapped, "base64") };
}

/** A data key ready to use. */
export interface DataKey {
  readonly version: number;
  readonly key: KeyObject;
}

interface TenantKeys {
  /** Raw keys (kept for rewrapping) and their `KeyObject`s (what ciphers use, faster). */
  readonly versions: Map<number, Uint8Array>;
  readonly objects: Map<number, KeyObject>;
  current: number;
  /** Versions up to this one were shredded. */
  shreddedThrough: number;
}

interface KeyFile {
  readonly tenantId: string | null;
  readonly version: number;
  readonly kekId: string;
  readonly wrapped: string;
}

/** Options of {@link Keyring.open}. */
export interface KeyringOptions {
  /** Wraps and unwraps the data keys. */
  readonly provider: KeyProvider;
  /** Where wrapped data keys are kept (created if missing); keep it out of database backups. */
  readonly directory: string;
}

function remember(tenant: TenantKeys, version: number, key: Uint8Array): void {
  tenant.versions.set(version, key);
  tenant.objects.set(version, createSecretKey(key));
  tenant.current = Math.max(tenant.current, version);
}

function label(tenantId: string | undefined | null): string {
  return tenantId == null ? "the default tenant" : `tenant "${tenantId}"`;
}

/**
 * The data keys of every tenant, loaded once. Use one per key directory per process.
 *
 * @example
 * const keys = await Keyring.open({ provider: fileKeyProvider("rewind.kek"), directory: "rewind-keys" });
 * const checkpointer = createSqliteCheckpointer("agent.sqlite", { encryption: { keys } });
 */
export class Keyring {
  readonly provider: KeyProvider;
  readonly directory: string;
  readonly #tenants = new Map<string | null, TenantKeys>();
  /** Tenants' secrets for naming large values (see {@link hashKey}). */
  readonly #hashKeys = new Map<string | null, Uint8Array>();

  private constructor(options: KeyringOptions) {
    this.provider = options.provider;
    this.directory = options.directory;
  }

  /** Opens the key directory and unwraps every tenant's keys (asynchronously, for a KMS). */
  static async open(options: KeyringOptions): Promise<Keyring> {
    if (!options?.provider || typeof options.directory !== "string") {
      throw new InvalidInputError("a keyring needs a provider and a directory");
    }
    const keyring = new Keyring(options);
    mkdirSync(options.directory, { recursive: true, mode: 0o700 });
    for (const entry of readdirSync(options.directory, { withFileTypes: true })) {
      if (entry.isDirectory()) await keyring.#load(join(options.directory, entry.name));
    }
    return keyring;
  }

  /** The tenants (`null`: the default tenant) that have keys or were shredded. */
  tenants(): (string | null)[] {
    return [...this.#tenants.keys()];
  }

  /** The key new values of `tenantId` are sealed with, created (synchronously) on first use. */
  current(tenantId: string | undefined): DataKey {
    const tenant = this.#tenants.get(tenantId ?? null) ?? this.#loadSync(tenantId ?? null);
    if (tenant && tenant.current > 0) {
      return { version: tenant.current, key: tenant.objects.get(tenant.current)! };
    }
    const wrapSync = this.provider.wrapSync?.bind(this.provider);
    if (!wrapSync) {
      throw new EncryptionError(
        `${label(tenantId)} has no data key yet: await keys.prepare(tenantId) first (the key provider is asynchronous)`,
      );
    }
    this.#create(tenantId ?? null, (key, context) => wrapSync(key, context));
    return this.current(tenantId);
  }

  /** The key of `version` for `tenantId`; a shredded one raises {@link KeyShreddedError}. */
  key(tenantId: string | undefined, version: number): KeyObject {
    const id = tenantId ?? null;
    let tenant = this.#tenants.get(id);
    if (!tenant?.objects.has(version)) tenant = this.#loadSync(id);
    const key = tenant?.objects.get(version);
    if (key) return key;
    if (tenant && version <= tenant.shreddedThrough) {
      throw new KeyShreddedError(
        `the data key of ${label(tenantId)} was shredded: this value can never be read again`,
        { tenantId },
      );
    }
    throw new EncryptionError(
      `${label(tenantId)} has no data key version ${version} in this keyring`,
    );
  }

  /**
   * The tenant's secret that names its large values (the HMAC key of their content hash), so
   * that someone reading the database cannot confirm a guessed value by hashing it. Created on
   * first use (synchronously), wrapped by the KEK beside the data keys (`hash.json`, version 0
   * for the provider), kept by {@link rotate} (dedupe survives a rotation) and destroyed by
   * {@link shredTenant}.
   */
  hashKey(tenantId: string | undefined): Uint8Array {
    const id = tenantId ?? null;
    const held = this.#hashKeys.get(id);
    if (held) return held;
    const file = this.#readFile(id, HASH_FILE);
    const unwrapSync = this.provider.unwrapSync?.bind(this.provider);
    const wrapSync = this.provider.wrapSync?.bind(this.provider);
    if ((file && !unwrapSync) || (!file && !wrapSync)) {
      throw new EncryptionError(
        `${label(id)} has no large-value key loaded: await keys.prepare(tenantId) first (the key provider is asynchronous)`,
      );
    }
    if (file) return this.#keepHashKey(id, unwrapSync!(unwrapped(file), HASH_CONTEXT(id)));
    const key = randomBytes(32);
    if (!this.#writeFile(id, HASH_FILE, wrapSync!(key, HASH_CONTEXT(id)), false)) {
      // Another process created it first: use its key.
      return this.hashKey(tenantId);
    }
    return this.#keepHashKey(id, key);
  }

  /** Makes sure `tenantId` has a key, loaded (the way to use an asynchronous provider). */
  async prepare(tenantId: string | undefined): Promise<DataKey> {
    const id = tenantId ?? null;
    if (!this.#tenants.get(id)?.current) {
      await this.#load(this.#dir(id));
      if (!this.#tenants.get(id)?.current) await this.#createAsync(id);
    }
    if (!this.#hashKeys.has(id)) {
      const file = this.#readFile(id, HASH_FILE);
      if (file)
        this.#keepHashKey(id, await this.provider.unwrap(unwrapped(file), HASH_CONTEXT(id)));
      else {
        const key = randomBytes(32);
        const wrapped = await this.provider.wrap(key, HASH_CONTEXT(id));
        if (this.#writeFile(id, HASH_FILE, wrapped, false)) this.#keepHashKey(id, key);
        else await this.prepare(tenantId);
      }
    }
    return this.current(tenantId);
  }

  #keepHashKey(id: string | null, key: Uint8Array): Uint8Array {
    this.#hashKeys.set(id, key);
    return key;
  }

  /** A new key version for `tenantId`: new values use it, older ones stay readable. */
  async rotate(tenantId: string | undefined): Promise<number> {
    await this.prepare(tenantId);
    return this.#createAsync(tenantId ?? null);
  }

  /** A tenant's key versions held, the current one, and the versions shredded. */
  describe(tenantId: string | undefined): {
    current: number;
    versions: number[];
    shreddedThrough: number;
  } {
    const tenant = this.#tenants.get(tenantId ?? null);
    return {
      current: tenant?.current ?? 0,
      versions: [...(tenant?.versions.keys() ?? [])].sort((a, b) => a - b),
      shreddedThrough: tenant?.shreddedThrough ?? 0,
    };
  }

  /**
   * Wraps every data key again under the provider's current KEK (after a KEK rotation), so the
   * old KEK can be retired; returns how many were rewrapped. `onProgress(done, total)` after each.
   */
  async rewrap(onProgress?: (done: number, total: number) => void): Promise<number> {
    for (const id of this.#tenants.keys()) {
      if (!this.#hashKeys.has(id) && this.#readFile(id, HASH_FILE))
        await this.prepare(id ?? undefined);
    }
    const all = [
      ...[...this.#tenants].flatMap(([id, tenant]) =>
        [...tenant.versions].map(([version, key]) => ({ id, version, key })),
      ),
      ...[...this.#hashKeys].map(([id, key]) => ({ id, version: 0, key })),
    ];
    let count = 0;
    for (const [done, { id, version, key }] of all.entries()) {
      const name = version === 0 ? HASH_FILE : `v${version}.json`;
      if (this.#readFile(id, name)?.kekId !== this.provider.kekId) {
        const wrapped = await this.provider.wrap(key, { tenantId: id, version });
        this.#writeFile(id, name, wrapped, true);
        count++;
      }
      onProgress?.(done + 1, all.length);
    }
    return count;
  }

  /**
   * Destroys every data key of `tenantId`: all its values, wherever a copy of them is, can no
   * longer be opened ({@link KeyShreddedError}). New values of the tenant get a new key.
   * Other processes using this key directory drop their cached keys when they open it again.
   */
  async shredTenant(tenantId: string | undefined): Promise<void> {
    if (tenantId !== undefined) validateTenantId(tenantId);
    const id = tenantId ?? null;
    const dir = this.#dir(id);
    await this.#load(dir);
    const tenant = this.#tenants.get(id) ?? this.#empty(id);
    const through = Math.max(tenant.shreddedThrough, ...tenant.versions.keys(), 0);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, "shredded.json"), JSON.stringify({ tenantId: id, through }));
    for (const name of readdirSync(dir)) {
      if (!/^v\d+\.json$/.test(name) && name !== HASH_FILE) continue;
      const path = join(dir, name);
      // Overwrite before unlinking, so the wrapped key does not linger in the freed blocks.
      writeFileSync(path, randomBytes(512));
      unlinkSync(path);
    }
    for (const key of tenant.versions.values()) key.fill?.(0);
    this.#hashKeys.get(id)?.fill(0);
    this.#hashKeys.delete(id);
    tenant.versions.clear();
    tenant.objects.clear();
    tenant.current = 0;
    tenant.shreddedThrough = through;
  }

  #dir(id: string | null): string {
    const digest = createHash("sha256")
      .update(id === null ? "d:" : `t:${id}`)
      .digest("hex");
    return join(this.directory, digest.slice(0, 32));
  }

  #empty(id: string | null): TenantKeys {
    const tenant = { versions: new Map(), objects: new Map(), current: 0, shreddedThrough: 0 };
    this.#tenants.set(id, tenant);
    return tenant;
  }

  #readDir(dir: string): {
    files: KeyFile[];
    shredded: { tenantId: string | null; through: number } | undefined;
  } {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return { files: [], shredded: undefined };
    }
    const files: KeyFile[] = [];
    let shredded: { tenantId: string | null; through: number } | undefined;
    for (const name of names) {
      if (name === "shredded.json") shredded = JSON.parse(readFileSync(join(dir, name), "utf8"));
      else if (/^v\d+\.json$/.test(name))
        files.push(JSON.parse(readFileSync(join(dir, name), "utf8")));
    }
    return { files, shredded };
  }

  /** Loads the keys in `dir` not held yet (asynchronously when `keyOf` answers with promises). */
  #apply(
    dir: string,
    keyOf: (file: KeyFile, context: KeyContext) => Uint8Array | Promise<Uint8Array>,
  ): TenantKeys | undefined | Promise<TenantKeys> {
    const { files, shredded } = this.#readDir(dir);
    const owner = files[0] ?? shredded;
    if (owner === undefined) return undefined;
    const id = owner.tenantId;
    const tenant = this.#tenants.get(id) ?? this.#empty(id);
    tenant.shreddedThrough = Math.max(tenant.shreddedThrough, shredded?.through ?? 0);
    const pending = files
      .filter((file) => !tenant.versions.has(file.version))
      .map((file) => {
        const got = keyOf(file, { tenantId: id, version: file.version });
        const put = (key: Uint8Array) => {
          remember(tenant, file.version, key);
        };
        return got instanceof Promise ? got.then(put) : put(got);
      });
    const done = pending.filter((p): p is Promise<void> => p instanceof Promise);
    return done.length > 0 ? Promise.all(done).then(() => tenant) : tenant;
  }

  async #load(dir: string): Promise<void> {
    await this.#apply(dir, (file, context) =>
      this.provider.unwrap(
        { kekId: file.kekId, wrapped: Buffer.from(file.wrapped, "base64") },
        context,
      ),
    );
  }

  #loadSync(id: string | null): TenantKeys | undefined {
    const unwrapSync = this.provider.unwrapSync?.bind(this.provider);
    const dir = this.#dir(id);
    if (!unwrapSync) {
      if (this.#readDir(dir).files.some((f) => !this.#tenants.get(id)?.versions.has(f.version))) {
        throw new EncryptionError(
          `${label(id)} has data keys not loaded yet: await keys.prepare(tenantId) first (the key provider is asynchronous)`,
        );
      }
      return this.#tenants.get(id);
    }
    // A synchronous unwrap gives a synchronous answer.
    return this.#apply(dir, (file, context) =>
      unwrapSync({ kekId: file.kekId, wrapped: Buffer.from(file.wrapped, "base64") }, context),
    ) as TenantKeys | undefined;
  }

  #create(id: string | null, wrap: (key: Uint8Array, context: KeyContext) => WrappedKey): number {
    const tenant = this.#tenants.get(id) ?? this.#empty(id);
    const version = Math.max(tenant.current, tenant.shreddedThrough) + 1;
    const key = randomBytes(32);
    if (!this.#writeFile(id, `v${version}.json`, wrap(key, { tenantId: id, version }), false)) {
      // Another process created this version first: use its key.
      this.#loadSync(id);
      return this.#tenants.get(id)!.current;
    }
    remember(tenant, version, key);
    return version;
  }

  async #createAsync(id: string | null): Promise<number> {
    const tenant = this.#tenants.get(id) ?? this.#empty(id);
    const version = Math.max(tenant.current, tenant.shreddedThrough) + 1;
    const key = randomBytes(32);
    const wrapped = await this.provider.wrap(key, { tenantId: id, version });
    if (!this.#writeFile(id, `v${version}.json`, wrapped, false)) {
      await this.#load(this.#dir(id));
      return this.#tenants.get(id)!.current;
    }
    remember(tenant, version, key);
    return version;
  }

  /** A key file of the tenant (`v<N>.json` or {@link HASH_FILE}), or `undefined`. */
  #readFile(id: string | null, name: string): KeyFile | undefined {
    try {
      return JSON.parse(readFileSync(join(this.#dir(id), name), "utf8"));
    } catch {
      return undefined;
    }
  }

  /** Writes a wrapped key; `false` when `replace` is off and the file exists already. */
  #writeFile(id: string | null, name: string, wrapped: WrappedKey, replace: boolean): boolean {
    const version = name === HASH_FILE ? 0 : Number(name.slice(1, -".json".length));
    const dir = this.#dir(id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file: KeyFile = {
      tenantId: id,
      version,
      kekId: wrapped.kekId,
      wrapped: Buffer.from(wrapped.wrapped).toString("base64"),
    };
    const temp = join(dir, `.${name}.${process.pid}.${randomBytes(6).toString("hex")}`);
    writeFileSync(temp, JSON.stringify(file), { mode: 0o600 });
    if (replace) {
      renameSync(temp, join(dir, name));
      return true;
    }
    try {
      linkSync(temp, join(dir, name));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw error;
    } finally {
      unlinkSync(temp);
    }
  }
}
