/**
 * Store filters: validation into {@link FilterCondition}s, and the reference evaluator the memory
 * backend uses. SQL backends translate the same conditions; the conformance suite holds them
 * to the semantics documented on {@link FilterCondition}.
 */
import { InvalidInputError } from "../errors.js";
import { compareCodePoints } from "./namespace-path.js";
import type { FilterCondition, FilterOperator, FilterScalar } from "./store-backend.js";

/** Operators on one field, e.g. `{ $gte: 18, $lt: 65 }`; all must hold. */
export interface FilterOperators {
  $eq?: FilterScalar;
  $ne?: FilterScalar;
  $gt?: string | number;
  $gte?: string | number;
  $lt?: string | number;
  $lte?: string | number;
  $in?: readonly FilterScalar[];
  $nin?: readonly FilterScalar[];
  $exists?: boolean;
}

/**
 * A filter on item values: keys are dot paths into the value (`"profile.city"`), values are a
 * scalar (equality) or {@link FilterOperators}. Every entry must hold.
 *
 * @example
 * const filter: StoreFilter = { "profile.city": "Lyon", age: { $gte: 18 }, tags: { $exists: true } };
 */
export type StoreFilter = Readonly<Record<string, FilterScalar | FilterOperators>>;

const OPERATORS: Readonly<Record<string, FilterOperator>> = {
  $eq: "eq",
  $ne: "ne",
  $gt: "gt",
  $gte: "gte",
  $lt: "lt",
  $lte: "lte",
  $in: "in",
  $nin: "nin",
  $exists: "exists",
};

/** Largest `$in`/`$nin` list. */
export const MAX_FILTER_LIST = 1000;
const MAX_CONDITIONS = 64;

/** Validates a filter; throws {@link InvalidInputError} naming the offending field. */
export function normalizeFilter(filter: StoreFilter | undefined): FilterCondition[] {
  if (filter === undefined) return [];
  if (!isPlainObject(filter)) throw new InvalidInputError("filter must be a plain object");
  const out: FilterCondition[] = [];
  for (const [field, spec] of Object.entries(filter)) {
    const path = parsePath(field);
    if (isPlainObject(spec)) {
      const entries = Object.entries(spec);
      if (entries.length === 0) throw new InvalidInputError(`filter on "${field}" is empty`);
      for (const [name, operand] of entries) {
        const op = OPERATORS[name];
        if (!op) {
          throw new InvalidInputError(
            `filter on "${field}" uses unknown operator "${name}"; use dot paths for nested fields`,
          );
        }
        out.push({ path, op, operand: checkOperand(field, op, operand) });
      }
    } else {
      out.push({ path, op: "eq", operand: checkOperand(field, "eq", spec) });
    }
  }
  if (out.length > MAX_CONDITIONS) {
    throw new InvalidInputError(`a filter may hold at most ${MAX_CONDITIONS} conditions`);
  }
  return out;
}

/** Whether a parsed (untagged) JSON document passes every condition. */
export function matchesFilter(doc: unknown, conditions: readonly FilterCondition[]): boolean {
  for (const condition of conditions) {
    if (!matchesCondition(doc, condition)) return false;
  }
  return true;
}

function matchesCondition(doc: unknown, { path, op, operand }: FilterCondition): boolean {
  let current = doc;
  let present = true;
  for (const segment of path) {
    if (isPlainObject(current) && Object.hasOwn(current, segment)) {
      current = (current as Record<string, unknown>)[segment];
    } else {
      present = false;
      break;
    }
  }
  const list = operand as readonly FilterScalar[];
  switch (op) {
    case "exists":
      return present === operand;
    case "eq":
      return present && jsonEquals(current, operand as FilterScalar);
    case "ne":
      return !(present && jsonEquals(current, operand as FilterScalar));
    case "in":
      return present && list.some((x) => jsonEquals(current, x));
    case "nin":
      return !(present && list.some((x) => jsonEquals(current, x)));
    default: {
      if (!present || typeof current !== typeof operand) return false;
      const order =
        typeof current === "number"
          ? current - (operand as number)
          : compareCodePoints(current as string, operand as string);
      if (op === "gt") return order > 0;
      if (op === "gte") return order >= 0;
      if (op === "lt") return order < 0;
      return order <= 0;
    }
  }
}

function jsonEquals(value: unknown, operand: FilterScalar): boolean {
  return operand === null ? value === null : value === operand;
}

function parsePath(field: string): string[] {
  const path = field.split(".");
  if (field.length > 1024 || path.some((s) => s.length === 0 || s.includes("\u0000"))) {
    throw new InvalidInputError(
      `filter field "${field}" must be a dot path of non-empty names (no NUL characters)`,
    );
  }
  return path;
}

function checkOperand(
  field: string,
  op: FilterOperator,
  operand: unknown,
): FilterCondition["operand"] {
  switch (op) {
    case "exists":
      if (typeof operand !== "boolean") {
        throw new InvalidInputError(`$exists on "${field}" takes true or false`);
      }
      return operand;
    case "in":
    case "nin":
      if (!Array.isArray(operand) || operand.length > MAX_FILTER_LIST) {
        throw new InvalidInputError(
          `$${op} on "${field}" takes an array of at most ${MAX_FILTER_LIST} scalars`,
        );
      }
      return operand.map((x) => checkScalar(field, x));
    case "eq":
    case "ne":
      return checkScalar(field, operand);
    default:
      if (typeof operand !== "string" && typeof operand !== "number") {
        throw new InvalidInputError(`$${op} on "${field}" takes a number or a string`);
      }
      return checkScalar(field, operand);
  }
}

function checkScalar(field: string, operand: unknown): FilterScalar {
  if (operand === null || typeof operand === "string" || typeof operand === "boolean") {
    return operand;
  }
  if (typeof operand === "number" && Number.isFinite(operand)) {
    return operand === 0 ? 0 : operand;
  }
  throw new InvalidInputError(
    `filter on "${field}" compares with ${describe(operand)}; operands must be strings, finite numbers, booleans or null`,
  );
}

function describe(value: unknown): string {
  if (value instanceof Date) return "a Date";
  if (typeof value === "number") return String(value);
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
