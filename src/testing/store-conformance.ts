/**
 * The conformance suite of the cross-thread store seam: round trips, namespaces, search,
 * filters, listings, TTL, batches, bad input, lifecycle, semantic search, large values, and
 * tenant isolation as a property. Every backend runs it with a five-line test file; a backend may skip a case
 * only by naming it and giving the reason.
 *
 * @example
 * describeStoreBackend("memory", { create: () => new MemoryStoreBackend() });
 */
import { Store } from "../store/store.js";
import type { StoreBackend } from "../store/store-backend.js";
import { type ConformanceHarness, describeConformance } from "./conformance-suite.js";
import { FakeClock } from "./fake-clock.js";
import { itemCases, lifecycleCases, tenantCases } from "./store-conformance-basic.js";
import { badInputCases, batchCases } from "./store-conformance-batch.js";
import { largeValueCases } from "./store-conformance-large-values.js";
import { filterCases, listNamespacesCases, searchCases } from "./store-conformance-query.js";
import { ttlCases } from "./store-conformance-ttl.js";
import { semanticSearchCases } from "./store-conformance-vectors.js";
import type { StoreCase, StoreCaseContext } from "./store-fixtures.js";
import { tenantIsolationPropertyCases } from "./store-isolation-property.js";

/** How the suite gets store backends: a case may create several (and close each). */
export interface StoreBackendHarness extends ConformanceHarness<StoreBackend> {
  /** Cases of the tenant-isolation property (default: `REWIND_PROPERTY_RUNS`, else 100). */
  readonly propertyRuns?: number;
}

/** Every case of the suite, by group. */
export const storeConformanceCases: Readonly<Record<string, readonly StoreCase[]>> = {
  items: itemCases,
  tenants: tenantCases,
  lifecycle: lifecycleCases,
  search: searchCases,
  filters: filterCases,
  listNamespaces: listNamespacesCases,
  ttl: ttlCases,
  batch: batchCases,
  "bad input": badInputCases,
  "semantic search": semanticSearchCases,
  "large values": largeValueCases,
  "tenant isolation (property)": tenantIsolationPropertyCases,
};

/**
 * Registers the store conformance suite for one backend with vitest. Cases run through the
 * {@link Store} wrapper an application uses, each store on its own fake clock.
 */
export function describeStoreBackend(name: string, harness: StoreBackendHarness): void {
  const propertyRuns = harness.propertyRuns ?? propertyRunsFromEnv();
  describeConformance<StoreCaseContext>({
    title: `store backend conformance: ${name}`,
    groups: storeConformanceCases,
    skip: harness.skip,
    // The isolation property's running time grows with its case count; nothing asserts on it,
    // and the bound is generous so that a loaded machine does not fail it.
    timeoutMs: Math.max(300_000, propertyRuns * 1_000),
    async open() {
      const opened: { store: Store; backend: StoreBackend }[] = [];
      const ctx: StoreCaseContext = {
        propertyRuns,
        async open(options = {}) {
          const { backend: shared, ...storeOptions } = options;
          const backend = shared ?? (await harness.create());
          const clock = new FakeClock();
          const store = new Store(backend, { ...storeOptions, now: clock.now });
          // A second view of a shared backend is left open: closing it would close the backend.
          if (!shared) opened.push({ store, backend });
          return { store, clock, backend };
        },
      };
      return {
        ctx,
        async close() {
          for (const { store, backend } of opened.splice(0)) {
            await store.close();
            await harness.destroy?.(backend);
          }
        },
      };
    },
  });
}

function propertyRunsFromEnv(): number {
  const raw = process.env.REWIND_PROPERTY_RUNS;
  const runs = raw === undefined ? 100 : Number(raw);
  if (!Number.isInteger(runs) || runs < 1) {
    throw new Error(`REWIND_PROPERTY_RUNS must be a positive integer, got "${raw}"`);
  }
  return runs;
}
