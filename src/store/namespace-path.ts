/**
 * Namespaces as one sortable string, for backends that index them: every label is escaped and
 * ends with a terminator (U+0001) that sorts below every character an escaped label can hold.
 * So `["a"]` becomes `"a\u0001"`, which `["ab"]` (`"ab\u0001"`) does not start with, and all
 * namespaces under a prefix form one contiguous range `[path, upperBound(path))` in code-point
 * order: prefix search is a range scan, never a LIKE pattern. The escaping preserves order, so
 * sorting paths sorts namespaces label by label.
 */

const TERMINATOR = "\u0001";
const ESCAPE = "\u0002";

/** Encodes labels; `[]` gives `""`, the prefix of everything. */
export function encodeNamespace(labels: readonly string[]): string {
  let out = "";
  for (const label of labels) {
    // U+0001 -> U+0002 U+0002 and U+0002 -> U+0002 U+0003 keep the order of characters.
    out += hasSpecial(label)
      ? label.replaceAll(ESCAPE, ESCAPE + "\u0003").replaceAll(TERMINATOR, ESCAPE + ESCAPE)
      : label;
    out += TERMINATOR;
  }
  return out;
}

/** Inverse of {@link encodeNamespace}. */
export function decodeNamespace(path: string): string[] {
  const parts = path.split(TERMINATOR);
  parts.pop();
  return parts.map((part) => (part.includes(ESCAPE) ? unescapeLabel(part) : part));
}

function unescapeLabel(part: string): string {
  let out = "";
  for (let i = 0; i < part.length; i++) {
    const c = part[i]!;
    if (c === ESCAPE) out += part[++i] === ESCAPE ? TERMINATOR : ESCAPE;
    else out += c;
  }
  return out;
}

function hasSpecial(label: string): boolean {
  return label.includes(TERMINATOR) || label.includes(ESCAPE);
}

/**
 * The smallest string above every path that starts with `path`, or `undefined` for `""`
 * (nothing bounds the whole key space).
 */
export function upperBound(path: string): string | undefined {
  return path === "" ? undefined : path.slice(0, -1) + ESCAPE;
}

/** Number of labels in an encoded path. */
export function pathDepth(path: string): number {
  let depth = 0;
  for (let i = path.indexOf(TERMINATOR); i !== -1; i = path.indexOf(TERMINATOR, i + 1)) depth++;
  return depth;
}

/** The first `maxDepth` labels of an encoded path. */
export function truncatePath(path: string, maxDepth: number): string {
  let end = -1;
  for (let n = 0; n < maxDepth; n++) {
    end = path.indexOf(TERMINATOR, end + 1);
    if (end === -1) return path;
  }
  return path.slice(0, end + 1);
}

/** Whether the encoded `path` ends with the whole labels of the encoded `suffix`. */
export function pathHasSuffix(path: string, suffix: string): boolean {
  return suffix === "" || (TERMINATOR + path).endsWith(TERMINATOR + suffix);
}

/** The terminator, for SQL that tests suffixes and truncates. */
export const PATH_TERMINATOR = TERMINATOR;

/**
 * Compares strings by Unicode code point, the order of SQLite's BINARY and PostgreSQL's "C"
 * collations on UTF-8 (plain `<` compares UTF-16 units and puts U+E000..U+FFFF after astral
 * characters).
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return rank(x) - rank(y);
  }
  return a.length - b.length;
}

function rank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}
