/**
 * In-process backend: the reference implementation of the storage seam, and the runtime's
 * default when a graph is compiled without a checkpointer. Same contract as the durable
 * backends: atomic writes (each method runs to completion on the event loop), compare-and-set
 * on the head, tombstones, leases; nothing survives the process.
 */

import {
  ConflictError,
  LeaseLostError,
  NotFoundError,
  ThreadBusyError,
  ThreadDeletedError,
} from "../errors.js";
import { MemoryLargeValues } from "../offload/large-value-target.js";
import { archivedError } from "./archived-threads.js";
import { compareWrites, resolveBlobChain } from "./blob-chain.js";
import type {
  ArchiveMark,
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
  QuarantinedCheckpoint,
  QuarantineRequest,
  StoredBlob,
  StoredCheckpoint,
  StoredEffect,
  StoredWrite,
  ValueRewrite,
} from "./checkpoint-backend.js";
import { beginEffectIn, finishEffectIn, listEffectsIn } from "./memory-effects.js";
import {
  blobKey,
  footprintOf,
  largeValueRefsIn,
  pinIn,
  pruneEntry,
  summarize,
  type ThreadEntry,
} from "./memory-retention.js";
import { rewriteValuesIn } from "./memory-rewrite.js";
import { metadataMatches } from "./metadata-filter.js";

import type {
  PruneBatch,
  PruneBatchResult,
  SpaceReport,
  ThreadFootprint,
  ThreadQuery,
  ThreadSummary,
} from "./retention-seam.js";

/** Memory implementation of {@link CheckpointBackend}. */
export class MemoryBackend implements CheckpointBackend {
  readonly name = "memory";
  readonly foldsLease: boolean = true;
  readonly #threads = new Map<string, ThreadEntry>();
  readonly #largeValues = new MemoryLargeValues();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async setup(): Promise<void> {}

  async putCheckpoint(put: CheckpointPut): Promise<void> {
    const { checkpoint } = put;
    const thread = this.#writable(checkpoint.threadId, put.fence);
    const list = thread.checkpoints.get(checkpoint.ns) ?? [];
    if (put.expectedHead !== undefined) {
      const head = list.at(-1)?.id ?? null;
      if (head !== put.expectedHead) {
        throw new ConflictError(
          `thread "${checkpoint.threadId}" moved: its head is ${head ?? "empty"}, expected ${put.expectedHead ?? "empty"}`,
          { threadId: checkpoint.threadId, checkpointId: checkpoint.id },
        );
      }
    }
    for (const blob of put.blobs) {
      const key = blobKey(checkpoint.ns, blob.channel, blob.version);
      if (!thread.blobs.has(key)) thread.blobs.set(key, blob);
    }
    const at = sortedIndex(list, checkpoint.id);
    if (list[at]?.id === checkpoint.id) list[at] = checkpoint;
    else list.splice(at, 0, checkpoint);
    thread.checkpoints.set(checkpoint.ns, list);
    // The fence was checked above: the lease is still this holder's.
    if (put.release && put.fence) thread.lease = undefined;
  }

  async putWrites(key: CheckpointKey, writes: readonly StoredWrite[], fence?: LeaseFence) {
    const thread = this.#writable(key.threadId, fence);
    const id = `${key.ns}\0${key.checkpointId}`;
    const bucket = thread.writes.get(id) ?? new Map<string, StoredWrite>();
    thread.writes.set(id, bucket);
    for (const write of writes) {
      const writeKey = `${write.taskId}\0${write.idx}`;
      if (write.idx < 0 || !bucket.has(writeKey)) bucket.set(writeKey, write);
    }
  }

  async getCheckpoint(threadId: string, ns: string, checkpointId?: string) {
    const thread = this.#threads.get(threadId);
    const list = thread?.checkpoints.get(ns);
    if (!thread || !list || list.length === 0) return undefined;
    let checkpoint: StoredCheckpoint | undefined;
    if (checkpointId === undefined) checkpoint = list.at(-1);
    else {
      const at = sortedIndex(list, checkpointId);
      checkpoint = list[at]?.id === checkpointId ? list[at] : undefined;
    }
    return checkpoint && this.#load(thread, checkpoint, true);
  }

  async *listCheckpoints(query: CheckpointQuery): AsyncIterable<LoadedCheckpoint> {
    const matches: [ThreadEntry, StoredCheckpoint][] = [];
    const threads =
      query.threadId === undefined
        ? [...this.#threads.values()]
        : [this.#threads.get(query.threadId)].filter((t) => t !== undefined);
    for (const thread of threads) {
      for (const [ns, list] of thread.checkpoints) {
        if (query.ns !== undefined && ns !== query.ns) continue;
        for (const checkpoint of list) {
          if (query.checkpointId !== undefined && checkpoint.id !== query.checkpointId) continue;
          if (query.before !== undefined && !(checkpoint.id < query.before)) continue;
          if (query.filter && !metadataMatches(checkpoint.metadata, query.filter)) continue;
          matches.push([thread, checkpoint]);
        }
      }
    }
    matches.sort((a, b) => (a[1].id < b[1].id ? 1 : a[1].id > b[1].id ? -1 : 0));
    const limit = query.limit ?? Number.POSITIVE_INFINITY;
    let count = 0;
    for (const [thread, checkpoint] of matches) {
      if (count++ >= limit) return;
      yield this.#load(thread, checkpoint, query.includeValues !== false);
    }
  }

  async deleteThread(threadId: string): Promise<void> {
    const thread = this.#entry(threadId);
    thread.deleted = true;
    thread.checkpoints.clear();
    thread.blobs.clear();
    thread.writes.clear();
    thread.quarantine.clear();
    thread.effects.clear();
    thread.pins.clear();
    thread.lease = undefined;
    thread.archive = undefined;
  }

  async archiveThread(threadId: string, stub: string, fence?: LeaseFence): Promise<void> {
    const thread = this.#threads.get(threadId);
    if (thread?.deleted) throw deletedError(threadId);
    if (thread?.archive) {
      throw new ConflictError(`thread "${threadId}" is archived already`, { threadId });
    }
    if (!thread || [...thread.checkpoints.values()].every((list) => list.length === 0)) {
      throw new NotFoundError(`thread "${threadId}" has no checkpoints to archive`, { threadId });
    }
    const lease = thread.lease;
    if (lease && lease.expiresAt > this.#now() && lease.token !== fence?.token) {
      throw new ThreadBusyError(`thread "${threadId}" is in use (leased); archive it later`, {
        threadId,
      });
    }
    thread.checkpoints.clear();
    thread.blobs.clear();
    thread.writes.clear();
    thread.quarantine.clear();
    thread.lease = undefined;
    thread.archive = { stub, state: "archived" };
  }

  async readArchive(threadId: string): Promise<ArchiveMark | undefined> {
    return this.#threads.get(threadId)?.archive;
  }

  async setArchiveState(threadId: string, state: "restoring" | "live"): Promise<void> {
    const thread = this.#threads.get(threadId);
    if (state === "live") {
      if (thread) thread.archive = undefined;
      return;
    }
    if (!thread?.archive) {
      throw new NotFoundError(`thread "${threadId}" is not archived`, { threadId });
    }
    thread.archive = { stub: thread.archive.stub, state };
  }

  async beginEffect(intent: EffectIntent) {
    return beginEffectIn(this.#writable(intent.effect.threadId, intent.fence), intent);
  }

  async finishEffect(outcome: EffectOutcome) {
    return finishEffectIn(this.#writable(outcome.threadId, outcome.fence), outcome);
  }

  async listEffects(threadId: string, keys?: readonly string[]): Promise<StoredEffect[]> {
    return listEffectsIn(this.#threads.get(threadId), keys);
  }

  async quarantine(request: QuarantineRequest): Promise<void> {
    const thread = this.#writable(request.threadId, undefined);
    const list = thread.checkpoints.get(request.ns) ?? [];
    const head = list.at(-1)?.id;
    if (head !== request.expectedHead) {
      throw new ConflictError(
        `thread "${request.threadId}" moved: its head is ${head ?? "empty"}, expected ${request.expectedHead}`,
        { threadId: request.threadId, checkpointId: request.expectedHead },
      );
    }
    const reasons = new Map(request.checkpoints.map((c) => [c.id, c.reason]));
    const quarantinedAt = this.#now();
    for (const c of list.filter((x) => reasons.has(x.id))) {
      thread.quarantine.set(`${c.ns}\0${c.id}`, {
        threadId: c.threadId,
        ns: c.ns,
        checkpointId: c.id,
        parentId: c.parentId,
        createdAt: c.createdAt,
        versions: JSON.stringify(c.channelVersions),
        metadata: c.metadata,
        body: c.body,
        reason: reasons.get(c.id)!,
        quarantinedAt,
      });
    }
    thread.checkpoints.set(
      request.ns,
      list.filter((x) => !reasons.has(x.id)),
    );
  }

  async listQuarantined(threadId: string): Promise<QuarantinedCheckpoint[]> {
    const rows = [...(this.#threads.get(threadId)?.quarantine.values() ?? [])];
    return rows.sort((a, b) =>
      a.checkpointId < b.checkpointId
        ? 1
        : a.checkpointId > b.checkpointId
          ? -1
          : a.ns < b.ns
            ? -1
            : 1,
    );
  }

  async acquireLease(request: LeaseRequest): Promise<Lease | undefined> {
    const thread = this.#entry(request.threadId);
    if (thread.deleted) {
      throw new ThreadDeletedError(`thread "${request.threadId}" was deleted`, {
        threadId: request.threadId,
      });
    }
    const now = this.#now();
    const held = thread.lease;
    const live = held !== undefined && held.expiresAt > now && held.owner !== request.owner;
    if (live && !request.steal && held.token !== request.replacing) return undefined;
    const head = thread.checkpoints.get("")?.at(-1)?.id ?? null;
    thread.lastToken += 1;
    thread.lease = {
      threadId: request.threadId,
      owner: request.owner,
      token: thread.lastToken,
      expiresAt: now + request.ttlMs,
      startedFrom: live && request.inheritStart ? held.startedFrom : head,
      ...(request.holder ? { holder: request.holder } : {}),
      ...(live ? { stolenFrom: held.owner } : {}),
    };
    if (!request.withHead) return thread.lease;
    const newest = thread.checkpoints.get("")?.at(-1);
    return {
      ...thread.lease,
      head: newest ? this.#load(thread, newest, true) : null,
      archive: thread.archive ?? null,
    };
  }

  async readLease(threadId: string): Promise<Lease | undefined> {
    return this.#threads.get(threadId)?.lease;
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    const current = this.#threads.get(lease.threadId)?.lease;
    if (!current || current.token !== lease.token || current.expiresAt <= this.#now()) {
      return undefined;
    }
    const renewed = { ...current, expiresAt: this.#now() + ttlMs };
    this.#entry(lease.threadId).lease = renewed;
    return renewed;
  }

  async releaseLease(lease: Lease): Promise<boolean> {
    const thread = this.#threads.get(lease.threadId);
    if (thread?.lease?.token !== lease.token) return false;
    thread.lease = undefined;
    return true;
  }

  async close(): Promise<void> {
    this.#threads.clear();
    await this.#largeValues.close();
  }

  largeValueTarget(): MemoryLargeValues {
    return this.#largeValues;
  }

  async *listLargeValueRefs() {
    yield* largeValueRefsIn(this.#threads);
  }

  async rewriteValues(threadId: string, rewrite: ValueRewrite): Promise<number> {
    return rewriteValuesIn(this.#threads.get(threadId), rewrite);
  }

  async listThreads(query: ThreadQuery): Promise<ThreadSummary[]> {
    const ids = [...this.#threads.keys()]
      .filter(
        (id) =>
          (query.after === undefined || id > query.after) && id.startsWith(query.prefix ?? ""),
      )
      .sort();
    const page: ThreadSummary[] = [];
    for (const id of ids) {
      const summary = summarize(id, this.#threads.get(id)!);
      if (summary) page.push(summary);
      if (page.length >= query.limit) break;
    }
    return page;
  }

  async footprint(threadId: string): Promise<ThreadFootprint | undefined> {
    const thread = this.#threads.get(threadId);
    return thread && footprintOf(threadId, thread);
  }

  async pruneCheckpoints(batch: PruneBatch): Promise<PruneBatchResult> {
    return pruneEntry(this.#writable(batch.threadId, undefined), batch);
  }

  async setPin(threadId: string, checkpointId: string, pinned: boolean): Promise<void> {
    pinIn(threadId, this.#threads.get(threadId), checkpointId, pinned);
  }

  /** Nothing to give back: deleted entries are garbage once nothing references them. */
  async reclaimSpace(): Promise<SpaceReport> {
    return { bytesBefore: 0, bytesAfter: 0, method: "none" };
  }

  #entry(threadId: string): ThreadEntry {
    let thread = this.#threads.get(threadId);
    if (!thread) {
      thread = {
        deleted: false,
        lease: undefined,
        lastToken: 0,
        checkpoints: new Map(),
        blobs: new Map(),
        writes: new Map(),
        quarantine: new Map(),
        effects: new Map(),
        pins: new Set(),
        archive: undefined,
      };
      this.#threads.set(threadId, thread);
    }
    return thread;
  }

  #writable(threadId: string, fence: LeaseFence | undefined): ThreadEntry {
    const thread = this.#entry(threadId);
    if (thread.deleted) throw deletedError(threadId);
    if (thread.archive?.state === "archived") throw archivedError(threadId, thread.archive.stub);
    if (fence) {
      const lease = thread.lease;
      if (!lease || lease.token !== fence.token || lease.expiresAt <= this.#now()) {
        throw new LeaseLostError(`the lease on thread "${threadId}" was lost`, { threadId });
      }
    }
    return thread;
  }

  #load(thread: ThreadEntry, checkpoint: StoredCheckpoint, withValues: boolean): LoadedCheckpoint {
    if (!withValues) return { checkpoint, blobs: {}, writes: [] };
    const blobs: Record<string, StoredBlob[]> = {};
    for (const [channel, version] of Object.entries(checkpoint.channelVersions)) {
      blobs[channel] = resolveBlobChain(version, (v) =>
        thread.blobs.get(blobKey(checkpoint.ns, channel, v)),
      );
    }
    const bucket = thread.writes.get(`${checkpoint.ns}\0${checkpoint.id}`);
    const writes = bucket ? [...bucket.values()].sort(compareWrites) : [];
    return { checkpoint, blobs, writes };
  }
}

function sortedIndex(list: readonly StoredCheckpoint[], id: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function deletedError(threadId: string): ThreadDeletedError {
  return new ThreadDeletedError(`thread "${threadId}" was deleted; late writes are refused`, {
    threadId,
  });
}
