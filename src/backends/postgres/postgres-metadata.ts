/**
 * Metadata is queryable jsonb, but jsonb refuses two things JSON text may hold: the `\u0000`
 * escape and a lone surrogate escape (`\ud800`), both of which a user's string can produce. The
 * backend indexes a safe copy in which those escapes become literal text, keeps the exact text
 * beside it when the two differ, and checks filter matches against the exact text.
 */

// An escape pair forming a valid surrogate pair, or any single escape (consumed whole so that an
// escaped backslash followed by "u0000" is never mistaken for an escape).
const ESCAPE = /\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})|\\(u[0-9a-f]{4}|[^u])/gi;
const REFUSED = /^u(0000|d[89a-f][0-9a-f]{2})$/i;

/** JSON text jsonb accepts; the same text when nothing had to change (the common case). */
export function jsonbSafe(json: string): string {
  if (!json.includes("\\u")) return json;
  return json.replace(ESCAPE, (match, _high, _low, single: string | undefined) =>
    single !== undefined && REFUSED.test(single) ? `\\${match}` : match,
  );
}
