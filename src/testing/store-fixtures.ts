/**
 * Shared fixtures of the store conformance suite: the per-case context (stores over fresh
 * backends, each on its own fake clock) and the case type.
 */
import type { Store, StoreOptions } from "../store/store.js";
import type { StoreBackend } from "../store/store-backend.js";
import type { NamedCase } from "./conformance-suite.js";
import type { FakeClock } from "./fake-clock.js";

/** A store opened by a case, with its clock and backend. */
export interface OpenedStore {
  readonly store: Store;
  readonly clock: FakeClock;
  readonly backend: StoreBackend;
}

/** What each store case gets. */
export interface StoreCaseContext {
  /**
   * A store over a fresh backend (or over `backend`, to look at the same data through another
   * clock or options), on a new {@link FakeClock}. Closed and destroyed after the case.
   */
  open(options?: Omit<StoreOptions, "now"> & { backend?: StoreBackend }): Promise<OpenedStore>;
  /** Cases the tenant-isolation property tries. */
  readonly propertyRuns: number;
}

/** One named store conformance case. */
export type StoreCase = NamedCase<StoreCaseContext>;
