/**
 * Identifiers: time-ordered checkpoint ids, validated thread ids, and collision-free thread ids
 * built from parts.
 */
import { randomFillSync } from "node:crypto";
import { InvalidInputError } from "./errors.js";

/** Longest accepted thread id, in UTF-16 code units. */
export const MAX_THREAD_ID_LENGTH = 512;
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/** Throws {@link InvalidInputError} unless `threadId` is a non-empty, bounded, printable string. */
export function validateThreadId(threadId: unknown, what = "threadId"): string {
  if (typeof threadId !== "string") {
    throw new InvalidInputError(`${what} must be a string, got ${typeof threadId}`);
  }
  if (threadId.length === 0) throw new InvalidInputError(`${what} must not be empty`);
  if (threadId.length > MAX_THREAD_ID_LENGTH) {
    throw new InvalidInputError(`${what} is longer than ${MAX_THREAD_ID_LENGTH} characters`);
  }
  if (CONTROL_CHARS.test(threadId)) {
    throw new InvalidInputError(`${what} must not contain control characters`);
  }
  return threadId;
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
