/**
 * The translation of a tenant-bound store's operations (see `store-api.ts`) into raw backend
 * operations: validation, serialization and defaults happen here, before any storage is touched,
 * so a bad operation anywhere in a batch fails it before it starts.
 */

import { InvalidInputError, isRewindError, SerializationError, StorageError } from "../errors.js";
import type { SealSite, TextSealer } from "../serde/encryption-layer.js";
import type { JsonSerializer } from "../serde/serializer.js";
import { decodeNamespace } from "./namespace-path.js";
import type { StoreItem, StoreOperation } from "./store-api.js";
import type { StoredItem, StoreOp, StorePutOp } from "./store-backend.js";
import { normalizeFilter } from "./store-filter.js";
import { holdsReferences, type ItemLargeValues, noLargeValues } from "./store-large-values.js";
import {
  MAX_LIMIT,
  MAX_NAMESPACE_DEPTH,
  validateCount,
  validateKey,
  validateNamespace,
  validateTtl,
} from "./store-validation.js";
import { MAX_QUERY_LENGTH, type StoreIndexConfig, textToEmbed, toVector } from "./store-vectors.js";

/** Settings that shape how operations are prepared. */
export interface PrepareContext {
  readonly serializer: JsonSerializer;
  readonly maxValueBytes: number;
  readonly defaultTtlMs: number | null;
  readonly refreshTtlOnRead: boolean;
  readonly index: StoreIndexConfig | undefined;
  /** Seals values at rest (encryption); values are then stored as a JSON string of sealed text. */
  readonly sealer?: TextSealer | undefined;
  /** Keeps long strings of values by reference (see store-large-values.ts). */
  readonly largeValues?: ItemLargeValues | undefined;
}

/** The tenant a store's tenant column names, as encryption binds it (`""`: the default tenant). */
/** Where a stored item's value is sealed, from its row (`path`: the encoded namespace). */
export function itemSite(tenant: string, path: string, key: string): SealSite {
  return siteOf(tenant, decodeNamespace(path), key);
}

function siteOf(tenant: string, namespace: readonly string[], key: string): SealSite {
  return { tenantId: tenant === "" ? null : tenant, item: JSON.stringify([...namespace, key]) };
}

/**
 * Validates and serializes one operation for `tenant`; throws before anything is stored. The
 * frames of the large values a put takes out of its value go to `frames` (by hash), to be stored
 * before the batch.
 */
export function prepareOp(
  tenant: string,
  input: StoreOperation,
  ctx: PrepareContext,
  frames?: Map<string, Uint8Array>,
): StoreOp {
  if (input === null || typeof input !== "object") {
    throw new InvalidInputError("a batch operation must be an object");
  }
  switch (input.op) {
    case "get":
      return {
        kind: "get",
        tenant,
        namespace: validateNamespace(input.namespace),
        key: validateKey(input.key),
        refreshTtl: refresh(input.refreshTtl, ctx),
      };
    case "put": {
      const namespace = validateNamespace(input.namespace);
      const key = validateKey(input.key);
      checkIndexOption(input.index);
      const text = encodeValue(input.value, namespace, key, ctx);
      const offloaded = ctx.largeValues?.offload(tenant, text);
      if (offloaded) for (const [hash, frame] of offloaded.frames) frames?.set(hash, frame);
      return {
        kind: "put",
        tenant,
        namespace,
        key,
        value: sealed(offloaded?.text ?? text, tenant, namespace, key, ctx),
        ttlMs: input.ttlMs === undefined ? ctx.defaultTtlMs : validateTtl(input.ttlMs),
        ifAbsent: flag(input.ifAbsent, "ifAbsent"),
        embedding: null,
        ...(offloaded && { refs: [...offloaded.frames.keys()] }),
      };
    }
    case "delete":
      return {
        kind: "delete",
        tenant,
        namespace: validateNamespace(input.namespace),
        key: validateKey(input.key),
      };
    case "search":
      checkQuery(input.query, ctx);
      if (ctx.sealer && input.filter !== undefined && Object.keys(input.filter).length > 0) {
        throw new InvalidInputError(
          "search filters read stored values, which are encrypted in this store: filter after reading, or keep the fields you filter on in the namespace or key",
        );
      }
      return {
        kind: "search",
        tenant,
        namespacePrefix: validateNamespace(input.namespacePrefix, "namespace prefix", true),
        filter: normalizeFilter(input.filter),
        limit: validateCount(input.limit, "limit", 10, MAX_LIMIT),
        offset: validateCount(input.offset, "offset", 0),
        refreshTtl: refresh(input.refreshTtl, ctx),
        query: null,
      };
    case "listNamespaces": {
      const maxDepth =
        input.maxDepth === undefined ? null : validateCount(input.maxDepth, "maxDepth", 0);
      if (maxDepth === 0) throw new InvalidInputError("maxDepth must be at least 1");
      return {
        kind: "listNamespaces",
        tenant,
        prefix: validateNamespace(input.prefix ?? [], "prefix", true),
        suffix: validateNamespace(input.suffix ?? [], "suffix", true),
        maxDepth: maxDepth === null || maxDepth >= MAX_NAMESPACE_DEPTH ? null : maxDepth,
        limit: validateCount(input.limit, "limit", 100, MAX_LIMIT),
        offset: validateCount(input.offset, "offset", 0),
      };
    }
    default:
      throw new InvalidInputError(
        `unknown batch operation "${String((input as { op?: unknown }).op)}"`,
      );
  }
}

/**
 * Fills in the vectors of prepared operations: put values (per the index's or the put's
 * `fields`) and search queries are embedded in one call, before any storage is touched.
 */
export async function embedOps(
  inputs: readonly StoreOperation[],
  prepared: readonly StoreOp[],
  ctx: PrepareContext,
): Promise<StoreOp[]> {
  const index = ctx.index;
  if (!index) return [...prepared];
  const texts: (string | undefined)[] = inputs.map((input) => {
    if (input.op === "search") return input.query;
    if (input.op !== "put" || input.index === false) return undefined;
    return textToEmbed(input.value, input.index ?? index.fields, ctx.serializer);
  });
  const wanted = texts.filter((t): t is string => t !== undefined);
  if (wanted.length === 0) return [...prepared];
  const vectors = await index.embed(wanted);
  if (!Array.isArray(vectors) || vectors.length !== wanted.length) {
    throw new StorageError(
      `the embedding function returned ${Array.isArray(vectors) ? vectors.length : "no"} vectors for ${wanted.length} texts`,
    );
  }
  let next = 0;
  return prepared.map((op, i) => {
    if (texts[i] === undefined) return op;
    const vector = toVector(vectors[next++], index.dims);
    return op.kind === "search"
      ? { ...op, query: vector }
      : { ...(op as StorePutOp), embedding: vector };
  });
}

function checkIndexOption(index: unknown): void {
  if (index === undefined || index === false) return;
  if (!Array.isArray(index) || !index.every((f) => typeof f === "string" && f.length > 0)) {
    throw new InvalidInputError("the put option `index` must be false or an array of dot paths");
  }
}

function checkQuery(query: unknown, ctx: PrepareContext): void {
  if (query === undefined) return;
  if (typeof query !== "string" || query.length === 0 || query.length > MAX_QUERY_LENGTH) {
    throw new InvalidInputError(`query must be a string of 1 to ${MAX_QUERY_LENGTH} characters`);
  }
  if (!ctx.index) {
    throw new InvalidInputError("semantic search needs a store created with an `index`");
  }
}

function sealed(
  text: string,
  tenant: string,
  namespace: readonly string[],
  key: string,
  ctx: PrepareContext,
): string {
  return ctx.sealer
    ? JSON.stringify(ctx.sealer.sealText(text, siteOf(tenant, namespace, key)))
    : text;
}

/**
 * A stored value's text: opened when the store seals values (a plaintext one is refused), with
 * its large values put back (the only case that waits for I/O).
 */
export function itemText(
  row: StoredItem,
  tenant: string,
  ctx: Pick<PrepareContext, "sealer" | "largeValues">,
): string | Promise<string> {
  const { sealer, largeValues } = ctx;
  let text = row.value;
  if (sealer) {
    let sealedText: unknown;
    try {
      sealedText = JSON.parse(row.value);
    } catch {
      sealedText = undefined;
    }
    text = sealer.openText(
      typeof sealedText === "string" ? sealedText : "",
      siteOf(tenant, row.namespace, row.key),
    );
  }
  if (!holdsReferences(text)) return text;
  if (!largeValues) throw noLargeValues(row);
  return largeValues.restore(tenant, text, row);
}

/** Turns a backend row and its value's text into a {@link StoreItem}; an undecodable value names the item. */
export function decodeItem(row: StoredItem, text: string, serializer: JsonSerializer): StoreItem {
  let value: unknown;
  try {
    value = serializer.parse(text);
  } catch (cause) {
    throw new SerializationError(
      `stored item ${JSON.stringify(row.key)} in namespace ${JSON.stringify(row.namespace)} could not be decoded: ${(cause as Error).message}`,
      { cause },
    );
  }
  return {
    namespace: [...row.namespace],
    key: row.key,
    value,
    createdAt: new Date(row.createdAt),
    updatedAt: new Date(row.updatedAt),
    expiresAt: row.expiresAt === null ? undefined : new Date(row.expiresAt),
    ...(row.score === undefined ? {} : { score: row.score }),
  };
}

function encodeValue(
  value: unknown,
  namespace: readonly string[],
  key: string,
  ctx: PrepareContext,
): string {
  let text: string;
  try {
    text = ctx.serializer.stringify(value);
  } catch (cause) {
    const reason = isRewindError(cause)
      ? cause.message
      : String((cause as Error)?.message ?? cause);
    throw new SerializationError(
      `value of ${JSON.stringify(key)} in namespace ${JSON.stringify(namespace)} cannot be stored: ${reason}`,
      { cause },
    );
  }
  // JSON text is mostly ASCII: check the cheap bound first.
  if (text.length * 3 > ctx.maxValueBytes) {
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > ctx.maxValueBytes) {
      throw new InvalidInputError(
        `value of ${JSON.stringify(key)} is ${bytes} bytes serialized, over maxValueBytes (${ctx.maxValueBytes})`,
      );
    }
  }
  return text;
}

function refresh(value: unknown, ctx: PrepareContext): boolean {
  return value === undefined ? ctx.refreshTtlOnRead : flag(value, "refreshTtl");
}

function flag(value: unknown, what: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") throw new InvalidInputError(`${what} must be a boolean`);
  return value;
}
