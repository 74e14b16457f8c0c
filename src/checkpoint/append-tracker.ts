/**
 * The one memory of append chains of a storage, owned by its `Checkpointer` and shared with the
 * LangGraph saver on it: one bounded LRU per storage, whoever writes. Without an entry a write is
 * stored in full: correct, only less compact. It holds no values:
 *
 * - per (thread, namespace, channel, version), where that version sits in its append chain
 *   (appends since the last full value, that value's length): the runtime says which items it
 *   appended, so this is all it needs, and each version is its own entry, so forks of one
 *   thread each keep appending;
 * - per (thread, namespace, channel), for callers handed whole values (LangGraph), the array
 *   last stored or read, as a token per element (an object's identity, through a `WeakMap`)
 *   and the elements' `id`s, so a value that only grew is told from one that changed without
 *   keeping any element alive.
 *
 * The append policy is the caller's codec's (`CheckpointCodec.mayAppend`): the tracker only
 * remembers.
 */

/** Where a stored channel version sits in its append chain. */
export interface AppendState {
  /** Appends since the last full value. */
  readonly depth: number;
  /** Items in that full value. */
  readonly baseLength: number;
}

/**
 * An array element as remembered: an object by a token of its identity (a `Stamp`, held by the
 * tracker's `WeakMap` only while the object lives), anything else as itself.
 */
type Held = Stamp | string | number | bigint | boolean | symbol | null | undefined;

/** A token no caller's value can equal: it never leaves the tracker. */
type Stamp = Readonly<Record<never, never>>;

/** The array last stored or read for a channel, held weakly. */
interface HeldArray {
  readonly version: string;
  readonly items: readonly Held[];
  /** `id` of each element when recorded (LangGraph's reducer assigns message ids in place). */
  readonly ids: readonly unknown[];
  readonly state: AppendState;
}

/** A channel's array that only grew since it was recorded: what was appended, onto what. */
export interface Growth {
  readonly prevVersion: string;
  /** The elements after the recorded ones. */
  readonly items: unknown[];
  /** The chain place of `prevVersion`. */
  readonly state: AppendState;
  /** What was recorded, reused when the grown array is recorded in turn. */
  readonly from: HeldArray;
}

/**
 * A bounded LRU of chain places and held arrays (least recently used dropped first); capacity 0
 * remembers nothing. Callers record only versions that no two branches can share (LangGraph's
 * default integer versions must never anchor a chain).
 */
export class AppendTracker {
  readonly #entries = new Map<string, AppendState | HeldArray>();
  readonly #capacity: number;
  /** Each remembered object's token; an entry dies with its object. */
  readonly #stamps = new WeakMap<object, Stamp>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /**
   * Records where `version` of the channel sits in its append chain. Each version is its own
   * entry (a fork appends to an older version than the newest).
   */
  recordState(key: string, version: string, state: AppendState): void {
    this.#set(versionKey(key, version), { depth: state.depth, baseLength: state.baseLength });
  }

  /** The chain place of `version` of the channel, if remembered. */
  stateOf(key: string, version: string): AppendState | undefined {
    const entry = this.#entries.get(versionKey(key, version));
    if (!entry || "items" in entry) return undefined;
    this.#set(versionKey(key, version), entry);
    return entry;
  }

  /**
   * Records `value` as what is now stored for the channel at `version` (after a successful
   * write, or a read). `from`: the growth it was planned from, whose elements are reused.
   */
  recordArray(
    key: string,
    version: string,
    value: readonly unknown[],
    state: AppendState,
    from?: Growth,
  ): void {
    if (this.#capacity === 0) return;
    const reused = from?.from.items ?? [];
    const items = reused.concat(value.slice(reused.length).map((item) => this.#hold(item)));
    const ids = (from?.from.ids ?? []).concat(value.slice(reused.length).map(idOf));
    this.#set(key, { version, items, ids, state });
  }

  /**
   * How `value` grew from the array recorded for the channel: `undefined` unless it starts with
   * the very elements recorded (same identity, same `id`) and `version` is a new one.
   */
  grownFrom(key: string, version: string, value: unknown): Growth | undefined {
    const entry = this.#entries.get(key);
    if (!entry || !("items" in entry) || entry.version === version) return undefined;
    if (!Array.isArray(value) || value.length < entry.items.length) return undefined;
    for (let i = 0; i < entry.items.length; i++) {
      if (!this.#holds(entry.items[i], value[i]) || idOf(value[i]) !== entry.ids[i]) {
        return undefined;
      }
    }
    return {
      prevVersion: entry.version,
      items: value.slice(entry.items.length),
      state: entry.state,
      from: entry,
    };
  }

  /** Forgets `version` of the channel (a write of it failed: it was never stored). */
  forget(key: string, version: string): void {
    this.#entries.delete(versionKey(key, version));
    const held = this.#entries.get(key);
    if (held && "items" in held && held.version === version) this.#entries.delete(key);
  }

  /** Forgets every channel of a thread (after it is deleted). */
  forgetThread(threadId: string): void {
    const prefix = `${threadId}\0`;
    for (const key of this.#entries.keys()) if (key.startsWith(prefix)) this.#entries.delete(key);
  }

  #set(key: string, entry: AppendState | HeldArray): void {
    if (this.#capacity === 0) return;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    if (this.#entries.size > this.#capacity) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  #hold(item: unknown): Held {
    if (!isObject(item)) return item as Held;
    let stamp = this.#stamps.get(item);
    if (!stamp) {
      stamp = {};
      this.#stamps.set(item, stamp);
    }
    return stamp;
  }

  /** Whether `held` stands for `item`: the same object (still alive), or the same primitive. */
  #holds(held: Held, item: unknown): boolean {
    if (!isObject(item)) return held === item;
    const stamp = this.#stamps.get(item);
    return stamp !== undefined && stamp === held;
  }
}

/** The tracker key of one channel. */
export function channelKey(threadId: string, ns: string, channel: string): string {
  return `${threadId}\0${ns}\0${channel}`;
}

function versionKey(key: string, version: string): string {
  return `${key}\0${version}`;
}

function isObject(item: unknown): item is object {
  return (typeof item === "object" && item !== null) || typeof item === "function";
}

function idOf(item: unknown): unknown {
  return typeof item === "object" && item !== null ? (item as { id?: unknown }).id : undefined;
}
