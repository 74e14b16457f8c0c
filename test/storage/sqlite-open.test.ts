/**
 * Opening SQLite: the settings in force on the connections Rewind opens (the same for the
 * checkpointer and the store), and a path that is not a usable database named as such.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import {
  createSqliteCheckpointer,
  createSqliteStore,
  SqliteBackend,
} from "../../src/backends/sqlite/index.js";
import { SqliteStoreBackend } from "../../src/backends/sqlite/sqlite-store.js";
import { createCheckpointer } from "../../src/checkpoint/checkpointer.js";
import { Store } from "../../src/store/store.js";

const dir = mkdtempSync(join(tmpdir(), "rewind-sqlite-open-"));
let files = 0;
const file = () => join(dir, `db-${files++}.sqlite`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** SQLite's codes for PRAGMA synchronous. */
const NORMAL = 1;
const FULL = 2;

/** The `synchronous` value in force on the checkpoint and store connections of one setup. */
async function synchronousInForce(
  database: () => string | Database.Database,
  options: { synchronous?: "full" | "normal" },
) {
  const backend = new SqliteBackend(database(), options);
  const checkpointer = createCheckpointer(backend);
  const storeBackend = new SqliteStoreBackend(database(), options);
  const store = new Store(storeBackend);
  await Promise.all([checkpointer.ready(), store.ready()]);
  const values = {
    checkpoints: backend.client.setting("synchronous"),
    store: storeBackend.client.setting("synchronous"),
  };
  await Promise.all([checkpointer.close(), store.close()]);
  return values;
}

describe("SQLite durability setting", () => {
  it("fsyncs every commit by default (synchronous=FULL) on the checkpoint and store connections", async () => {
    expect(await synchronousInForce(file, {})).toEqual({ checkpoints: FULL, store: FULL });
  });

  it('runs synchronous=NORMAL on both when asked with { synchronous: "normal" }', async () => {
    expect(await synchronousInForce(file, { synchronous: "normal" })).toEqual({
      checkpoints: NORMAL,
      store: NORMAL,
    });
  });

  it("leaves a handle passed in as it is, unless the option is given", async () => {
    const db = new Database(file());
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    expect(await synchronousInForce(() => db, {})).toEqual({ checkpoints: NORMAL, store: NORMAL });
    expect(await synchronousInForce(() => db, { synchronous: "full" })).toEqual({
      checkpoints: FULL,
      store: FULL,
    });
    expect(db.open).toBe(true);
    db.close();
  });

  it("refuses an unknown mode before opening anything", () => {
    expect(() => createSqliteCheckpointer(file(), { synchronous: "off" as "full" })).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
    expect(() => createSqliteStore(file(), { synchronous: "extra" as "full" })).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
  });
});

describe("a path that is not a usable SQLite database", () => {
  const good = file();
  const seed = new Database(good);
  seed.exec("CREATE TABLE t (x); INSERT INTO t VALUES (1)");
  seed.close();
  const bytes = readFileSync(good);
  const targets: [string, () => string][] = [
    [
      "a truncated database",
      () => {
        const path = file();
        writeFileSync(path, bytes.subarray(0, 60));
        return path;
      },
    ],
    [
      "a file that is not a database",
      () => {
        const path = file();
        writeFileSync(path, "these are somebody's notes, not a database\n".repeat(50));
        return path;
      },
    ],
    [
      "a directory",
      () => {
        const path = file();
        mkdirSync(path);
        return path;
      },
    ],
    ["a path in a folder that does not exist", () => join(dir, "missing", "agent.sqlite")],
    [
      "a path under a regular file",
      () => {
        const path = file();
        writeFileSync(path, "x");
        return join(path, "agent.sqlite");
      },
    ],
  ];
  for (const [what, make] of targets) {
    it(`${what}: ConnectionError naming the path, driver error as cause, file untouched`, async () => {
      const path = make();
      const before = readFileOrNull(path);
      const checkpointer = createSqliteCheckpointer(path);
      const store = createSqliteStore(path);
      const errors = [
        await checkpointer.ready().catch((e: unknown) => e),
        await store.ready().catch((e: unknown) => e),
      ];
      await Promise.all([checkpointer.close(), store.close()]);
      for (const error of errors) {
        expect(error).toMatchObject({ name: "ConnectionError", code: "CONNECTION" });
        expect((error as Error).message).toContain(path);
        expect((error as Error).cause).toBeInstanceOf(Error);
      }
      expect(readFileOrNull(path)).toEqual(before);
    });
  }
});

function readFileOrNull(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch {
    return null;
  }
}
