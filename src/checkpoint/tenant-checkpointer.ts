/**
 * One tenant's view of a {@link Checkpointer}: the same methods, taking and returning the
 * tenant's own thread ids, stored under {@link threadKey}s. Nothing it returns, lists or throws
 * names another tenant's thread.
 */
import { InvalidInputError, isRewindError, StorageError } from "../errors.js";
import { validateTenantId } from "../store/store-validation.js";
import type {
  Lease,
  LeaseFence,
  LoadedCheckpoint,
  QuarantinedCheckpoint,
} from "./checkpoint-backend.js";
import type {
  Checkpointer,
  CheckpointTuple,
  EncodedCheckpoint,
  ListOptions,
  NewCheckpoint,
  PendingWrite,
  PutOptions,
} from "./checkpointer.js";
import type { RepairResult } from "./repair.js";
import { isKeyOfTenant, parseThreadKey, threadKey, unscopeError } from "./thread-key.js";

/** Every public member of {@link Checkpointer}: the view must scope each one. */
type CheckpointerApi = { [K in keyof Checkpointer]: Checkpointer[K] };

/**
 * The checkpointer as `tenantId` sees it (`undefined`: the default tenant, whose thread ids are
 * stored unchanged). Reads, writes, leases and deletes reach only that tenant's threads; a
 * listing without `threadId` lists only that tenant's threads. The view owns nothing: its
 * `close()` does nothing, close the checkpointer it came from.
 *
 * @example
 * const acme = checkpointerForTenant(app.checkpointer, "acme");
 * for await (const t of acme.list({ limit: 20 })) console.log(t.checkpoint.threadId);
 */
export function checkpointerForTenant(
  checkpointer: Checkpointer,
  tenantId?: string | undefined,
): Checkpointer {
  if (tenantId !== undefined) validateTenantId(tenantId);
  // The class has private state, so TypeScript compares it by name; the view implements every
  // public member (checked by `implements CheckpointerApi`) and is used only through them.
  return new TenantCheckpointer(checkpointer, tenantId) as unknown as Checkpointer;
}

class TenantCheckpointer implements CheckpointerApi {
  readonly #inner: Checkpointer;
  readonly #tenantId: string | undefined;

  constructor(inner: Checkpointer, tenantId: string | undefined) {
    this.#inner = inner;
    this.#tenantId = tenantId;
  }

  /** The unscoped door and codec of the checkpointer this view came from (storage keys). */
  get door() {
    return this.#inner.door;
  }

  get codec() {
    return this.#inner.codec;
  }

  get name() {
    return this.#inner.name;
  }

  /** The ledger of this tenant's threads. */
  get effects() {
    return this.#inner.effects.scoped({
      key: (threadId) => this.#key(threadId),
      own: (error) => this.#own(error),
    });
  }

  get serializer() {
    return this.#inner.serializer;
  }

  ready(): Promise<void> {
    return this.#inner.ready();
  }

  put(input: NewCheckpoint, options?: PutOptions) {
    return this.#guard(() => this.#inner.put(this.#scoped(input), options));
  }

  encode(input: NewCheckpoint): EncodedCheckpoint {
    try {
      return this.#inner.encode(this.#scoped(input));
    } catch (error) {
      throw this.#own(error);
    }
  }

  write(encoded: EncodedCheckpoint, options?: PutOptions): Promise<void> {
    this.#check(encoded.checkpoint.threadId);
    return this.#guard(() => this.#inner.write(encoded, options));
  }

  putWrites(
    key: { threadId: string; ns?: string; checkpointId: string },
    writes: readonly PendingWrite[],
    fence?: LeaseFence,
  ): Promise<void> {
    return this.#guard(() =>
      this.#inner.putWrites({ ...key, threadId: this.#key(key.threadId) }, writes, fence),
    );
  }

  async get(
    threadId: string,
    options?: { ns?: string; checkpointId?: string | undefined },
  ): Promise<CheckpointTuple | undefined> {
    const tuple = await this.#guard(() => this.#inner.get(this.#key(threadId), options));
    return tuple && this.#unscoped(tuple);
  }

  async *list(options: ListOptions = {}): AsyncIterable<CheckpointTuple> {
    try {
      if (options.threadId !== undefined) {
        const scoped = { ...options, threadId: this.#key(options.threadId) };
        for await (const tuple of this.#inner.list(scoped)) yield this.#unscoped(tuple);
      } else {
        yield* this.#listAll(options);
      }
    } catch (error) {
      throw this.#own(error);
    }
  }

  headId(threadId: string, options?: { ns?: string }): Promise<string | undefined> {
    return this.#guard(() => this.#inner.headId(this.#key(threadId), options));
  }

  async repairThread(threadId: string, options?: { ns?: string }): Promise<RepairResult> {
    const key = this.#key(threadId);
    const result = await this.#guard(() => this.#inner.repairThread(key, options));
    const quarantined = result.quarantined.map((q) => ({
      checkpointId: q.checkpointId,
      reason: q.reason.replaceAll(key, threadId),
    }));
    return { ...result, threadId, quarantined };
  }

  async listQuarantined(threadId: string): Promise<QuarantinedCheckpoint[]> {
    const key = this.#key(threadId);
    const rows = await this.#guard(() => this.#inner.listQuarantined(key));
    return rows.map((row) => ({ ...row, threadId, reason: row.reason.replaceAll(key, threadId) }));
  }

  deleteThread(threadId: string): Promise<void> {
    return this.#guard(() => this.#inner.deleteThread(this.#key(threadId)));
  }

  async acquireLease(
    threadId: string,
    owner: string,
    ttlMs: number,
    options?: { steal?: boolean },
  ): Promise<Lease | undefined> {
    const key = this.#key(threadId);
    const lease = await this.#guard(() => this.#inner.acquireLease(key, owner, ttlMs, options));
    return lease && { ...lease, threadId };
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    const threadId = lease.threadId;
    const renewed = await this.#guard(() =>
      this.#inner.renewLease({ ...lease, threadId: this.#key(threadId) }, ttlMs),
    );
    return renewed && { ...renewed, threadId };
  }

  async readLease(threadId: string): Promise<Lease | undefined> {
    const lease = await this.#guard(() => this.#inner.readLease(this.#key(threadId)));
    return lease && { ...lease, threadId };
  }

  releaseLease(lease: Lease): Promise<boolean> {
    return this.#guard(() =>
      this.#inner.releaseLease({ ...lease, threadId: this.#key(lease.threadId) }),
    );
  }

  async close(): Promise<void> {}

  decode(loaded: LoadedCheckpoint, withValues?: boolean, remember?: boolean): CheckpointTuple {
    this.#check(loaded.checkpoint.threadId);
    try {
      return this.#unscoped(this.#inner.decode(loaded, withValues, remember));
    } catch (error) {
      throw this.#own(error);
    }
  }

  /**
   * Every thread's checkpoints are scanned as headers; the tenant's are kept (and loaded with
   * values when asked), so another tenant's rows are never decoded whole or counted in `limit`.
   */
  async *#listAll(options: ListOptions): AsyncIterable<CheckpointTuple> {
    const { limit } = options;
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 0)) {
      throw new InvalidInputError("limit must be a non-negative integer");
    }
    if (limit === 0) return;
    const headers = this.#inner.list({ ...options, limit: undefined, includeValues: false });
    let count = 0;
    for await (const header of headers) {
      const c = header.checkpoint;
      if (!isKeyOfTenant(c.threadId, this.#tenantId)) continue;
      const tuple =
        options.includeValues === false
          ? header
          : await this.#inner.get(c.threadId, { ns: c.ns, checkpointId: c.id });
      if (!tuple) continue; // deleted since the scan saw it
      yield this.#unscoped(tuple);
      if (++count === limit) return;
    }
  }

  #key(threadId: string): string {
    return threadKey(threadId, this.#tenantId);
  }

  #check(key: string): void {
    if (!isKeyOfTenant(key, this.#tenantId)) {
      throw new InvalidInputError("the checkpoint belongs to another tenant's thread");
    }
  }

  #scoped(input: NewCheckpoint): NewCheckpoint {
    return { ...input, threadId: this.#key(input.threadId) };
  }

  #unscoped(tuple: CheckpointTuple): CheckpointTuple {
    const { threadId } = parseThreadKey(tuple.checkpoint.threadId);
    return { ...tuple, checkpoint: { ...tuple.checkpoint, threadId } };
  }

  async #guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw this.#own(error);
    }
  }

  /**
   * An error as this tenant may see it: a storage key of its own becomes the thread id it
   * stands for (in `threadId` and the message); one of another tenant is never shown.
   */
  #own(error: unknown): unknown {
    if (!isRewindError(error) || error.threadId === undefined) return error;
    const key = error.threadId;
    if (!isKeyOfTenant(key, this.#tenantId)) {
      return new StorageError("a checkpoint of another tenant could not be read");
    }
    return unscopeError(error);
  }
}
