/**
 * Remembers, per (thread, namespace, channel), the last array value the saver stored or loaded,
 * so that a new value which is that array plus items at the end is stored as an `append` blob
 * holding only the new items. LangGraph hands the saver whole channel values; without this a
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
  readonly items: readonly unknown[];
  /** `id` of each element when stored (LangGraph's reducer assigns message ids in place). */
  readonly ids: readonly unknown[];
  readonly depth: number;
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
    if (!entry || entry.version === version || value.length < entry.items.length) return FULL;
    const { items, ids } = entry;
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
    if (this.#capacity === 0 || !Array.isArray(value) || !this.#isUnique(version)) return;
    this.#entries.delete(key);
    this.#entries.set(key, {
      version,
      items: value.slice(),
      ids: value.map(idOf),
      depth,
      baseLength,
    });
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

function idOf(item: unknown): unknown {
  return typeof item === "object" && item !== null ? (item as { id?: unknown }).id : undefined;
}
