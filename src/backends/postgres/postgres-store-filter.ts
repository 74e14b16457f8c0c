/**
 * Store filters as PostgreSQL SQL over the `doc` jsonb column, with the semantics of
 * `FilterCondition`. Equality also tests containment (`doc @> ...`), which the GIN index on
 * `doc` answers; `->` with text keys never indexes into arrays, matching the other backends;
 * strings compare with COLLATE "C" (code-point order). Everything is a bound parameter.
 */
import type { FilterCondition, FilterScalar } from "../../store/store-backend.js";

/** Binds a parameter and returns its placeholder. */
export type Bind = (value: unknown) => string;

/** The conditions as one SQL expression (`TRUE` when there are none). */
export function postgresFilterSql(conditions: readonly FilterCondition[], bind: Bind): string {
  if (conditions.length === 0) return "TRUE";
  return conditions.map((c) => condition(c, bind)).join(" AND ");
}

function condition(c: FilterCondition, bind: Bind): string {
  const field = `doc${c.path.map((s) => ` -> ${bind(s)}::text`).join("")}`;
  switch (c.op) {
    case "exists":
      return c.operand ? `${field} IS NOT NULL` : `${field} IS NULL`;
    case "eq":
    case "ne": {
      const scalar = c.operand as FilterScalar;
      const nested = c.path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), scalar);
      // Never NULL: containment holds only when the field is present. Left bare so that the
      // planner can answer `doc @> ...` from the GIN index.
      const eq = `(doc @> ${bind(jsonbText(nested))}::jsonb AND ${field} = ${bind(jsonbText(scalar))}::jsonb)`;
      return c.op === "eq" ? eq : `NOT ${eq}`;
    }
    case "in":
    case "nin": {
      const list = bind(jsonbText(c.operand));
      const any = `COALESCE(${field} IN (SELECT jsonb_array_elements(${list}::jsonb)), FALSE)`;
      return c.op === "in" ? any : `NOT ${any}`;
    }
    default: {
      const operator = { gt: ">", gte: ">=", lt: "<", lte: "<=" }[c.op];
      if (typeof c.operand === "number") {
        return `COALESCE(jsonb_typeof(${field}) = 'number' AND ${field} ${operator} ${bind(String(c.operand))}::jsonb, FALSE)`;
      }
      return `COALESCE(jsonb_typeof(${field}) = 'string' AND (${field} #>> '{}') COLLATE "C" ${operator} ${bind(sanitize(c.operand as string))}::text, FALSE)`;
    }
  }
}

/**
 * JSON text jsonb accepts: jsonb refuses `\u0000` and lone surrogates, so in `doc` (and in
 * operands compared with it) they read as U+FFFD. The exact value is kept in `value`.
 */
export function jsonbText(value: unknown): string {
  return JSON.stringify(sanitizeDeep(value));
}

/** {@link jsonbText} for stored JSON text, which is returned as is when jsonb takes it. */
export function jsonbDocText(json: string): string {
  return json.includes("\\u0000") || /\\ud[89a-f]/i.test(json) ? jsonbText(JSON.parse(json)) : json;
}

function sanitizeDeep(value: unknown): unknown {
  if (typeof value === "string") return sanitize(value);
  if (Array.isArray(value)) return value.map(sanitizeDeep);
  if (value !== null && typeof value === "object") {
    // No prototype, so a "__proto__" key stays an ordinary key.
    const out: Record<string, unknown> = Object.create(null);
    for (const [k, v] of Object.entries(value)) out[sanitize(k)] = sanitizeDeep(v);
    return out;
  }
  return value;
}

function sanitize(text: string): string {
  return text.replaceAll("\u0000", "\uFFFD").replace(/[\uD800-\uDFFF]/gu, "\uFFFD");
}
