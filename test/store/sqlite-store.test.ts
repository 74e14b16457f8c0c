import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { createSqliteStore, SqliteStoreBackend } from "../../src/storage/sqlite/sqlite-store.js";
import { storeConformance } from "../../src/testing/store-conformance.js";

const dir = mkdtempSync(join(tmpdir(), "rewind-store-"));
let files = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

storeConformance({
  name: "sqlite",
  createBackend: () => new SqliteStoreBackend({ path: join(dir, `store-${files++}.db`) }),
});

describe("sqlite store on a shared handle", () => {
  it("lives beside other tables, leaves the handle open, and names a corrupt row", async () => {
    const db = new Database(join(dir, "shared.db"));
    db.exec("CREATE TABLE app_data (x INTEGER)");
    const store = createSqliteStore({ database: db });
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
});
