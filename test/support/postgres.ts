/**
 * PostgreSQL for tests: the server named by REWIND_TEST_PG_URL, or the local one. Each caller
 * gets its own schema, dropped when the test file ends.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll } from "vitest";

export const PG_URL =
  process.env.REWIND_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

let admin: pg.Pool | undefined;
const schemas: string[] = [];

afterAll(async () => {
  if (!admin) return;
  for (const schema of schemas.splice(0))
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
  admin = undefined;
});

/** A fresh schema name, dropped after the file's tests. */
export function freshSchema(prefix = "rewind_test"): string {
  admin ??= new pg.Pool({ connectionString: PG_URL, max: 2 });
  const schema = `${prefix}_${randomBytes(6).toString("hex")}`;
  schemas.push(schema);
  return schema;
}

/** The shared admin pool (for corrupting rows and inspecting tables in tests). */
export function adminPool(): pg.Pool {
  admin ??= new pg.Pool({ connectionString: PG_URL, max: 2 });
  return admin;
}
