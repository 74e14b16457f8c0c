import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import {
  createPostgresCheckpointer,
  createPostgresStore,
} from "../../src/backends/postgres/index.js";
import { lastValue, START, StateGraph } from "../../src/index.js";
import { describeStoreBackend } from "../../src/testing/index.js";
import { describeOn } from "../support/backends.js";
import { PROPERTY_RUNS } from "../support/trial-count.js";

const url = process.env.REWIND_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const pool = new pg.Pool({ connectionString: url, max: 4 });
afterAll(() => pool.end());

const freshSchema = () => `rewind_store_test_${randomBytes(6).toString("hex")}`;
const dropSchema = (schema: string) => pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);

describeOn("postgres", (backend) =>
  describeStoreBackend(backend.name, { ...backend.stores, propertyRuns: PROPERTY_RUNS }),
);

describe("postgres store connections", () => {
  it("opens and ends its own pool from a connection string", async () => {
    const schema = freshSchema();
    const store = createPostgresStore(url, { schema });
    try {
      await store.forTenant("acme").put(["n"], "k", { at: new Date(5) });
      expect((await store.forTenant("acme").get(["n"], "k"))?.value).toEqual({ at: new Date(5) });
    } finally {
      await store.close();
      await dropSchema(schema);
    }
  });

  it("shares a pool with others and leaves it open", async () => {
    const schema = freshSchema();
    const a = createPostgresStore(pool, { schema });
    const b = createPostgresStore(pool, { schema });
    try {
      await Promise.all([a.ready(), b.ready()]);
      await a.forTenant("acme").put(["n"], "k", "from a");
      expect((await b.forTenant("acme").get(["n"], "k"))?.value).toBe("from a");
      await a.close();
      expect((await pool.query("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    } finally {
      await b.close();
      await dropSchema(schema);
    }
  });

  it("stores NUL characters and lone surrogates exactly, though filters read them as U+FFFD", async () => {
    const schema = freshSchema();
    const store = createPostgresStore(pool, { schema });
    try {
      const t = store.forTenant("acme");
      const value = { s: "a\u0000b", lone: "x\ud800", "k\u0000": 1 };
      await t.put(["n"], "k", value);
      expect((await t.get(["n"], "k"))?.value).toEqual(value);
      expect(await t.search(["n"], { filter: { s: "a\u0000b" } })).toHaveLength(1);
      expect(await t.search(["n"], { filter: { s: "a\ufffdb" } })).toHaveLength(1);
    } finally {
      await store.close();
      await dropSchema(schema);
    }
  });

  it("shares the checkpointer's pool and schema: a graph's memory outlives its thread", async () => {
    const schema = freshSchema();
    const store = createPostgresStore(pool, { schema });
    const checkpointer = createPostgresCheckpointer(pool, { schema });
    try {
      const app = new StateGraph({
        fact: lastValue<string | undefined>(),
        recalled: lastValue<string>(),
      })
        .addNode("remember", async (s, ctx) => {
          if (s.fact) await ctx.store.put(["user"], "fact", { text: s.fact });
          const item = await ctx.store.get<{ text: string }>(["user"], "fact");
          return { recalled: item?.value.text ?? "nothing" };
        })
        .addEdge(START, "remember")
        .compile({ checkpointer, store });
      await app.invoke({ fact: "aisle seat" }, { threadId: "t1", tenantId: "acme" });
      expect((await app.invoke({}, { threadId: "t2", tenantId: "acme" })).values.recalled).toBe(
        "aisle seat",
      );
      expect((await app.invoke({}, { threadId: "t3", tenantId: "globex" })).values.recalled).toBe(
        "nothing",
      );
    } finally {
      await store.close();
      await checkpointer.close();
      await dropSchema(schema);
    }
  });
});

describe("postgres store and checkpointer migrating one schema at once", () => {
  it("create their shared table of large values once, and share a file put through either", async () => {
    for (let round = 0; round < 4; round++) {
      const schema = freshSchema();
      // Each on a pool of its own: the two migrations run in parallel transactions.
      const store = createPostgresStore(url, { schema });
      const checkpointer = createPostgresCheckpointer(url, { schema });
      try {
        await Promise.all([store.ready(), checkpointer.ready()]);
        const file = `a file in a store item and in state ${round} `.repeat(5_000);
        await store.forTenant("acme").put(["files"], "f", { file });
        expect((await store.forTenant("acme").get(["files"], "f"))?.value).toEqual({ file });
        const { rows } = await pool.query(
          `SELECT count(*)::int AS n FROM "${schema}".rewind_large_values`,
        );
        expect(rows[0].n).toBe(1);
      } finally {
        await store.close();
        await checkpointer.close();
        await dropSchema(schema);
      }
    }
  });
});

describe("postgres store default schema", () => {
  const made: string[] = [];
  // DROP DATABASE makes the server write a checkpoint; with the soak runs writing beside it that
  // took more than a test's 30 s, so the databases are dropped together, once, with time to spare.
  afterAll(
    () => Promise.all(made.map((name) => pool.query(`DROP DATABASE ${name} WITH (FORCE)`))),
    300_000,
  );
  /** Runs `body` against a database of its own (the default schemas are shared names). */
  async function inOwnDatabase(body: (url: string) => Promise<void>): Promise<void> {
    const name = `rewind_store_default_${randomBytes(6).toString("hex")}`;
    await pool.query(`CREATE DATABASE ${name}`);
    made.push(name);
    const own = new URL(url);
    own.pathname = `/${name}`;
    await body(own.toString());
  }
  /** The test owns this pool, so it handles its 'error' events (the database is force-dropped). */
  const ownPool = (connectionString: string) => {
    const db = new pg.Pool({ connectionString, max: 2 });
    db.on("error", () => undefined);
    return db;
  };
  const tables = (db: pg.Pool) =>
    db
      .query(
        "SELECT to_regclass('rewind.rewind_store_items') IS NOT NULL AS rewind, to_regclass('public.rewind_store_items') IS NOT NULL AS public",
      )
      .then((r) => r.rows[0]);

  it('is the checkpointer\'s "rewind": one schema holds both when none is given', async () => {
    await inOwnDatabase(async (own) => {
      const db = ownPool(own);
      const store = createPostgresStore(db);
      const checkpointer = createPostgresCheckpointer(db);
      try {
        await Promise.all([store.forTenant("acme").put(["n"], "k", 1), checkpointer.ready()]);
        expect(await tables(db)).toEqual({ rewind: true, public: false });
      } finally {
        await store.close();
        await checkpointer.close();
        await db.end();
      }
    });
  });

  it('still finds a store an earlier Rewind made in "public" when no schema is given', async () => {
    await inOwnDatabase(async (own) => {
      const db = ownPool(own);
      try {
        const earlier = createPostgresStore(db, { schema: "public" });
        await earlier.forTenant("acme").put(["prefs"], "seat", "aisle");
        await earlier.close();
        const store = createPostgresStore(db);
        expect((await store.forTenant("acme").get(["prefs"], "seat"))?.value).toBe("aisle");
        await store.close();
        expect(await tables(db)).toEqual({ rewind: false, public: true });
      } finally {
        await db.end();
      }
    });
  });
});
