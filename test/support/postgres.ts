/**
 * PostgreSQL for tests: the server found by the global setup (test/setup/postgres.ts). Each
 * caller gets its own schema, dropped when the test file ends.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, inject } from "vitest";

export const PG_URL = inject("pgUrl");

/**
 * Empty on a real server. On the embedded PGlite fallback, the reason tests that need truly
 * concurrent sessions are skipped: pass it to the test context's `skip(PG_SERIAL_ONLY)`.
 */
export const PG_SERIAL_ONLY = inject("pgSerialOnly");

let admin: pg.Pool | undefined;
const schemas: string[] = [];
const pools: pg.Pool[] = [];

afterAll(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.end()));
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

/** A pool of its own (as a separate process has), of `max` connections, ended after the file's tests. */
export function testPool(max = 2): pg.Pool {
  const pool = new pg.Pool({ connectionString: PG_URL, max });
  pools.push(pool);
  return pool;
}

/** The shared admin pool (for corrupting rows and inspecting tables in tests). */
export function adminPool(): pg.Pool {
  admin ??= new pg.Pool({ connectionString: PG_URL, max: 2 });
  return admin;
}

/** Skips the calling test on the embedded fallback, with the reason; a no-op on a real server. */
export function requireConcurrentSessions(context: {
  skip(condition: boolean, note?: string): void;
}) {
  context.skip(PG_SERIAL_ONLY !== "", PG_SERIAL_ONLY);
}

/** Waits until `count` sessions whose query names `schema` wait for a lock. */
export async function waitForLockWaiters(schema: string, count: number): Promise<void> {
  for (;;) {
    const { rows } = await adminPool().query(
      `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE wait_event_type = 'Lock' AND position($1 in query) > 0`,
      [schema],
    );
    if (rows[0].n >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
