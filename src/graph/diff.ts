/** Differences between two states: which paths were added, removed or changed. */

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
  if (sameLeaf(before, after)) return [];
  if (Array.isArray(before) && Array.isArray(after)) {
    const out: StateChange[] = [];
    const common = Math.min(before.length, after.length);
    for (let i = 0; i < common; i++) out.push(...diffValues(before[i], after[i], [...path, i]));
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
      else out.push(...diffValues(before[key], after[key], [...path, key]));
    }
    for (const key of Object.keys(after)) {
      if (!(key in before)) out.push({ path: [...path, key], kind: "added", after: after[key] });
    }
    return out;
  }
  return [{ path, kind: "changed", before, after }];
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
