/**
 * A store backend that wraps another one (in-memory by default) and does what its
 * {@link FaultPlan} says: fail a batch before or after the wrapped backend commits it, tear the
 * items a batch reads, hold or delay a call. With no rule it is exactly the wrapped backend, and
 * passes the store conformance suite as such.
 */
import { MemoryStoreBackend } from "../../backends/memory/memory-store.js";
import type { LargeValueRef, LargeValueTarget } from "../../offload/large-value-target.js";
import type {
  StoreBackend,
  StoredItem,
  StoreOp,
  StoreOpResult,
} from "../../store/store-backend.js";
import { FaultPlan, underFault } from "./fault-plan.js";

/** The methods of the store seam a rule can name. */
export type StoreMethod = Exclude<keyof StoreBackend, "name">;

/**
 * @example
 * const backend = new FaultyStoreBackend();
 * backend.faults.inject("batch", "fail-after");
 * const store = createStore(backend);
 */
export class FaultyStoreBackend implements StoreBackend {
  readonly name: string;
  /** The rules this backend follows; add and clear them at any time. */
  readonly faults = new FaultPlan<StoreMethod>(["batch"]);
  readonly #inner: StoreBackend;
  /** The wrapped backend's own place for large values, where it has one. */
  readonly largeValueTarget?: () => LargeValueTarget;
  /** The wrapped backend's references to large values, where it lists them. */
  readonly listLargeValueRefs?: () => AsyncIterable<LargeValueRef>;

  constructor(inner: StoreBackend = new MemoryStoreBackend()) {
    this.#inner = inner;
    this.name = `faulty ${inner.name}`;
    if (inner.largeValueTarget) this.largeValueTarget = () => inner.largeValueTarget!();
    if (inner.listLargeValueRefs) this.listLargeValueRefs = () => inner.listLargeValueRefs!();
  }

  setup(): Promise<void> {
    return underFault(this.faults.decide("setup"), () => this.#inner.setup());
  }

  /** A torn batch returns every item it read with its value cut to half its length. */
  async batch(ops: readonly StoreOp[], now: number): Promise<StoreOpResult[]> {
    const decision = this.faults.decide("batch");
    const results = await underFault(decision, () => this.#inner.batch(ops, now));
    if (!decision.tear) return results;
    return results.map((result, i) => {
      const kind = ops[i]?.kind;
      if (kind === "get" && result) return torn(result as StoredItem);
      if (kind === "search") return (result as StoredItem[]).map(torn);
      return result;
    });
  }

  sweepExpired(now: number, limit: number): Promise<number> {
    return underFault(this.faults.decide("sweepExpired"), () =>
      this.#inner.sweepExpired(now, limit),
    );
  }

  close(): Promise<void> {
    return underFault(this.faults.decide("close"), () => this.#inner.close());
  }
}

function torn(item: StoredItem): StoredItem {
  return { ...item, value: item.value.slice(0, Math.floor(item.value.length / 2)) };
}
