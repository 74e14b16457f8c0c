/**
 * One tenant's view of a {@link Checkpointer}: the same methods, taking and returning the
 * tenant's own thread ids, stored under {@link threadKey}s. Nothing it returns, lists or throws
 * names another tenant's thread. Each method is scoped by one line of {@link SCOPES}: where its
 * thread id arrives and how its result names threads.
 */
import { InvalidInputError, isRewindError, StorageError } from "../errors.js";
import { validateTenantId } from "../store/store-validation.js";
import { headersOf } from "./checkpoint-headers.js";
import type {
  Checkpointer,
  CheckpointHeader,
  CheckpointTuple,
  LeaseWithHead,
  ListOptions,
} from "./checkpointer.js";
import type { RepairResult } from "./repair.js";
import { isKeyOfTenant, parseThreadKey, threadKey, unscopeError } from "./thread-key.js";

/** A scoped call: the thread id as the tenant names it, and the storage key it was given as. */
interface Call {
  readonly threadId: string;
  readonly key: string;
}

/** Rewrites a result so that it names threads as the tenant does. */
type Unscope = (result: any, call: Call) => unknown;

/** Where a method's first argument carries the thread id, read from its type. */
type ThreadArgument<F> = F extends (first: infer A, ...rest: any[]) => unknown
  ?
      | (A extends string ? "id" : never)
      | (A extends { readonly threadId: string } ? "field" : never)
      | (A extends { readonly checkpoint: { readonly threadId: string } } ? "stored" : never)
  : never;

/**
 * How a member is scoped, checked against its type:
 * - `thread`: where the method's first argument carries the thread id: `"id"` (it is one),
 *   `"field"` (its `threadId`), or `"stored"` (it is already storage-level, its
 *   `checkpoint.threadId` a storage key: encode's output, a backend row), only checked to be
 *   this tenant's;
 * - `result`: how the result names threads (default: it names none);
 * - `sync: true` for a method that returns its result rather than a promise.
 * `"pass"` is a method and `"property"` a property that reach the checkpointer unchanged
 * (nothing tenant-specific); `"view"` is a member the view implements itself.
 */
type Scope<F> = F extends (...args: any[]) => infer R
  ?
      | "pass"
      | "view"
      | ({ readonly thread: ThreadArgument<F>; readonly result?: Unscope } & (R extends
          | PromiseLike<unknown>
          | AsyncIterable<unknown>
          ? { readonly sync?: never }
          : { readonly sync: true }))
  : "property" | "view";

/** A scope of a method that names a thread. */
interface ThreadScope {
  readonly thread: "id" | "field" | "stored";
  readonly result?: Unscope;
  readonly sync?: true;
}

/** `text` naming the thread as the tenant does (a Rewind message quoting the storage key). */
const renamed = (text: string, call: Call) => text.replaceAll(call.key, call.threadId);
/** A record of the caller's thread (a lease, a quarantined row), or `undefined`. */
const record: Unscope = (result, call) =>
  result && {
    ...result,
    threadId: call.threadId,
    ...(typeof result.reason === "string" ? { reason: renamed(result.reason, call) } : {}),
  };
const records: Unscope = (results: unknown[], call) => results.map((r) => record(r, call));
/** A checkpoint read back (or `undefined`): its storage key becomes the thread id. */
const tuple: Unscope = (result: CheckpointTuple | undefined) => result && unscopedTuple(result);
/** A granted lease with the head read under it: both name the caller's thread. */
const leaseWithHead: Unscope = (result: LeaseWithHead | undefined, call): unknown =>
  result && {
    ...result,
    lease: record(result.lease, call),
    head: result.head && (() => tuple(result.head!(), call)),
  };
const repair: Unscope = (result: RepairResult, call): RepairResult => ({
  ...result,
  threadId: call.threadId,
  quarantined: result.quarantined.map((q) => ({ ...q, reason: renamed(q.reason, call) })),
});

/** Every public member of {@link Checkpointer}, scoped: a new member needs its line here. */
const SCOPES: { readonly [K in keyof Checkpointer]: Scope<Checkpointer[K]> } = {
  door: "property", // storage keys, unscoped (how the runtime and the saver share the storage)
  codec: "property",
  sealer: "property",
  appends: "property", // storage keys too: one memory of append chains per storage
  largeValues: "property", // one store of large values per storage (each keyed by tenant)
  name: "property",
  serializer: "property",
  effects: "view", // the ledger scoped to this tenant's threads
  ready: "pass",
  close: "view", // the view owns nothing; close the checkpointer it came from
  list: "view",
  listHeaders: "view",
  put: { thread: "field" },
  encode: { thread: "field", sync: true },
  write: { thread: "stored" },
  decode: { thread: "stored", result: tuple, sync: true },
  putWrites: { thread: "field" },
  get: { thread: "id", result: tuple },
  headId: { thread: "id" },
  repairThread: { thread: "id", result: repair },
  listQuarantined: { thread: "id", result: records },
  deleteThread: { thread: "id" },
  acquireLease: { thread: "id", result: record },
  acquireLeaseWithHead: { thread: "id", result: leaseWithHead },
  readLease: { thread: "id", result: record },
  renewLease: { thread: "field", result: record },
  releaseLease: { thread: "field" },
};

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
  // The class has private state, so TypeScript compares it by name; the view has every public
  // member (SCOPES names each one) and is used only through them.
  return new TenantCheckpointer(checkpointer, tenantId) as unknown as Checkpointer;
}

class TenantCheckpointer {
  readonly #inner: Checkpointer;
  readonly #tenantId: string | undefined;

  constructor(inner: Checkpointer, tenantId: string | undefined) {
    this.#inner = inner;
    this.#tenantId = tenantId;
  }

  static {
    const entries = Object.entries(SCOPES) as [keyof Checkpointer, ThreadScope | string][];
    for (const [name, scope] of entries) {
      if (scope === "view") continue;
      Object.defineProperty(
        TenantCheckpointer.prototype,
        name,
        scope === "property"
          ? { get: TenantCheckpointer.#property(name) }
          : {
              value: TenantCheckpointer.#method(
                name,
                typeof scope === "string" ? undefined : scope,
              ),
            },
      );
    }
  }

  async close(): Promise<void> {}

  /** The ledger of this tenant's threads. */
  get effects() {
    return this.#inner.effects.scoped({
      key: (threadId) => this.#key(threadId),
      own: (error) => this.#own(error),
    });
  }

  async *list(options: ListOptions = {}): AsyncIterable<CheckpointTuple> {
    try {
      if (options.threadId !== undefined) {
        const scoped = { ...options, threadId: this.#key(options.threadId) };
        for await (const found of this.#inner.list(scoped)) yield unscopedTuple(found);
      } else {
        yield* this.#listAll(options);
      }
    } catch (error) {
      throw this.#own(error);
    }
  }

  listHeaders(options: Omit<ListOptions, "includeValues"> = {}): AsyncIterable<CheckpointHeader> {
    return headersOf(this.list({ ...options, includeValues: false }));
  }

  static #property(name: keyof Checkpointer) {
    return function (this: TenantCheckpointer) {
      return this.#inner[name];
    };
  }

  /** The method `name` as the tenant calls it, scoped as `scope` says (none: passed through). */
  static #method(name: keyof Checkpointer, scope: ThreadScope | undefined) {
    return function (this: TenantCheckpointer, ...args: unknown[]) {
      const method = this.#inner[name] as (...a: unknown[]) => unknown;
      if (!scope) return method.apply(this.#inner, args);
      const result = scope.result ?? ((r: unknown) => r);
      const invoke = () => {
        const call = this.#scope(scope.thread, args);
        const out = method.apply(this.#inner, args);
        return scope.sync
          ? result(out, call)
          : (out as Promise<unknown>).then((r) => result(r, call));
      };
      const own = (error: unknown): never => {
        throw this.#own(error);
      };
      if (!scope.sync) return new Promise((resolve) => resolve(invoke())).catch(own);
      try {
        return invoke();
      } catch (error) {
        return own(error);
      }
    };
  }

  /**
   * Puts the storage key in place of the thread id in `args[0]` (in place: `args` is the
   * call's own array) and returns both names of the thread; a stored argument is checked.
   */
  #scope(thread: ThreadScope["thread"], args: unknown[]): Call {
    const first = args[0] as any;
    if (thread === "stored") {
      const key: string = first?.checkpoint?.threadId;
      if (typeof key !== "string" || !isKeyOfTenant(key, this.#tenantId)) {
        throw new InvalidInputError("the checkpoint is not of a thread of this tenant");
      }
      return { threadId: parseThreadKey(key).threadId, key };
    }
    const threadId: string = thread === "id" ? first : first?.threadId;
    const key = this.#key(threadId);
    args[0] = thread === "id" ? key : { ...first, threadId: key };
    return { threadId, key };
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
      const found =
        options.includeValues === false
          ? header
          : await this.#inner.get(c.threadId, { ns: c.ns, checkpointId: c.id });
      if (!found) continue; // deleted since the scan saw it
      yield unscopedTuple(found);
      if (++count === limit) return;
    }
  }

  #key(threadId: string): string {
    return threadKey(threadId, this.#tenantId);
  }

  /**
   * An error as this tenant may see it: a storage key of its own becomes the thread id it
   * stands for (in `threadId` and the message); one of another tenant is never shown.
   */
  #own(error: unknown): unknown {
    if (!isRewindError(error) || error.threadId === undefined) return error;
    if (!isKeyOfTenant(error.threadId, this.#tenantId)) {
      return new StorageError("a checkpoint of another tenant could not be read");
    }
    return unscopeError(error);
  }
}

function unscopedTuple(found: CheckpointTuple): CheckpointTuple {
  const { threadId } = parseThreadKey(found.checkpoint.threadId);
  return { ...found, checkpoint: { ...found.checkpoint, threadId } };
}
