/**
 * The row shape SQL store backends read back (the same columns on every engine), and the one
 * mapping from it to a {@link StoredItem}: the namespace decoded from its path, times as epoch
 * milliseconds whatever numeric type the driver hands over.
 */
import { decodeNamespace } from "./namespace-path.js";
import type { StoredItem } from "./store-backend.js";

type SqlNumber = string | number | bigint;

/** A store row as SQL backends select it (`path, key, value, created_at, updated_at, expires_at, refs`). */
export interface StoreRow {
  readonly path: string;
  readonly key: string;
  readonly value: string;
  readonly created_at: SqlNumber;
  readonly updated_at: SqlNumber;
  readonly expires_at: SqlNumber | null;
  /** The hashes of the large values the value references, space-separated; `null`: none. */
  readonly refs?: string | null;
}

/** The item a row holds. */
export function itemFromRow(row: StoreRow): StoredItem {
  return {
    namespace: decodeNamespace(row.path),
    key: row.key,
    value: row.value,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    ...(row.refs ? { refs: refsFromColumn(row.refs) } : {}),
  };
}

/** The hashes a non-null `refs` column holds. */
export function refsFromColumn(column: string): string[] {
  return column.split(" ");
}

/** The `refs` column of a put: the hashes space-separated, `null` for none. */
export function refsColumn(refs: readonly string[] | undefined): string | null {
  return refs && refs.length > 0 ? refs.join(" ") : null;
}
