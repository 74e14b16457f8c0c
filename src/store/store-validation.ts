/**
 * Input rules of the store, checked before anything reaches a backend so that bad input fails
 * with an {@link InvalidInputError} and changes nothing.
 */
import { InvalidInputError } from "../errors.js";
import { MAX_NAME_LENGTH, validateName } from "../ids.js";

/** Labels starting with this are reserved for Rewind's own use. */
export const RESERVED_LABEL_PREFIX = "__rewind";
/** Most labels in a namespace. */
export const MAX_NAMESPACE_DEPTH = 32;
/** Longest label, tenant id, in UTF-16 units (the limit of every name, `MAX_NAME_LENGTH`). */
export const MAX_LABEL_LENGTH = MAX_NAME_LENGTH;
/** Longest item key, in UTF-16 units. */
export const MAX_KEY_LENGTH = 1024;
/** Largest `limit` a search or listing accepts. */
export const MAX_LIMIT = 10_000;

/**
 * Checks a tenant id: a non-empty, well-formed string without NUL of at most
 * {@link MAX_LABEL_LENGTH} units.
 */
export function validateTenantId(tenantId: unknown): string {
  validateName(tenantId, "tenant id", { maxLength: MAX_LABEL_LENGTH });
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
    validateName(label, `${what} label`, { maxLength: MAX_LABEL_LENGTH });
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
  validateName(key, "key", { maxLength: MAX_KEY_LENGTH });
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
