/**
 * Differences between two states: which paths were added, removed or changed. `diffStates`
 * matches lists of messages (objects that all carry a string `id`) by id rather than by
 * position, so one message inserted or removed early does not show every later one as changed.
 */

export interface StateChange {
  /** Path from the state root, e.g. `["messages", 3, "content"]`. */
  readonly path: readonly (string | number)[];
  readonly kind: "added" | "removed" | "changed";
  readonly before?: unknown;
  readonly after?: unknown;
}

/** Deep structural diff of plain data (objects, arrays, Dates, Maps and Sets compared by value). */
export function diffValues(
  before: unknown,
  after: unknown,
  path: (string | number)[] = [],
): StateChange[] {
  return diffWith(before, after, path, false);
}

/**
 * Like {@link diffValues}, with message lists matched by message id (a message's path gives its
 * index on the side it is found): what the inspector shows.
 */
export function diffStates(before: unknown, after: unknown): StateChange[] {
  return diffWith(before, after, [], true);
}

function diffWith(
  before: unknown,
  after: unknown,
  path: (string | number)[],
  byId: boolean,
): StateChange[] {
  if (sameLeaf(before, after)) return [];
  if (byId && isMessageList(before) && isMessageList(after)) {
    return diffMessages(before, after, path);
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const out: StateChange[] = [];
    const common = Math.min(before.length, after.length);
    for (let i = 0; i < common; i++) out.push(...diffWith(before[i], after[i], [...path, i], byId));
    for (let i = common; i < after.length; i++)
      out.push({ path: [...path, i], kind: "added", after: after[i] });
    for (let i = common; i < before.length; i++)
      out.push({ path: [...path, i], kind: "removed", before: before[i] });
    return out;
  }
  if (isPlainObject(before) && isPlainObject(after)) {
    const out: StateChange[] = [];
    for (const key of Object.keys(before)) {
      if (!(key in after)) out.push({ path: [...path, key], kind: "removed", before: before[key] });
      else out.push(...diffWith(before[key], after[key], [...path, key], byId));
    }
    for (const key of Object.keys(after)) {
      if (!(key in before)) out.push({ path: [...path, key], kind: "added", after: after[key] });
    }
    return out;
  }
  return [{ path, kind: "changed", before, after }];
}

type Identified = { readonly id: string };

function diffMessages(
  before: readonly Identified[],
  after: readonly Identified[],
  path: (string | number)[],
): StateChange[] {
  const old = new Map(before.map((m) => [m.id, m]));
  const kept = new Set<string>();
  const out: StateChange[] = [];
  after.forEach((message, i) => {
    const previous = old.get(message.id);
    if (previous === undefined) out.push({ path: [...path, i], kind: "added", after: message });
    else {
      kept.add(message.id);
      out.push(...diffWith(previous, message, [...path, i], true));
    }
  });
  before.forEach((message, i) => {
    if (!kept.has(message.id)) out.push({ path: [...path, i], kind: "removed", before: message });
  });
  return out;
}

function isMessageList(value: unknown): value is Identified[] {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((m) => isPlainObject(m) && typeof m.id === "string")
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function sameLeaf(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.length === b.length && a.every((x, i) => x === b[i]);
  }
  if ((a instanceof Map && b instanceof Map) || (a instanceof Set && b instanceof Set)) {
    return diffValues([...a], [...b]).length === 0;
  }
  return false;
}
