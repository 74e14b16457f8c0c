/**
 * Storage-side bookkeeping for append deltas: per (thread, namespace, channel), the version last
 * stored or loaded and its place in the append chain (appends since the last full value, that
 * value's length), which the codec's append policy needs. Without an entry a write is stored in
 * full: correct, only less compact.
 *
 * The `Checkpointer` keeps only that place, per version ({@link AppendTracker.recordState}), so
 * that forks of one thread each keep appending: the runtime says which items it appended. The LangGraph saver also keeps the array itself
 * ({@link AppendTracker.record}), because LangGraph hands it whole channel values; without it a
 * growing message list would be rewritten in full at every step (O(n^2) bytes per thread).
 */

/** How a changed channel is stored. */
export type AppendPlan =
  | { readonly kind: "full" }
  | {
      readonly kind: "append";
      readonly prevVersion: string;
      readonly items: unknown[];
      readonly depth: number;
      readonly baseLength: number;
    };

interface Entry {
  readonly version: string;
  /** Shallow copy of the array as stored: element identity is what we compare. */
  readonly items?: readonly unknown[];
  /** `id` of each element when stored (LangGraph's reducer assigns message ids in place). */
  readonly ids?: readonly unknown[];
  readonly depth: number;
  readonly baseLength: number;
}

/** Where a stored channel version sits in its append chain. */
export interface AppendState {
  /** Appends since the last full value. */
  readonly depth: number;
  /** Items in that full value. */
  readonly baseLength: number;
}

const FULL: AppendPlan = { kind: "full" };

/**
 * A bounded LRU of the last array value per channel. Only versions for which
 * `isUnique(version)` holds take part: a version that two branches could share (LangGraph's
 * default integer versions) must never anchor an append chain.
 */
export class AppendTracker {
  readonly #entries = new Map<string, Entry>();
  readonly #capacity: number;
  readonly #mayAppend: (depth: number, baseLength: number) => boolean;
  readonly #isUnique: (version: string) => boolean;

  /** `mayAppend` is the codec's append policy (`CheckpointCodec.mayAppend`). */
  constructor(
    capacity: number,
    mayAppend: (depth: number, baseLength: number) => boolean,
    isUnique: (version: string) => boolean,
  ) {
    this.#capacity = capacity;
    this.#mayAppend = mayAppend;
    this.#isUnique = isUnique;
  }

  /** How to store `value` as `version` of the channel. */
  plan(key: string, version: string, value: unknown): AppendPlan {
    if (this.#capacity === 0 || !Array.isArray(value) || !this.#isUnique(version)) return FULL;
    const entry = this.#entries.get(key);
    if (!entry?.items || !entry.ids || entry.version === version) return FULL;
    const { items, ids } = entry;
    if (value.length < items.length) return FULL;
    for (let i = 0; i < items.length; i++) {
      if (value[i] !== items[i] || idOf(value[i]) !== ids[i]) return FULL;
    }
    const depth = entry.depth + 1;
    if (!this.#mayAppend(depth, entry.baseLength)) return FULL;
    return {
      kind: "append",
      prevVersion: entry.version,
      items: value.slice(items.length),
      depth,
      baseLength: entry.baseLength,
    };
  }

  /** Records what is now stored for the channel at `version` (after a successful write or a read). */
  record(key: string, version: string, value: unknown, depth: number, baseLength: number): void {
    if (!Array.isArray(value)) return;
    this.#set(key, { version, items: value.slice(), ids: value.map(idOf), depth, baseLength });
  }

  /**
   * Records where `version` of the channel sits in its append chain, without its value. Each
   * version is its own entry (a fork appends to an older version than the newest).
   */
  recordState(key: string, version: string, state: AppendState): void {
    this.#set(versionKey(key, version), {
      version,
      depth: state.depth,
      baseLength: state.baseLength,
    });
  }

  /** The chain place of `version` of the channel, if remembered. */
  stateOf(key: string, version: string): AppendState | undefined {
    const entry = this.#entries.get(versionKey(key, version));
    if (!entry) return undefined;
    this.#set(versionKey(key, version), entry);
    return { depth: entry.depth, baseLength: entry.baseLength };
  }

  /** Forgets `version` of the channel (a write of it failed: it was never stored). */
  forget(key: string, version: string): void {
    this.#entries.delete(versionKey(key, version));
    if (this.#entries.get(key)?.version === version) this.#entries.delete(key);
  }

  #set(key: string, entry: Entry): void {
    if (this.#capacity === 0 || !this.#isUnique(entry.version)) return;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (this.#entries.size > this.#capacity) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  /** Forgets every channel of a thread (after it is deleted). */
  forgetThread(threadId: string): void {
    const prefix = `${threadId}\0`;
    for (const key of this.#entries.keys()) if (key.startsWith(prefix)) this.#entries.delete(key);
  }
}

/** The tracker key of one channel. */
export function channelKey(threadId: string, ns: string, channel: string): string {
  return `${threadId}\0${ns}\0${channel}`;
}

function versionKey(key: string, version: string): string {
  return `${key}\0${version}`;
}

function idOf(item: unknown): unknown {
  return typeof item === "object" && item !== null ? (item as { id?: unknown }).id : undefined;
}
