/**
 * Store filters as SQLite SQL over the JSON text of `value`, with the semantics of
 * `FilterCondition`: `json_type` pins the JSON type (so `1`, `"1"` and `true` stay distinct) and
 * every condition is wrapped in IFNULL so a missing field is plainly false, never NULL.
 * Operands and paths are always bound parameters.
 */
import type { FilterCondition, FilterScalar } from "../../store/store-backend.js";

/** The conditions as one SQL expression (`1` when there are none); pushes its parameters. */
export function sqliteFilterSql(conditions: readonly FilterCondition[], params: unknown[]): string {
  if (conditions.length === 0) return "1";
  return conditions.map((c) => condition(c, params)).join(" AND ");
}

function condition(c: FilterCondition, params: unknown[]): string {
  const path = jsonPath(c.path);
  switch (c.op) {
    case "exists":
      params.push(path);
      return c.operand ? "json_type(value, ?) IS NOT NULL" : "json_type(value, ?) IS NULL";
    case "eq":
      return `IFNULL(${equals(path, c.operand as FilterScalar, params)}, 0)`;
    case "ne":
      return `NOT IFNULL(${equals(path, c.operand as FilterScalar, params)}, 0)`;
    case "in":
    case "nin": {
      const list = c.operand as readonly FilterScalar[];
      const any = list.length === 0 ? "0" : list.map((x) => equals(path, x, params)).join(" OR ");
      return c.op === "in" ? `IFNULL(${any}, 0)` : `NOT IFNULL(${any}, 0)`;
    }
    default: {
      const operator = { gt: ">", gte: ">=", lt: "<", lte: "<=" }[c.op];
      const types = typeof c.operand === "number" ? "('integer', 'real')" : "('text')";
      params.push(path, path, c.operand);
      return `IFNULL(json_type(value, ?) IN ${types} AND json_extract(value, ?) ${operator} ?, 0)`;
    }
  }
}

function equals(path: string, operand: FilterScalar, params: unknown[]): string {
  if (operand === null || typeof operand === "boolean") {
    params.push(path);
    return `(json_type(value, ?) = '${operand === null ? "null" : String(operand)}')`;
  }
  params.push(path, path, operand);
  const types = typeof operand === "number" ? "('integer', 'real')" : "('text')";
  return `(json_type(value, ?) IN ${types} AND json_extract(value, ?) = ?)`;
}

/** `["a", "b"]` -> `$."a"."b"`; SQLite reads backslash escapes inside quoted labels. */
function jsonPath(path: readonly string[]): string {
  return "$" + path.map((s) => `."${s.replace(/["\\]/g, "\\$&")}"`).join("");
}
