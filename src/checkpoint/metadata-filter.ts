/**
 * The reference meaning of a checkpoint metadata filter, for backends that evaluate it in code
 * (memory, and PostgreSQL for the rows whose exact text jsonb cannot hold): every filter key is an
 * own key of the metadata whose value equals the filter's value by deep JSON equality.
 */

/** Whether `metadataJson` has every filter key (own keys only) equal to its value. */
export function metadataMatches(
  metadataJson: string,
  filter: Readonly<Record<string, string>>,
): boolean {
  const metadata = JSON.parse(metadataJson) as Record<string, unknown>;
  for (const [key, expected] of Object.entries(filter)) {
    if (!Object.hasOwn(metadata, key) || !jsonEqual(metadata[key], JSON.parse(expected))) {
      return false;
    }
  }
  return true;
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every(
    (k) =>
      Object.hasOwn(b, k) &&
      jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}
