/**
 * Erasure of a tenant: its threads (live and archived), archived copies and store items go,
 * tombstones refuse late writes, the report counts what went, and afterwards nothing of the
 * tenant can be read through any API or found in the live rows of the database: every table of
 * the SQLite file and of the PostgreSQL schema is scanned for the tenant's name (as text and as
 * hex, for byte columns). Tombstones are the one kind of row left, by design: a thread's
 * tombstone keeps its key so a late write is refused; it holds no data.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { archiveThreads } from "../../src/archive/archive-threads.js";
import { DirectoryArchive } from "../../src/archive/directory-archive.js";
import { deleteTenant, deleteThreads } from "../../src/archive/erase.js";
import { PostgresBackend, PostgresStoreBackend } from "../../src/backends/postgres/index.js";
import { SqliteBackend, SqliteStoreBackend } from "../../src/backends/sqlite/index.js";
import type { Checkpointer } from "../../src/checkpoint/checkpointer.js";
import { createCheckpointer } from "../../src/checkpoint/checkpointer.js";
import { threadKey } from "../../src/checkpoint/thread-key.js";
import { ThreadDeletedError } from "../../src/errors.js";
import { newCheckpointId } from "../../src/ids.js";
import { createStore, type Store } from "../../src/store/store.js";
import { adminPool, freshSchema, PG_URL } from "../support/postgres.js";
import { APPENDING, fillHistory, fillStore } from "./archive-fixtures.js";

const root = mkdtempSync(join(tmpdir(), "rewind-erase-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Engine {
  readonly checkpointer: Checkpointer;
  readonly store: Store;
  /** Live rows (tombstones aside) of any table that contain `needle`, as "table: row". */
  scan(needle: string): Promise<string[]>;
  /** Tombstone rows naming `needle`. */
  tombstones(needle: string): Promise<number>;
}

function contains(text: string, needle: string): boolean {
  return text.includes(needle) || text.includes(Buffer.from(needle).toString("hex"));
}

function sqliteEngine(): Engine {
  const file = join(root, `erase-${Date.now()}.sqlite`);
  const checkpointer = createCheckpointer(new SqliteBackend(file), APPENDING);
  const store = createStore(new SqliteStoreBackend(file));
  const rows = (sql: string) => {
    const db = new Database(file, { readonly: true });
    try {
      return db.prepare(sql).all() as Record<string, unknown>[];
    } finally {
      db.close();
    }
  };
  const text = (row: Record<string, unknown>) =>
    Object.values(row)
      .map((v) =>
        v instanceof Uint8Array
          ? Buffer.from(v).toString("latin1") + Buffer.from(v).toString("hex")
          : String(v),
      )
      .join("|");
  return {
    checkpointer,
    store,
    async scan(needle) {
      const found: string[] = [];
      const tables = rows("SELECT name FROM sqlite_master WHERE type = 'table'");
      for (const { name } of tables) {
        for (const row of rows(`SELECT * FROM "${String(name)}"`)) {
          if (name === "rewind_threads" && row.deleted === 1) continue;
          if (contains(text(row), needle))
            found.push(`${String(name)}: ${text(row).slice(0, 120)}`);
        }
      }
      return found;
    },
    async tombstones(needle) {
      return rows("SELECT thread_id FROM rewind_threads WHERE deleted = 1").filter((r) =>
        String(r.thread_id).includes(needle),
      ).length;
    },
  };
}

function postgresEngine(): Engine {
  const schema = freshSchema("rewind_erase");
  const checkpointer = createCheckpointer(new PostgresBackend(PG_URL, { schema }), APPENDING);
  const store = createStore(new PostgresStoreBackend(PG_URL, { schema }));
  const pool = adminPool();
  return {
    checkpointer,
    store,
    async scan(needle) {
      const found: string[] = [];
      const { rows: tables } = await pool.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
        [schema],
      );
      for (const { table_name: name } of tables) {
        const { rows } = await pool.query(
          `SELECT row_to_json(t)::text AS j FROM "${schema}"."${name}" t`,
        );
        for (const { j } of rows) {
          if (name === "rewind_threads" && JSON.parse(j).deleted === true) continue;
          if (contains(j, needle)) found.push(`${name}: ${j.slice(0, 120)}`);
        }
      }
      return found;
    },
    async tombstones(needle) {
      const { rows } = await pool.query(
        `SELECT count(*)::int AS n FROM "${schema}".rewind_threads WHERE deleted AND thread_id LIKE $1`,
        [`%${needle}%`],
      );
      return rows[0].n;
    },
  };
}

const engines: [string, () => Engine][] = [
  ["sqlite", sqliteEngine],
  ["postgres", postgresEngine],
];

describe("erasure", () => {
  for (const [name, open] of engines) {
    it(`${name}: deleteTenant leaves nothing of the tenant readable or in any live row`, async () => {
      const { checkpointer, store, scan, tombstones } = open();
      await fillHistory(checkpointer, "keep");
      await fillHistory(checkpointer, "gone");
      await fillStore(store, "x");
      await store.forTenant("globex").put(["users"], "u", { text: "globex keeps this" });
      const globex = threadKey("g", "globex");
      const id = newCheckpointId();
      await checkpointer.put({
        threadId: globex,
        id,
        parentId: undefined,
        channelVersions: { v: id },
        versionsSeen: {},
        metadata: { source: "input", step: -1 },
        updates: [{ channel: "v", version: id, value: "globex data" }],
      });
      const target = new DirectoryArchive(join(root, `archive-${name}`));
      const acmeGone = threadKey("gone-t", "acme");
      await archiveThreads(checkpointer, target, { threadIds: ["gone-t"], tenantId: "acme" });
      expect((await scan("acme")).length).toBeGreaterThan(0);

      const report = await deleteTenant(checkpointer, "acme", { store, archive: target });
      expect(report).toStrictEqual({
        threadIds: [acmeGone, threadKey("keep-t", "acme")].sort(),
        checkpoints: 1,
        writes: 0,
        archives: 1,
        storeItems: 4,
      });
      // Through every API.
      for (const key of report.threadIds) {
        expect(await checkpointer.get(key)).toBeUndefined();
        expect(await checkpointer.door.readArchive(key)).toBeUndefined();
        const late = await checkpointer
          .put({
            threadId: key,
            id: newCheckpointId(),
            parentId: undefined,
            channelVersions: {},
            versionsSeen: {},
            metadata: { source: "input", step: -1 },
            updates: [],
          })
          .catch((e) => e);
        expect(late).toBeInstanceOf(ThreadDeletedError);
      }
      const everywhere = [];
      for await (const tuple of checkpointer.list({})) everywhere.push(tuple.checkpoint.threadId);
      expect(everywhere.some((key) => key.includes("acme"))).toBe(false);
      expect(everywhere).toContain(globex);
      expect(await store.forTenant("acme").search([], { limit: 100 })).toStrictEqual([]);
      expect(readdirSync(join(root, `archive-${name}`))).toStrictEqual([]);
      // In the database: no live row names the tenant; tombstones are all that is left of it.
      expect(await scan("acme")).toStrictEqual([]);
      expect(await tombstones("acme")).toBe(2);
      expect((await scan("globex")).length).toBeGreaterThan(0);
      // A rerun finds nothing more to remove.
      const again = await deleteTenant(checkpointer, "acme", { store, archive: target });
      expect(again).toMatchObject({ checkpoints: 0, archives: 0, storeItems: 0 });
      // The tenant starts again at once with the same file: it is stored anew, not assumed
      // present because this process stored it minutes ago.
      await fillStore(store, "x");
      const file = await store.forTenant("acme").get(["files", "x"], "notes.txt");
      expect(file?.value).toMatchObject({ name: "notes.txt" });
      await checkpointer.close();
      await store.close();
    });
  }

  it("deleteThreads removes listed threads and their archived copies, and reports them", async () => {
    const { checkpointer } = sqliteEngine();
    await fillHistory(checkpointer, "some");
    const target = new DirectoryArchive(join(root, "archive-some"));
    await archiveThreads(checkpointer, target, { threadIds: ["some-side"] });
    const report = await deleteThreads(
      checkpointer,
      { threadIds: ["some", "some-side"] },
      { archive: target },
    );
    expect(report).toMatchObject({
      threadIds: ["some", "some-side"],
      checkpoints: 16,
      writes: 3,
      archives: 1,
    });
    expect(await checkpointer.get("some")).toBeUndefined();
    expect(await checkpointer.get(threadKey("some-t", "acme"))).toBeDefined();
    await checkpointer.close();
  });
});
