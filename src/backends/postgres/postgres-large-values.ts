/**
 * Large values in the PostgreSQL schema itself (`rewind_large_values`, migration 9): the default
 * {@link LargeValueTarget} of the PostgreSQL backend, and the references to them that garbage
 * collection needs (value rows whose tag names a hash).
 */
import type { LargeValueRef } from "../../checkpoint/checkpoint-backend.js";
import type { LargeValueEntry, LargeValueTarget } from "../../checkpoint/large-value-target.js";
import type { PgQueryResult } from "./postgres-types.js";

type Query = (text: string, values: unknown[]) => Promise<PgQueryResult>;

/** The schema's own store of large values; `s` is the quoted schema name. */
export class PostgresLargeValues implements LargeValueTarget {
  readonly name = "postgres";
  readonly #query: Query;
  readonly #s: string;

  constructor(query: Query, quotedSchema: string) {
    this.#query = query;
    this.#s = quotedSchema;
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

/** Every value row of the schema that references a large value, with its thread. */
export async function postgresLargeValueRefs(
  query: Query,
  quotedSchema: string,
): Promise<LargeValueRef[]> {
  const { rows } = await query(
    `SELECT thread_id, tag FROM ${quotedSchema}.rewind_blobs WHERE tag LIKE '%&%'
     UNION ALL SELECT thread_id, tag FROM ${quotedSchema}.rewind_writes WHERE tag LIKE '%&%'`,
    [],
  );
  return rows.map((row) => ({ threadId: row.thread_id as string, tag: row.tag as string }));
}
