import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { ConflictError, createCheckpointer } from "../../src/index.js";
import { PostgresBackend } from "../../src/storage/postgres/index.js";
import { adminPool, freshSchema, PG_URL, requireConcurrentSessions } from "../support/postgres.js";

const pools: pg.Pool[] = [];
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
});
const newPool = () => {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
  pools.push(pool);
  return pool;
};

describe("PostgreSQL backend", () => {
  it("ten backends starting at once on separate pools migrate exactly once, none fails", async (context) => {
    requireConcurrentSessions(context);
    const schema = freshSchema();
    const backends = Array.from({ length: 10 }, () => new PostgresBackend(newPool(), { schema }));
    const results = await Promise.allSettled(backends.map((b) => b.setup()));
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    const { rows } = await adminPool().query(`SELECT version FROM "${schema}".rewind_migrations`);
    expect(rows.map((r) => r.version)).toEqual([1]);
  });

  it("compare-and-set from many connections at once lets exactly one writer win", async (context) => {
    requireConcurrentSessions(context);
    const schema = freshSchema();
    const writers = Array.from({ length: 8 }, () =>
      createCheckpointer(new PostgresBackend(newPool(), { schema })),
    );
    await writers[0]!.ready();
    const results = await Promise.allSettled(
      writers.map((w, i) =>
        w.put(
          {
            threadId: "race",
            id: `cp-${i}`,
            parentId: undefined,
            channelVersions: { x: `v${i}` },
            versionsSeen: {},
            metadata: { source: "input", step: -1 },
            updates: [{ channel: "x", version: `v${i}`, value: i }],
          },
          { expectedHead: null },
        ),
      ),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results.filter((r) => r.status === "rejected")) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
    }
    const { rows } = await adminPool().query(
      `SELECT count(*)::int AS n FROM "${schema}".rewind_checkpoints`,
    );
    expect(rows[0].n).toBe(1);
    const { rows: blobs } = await adminPool().query(
      `SELECT count(*)::int AS n FROM "${schema}".rewind_blobs`,
    );
    expect(blobs[0].n).toBe(1);
  });

  it("uses the caller's pool without closing it, and refuses a bad schema name", async () => {
    const pool = newPool();
    const checkpointer = createCheckpointer(new PostgresBackend(pool, { schema: freshSchema() }));
    await checkpointer.ready();
    await checkpointer.close();
    expect((await pool.query("SELECT 1 AS one")).rows[0].one).toBe(1);
    expect(() => new PostgresBackend(pool, { schema: 'x"; DROP TABLE y; --' })).toThrow(
      /plain identifier/,
    );
  });
});
