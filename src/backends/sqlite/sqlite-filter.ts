/**
 * Translates a metadata filter into SQL over the JSON text of `metadata`, with the semantics of
 * the memory backend: each top-level key must be present and deep-equal to the given value
 * (objects compared whatever their key order, arrays in order, `true` distinct from `1`).
 */
import { InvalidInputError } from "../../errors.js";

/** A WHERE fragment and its parameters, in order. */
export interface SqlFragment {
  readonly sql: string;
  readonly params: unknown[];
}

/**
 * Builds the condition for `filter` (top-level key -> JSON text of the expected value) against
 * the JSON column `column`. Keys go through `json_each`, never into a JSON path, so no key can
 * break out of the query. Rows whose metadata is not valid JSON match nothing.
 */
export function metadataFilterSql(
  filter: Readonly<Record<string, string>>,
  column: string,
): SqlFragment {
  const params: unknown[] = [];
  const counter = { next: 0 };
  const parts: string[] = [];
  for (const [key, json] of Object.entries(filter)) {
    let expected: unknown;
    try {
      expected = JSON.parse(json);
    } catch (cause) {
      throw new InvalidInputError(`filter value of "${key}" is not valid JSON`, { cause });
    }
    parts.push(member(column, key, expected, params, counter));
  }
  if (parts.length === 0) return { sql: "1", params };
  return {
    sql: `(CASE WHEN json_valid(${column}) THEN ${parts.join(" AND ")} ELSE 0 END)`,
    params,
  };
}

function member(
  container: string,
  key: string | number,
  expected: unknown,
  params: unknown[],
  counter: { next: number },
): string {
  const alias = `f${counter.next++}`;
  params.push(key);
  const inner = matches(alias, expected, params, counter);
  return `EXISTS (SELECT 1 FROM json_each(${container}) AS ${alias} WHERE ${alias}.key = ? AND ${inner})`;
}

function matches(alias: string, expected: unknown, params: unknown[], counter: { next: number }) {
  const type = `${alias}.type`;
  const value = `${alias}.value`;
  if (expected === null) return `${type} = 'null'`;
  switch (typeof expected) {
    case "boolean":
      return `${type} = '${expected ? "true" : "false"}'`;
    case "number":
      params.push(expected);
      return `${type} IN ('integer', 'real') AND ${value} = ?`;
    case "string":
      params.push(expected);
      return `${type} = 'text' AND ${value} = ?`;
  }
  if (Array.isArray(expected)) {
    const items = expected.map((item, i) => member(value, i, item, params, counter));
    return [`${type} = 'array'`, `json_array_length(${value}) = ${expected.length}`, ...items].join(
      " AND ",
    );
  }
  const entries = Object.entries(expected as Record<string, unknown>);
  const fields = entries.map(([k, item]) => member(value, k, item, params, counter));
  const count = `(SELECT count(*) FROM json_each(${value})) = ${entries.length}`;
  return [`${type} = 'object'`, count, ...fields].join(" AND ");
}
