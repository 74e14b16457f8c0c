/**
 * A checkpoint backend that wraps another one (in-memory by default) and does what its
 * {@link FaultPlan} says: fail a write before or after the wrapped backend commits it, tear or
 * fail a read, hold or delay a call. With no rule it is exactly the wrapped backend, and passes
 * the conformance suite as such. It reaches the core only through the seam's types.
 */
import { MemoryBackend } from "../../backends/memory/index.js";
import type {
  CheckpointBackend,
  CheckpointKey,
  CheckpointPut,
  CheckpointQuery,
  EffectIntent,
  EffectOutcome,
  Lease,
  LeaseFence,
  LeaseRequest,
  LoadedCheckpoint,
  PruneBatch,
  PruneBatchResult,
  SpaceReport,
  StoredBlob,
  StoredEffect,
  StoredWrite,
  ThreadFootprint,
  ThreadQuery,
  ThreadSummary,
} from "../../checkpoint/checkpoint-backend.js";
import type { SerializedValue } from "../../serde/serializer.js";
import { FaultPlan, underFault } from "./fault-plan.js";

/** The methods of the checkpoint seam a rule can name. */
export type CheckpointMethod = Exclude<keyof CheckpointBackend, "name">;

/** Bytes no serializer reads back: what a damaged value turns into. */
const GARBAGE = new Uint8Array([0xff, 0x00, 0xfe]);

/**
 * @example
 * const backend = new FaultyCheckpointBackend();
 * backend.faults.inject("putCheckpoint", "fail-before", { skip: 1 });
 * const app = graph.compile({ checkpointer: createCheckpointer(backend) });
 */
export class FaultyCheckpointBackend implements CheckpointBackend {
  readonly name: string;
  /** The rules this backend follows; add and clear them at any time. */
  readonly faults = new FaultPlan<CheckpointMethod>(["getCheckpoint", "listCheckpoints"]);
  readonly #inner: CheckpointBackend;
  readonly #damaged = new Set<string>();

  constructor(inner: CheckpointBackend = new MemoryBackend()) {
    this.#inner = inner;
    this.name = `faulty ${inner.name}`;
  }

  /**
   * From now on, reads return garbage for the values written with this checkpoint (not those it
   * carries over from earlier ones), as if their stored bytes were damaged.
   */
  damage(key: CheckpointKey): void {
    this.#damaged.add(damageKey(key.threadId, key.ns, key.checkpointId));
  }

  setup(): Promise<void> {
    return underFault(this.faults.decide("setup"), () => this.#inner.setup());
  }

  putCheckpoint(put: CheckpointPut): Promise<void> {
    return underFault(this.faults.decide("putCheckpoint"), () => this.#inner.putCheckpoint(put));
  }

  putWrites(key: CheckpointKey, writes: readonly StoredWrite[], fence?: LeaseFence): Promise<void> {
    return underFault(this.faults.decide("putWrites"), () =>
      this.#inner.putWrites(key, writes, fence),
    );
  }

  async getCheckpoint(
    threadId: string,
    ns: string,
    checkpointId?: string,
  ): Promise<LoadedCheckpoint | undefined> {
    const decision = this.faults.decide("getCheckpoint");
    const loaded = await underFault(decision, () =>
      this.#inner.getCheckpoint(threadId, ns, checkpointId),
    );
    return loaded && this.#asRead(loaded, decision.tear);
  }

  /** A failure "after" breaks the stream once its first checkpoint has been handed over. */
  async *listCheckpoints(query: CheckpointQuery): AsyncIterable<LoadedCheckpoint> {
    const decision = this.faults.decide("listCheckpoints");
    if (decision.wait) await decision.wait;
    if ("failBefore" in decision) throw decision.failBefore;
    for await (const loaded of this.#inner.listCheckpoints(query)) {
      yield this.#asRead(loaded, decision.tear);
      if ("failAfter" in decision) throw decision.failAfter;
    }
    if ("failAfter" in decision) throw decision.failAfter;
  }

  deleteThread(threadId: string): Promise<void> {
    return underFault(this.faults.decide("deleteThread"), () => this.#inner.deleteThread(threadId));
  }

  acquireLease(request: LeaseRequest): Promise<Lease | undefined> {
    return underFault(this.faults.decide("acquireLease"), () => this.#inner.acquireLease(request));
  }

  readLease(threadId: string): Promise<Lease | undefined> {
    return underFault(this.faults.decide("readLease"), () => this.#inner.readLease(threadId));
  }

  renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    return underFault(this.faults.decide("renewLease"), () => this.#inner.renewLease(lease, ttlMs));
  }

  releaseLease(lease: Lease): Promise<boolean> {
    return underFault(this.faults.decide("releaseLease"), () => this.#inner.releaseLease(lease));
  }

  beginEffect(intent: EffectIntent): Promise<{ effect: StoredEffect; recorded: boolean }> {
    return underFault(this.faults.decide("beginEffect"), () => this.#inner.beginEffect(intent));
  }

  finishEffect(
    outcome: EffectOutcome,
  ): Promise<{ effect: StoredEffect; recorded: boolean } | undefined> {
    return underFault(this.faults.decide("finishEffect"), () => this.#inner.finishEffect(outcome));
  }

  listEffects(threadId: string, keys?: readonly string[]): Promise<StoredEffect[]> {
    return underFault(this.faults.decide("listEffects"), () =>
      this.#inner.listEffects(threadId, keys),
    );
  }

  close(): Promise<void> {
    return underFault(this.faults.decide("close"), () => this.#inner.close());
  }

  listThreads(query: ThreadQuery): Promise<ThreadSummary[]> {
    return underFault(this.faults.decide("listThreads"), () => this.#inner.listThreads(query));
  }

  footprint(threadId: string): Promise<ThreadFootprint | undefined> {
    return underFault(this.faults.decide("footprint"), () => this.#inner.footprint(threadId));
  }

  pruneCheckpoints(batch: PruneBatch): Promise<PruneBatchResult> {
    return underFault(this.faults.decide("pruneCheckpoints"), () =>
      this.#inner.pruneCheckpoints(batch),
    );
  }

  setPin(threadId: string, checkpointId: string, pinned: boolean): Promise<void> {
    return underFault(this.faults.decide("setPin"), () =>
      this.#inner.setPin(threadId, checkpointId, pinned),
    );
  }

  reclaimSpace(): Promise<SpaceReport> {
    return underFault(this.faults.decide("reclaimSpace"), () => this.#inner.reclaimSpace());
  }

  /** The checkpoint as this read returns it: damaged values replaced, every value torn if asked. */
  #asRead(loaded: LoadedCheckpoint, tear: boolean): LoadedCheckpoint {
    const { threadId, ns } = loaded.checkpoint;
    const damaged = (blob: StoredBlob) => this.#damaged.has(damageKey(threadId, ns, blob.version));
    if (!tear && !Object.values(loaded.blobs).some((blobs) => blobs.some(damaged))) return loaded;
    const blobs: Record<string, StoredBlob[]> = {};
    for (const [channel, chain] of Object.entries(loaded.blobs)) {
      blobs[channel] = chain.map((blob) => {
        if (blob.value === null) return blob;
        if (damaged(blob)) return { ...blob, value: { tag: blob.value.tag, bytes: GARBAGE } };
        return tear ? { ...blob, value: torn(blob.value) } : blob;
      });
    }
    const writes = tear
      ? loaded.writes.map((w) => ({ ...w, value: torn(w.value) }))
      : loaded.writes;
    return { ...loaded, blobs, writes };
  }
}

function damageKey(threadId: string, ns: string, version: string): string {
  return JSON.stringify([threadId, ns, version]);
}

/** The first half of a value's bytes, as a read that raced a partial write would see them. */
function torn(value: SerializedValue): SerializedValue {
  return { tag: value.tag, bytes: value.bytes.slice(0, Math.floor(value.bytes.length / 2)) };
}
