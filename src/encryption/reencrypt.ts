/**
 * Re-encryption after a key rotation: every stored value of a checkpointer (channel values,
 * pending writes, effect texts, large values' bodies) and of a store (item values and their
 * large values' bodies) sealed again
 * under its tenant's current data key, thread by thread and page by page, so the older key
 * versions can be retired (quarantined rows and archives are left as they are). Resumable: a value under
 * the current key is left as it is, so a run that was interrupted is simply run again. Safe
 * beside live writers: they write under the current key already, and each backend replaces a
 * value only where it is still the one read (compare-and-set, or one write transaction per
 * thread). With `check`, nothing is written: the report counts values per key version.
 */
import type { Reseal } from "../checkpoint/checkpoint-codec.js";
import type { Checkpointer } from "../checkpoint/checkpointer.js";
import { tenantOfKey } from "../checkpoint/thread-key.js";
import { EncryptionError, isRewindError, StorageError } from "../errors.js";
import type { LargeValueStore } from "../offload/large-value-store.js";
import { EncryptionLayer, keyVersionOf } from "../serde/encryption-layer.js";
import type { Store } from "../store/store.js";
import type { StoredItemText } from "../store/store-backend.js";
import { itemSite } from "../store/store-ops.js";

/** Store items read and rewritten per call of the store backend. */
const ITEMS_PER_PAGE = 200;

/** Options of {@link reencrypt}. */
export interface ReencryptOptions {
  /** Only this tenant's values (`null`: the default tenant). Default: every tenant. */
  readonly tenant?: string | null | undefined;
  /** Count values per key version and write nothing. Default false. */
  readonly check?: boolean | undefined;
  /** Stops between threads (what was finished is kept; run again to continue). */
  readonly signal?: AbortSignal | undefined;
  /** Called after each thread, large value and page of store items: `done` of `total`. */
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
  /** A store (opened with the same keys) whose items are re-encrypted too. */
  readonly store?: Store | undefined;
}

/** Values of one tenant under one key version (after the run). */
export interface KeyVersionCount {
  readonly tenant: string | null;
  readonly version: number;
  readonly values: number;
}

/** What {@link reencrypt} did. */
export interface ReencryptReport {
  readonly threads: number;
  readonly largeValues: number;
  /** Store items visited (0 without `store`). */
  readonly storeItems: number;
  /** Values sealed again under the current key (0 with `check`). */
  readonly rewritten: number;
  /** Values by tenant and key version, as stored when the run ended. */
  readonly versions: readonly KeyVersionCount[];
  /** Values stored unencrypted (written before encryption was on): left as they are. */
  readonly plaintext: number;
  /** Values whose tenant's key was shredded: unreadable, left as they are. */
  readonly shredded: number;
}

/**
 * Seals every stored value of `checkpointer` (opened with `encryption: { keys }`) again under
 * its tenant's current key; see the file's comment.
 *
 * @example
 * await keys.rotate("acme");
 * const report = await reencrypt(checkpointer, { tenant: "acme" });
 */
export async function reencrypt(
  checkpointer: Checkpointer,
  options: ReencryptOptions = {},
): Promise<ReencryptReport> {
  const layer = checkpointer.sealer;
  if (!(layer instanceof EncryptionLayer)) {
    throw new EncryptionError("re-encryption needs a storage opened with encryption: { keys }");
  }
  const check = options.check === true;
  const counts = new Map<string, number>();
  let plaintext = 0;
  let shredded = 0;
  /** `undefined` when the value is to stay; tallies the version it is left under. */
  const once = <T>(
    found: number,
    tenant: string | null,
    seal: () => T | undefined,
    version: (next: T) => number,
  ) => {
    if (found === 0) {
      plaintext++;
      return undefined;
    }
    let next: T | undefined;
    try {
      next = check ? undefined : seal();
    } catch (error) {
      if (!isRewindError(error, "KEY_SHREDDED")) throw error;
      shredded++;
      return undefined;
    }
    const key = JSON.stringify([tenant, next === undefined ? found : version(next)]);
    counts.set(key, (counts.get(key) ?? 0) + 1);
    return next;
  };
  const reseal: Reseal = (value, site) =>
    once(
      keyVersionOf(value.tag),
      site.tenantId ?? null,
      () => layer.reseal(value, site),
      (next) => keyVersionOf(next.tag),
    );

  const threads = await threadsOf(checkpointer, options.tenant);
  // Large values' bodies: the checkpointer's, then the store's (often the same table).
  await options.store?.ready();
  const holders = [checkpointer.largeValues, options.store?.largeValues];
  const bodies: { values: LargeValueStore; tenant: string; hash: string }[] = [];
  for (const values of holders) {
    if (!values) continue;
    let listed = 0;
    for await (const entry of values.target.list()) {
      if (options.tenant === undefined || entry.tenant === (options.tenant ?? "")) {
        bodies.push({ values, tenant: entry.tenant, hash: entry.hash });
        listed++;
      }
    }
    if (!check && listed > 0 && !values.target.replace) {
      throw new StorageError(
        `the large-value target ${values.target.name} cannot replace values: re-encryption needs it`,
      );
    }
  }
  const total = threads.length + bodies.length;
  let done = 0;
  let rewritten = 0;
  const { codec } = checkpointer;
  for (const threadId of threads) {
    options.signal?.throwIfAborted();
    const tenantId = tenantOfKey(threadId);
    rewritten += await checkpointer.door.rewriteValues(threadId, {
      blob: (_ns, blob) => codec.resealBlob(blob, threadId, reseal),
      write: (_ns, checkpointId, write) => codec.resealWrite(write, threadId, checkpointId, reseal),
      effect: (key, part, text) => {
        const site = { tenantId, threadId, item: `effect:${key}:${part}` };
        return once(keyVersionOf(text), tenantId, () => layer.resealText(text, site), keyVersionOf);
      },
    });
    options.onProgress?.(++done, total);
  }
  /** Bodies as the pass left them: the same bytes met again (the same table) are not redone. */
  const left = new Map<string, Uint8Array>();
  let bodyCount = 0;
  for (const { values, tenant, hash } of bodies) {
    options.signal?.throwIfAborted();
    const bytes = await values.target.get(tenant, hash);
    const key = `${tenant}\0${hash}`;
    const met = left.get(key);
    if (bytes && !(met && Buffer.from(met).equals(bytes))) {
      bodyCount++;
      const next = codec.resealFrame(bytes, tenant === "" ? null : tenant, hash, reseal);
      const replaced = !!next && (await values.target.replace!(tenant, hash, bytes, next));
      if (replaced) {
        values.forget(tenant, hash);
        rewritten++;
      }
      left.set(key, replaced ? next! : bytes);
    }
    options.onProgress?.(++done, total);
  }
  let storeItems = 0;
  const store = options.store;
  if (store) {
    const sealer = store.sealer;
    if (!(sealer instanceof EncryptionLayer)) {
      throw new EncryptionError("re-encryption needs a store opened with encryption: { keys }");
    }
    await store.ready();
    if (!store.backend.rewriteItems) {
      throw new StorageError(`the ${store.backend.name} store cannot rewrite stored items`);
    }
    const tenant = options.tenant === undefined ? undefined : (options.tenant ?? "");
    let after: Omit<StoredItemText, "value"> | undefined;
    for (;;) {
      options.signal?.throwIfAborted();
      const page = await store.backend.rewriteItems(
        { tenant, after, limit: ITEMS_PER_PAGE },
        (item) => {
          storeItems++;
          const text = sealedText(item.value);
          const site = itemSite(item.tenant, item.path, item.key);
          const next = once(
            keyVersionOf(text),
            item.tenant === "" ? null : item.tenant,
            () => sealer.resealText(text, site),
            keyVersionOf,
          );
          return next === undefined ? undefined : JSON.stringify(next);
        },
      );
      rewritten += page.replaced;
      if (!page.last) break;
      after = page.last;
      options.onProgress?.(++done, Math.max(total, done + 1));
    }
  }
  const versions = [...counts].map(([key, values]) => {
    const [tenant, version] = JSON.parse(key) as [string | null, number];
    return { tenant, version, values };
  });
  versions.sort((a, b) => (a.tenant ?? "").localeCompare(b.tenant ?? "") || a.version - b.version);
  return {
    threads: threads.length,
    largeValues: bodyCount,
    storeItems,
    rewritten,
    versions,
    plaintext,
    shredded,
  };
}

/** The sealed text a stored item value holds (a JSON string), or `""` when it holds none. */
function sealedText(value: string): string {
  try {
    const text: unknown = JSON.parse(value);
    return typeof text === "string" ? text : "";
  } catch {
    return "";
  }
}

/** The storage keys of every live thread (of `tenant`, when given), in id order. */
async function threadsOf(
  checkpointer: Checkpointer,
  tenant: string | null | undefined,
): Promise<string[]> {
  const prefix = typeof tenant === "string" ? `\u001f${tenant}\u001f` : undefined;
  const ids: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await checkpointer.door.listThreads({ after, prefix, limit: 500 });
    for (const { threadId } of page) {
      if (tenant !== null || tenantOfKey(threadId) === null) ids.push(threadId);
    }
    if (page.length < 500) return ids;
    after = page.at(-1)!.threadId;
  }
}
