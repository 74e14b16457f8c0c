/**
 * Identifiers: time-ordered checkpoint ids, validated thread ids, and collision-free thread ids
 * built from parts.
 */
import { randomFillSync } from "node:crypto";
import { InvalidInputError } from "./errors.js";

/** Longest accepted thread id, in UTF-16 code units. */
export const MAX_THREAD_ID_LENGTH = 512;
/** Longest accepted name (checkpoint id, channel, version, task id, lease owner, store label), in UTF-16 code units. */
export const MAX_NAME_LENGTH = 256;
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
/** In unicode mode a surrogate class matches only unpaired halves. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Limits of one {@link validateName} call. */
export interface NameRules {
  /** Default {@link MAX_NAME_LENGTH}. */
  readonly maxLength?: number;
  /** Accept `""` (a root namespace). Default false. */
  readonly allowEmpty?: boolean;
}

/**
 * The one validator of names and ids that reach storage: a string of 1 to `maxLength` UTF-16
 * units with no NUL and no unpaired surrogate. Databases store UTF-8 text: PostgreSQL refuses
 * NUL, and a lone surrogate is refused or replaced by U+FFFD, so two distinct names could become
 * one. Throws {@link InvalidInputError} naming `what`; returns the name.
 */
export function validateName(value: unknown, what: string, rules: NameRules = {}): string {
  const maxLength = rules.maxLength ?? MAX_NAME_LENGTH;
  if (typeof value !== "string") {
    throw new InvalidInputError(`${what} must be a string, got ${describe(value)}`);
  }
  if (value.length === 0 && !rules.allowEmpty) {
    throw new InvalidInputError(`${what} must not be empty`);
  }
  if (value.length > maxLength) {
    throw new InvalidInputError(`${what} is longer than ${maxLength} characters`);
  }
  if (value.includes("\u0000") || LONE_SURROGATE.test(value)) {
    throw new InvalidInputError(`${what} must not contain NUL characters or lone surrogates`);
  }
  return value;
}

/**
 * Throws {@link InvalidInputError} unless `threadId` is a valid thread id: what
 * {@link validateName} accepts, up to {@link MAX_THREAD_ID_LENGTH} units, and free of control
 * characters (U+0000 to U+001F and U+007F to U+009F). Storage keys may therefore use a control
 * character such as U+001F as a separator that no thread id can contain.
 */
export function validateThreadId(threadId: unknown, what = "threadId"): string {
  if (typeof threadId === "string" && CONTROL_CHARS.test(threadId)) {
    throw new InvalidInputError(`${what} must not contain control characters`);
  }
  return validateName(threadId, what, { maxLength: MAX_THREAD_ID_LENGTH });
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}

const PART_SEPARATOR = "/";

/**
 * Builds a thread id from parts, e.g. `threadIdFrom({ tenant: "acme", user: "u1", session: "s9" })`.
 * Parts are escaped (`%` and `/` are percent-encoded) and labelled by key, so two different sets
 * of parts can never produce the same id.
 */
export function threadIdFrom(parts: Readonly<Record<string, string | number>>): string {
  const keys = Object.keys(parts);
  if (keys.length === 0) throw new InvalidInputError("threadIdFrom needs at least one part");
  const segments = keys.map((key) => {
    const value = parts[key];
    if (typeof value !== "string" && typeof value !== "number") {
      throw new InvalidInputError(`thread id part "${key}" must be a string or a number`);
    }
    const text = String(value);
    if (text.length === 0) throw new InvalidInputError(`thread id part "${key}" is empty`);
    return `${escapePart(key)}=${escapePart(text)}`;
  });
  return validateThreadId(segments.join(PART_SEPARATOR));
}

function escapePart(text: string): string {
  return text.replace(/[%/=]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

// Random bits come from a pooled buffer: one randomFillSync per 512 ids instead of one each.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;
function random8(): string {
  if (poolOffset + 8 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const hex = pool.toString("hex", poolOffset, poolOffset + 8);
  poolOffset += 8;
  return hex;
}

let lastMs = 0;
let lastCounter = 0;

/**
 * A new checkpoint id: a UUIDv7-shaped string whose lexicographic order is creation order within
 * a process. When `after` is given the new id sorts strictly after it, so a child checkpoint always
 * sorts after its parent even if clocks of two machines disagree.
 */
export function newCheckpointId(after?: string): string {
  const floor = after === undefined ? undefined : parseId(after);
  const ms = Math.max(Date.now(), lastMs, floor?.ms ?? 0);
  let counter = ms === lastMs ? lastCounter + 1 : 0;
  if (floor && floor.ms === ms) counter = Math.max(counter, floor.counter + 1);
  let stamp = ms;
  if (counter > 0xfff) {
    stamp += 1;
    counter = 0;
  }
  lastMs = stamp;
  lastCounter = counter;
  const hexMs = stamp.toString(16).padStart(12, "0");
  const rand = random8();
  const variant = ((Number.parseInt(rand.slice(0, 1), 16) & 0x3) | 0x8).toString(16);
  return `${hexMs.slice(0, 8)}-${hexMs.slice(8, 12)}-7${counter.toString(16).padStart(3, "0")}-${variant}${rand.slice(1, 4)}-${rand.slice(4, 16)}`;
}

function parseId(id: string): { ms: number; counter: number } | undefined {
  const match = /^([0-9a-f]{8})-([0-9a-f]{4})-7([0-9a-f]{3})-/.exec(id);
  if (!match) return undefined;
  return {
    ms: Number.parseInt(match[1]! + match[2]!, 16),
    counter: Number.parseInt(match[3]!, 16),
  };
}
