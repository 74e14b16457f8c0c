/**
 * Large values in the SQLite file itself (`rewind_large_values`, checkpoint migration 9 or store
 * migration 3, whichever runs first): the default {@link LargeValueTarget} of the SQLite backend
 * and store, and the references to them that garbage collection needs (value rows whose tag
 * names a hash, which are never kept inline, and store items' `refs`).
 */

import { refTag } from "../../offload/large-value-frame.js";
import type {
  LargeValueEntry,
  LargeValueRef,
  LargeValueTarget,
} from "../../offload/large-value-target.js";
import { refsFromColumn } from "../../store/store-row.js";
import type { SqliteClient } from "./sqlite-client.js";
import { inlineOrSpilled, packSpilled } from "./sqlite-rows.js";

const SQL = {
  touch:
    "UPDATE rewind_large_values SET touched_at = max(touched_at, ?) WHERE tenant = ? AND hash = ?",
  insert: `INSERT INTO rewind_large_values (tenant, hash, touched_at, codec, bytes) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (tenant, hash) DO UPDATE SET touched_at = max(touched_at, excluded.touched_at)`,
  get: "SELECT codec, bytes FROM rewind_large_values WHERE tenant = ? AND hash = ?",
  list: "SELECT tenant, hex(hash) AS hash, length(bytes) AS size, touched_at FROM rewind_large_values",
  replace: "UPDATE rewind_large_values SET codec = ?, bytes = ? WHERE tenant = ? AND hash = ?",
  remove: "DELETE FROM rewind_large_values WHERE tenant = ? AND hash = ? AND touched_at < ?",
  refs: `SELECT t.thread_id, b.tag FROM rewind_blobs b JOIN rewind_threads t ON t.tid = b.tid
      WHERE b.tag LIKE '%&%'
    UNION ALL SELECT t.thread_id, w.tag FROM rewind_writes w JOIN rewind_threads t ON t.tid = w.tid
      WHERE w.tag LIKE '%&%'`,
  itemRefs: "SELECT tenant, refs FROM rewind_store_items WHERE refs IS NOT NULL",
  /** Which of the file's two schemas are there (the store's with its references column). */
  schemas: `SELECT
      EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'rewind_blobs') AS checkpoints,
      EXISTS (SELECT 1 FROM pragma_table_info('rewind_store_items') WHERE name = 'refs') AS items`,
};

/** The SQLite file's own store of large values; `client` is the backend's open connection. */
export class SqliteLargeValues implements LargeValueTarget {
  readonly name = "sqlite";
  readonly #client: () => SqliteClient;

  constructor(client: () => SqliteClient) {
    this.#client = client;
  }

  /**
   * In WAL mode a value's write is not synced on its own: the row that references it commits
   * after it, and syncing that commit makes every earlier frame of the log durable with it.
   * (A value lost to a power cut before then is referenced by nothing.)
   */
  async put(tenant: string, hash: string, bytes: Uint8Array, now: number): Promise<void> {
    const client = this.#client();
    const key = Buffer.from(hash, "hex");
    const synchronous = client.setting("journal_mode") === "wal" && client.setting("synchronous");
    const relax = typeof synchronous === "number" && synchronous > 1;
    if (relax) client.db.pragma("synchronous = NORMAL");
    try {
      if (client.stmt(SQL.touch).run(now, tenant, key).changes > 0) return;
      const packed = packSpilled(bytes);
      client.stmt(SQL.insert).run(tenant, key, now, packed.codec, packed.bytes);
    } finally {
      if (relax) client.db.pragma(`synchronous = ${synchronous}`);
    }
  }

  async get(tenant: string, hash: string): Promise<Uint8Array | undefined> {
    return this.#read(this.#client(), tenant, hash);
  }

  async *list(): AsyncIterable<LargeValueEntry> {
    const rows = this.#client().stmt(SQL.list).all() as {
      tenant: string;
      hash: string;
      size: number;
      touched_at: number;
    }[];
    for (const row of rows) {
      yield {
        tenant: row.tenant,
        hash: row.hash.toLowerCase(),
        bytes: row.size,
        touchedAt: row.touched_at,
      };
    }
  }

  async remove(tenant: string, hash: string, touchedBefore: number): Promise<boolean> {
    const key = Buffer.from(hash, "hex");
    return this.#client().stmt(SQL.remove).run(tenant, key, touchedBefore).changes > 0;
  }

  async replace(tenant: string, hash: string, previous: Uint8Array, next: Uint8Array) {
    const client = this.#client();
    const packed = packSpilled(next);
    // Compared and written under the write lock: no other write lands in between.
    return client.transaction(true, () => {
      const held = this.#read(client, tenant, hash);
      if (!held || !Buffer.from(held).equals(previous)) return false;
      client.stmt(SQL.replace).run(packed.codec, packed.bytes, tenant, Buffer.from(hash, "hex"));
      return true;
    });
  }

  #read(client: SqliteClient, tenant: string, hash: string): Uint8Array | undefined {
    const row = client.stmt(SQL.get).get(tenant, Buffer.from(hash, "hex")) as
      | { codec: number; bytes: Uint8Array }
      | undefined;
    if (!row) return undefined;
    const bytes = inlineOrSpilled({ value: null, spilled: row.bytes, codec: row.codec })!;
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
}

/**
 * Every reference to a large value in the file: value rows of the checkpoint tables (with their
 * thread) and store items (with their tenant), whichever of the two schemas the file holds.
 */
export function sqliteLargeValueRefs(client: SqliteClient): LargeValueRef[] {
  const has = client.stmt(SQL.schemas).get() as { checkpoints: number; items: number };
  const refs: LargeValueRef[] = [];
  if (has.checkpoints) {
    for (const row of client.stmt(SQL.refs).all() as { thread_id: string; tag: string }[]) {
      refs.push({ threadId: row.thread_id, tag: row.tag });
    }
  }
  if (has.items) {
    for (const row of client.stmt(SQL.itemRefs).all() as { tenant: string; refs: string }[]) {
      for (const hash of refsFromColumn(row.refs))
        refs.push({ tenant: row.tenant, tag: refTag(hash) });
    }
  }
  return refs;
}
