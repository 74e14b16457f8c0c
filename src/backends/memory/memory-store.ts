/**
 * In-process store backend for tests and short-lived scripts: one map per tenant, batches
 * applied with an undo log so a failing operation leaves nothing behind. Nothing survives the
 * process.
 */
import { ConflictError } from "../../errors.js";
import { refTag } from "../../offload/large-value-frame.js";
import { type LargeValueRef, MemoryLargeValues } from "../../offload/large-value-target.js";
import {
  compareCodePoints,
  decodeNamespace,
  encodeNamespace,
  pathHasSuffix,
  truncatePath,
} from "../../store/namespace-path.js";
import { Store, type StoreOptions } from "../../store/store.js";
import type {
  ItemRewriteQuery,
  StoreBackend,
  StoredItem,
  StoredItemText,
  StoreListNamespacesOp,
  StoreOp,
  StoreOpResult,
  StoreSearchOp,
} from "../../store/store-backend.js";
import { matchesFilter } from "../../store/store-filter.js";
import { rankBySimilarity } from "../../store/store-vectors.js";

interface Row extends StoredItem {
  readonly path: string;
  /** The value parsed as plain JSON (tags left in place), which filters see. */
  readonly doc: unknown;
  readonly ttlMs: number | null;
  readonly vector: Float32Array | null;
}

type Tenant = Map<string, Row>;

/** Stands in for a tenant with no items; reads never write to it. */
const NO_ROWS: Tenant = new Map();

/** Memory implementation of {@link StoreBackend}. Wrap it with `createMemoryStore()`. */
export class MemoryStoreBackend implements StoreBackend {
  readonly name = "memory";
  /** tenant -> (path NUL key) -> row; NUL cannot occur in a path or a key. */
  readonly #tenants = new Map<string, Tenant>();
  readonly #largeValues = new MemoryLargeValues();

  async setup(): Promise<void> {}

  /** Large values in this process's memory, beside the items. */
  largeValueTarget(): MemoryLargeValues {
    return this.#largeValues;
  }

  async *listLargeValueRefs(): AsyncIterable<LargeValueRef> {
    for (const [tenant, rows] of [...this.#tenants]) {
      for (const row of [...rows.values()]) {
        for (const hash of row.refs ?? []) yield { tenant, tag: refTag(hash) };
      }
    }
  }

  async batch(ops: readonly StoreOp[], now: number): Promise<StoreOpResult[]> {
    const undo: (() => void)[] = [];
    try {
      return ops.map((op) => this.#apply(op, now, undo));
    } catch (error) {
      for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
      throw error;
    }
  }

  async sweepExpired(now: number, limit: number): Promise<number> {
    let swept = 0;
    for (const rows of this.#tenants.values()) {
      for (const [id, row] of rows) {
        if (swept >= limit) return swept;
        if (row.expiresAt !== null && row.expiresAt <= now) {
          rows.delete(id);
          swept++;
        }
      }
    }
    return swept;
  }

  /** Keeps the data: another store may share this backend; the garbage collector frees it. */
  async rewriteItems(
    query: ItemRewriteQuery,
    rewrite: (item: StoredItemText) => string | undefined,
  ): Promise<{ last: StoredItemText | undefined; replaced: number }> {
    const order = (a: Omit<StoredItemText, "value">, b: Omit<StoredItemText, "value">) =>
      compareCodePoints(a.tenant, b.tenant) ||
      compareCodePoints(a.path, b.path) ||
      compareCodePoints(a.key, b.key);
    const items: (StoredItemText & { row: Row; rows: Tenant; id: string })[] = [];
    for (const [tenant, rows] of this.#tenants) {
      if (query.tenant !== undefined && tenant !== query.tenant) continue;
      for (const [id, row] of rows) {
        const item = { tenant, path: row.path, key: row.key, value: row.value, row, rows, id };
        if (!query.after || order(item, query.after) > 0) items.push(item);
      }
    }
    const page = items.sort(order).slice(0, query.limit);
    let replaced = 0;
    for (const { row, rows, id, ...item } of page) {
      const value = rewrite(item);
      if (value === undefined) continue;
      rows.set(id, { ...row, value, doc: JSON.parse(value) });
      replaced++;
    }
    const last = page.at(-1);
    return {
      last: last && { tenant: last.tenant, path: last.path, key: last.key, value: last.value },
      replaced,
    };
  }

  async close(): Promise<void> {}

  #apply(op: StoreOp, now: number, undo: (() => void)[]): StoreOpResult {
    const rows =
      this.#tenants.get(op.tenant) ?? (op.kind === "put" ? this.#create(op.tenant) : NO_ROWS);
    switch (op.kind) {
      case "get": {
        const id = encodeNamespace(op.namespace) + "\u0000" + op.key;
        const row = rows.get(id);
        if (!row || !live(row, now)) return undefined;
        return view(op.refreshTtl ? this.#refresh(rows, id, row, now, undo) : row);
      }
      case "put": {
        const path = encodeNamespace(op.namespace);
        const id = path + "\u0000" + op.key;
        const prev = rows.get(id);
        const current = prev && live(prev, now) ? prev : undefined;
        if (op.ifAbsent && current) {
          throw new ConflictError(
            `an item already exists under ${JSON.stringify(op.key)} in namespace ${JSON.stringify(op.namespace)}`,
          );
        }
        this.#set(
          rows,
          id,
          {
            path,
            namespace: op.namespace,
            key: op.key,
            value: op.value,
            doc: JSON.parse(op.value),
            createdAt: current?.createdAt ?? now,
            updatedAt: now,
            expiresAt: op.ttlMs === null ? null : now + op.ttlMs,
            ttlMs: op.ttlMs,
            vector: op.embedding,
            ...(op.refs?.length ? { refs: op.refs } : {}),
          },
          undo,
        );
        return undefined;
      }
      case "delete": {
        const id = encodeNamespace(op.namespace) + "\u0000" + op.key;
        const row = rows.get(id);
        if (!row) return false;
        this.#set(rows, id, undefined, undo);
        return live(row, now);
      }
      case "search":
        return this.#search(rows, op, now, undo);
      case "listNamespaces":
        return listNamespaces(rows, op, now);
    }
  }

  #search(rows: Tenant, op: StoreSearchOp, now: number, undo: (() => void)[]): StoredItem[] {
    const prefix = encodeNamespace(op.namespacePrefix);
    const hits: [string, Row][] = [];
    for (const entry of rows) {
      const row = entry[1];
      if (row.path.startsWith(prefix) && live(row, now) && matchesFilter(row.doc, op.filter)) {
        hits.push(entry);
      }
    }
    if (op.query) {
      const candidates = hits.flatMap(([id, row]) =>
        row.vector ? [{ ...row, id, vector: row.vector }] : [],
      );
      return rankBySimilarity(candidates, op.query, op.offset, op.limit).map((c) => ({
        ...view(op.refreshTtl ? this.#refresh(rows, c.id, rows.get(c.id)!, now, undo) : c),
        score: c.score,
      }));
    }
    hits.sort(
      ([, a], [, b]) =>
        b.updatedAt - a.updatedAt ||
        compareCodePoints(a.path, b.path) ||
        compareCodePoints(a.key, b.key),
    );
    return hits
      .slice(op.offset, op.offset + op.limit)
      .map(([id, row]) => view(op.refreshTtl ? this.#refresh(rows, id, row, now, undo) : row));
  }

  #refresh(rows: Tenant, id: string, row: Row, now: number, undo: (() => void)[]): Row {
    if (row.ttlMs === null) return row;
    const next = { ...row, expiresAt: now + row.ttlMs };
    this.#set(rows, id, next, undo);
    return next;
  }

  #set(rows: Tenant, id: string, row: Row | undefined, undo: (() => void)[]): void {
    const prev = rows.get(id);
    undo.push(() => (prev ? rows.set(id, prev) : rows.delete(id)));
    if (row) rows.set(id, row);
    else rows.delete(id);
  }

  #create(tenant: string): Tenant {
    const rows: Tenant = new Map();
    this.#tenants.set(tenant, rows);
    return rows;
  }
}

function listNamespaces(rows: Tenant, op: StoreListNamespacesOp, now: number): string[][] {
  const prefix = encodeNamespace(op.prefix);
  const suffix = encodeNamespace(op.suffix);
  const found = new Set<string>();
  for (const row of rows.values()) {
    if (row.path.startsWith(prefix) && pathHasSuffix(row.path, suffix) && live(row, now)) {
      found.add(op.maxDepth === null ? row.path : truncatePath(row.path, op.maxDepth));
    }
  }
  return [...found]
    .sort(compareCodePoints)
    .slice(op.offset, op.offset + op.limit)
    .map(decodeNamespace);
}

function live(row: Row, now: number): boolean {
  return row.expiresAt === null || row.expiresAt > now;
}

function view(row: Row): StoredItem {
  return {
    namespace: row.namespace,
    key: row.key,
    value: row.value,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    expiresAt: row.expiresAt,
    ...(row.refs ? { refs: row.refs } : {}),
  };
}

/** A {@link Store} in process memory: `createMemoryStore({ defaultTtlMs: 60_000 })`. */
export function createMemoryStore(options?: StoreOptions): Store {
  return new Store(new MemoryStoreBackend(), options);
}
