/**
 * Large values in the PostgreSQL schema itself (`rewind_large_values`, checkpoint migration 9 or
 * store migration 3, whichever runs first): the default {@link LargeValueTarget} of the
 * PostgreSQL backend and store, and the references to them that garbage collection needs (value
 * rows whose tag names a hash, and store items' `refs`).
 */

import { refTag } from "../../offload/large-value-frame.js";
import type {
  LargeValueEntry,
  LargeValueRef,
  LargeValueTarget,
} from "../../offload/large-value-target.js";
import { refsFromColumn } from "../../store/store-row.js";
import type { PgQueryResult } from "./postgres-types.js";

type Query = (text: string, values: unknown[]) => Promise<PgQueryResult>;

/**
 * The schema's own store of large values; `quotedSchema` names the schema (a function when it is
 * only known once the storage is set up).
 */
export class PostgresLargeValues implements LargeValueTarget {
  readonly name = "postgres";
  readonly #query: Query;
  readonly #schema: () => string;

  constructor(query: Query, quotedSchema: string | (() => string)) {
    this.#query = query;
    this.#schema = typeof quotedSchema === "string" ? () => quotedSchema : quotedSchema;
  }

  get #s(): string {
    return this.#schema();
  }

  async put(tenant: string, hash: string, bytes: Uint8Array, now: number): Promise<void> {
    const key = Buffer.from(hash, "hex");
    const touched = await this.#query(
      `UPDATE ${this.#s}.rewind_large_values SET touched_at = greatest(touched_at, $3)
       WHERE tenant = $1 AND hash = $2`,
      [tenant, key, now],
    );
    if ((touched.rowCount ?? 0) > 0) return;
    await this.#query(
      `INSERT INTO ${this.#s}.rewind_large_values (tenant, hash, touched_at, bytes)
       VALUES ($1, $2, $3, $4) ON CONFLICT (tenant, hash)
       DO UPDATE SET touched_at = greatest(${this.#s}.rewind_large_values.touched_at, excluded.touched_at)`,
      [tenant, key, now, bufferOf(bytes)],
    );
  }

  async get(tenant: string, hash: string): Promise<Uint8Array | undefined> {
    const { rows } = await this.#query(
      `SELECT bytes FROM ${this.#s}.rewind_large_values WHERE tenant = $1 AND hash = $2`,
      [tenant, Buffer.from(hash, "hex")],
    );
    const bytes = rows[0]?.bytes as Buffer | undefined;
    return bytes && new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async *list(): AsyncIterable<LargeValueEntry> {
    const { rows } = await this.#query(
      `SELECT tenant, encode(hash, 'hex') AS hash, pg_column_size(bytes) AS size, touched_at
       FROM ${this.#s}.rewind_large_values`,
      [],
    );
    for (const row of rows) {
      yield {
        tenant: row.tenant,
        hash: row.hash,
        bytes: Number(row.size),
        touchedAt: Number(row.touched_at),
      };
    }
  }

  async remove(tenant: string, hash: string, touchedBefore: number): Promise<boolean> {
    const { rowCount } = await this.#query(
      `DELETE FROM ${this.#s}.rewind_large_values
       WHERE tenant = $1 AND hash = $2 AND touched_at < $3`,
      [tenant, Buffer.from(hash, "hex"), touchedBefore],
    );
    return (rowCount ?? 0) > 0;
  }

  async replace(tenant: string, hash: string, previous: Uint8Array, next: Uint8Array) {
    const { rowCount } = await this.#query(
      `UPDATE ${this.#s}.rewind_large_values SET bytes = $4
       WHERE tenant = $1 AND hash = $2 AND bytes = $3`,
      [tenant, Buffer.from(hash, "hex"), bufferOf(previous), bufferOf(next)],
    );
    return (rowCount ?? 0) > 0;
  }
}

function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Every reference to a large value in the schema: value rows of the checkpoint tables (with
 * their thread) and store items (with their tenant), whichever of the two the schema holds.
 */
export async function postgresLargeValueRefs(
  query: Query,
  quotedSchema: string,
): Promise<LargeValueRef[]> {
  const s = quotedSchema;
  const has = await query(
    `SELECT to_regclass('${s}.rewind_blobs') IS NOT NULL AS checkpoints,
       EXISTS (SELECT 1 FROM pg_attribute
         WHERE attrelid = to_regclass('${s}.rewind_store_items') AND attname = 'refs'
           AND NOT attisdropped) AS items`,
    [],
  );
  const refs: LargeValueRef[] = [];
  if (has.rows[0].checkpoints) {
    const { rows } = await query(
      `SELECT thread_id, tag FROM ${s}.rewind_blobs WHERE tag LIKE '%&%'
       UNION ALL SELECT thread_id, tag FROM ${s}.rewind_writes WHERE tag LIKE '%&%'`,
      [],
    );
    for (const row of rows)
      refs.push({ threadId: row.thread_id as string, tag: row.tag as string });
  }
  if (has.rows[0].items) {
    const { rows } = await query(
      `SELECT tenant, refs FROM ${s}.rewind_store_items WHERE refs IS NOT NULL`,
      [],
    );
    for (const row of rows) {
      for (const hash of refsFromColumn(row.refs)) {
        refs.push({ tenant: row.tenant as string, tag: refTag(hash) });
      }
    }
  }
  return refs;
}

/**
 * The table of a schema's large values, shared by the checkpoint tables and the store: created
 * by whichever schema migrates first, under a lock of its own (the two migrate under different
 * locks, and two concurrent `CREATE TABLE IF NOT EXISTS` can collide). `s` is a quoted plain
 * identifier (`quoteSchema`), so it can stand inside a string literal as it is.
 */
export function postgresLargeValuesTable(s: string): string {
  return `
  SELECT pg_advisory_xact_lock(hashtext('rewind:large-values:${s}'));
  CREATE TABLE IF NOT EXISTS ${s}.rewind_large_values (
    tenant TEXT NOT NULL,
    hash BYTEA NOT NULL,
    touched_at BIGINT NOT NULL,
    bytes BYTEA NOT NULL,
    PRIMARY KEY (tenant, hash)
  );`;
}
