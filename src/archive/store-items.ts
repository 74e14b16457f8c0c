/**
 * A tenant's store items in an export: read page by page (raw search, no TTL refresh) and
 * written back with their original times. Vectors of semantic search are not exported: a store
 * with an index embeds items again when they are put through it.
 */
import { CorruptionError, InvalidInputError } from "../errors.js";
import { isValueHash } from "../offload/large-value-frame.js";
import type { Store } from "../store/store.js";
import type { StoredItem, StoreOp } from "../store/store-backend.js";
import { validateKey, validateNamespace } from "../store/store-validation.js";
import type { ExportFile } from "./export-file.js";
import type { ItemRecord, StoreSection } from "./export-format.js";

const PAGE = 500;

/** Every live item of `tenantId`, a page at a time (ordered by the backend's search order). */
export async function* storeItemsOf(store: Store, tenantId: string): AsyncGenerator<StoredItem> {
  await store.ready();
  for (let offset = 0; ; offset += PAGE) {
    const [page] = (await store.backend.batch([searchAll(tenantId, offset)], Date.now())) as [
      StoredItem[],
    ];
    yield* page;
    if (page.length < PAGE) return;
  }
}

function searchAll(tenant: string, offset: number): StoreOp {
  return {
    kind: "search",
    tenant,
    namespacePrefix: [],
    filter: [],
    limit: PAGE,
    offset,
    refreshTtl: false,
    query: null,
  };
}

/** Writes one tenant's items as a section. */
export async function exportStoreItems(
  store: Store,
  tenantId: string,
  file: ExportFile,
): Promise<StoreSection> {
  file.beginSection();
  let items = 0;
  for await (const item of storeItemsOf(store, tenantId)) {
    const { score: _, ...rest } = item;
    const frames = item.refs && (await framesOf(store, tenantId, item));
    await file.write({ k: "i", item: rest, ...(frames && { frames }) });
    items++;
  }
  return { tenantId, items, ...file.endSection() };
}

/**
 * Puts one exported item back with its times: created at `createdAt`, then (when it changed
 * since) replaced at `updatedAt`, which keeps `createdAt`; its expiry stays `expiresAt`.
 */
export async function importStoreItem(
  store: Store,
  tenantId: string,
  record: ItemRecord,
): Promise<void> {
  const { item } = record;
  validateNamespace(item.namespace);
  validateKey(item.key);
  if (typeof item.value !== "string" || !times(item)) {
    throw new InvalidInputError("a store item record has no value or no valid times");
  }
  const refs = refsOf(record);
  const put = (ttlMs: number | null): StoreOp => ({
    kind: "put",
    tenant: tenantId,
    namespace: item.namespace,
    key: item.key,
    value: item.value,
    ttlMs,
    ifAbsent: false,
    embedding: null,
    ...(refs.length > 0 && { refs }),
  });
  const ttlMs = item.expiresAt === null ? null : Math.max(item.expiresAt - item.updatedAt, 1);
  await store.ready();
  if (refs.length > 0) {
    const values = store.largeValues;
    if (!values) {
      throw new InvalidInputError(
        `store item ${JSON.stringify(item.key)} keeps large values by reference: import it into a store with large values on (not largeValues: false)`,
      );
    }
    // The values go first: the item never references one that is not there.
    for (const hash of refs) {
      await values.store(tenantId, hash, Buffer.from(record.frames![hash]!, "base64"));
    }
  }
  if (item.createdAt !== item.updatedAt) await store.backend.batch([put(null)], item.createdAt);
  await store.backend.batch([put(ttlMs)], item.updatedAt);
}

/** The frames of `item`'s large values, by hash in base64; a missing one names the item. */
async function framesOf(
  store: Store,
  tenantId: string,
  item: StoredItem,
): Promise<Record<string, string>> {
  const frames: Record<string, string> = {};
  const values = store.largeValues;
  if (!values) {
    throw new InvalidInputError(
      `store item ${JSON.stringify(item.key)} keeps large values by reference: export it from a store with large values on (not largeValues: false)`,
    );
  }
  for (const hash of item.refs ?? []) {
    const bytes = await values.load(tenantId, hash);
    if (!bytes) {
      throw new CorruptionError(
        `store item ${JSON.stringify(item.key)} in namespace ${JSON.stringify(item.namespace)} references large value ${hash}, which is missing`,
      );
    }
    frames[hash] = Buffer.from(bytes).toString("base64");
  }
  return frames;
}

/** The hashes a record's item references, each with its frame; a malformed record is refused. */
function refsOf(record: ItemRecord): string[] {
  const { refs } = record.item;
  if (refs === undefined) return [];
  const ok =
    Array.isArray(refs) &&
    refs.every(
      (hash) =>
        typeof hash === "string" && isValueHash(hash) && typeof record.frames?.[hash] === "string",
    );
  if (!ok) {
    throw new InvalidInputError(
      `store item record ${JSON.stringify(record.item.key)} has malformed large-value references or lacks their frames`,
    );
  }
  return [...refs];
}

function times(item: ItemRecord["item"]): boolean {
  const ok = (n: unknown) => typeof n === "number" && Number.isFinite(n);
  return (
    ok(item.createdAt) && ok(item.updatedAt) && (item.expiresAt === null || ok(item.expiresAt))
  );
}
