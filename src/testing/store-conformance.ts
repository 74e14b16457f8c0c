/**
 * The conformance suite of the cross-thread store: one call registers every case (round trips,
 * namespaces, search, filters, listings, TTL, batches, bad input, lifecycle, semantic search,
 * tenant isolation as a property) against a backend, under vitest.
 *
 * @example
 * storeConformance({ name: "memory", createBackend: () => new MemoryStoreBackend() });
 */
import { afterEach, describe } from "vitest";
import { Store, type StoreOptions } from "../store/store.js";
import type { StoreBackend } from "../store/store-types.js";
import { registerBasicCases } from "./store-conformance-basic.js";
import { registerBatchCases } from "./store-conformance-batch.js";
import { registerQueryCases } from "./store-conformance-query.js";
import { registerTtlCases } from "./store-conformance-ttl.js";
import { registerVectorCases } from "./store-conformance-vectors.js";
import { registerIsolationProperty } from "./store-isolation-property.js";

/** How the suite obtains backends. */
export interface StoreConformanceHarness {
  /** Names the describe block. */
  name: string;
  /** A fresh, empty backend; called once or more per test. */
  createBackend(): StoreBackend | Promise<StoreBackend>;
  /** Runs after each backend's store is closed (delete its file, drop its schema...). */
  destroyBackend?(backend: StoreBackend): void | Promise<void>;
  /** Cases of the tenant-isolation property (default: `REWIND_PROPERTY_RUNS`, else 200). */
  propertyRuns?: number;
}

/** A hand-driven clock in epoch ms. */
export interface FakeClock {
  readonly now: () => number;
  advance(ms: number): void;
}

/** A store opened by a case, with its clock and backend. */
export interface OpenedStore {
  readonly store: Store;
  readonly clock: FakeClock;
  readonly backend: StoreBackend;
}

/** What each group of cases receives. */
export interface StoreCaseContext {
  /**
   * A store over a fresh backend (or over `backend`, to look at the same data through another
   * clock or options). Closed and destroyed after the test.
   */
  open(options?: Omit<StoreOptions, "now"> & { backend?: StoreBackend }): Promise<OpenedStore>;
  readonly propertyRuns: number;
}

/** Start of every fake clock: a fixed, realistic instant. */
export const FAKE_EPOCH = Date.UTC(2026, 0, 1);

/** Registers the whole suite for one backend. */
export function storeConformance(harness: StoreConformanceHarness): void {
  describe(`store conformance: ${harness.name}`, () => {
    const opened: { store: Store; backend: StoreBackend }[] = [];
    afterEach(async () => {
      for (const { store, backend } of opened.splice(0)) {
        await store.close();
        await harness.destroyBackend?.(backend);
      }
    });
    const ctx: StoreCaseContext = {
      propertyRuns: harness.propertyRuns ?? propertyRunsFromEnv(),
      async open(options = {}) {
        const { backend: shared, ...storeOptions } = options;
        const backend = shared ?? (await harness.createBackend());
        let time = FAKE_EPOCH;
        const clock: FakeClock = {
          now: () => time,
          advance: (ms) => {
            time += ms;
          },
        };
        const store = new Store(backend, { ...storeOptions, now: clock.now });
        // A second view of a shared backend is left open: closing it would close the backend.
        if (!shared) opened.push({ store, backend });
        return { store, clock, backend };
      },
    };
    registerBasicCases(ctx);
    registerQueryCases(ctx);
    registerTtlCases(ctx);
    registerBatchCases(ctx);
    registerVectorCases(ctx);
    registerIsolationProperty(ctx);
  });
}

function propertyRunsFromEnv(): number {
  const raw = process.env.REWIND_PROPERTY_RUNS;
  const runs = raw === undefined ? 200 : Number(raw);
  if (!Number.isInteger(runs) || runs < 1) {
    throw new Error(`REWIND_PROPERTY_RUNS must be a positive integer, got "${raw}"`);
  }
  return runs;
}
