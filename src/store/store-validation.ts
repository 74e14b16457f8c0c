/**
 * Input rules of the store, checked before anything reaches a backend so that bad input fails
 * with an {@link InvalidInputError} and changes nothing.
 */
import { InvalidInputError } from "../errors.js";

/** Labels starting with this are reserved for Rewind's own use. */
export const RESERVED_LABEL_PREFIX = "__rewind";
/** Most labels in a namespace. */
export const MAX_NAMESPACE_DEPTH = 32;
/** Longest label, tenant id, in UTF-16 units. */
export const MAX_LABEL_LENGTH = 256;
/** Longest item key, in UTF-16 units. */
export const MAX_KEY_LENGTH = 1024;
/** Largest `limit` a search or listing accepts. */
export const MAX_LIMIT = 10_000;

/**
 * Checks a tenant id: a non-empty, well-formed string without NUL of at most
 * {@link MAX_LABEL_LENGTH} units.
 */
export function validateTenantId(tenantId: unknown): string {
  checkText(tenantId, "tenant id", MAX_LABEL_LENGTH);
  return tenantId as string;
}

/**
 * Checks a namespace (or, with `allowEmpty`, a prefix or suffix): an array of at most
 * {@link MAX_NAMESPACE_DEPTH} labels, each a non-empty string that does not start with
 * {@link RESERVED_LABEL_PREFIX}. Returns a frozen copy, so later mutation by the caller is harmless.
 */
export function validateNamespace(
  namespace: unknown,
  what = "namespace",
  allowEmpty = false,
): readonly string[] {
  if (!Array.isArray(namespace)) {
    throw new InvalidInputError(`${what} must be an array of strings, got ${typeof namespace}`);
  }
  if (!allowEmpty && namespace.length === 0) {
    throw new InvalidInputError(`${what} must have at least one label`);
  }
  if (namespace.length > MAX_NAMESPACE_DEPTH) {
    throw new InvalidInputError(`${what} has more than ${MAX_NAMESPACE_DEPTH} labels`);
  }
  for (const label of namespace) {
    checkText(label, `${what} label`, MAX_LABEL_LENGTH);
    if ((label as string).startsWith(RESERVED_LABEL_PREFIX)) {
      throw new InvalidInputError(
        `${what} label "${label}" uses the reserved prefix "${RESERVED_LABEL_PREFIX}"`,
      );
    }
  }
  return Object.freeze([...namespace]);
}

/** Checks an item key: a non-empty, well-formed string without NUL of at most {@link MAX_KEY_LENGTH} units. */
export function validateKey(key: unknown): string {
  checkText(key, "key", MAX_KEY_LENGTH);
  return key as string;
}

/** Checks a TTL: a positive finite number of milliseconds, or `null` for "never expires". */
export function validateTtl(ttlMs: unknown, what = "ttlMs"): number | null {
  if (ttlMs === null) return null;
  if (typeof ttlMs !== "number" || !Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new InvalidInputError(`${what} must be a positive number of milliseconds or null`);
  }
  return Math.ceil(ttlMs);
}

/** Checks a page bound: an integer in `[0, max]`; `undefined` gives `fallback`. */
export function validateCount(
  value: unknown,
  what: string,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max) {
    throw new InvalidInputError(`${what} must be an integer from 0 to ${max}`);
  }
  return value;
}

/** In unicode mode a surrogate class matches only unpaired halves. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function checkText(value: unknown, what: string, maxLength: number): void {
  if (typeof value !== "string") {
    throw new InvalidInputError(`${what} must be a string, got ${describe(value)}`);
  }
  if (value.length === 0 || value.length > maxLength) {
    throw new InvalidInputError(`${what} must have 1 to ${maxLength} characters`);
  }
  // Databases store UTF-8: a NUL or a lone surrogate would be refused or silently replaced,
  // and two distinct ids could then collide.
  if (value.includes("\u0000") || LONE_SURROGATE.test(value)) {
    throw new InvalidInputError(`${what} must not contain NUL characters or lone surrogates`);
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}
