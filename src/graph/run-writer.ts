/**
 * The durability queue: the only code that calls the checkpointer's write methods, for runs and
 * for time travel alike, so both build a checkpoint the same way. A checkpoint is written as the
 * channels that changed since the last saved snapshot (an append channel that only grew as its
 * new items), against the head the writer last saw.
 *
 * By durability mode: `sync` awaits every write in order; `async` chains writes in order in the
 * background and awaits them when the run stops; `exit` writes only the last checkpoint (and,
 * when the run stops mid-step, that step's task writes) when the run stops.
 */

import type { LeaseFence } from "../checkpoint/checkpoint-backend.js";
import type { Checkpointer, PendingWrite } from "../checkpoint/checkpointer.js";
import type { ChannelMap } from "./channels.js";
import type { Durability } from "./run-types.js";
import { diffUpdates, extraOf, type Snapshot } from "./snapshot.js";

export interface WriterOptions {
  readonly checkpointer: Checkpointer;
  readonly threadId: string;
  readonly schemaVersion: number;
  readonly channels: ChannelMap;
  readonly durability: Durability;
  readonly fence?: LeaseFence | undefined;
  /**
   * Set for a run under a lease: the run's last checkpoint (`persist(snapshot, true)`) releases
   * the lease with it, in the same atomic write where the backend folds leases, and this is
   * called once that write has succeeded.
   */
  readonly released?: (() => void) | undefined;
}

export class RunWriter {
  readonly #options: WriterOptions;
  /** The last snapshot handed to storage, and the thread's newest checkpoint id. */
  #saved: Snapshot;
  #headId: string | null;
  #chain: Promise<void> = Promise.resolve();
  #failed = false;
  #unsaved: Snapshot | undefined;
  #unsavedIsLast = false;
  #deferred: { checkpointId: string; writes: PendingWrite[] }[] = [];

  /** `saved` is the stored (unmigrated) snapshot the next checkpoint is written against. */
  constructor(options: WriterOptions, saved: Snapshot, headId: string | null) {
    this.#options = options;
    this.#saved = saved;
    this.#headId = headId;
  }

  /** The lease fence every write of this run carries (none for an unleased run). */
  get fence(): LeaseFence | undefined {
    return this.#options.fence;
  }

  /** The thread's newest checkpoint id, as far as this writer knows. */
  get headId(): string | null {
    return this.#headId;
  }

  /** Whether a queued write has failed; the run stops before its next step. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Resolves when every queued write is done; rejects with a failed write's error. */
  settle(): Promise<void> {
    return this.#chain;
  }

  /**
   * Saves `snapshot` as the thread's new head, per the durability mode. `last`: the run ends on
   * it (nothing is written after it), so its write also releases the run's lease.
   */
  async persist(snapshot: Snapshot, last = false): Promise<void> {
    if (this.#options.durability === "exit") {
      this.#unsaved = snapshot;
      this.#unsavedIsLast = last;
      return;
    }
    this.#enqueuePut(snapshot, last);
    if (this.#options.durability === "sync") await this.#chain;
  }

  /** Saves a task's writes against `checkpointId`, per the durability mode. */
  async saveWrites(checkpointId: string, writes: PendingWrite[]): Promise<void> {
    if (this.#options.durability === "exit") {
      this.#deferred.push({ checkpointId, writes });
      return;
    }
    this.#enqueuePutWrites(checkpointId, writes);
    if (this.#options.durability === "sync") await this.#chain;
  }

  /** Saves writes against `checkpointId` now, whatever the durability (claims, breakpoints). */
  async writeNow(checkpointId: string, writes: PendingWrite[]): Promise<void> {
    this.#enqueuePutWrites(checkpointId, writes);
    await this.#chain;
  }

  /** Everything up to the last snapshot is durable when this resolves, whatever the durability. */
  async flush(): Promise<void> {
    if (this.#unsaved) this.#enqueuePut(this.#unsaved, this.#unsavedIsLast);
    await this.#chain;
  }

  /** The run stops mid-step: the step's checkpoint, then the writes its tasks made. */
  async flushAll(): Promise<void> {
    if (this.#unsaved) this.#enqueuePut(this.#unsaved);
    for (const d of this.#deferred) this.#enqueuePutWrites(d.checkpointId, d.writes);
    this.#deferred = [];
    await this.#chain;
  }

  /** The run ended cleanly: task writes held back for `exit` are covered by the checkpoint. */
  dropDeferred(): void {
    this.#deferred = [];
  }

  #enqueuePut(snapshot: Snapshot, last = false): void {
    const { checkpointer, threadId, schemaVersion, channels, fence, released } = this.#options;
    const saved = this.#saved;
    const encoded = checkpointer.encode({
      threadId,
      id: snapshot.id,
      parentId: saved.id || undefined,
      channelVersions: snapshot.versions,
      versionsSeen: {},
      metadata: snapshot.metadata,
      schemaVersion,
      createdAt: snapshot.createdAt,
      extra: extraOf(snapshot),
      updates: diffUpdates(saved, snapshot, (channel) => channels[channel]?.kind),
    });
    const expectedHead = this.#headId;
    this.#saved = snapshot;
    this.#headId = snapshot.id;
    this.#unsaved = undefined;
    if (!(last && fence && released)) {
      this.#enqueue(() => checkpointer.write(encoded, { expectedHead, fence }));
      return;
    }
    this.#enqueue(async () => {
      await checkpointer.write(encoded, { expectedHead, fence, release: true });
      released();
    });
  }

  #enqueuePutWrites(checkpointId: string, writes: PendingWrite[]): void {
    const { checkpointer, threadId, fence } = this.#options;
    this.#enqueue(() => checkpointer.putWrites({ threadId, checkpointId }, writes, fence));
  }

  #enqueue(work: () => Promise<void>): void {
    this.#chain = this.#chain.then(work);
    // Marked handled here; the rejection still surfaces where the chain is awaited.
    this.#chain.catch(() => {
      this.#failed = true;
    });
  }
}
