import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { createSqliteCheckpointer } from "../../src/backends/sqlite/index.js";
import { createSqliteStore } from "../../src/backends/sqlite/sqlite-store.js";
import { SQLITE_STORE_MIGRATIONS } from "../../src/backends/sqlite/sqlite-store-migrations.js";
import { lastValue, START, StateGraph } from "../../src/index.js";
import { describeStoreBackend } from "../../src/testing/index.js";
import { describeOn } from "../support/backends.js";
import { PROPERTY_RUNS } from "../support/trial-count.js";

const dir = mkdtempSync(join(tmpdir(), "rewind-store-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeOn("sqlite", (backend) =>
  describeStoreBackend(backend.name, { ...backend.stores, propertyRuns: PROPERTY_RUNS }),
);

describe("sqlite store and checkpointer in one file", () => {
  it("share one table of large values, whichever migrates first", async () => {
    for (const storeFirst of [true, false]) {
      const file = join(dir, `large-values-${storeFirst}.db`);
      const store = createSqliteStore(file);
      const checkpointer = createSqliteCheckpointer(file);
      if (storeFirst) await store.ready();
      await checkpointer.ready();
      await store.ready();
      const text = `a file kept once ${storeFirst} `.repeat(6_000);
      await store.forTenant("acme").put(["files"], "f", { text });
      expect((await store.forTenant("acme").get(["files"], "f"))?.value).toEqual({ text });
      await store.close();
      await checkpointer.close();
      const db = new Database(file, { readonly: true });
      expect(db.prepare("SELECT count(*) AS n FROM rewind_large_values").get()).toEqual({ n: 1 });
      db.close();
    }
  });
});

describe("sqlite store on a shared handle", () => {
  it("lives beside other tables, leaves the handle open, and names a corrupt row", async () => {
    const db = new Database(join(dir, "shared.db"));
    db.exec("CREATE TABLE app_data (x INTEGER)");
    const store = createSqliteStore(db);
    const t = store.forTenant("acme");
    await t.put(["n"], "k", { when: new Date(0) });
    db.prepare("UPDATE rewind_store_items SET value = '{not json' WHERE key = 'k'").run();
    await expect(t.get(["n"], "k")).rejects.toMatchObject({
      name: "SerializationError",
      message: expect.stringContaining('"k"'),
    });
    await store.close();
    expect(db.open).toBe(true);
    expect(db.prepare("SELECT count(*) AS n FROM app_data").get()).toEqual({ n: 0 });
    db.close();
  });

  it("shares one file with the checkpointer: a graph's memory outlives its thread", async () => {
    const db = new Database(join(dir, "agent.db"));
    const store = createSqliteStore(db);
    const checkpointer = createSqliteCheckpointer(db);
    const app = new StateGraph({
      fact: lastValue<string | undefined>(),
      recalled: lastValue<string>(),
    })
      .addNode("remember", async (s, ctx) => {
        if (s.fact) await ctx.store.put(["user"], "fact", { text: s.fact, at: new Date(1) });
        const item = await ctx.store.get<{ text: string; at: Date }>(["user"], "fact");
        return { recalled: item ? `${item.value.text}@${item.value.at.getTime()}` : "nothing" };
      })
      .addEdge(START, "remember")
      .compile({ checkpointer, store });
    await app.invoke({ fact: "aisle seat" }, { threadId: "t1", tenantId: "acme" });
    const next = await app.invoke({}, { threadId: "t2", tenantId: "acme" });
    expect(next.values.recalled).toBe("aisle seat@1");
    const other = await app.invoke({}, { threadId: "t3", tenantId: "globex" });
    expect(other.values.recalled).toBe("nothing");
    await store.close();
    await checkpointer.close();
    expect(db.open).toBe(true);
    db.close();
  });

  it("refuses a schema newer than it knows, without touching it", async () => {
    const file = join(dir, "future.db");
    const first = createSqliteStore(file);
    await first.forTenant("acme").put(["n"], "k", "kept");
    await first.close();
    const db = new Database(file);
    db.prepare("INSERT INTO rewind_store_migrations (version, applied_at) VALUES (99, 0)").run();
    const later = createSqliteStore(db);
    await expect(later.forTenant("acme").get(["n"], "k")).rejects.toMatchObject({
      name: "MigrationError",
      message: expect.stringContaining("99"),
    });
    expect(db.prepare("SELECT value FROM rewind_store_items").get()).toEqual({ value: '"kept"' });
    await later.close();
    db.close();
  });

  it("upgrades a version-1 file in place, keeping its items", async () => {
    const file = join(dir, "v1.db");
    const db = new Database(file);
    db.exec(
      "CREATE TABLE rewind_store_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    );
    db.exec(SQLITE_STORE_MIGRATIONS[0]!);
    db.prepare("INSERT INTO rewind_store_migrations VALUES (1, 0)").run();
    db.prepare(
      "INSERT INTO rewind_store_items (tenant, path, key, value, created_at, updated_at) VALUES (?, ?, ?, ?, 5, 5)",
    ).run("acme", "n\u0001", "k", '"old"');
    db.close();
    const store = createSqliteStore(file, {
      index: { dims: 1, embed: async (texts) => texts.map(() => [1]) },
    });
    const t = store.forTenant("acme");
    expect((await t.get(["n"], "k"))?.value).toBe("old");
    await t.put(["n"], "new", "text");
    expect((await t.search(["n"], { query: "q" })).map((i) => i.key)).toEqual(["new"]);
    await store.close();
  });
});
