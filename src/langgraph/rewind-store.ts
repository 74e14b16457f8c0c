/**
 * LangGraph's `BaseStore` on Rewind's cross-thread store: `graph.compile({ store })` and the
 * `store` LangGraph hands to nodes and tools read and write one Rewind tenant. Values keep their
 * types (Date, Map, Uint8Array...), namespace prefixes match whole labels (`["a"]` never matches
 * `["ab"]`), and each `batch` is atomic.
 */
import {
  BaseStore,
  type GetOperation,
  type Item,
  type ListNamespacesOperation,
  type Operation,
  type OperationResults,
  type PutOperation,
  type SearchItem,
  type SearchOperation,
} from "@langchain/langgraph-checkpoint";
import { InvalidInputError } from "../errors.js";
import type { StoreItem, StoreOperation } from "../store/store-api.js";
import type { StoreFilter } from "../store/store-filter.js";
import type { TenantStore } from "../store/tenant-store.js";

/** Most namespaces one wildcard listing scans before it filters (Rewind's own listing cap). */
const WILDCARD_SCAN = 10_000;
const WILDCARD = "*";

/** How a LangGraph operation becomes a Rewind one, and its result comes back. */
interface Step {
  readonly op: StoreOperation;
  readonly finish: (result: unknown) => unknown;
}

/**
 * A LangGraph store bound to one tenant of a Rewind store; the Rewind {@link Store} owns the
 * storage and its lifecycle (close it there).
 *
 * Differences from LangGraph's in-memory store: filter keys are dot paths into the value, and
 * a `query` needs a Rewind store created with an `index` (otherwise the search is refused with
 * `InvalidInputError` rather than silently unranked).
 *
 * @example
 * const store = new RewindStore(createSqliteStore("agent.sqlite").forTenant("acme"));
 * const app = graph.compile({ checkpointer: saver, store });
 */
export class RewindStore extends BaseStore {
  /** The tenant view every operation runs on. */
  readonly view: TenantStore;

  constructor(view: TenantStore) {
    super();
    if (typeof (view as Partial<TenantStore>)?.batch !== "function") {
      throw new InvalidInputError(
        "RewindStore needs a tenant view: store.forTenant(tenantId) or store.unscoped()",
      );
    }
    this.view = view;
  }

  override async batch<Op extends Operation[]>(operations: Op): Promise<OperationResults<Op>> {
    const steps = operations.map(toStep);
    const results = await this.view.batch(steps.map((step) => step.op));
    return steps.map((step, i) => step.finish(results[i])) as OperationResults<Op>;
  }
}

function toStep(operation: Operation): Step {
  if ("key" in operation && "value" in operation) return putStep(operation as PutOperation);
  if ("key" in operation) {
    const { namespace, key } = operation as GetOperation;
    return {
      op: { op: "get", namespace, key },
      finish: (item) => (item === undefined ? null : toItem(item as StoreItem)),
    };
  }
  if ("namespacePrefix" in operation) {
    const { namespacePrefix, filter, limit, offset, query } = operation as SearchOperation;
    return {
      op: {
        op: "search",
        namespacePrefix,
        ...(filter === undefined ? {} : { filter: filter as StoreFilter }),
        ...(limit === undefined ? {} : { limit }),
        ...(offset === undefined ? {} : { offset }),
        ...(query === undefined ? {} : { query }),
      },
      finish: (items) => (items as StoreItem[]).map(toSearchItem),
    };
  }
  return listStep(operation as ListNamespacesOperation);
}

function putStep({ namespace, key, value, index }: PutOperation): Step {
  if (value === null) {
    return { op: { op: "delete", namespace, key }, finish: () => undefined };
  }
  return {
    op: { op: "put", namespace, key, value, ...(index === undefined ? {} : { index }) },
    finish: () => undefined,
  };
}

/**
 * Prefix and suffix conditions map onto Rewind's listing; a `"*"` label (or repeated
 * conditions) is matched here, over a bounded scan, before `offset` and `limit` apply.
 */
function listStep(operation: ListNamespacesOperation): Step {
  const conditions = operation.matchConditions ?? [];
  const prefixes = conditions.filter((c) => c.matchType === "prefix");
  const suffixes = conditions.filter((c) => c.matchType === "suffix");
  const exact =
    prefixes.length <= 1 &&
    suffixes.length <= 1 &&
    conditions.every((c) => !c.path.includes(WILDCARD));
  const limit = operation.limit ?? 100;
  const offset = operation.offset ?? 0;
  if (exact) {
    return {
      op: {
        op: "listNamespaces",
        ...(prefixes[0] ? { prefix: prefixes[0].path } : {}),
        ...(suffixes[0] ? { suffix: suffixes[0].path } : {}),
        ...(operation.maxDepth === undefined ? {} : { maxDepth: operation.maxDepth }),
        limit,
        offset,
      },
      finish: (namespaces) => namespaces,
    };
  }
  const literalPrefix = prefixes[0] ? leadingLiterals(prefixes[0].path) : [];
  return {
    op: {
      op: "listNamespaces",
      ...(literalPrefix.length > 0 ? { prefix: literalPrefix } : {}),
      limit: WILDCARD_SCAN,
    },
    finish: (namespaces) => {
      const seen = new Set<string>();
      const out: string[][] = [];
      for (const ns of namespaces as string[][]) {
        if (!conditions.every((c) => matches(ns, c.path, c.matchType))) continue;
        const cut = operation.maxDepth === undefined ? ns : ns.slice(0, operation.maxDepth);
        const id = JSON.stringify(cut);
        if (seen.has(id)) continue;
        seen.add(id);
        out.push(cut);
      }
      return out.slice(offset, offset + limit);
    },
  };
}

function leadingLiterals(path: readonly string[]): string[] {
  const at = path.indexOf(WILDCARD);
  return at === -1 ? [...path] : path.slice(0, at);
}

function matches(ns: readonly string[], path: readonly string[], type: "prefix" | "suffix") {
  if (path.length > ns.length) return false;
  const start = type === "prefix" ? 0 : ns.length - path.length;
  return path.every((label, i) => label === WILDCARD || label === ns[start + i]);
}

function toItem(item: StoreItem): Item {
  return {
    value: item.value as Record<string, unknown>,
    key: item.key,
    namespace: [...item.namespace],
    createdAt: item.createdAt,
    updatedAt: item.updatedAt,
  };
}

function toSearchItem(item: StoreItem): SearchItem {
  return item.score === undefined ? toItem(item) : { ...toItem(item), score: item.score };
}
