import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { newCheckpointId } from "../../src/backend.js";
import {
  createSqliteCheckpointer,
  migrateSqlite,
  SQLITE_MIGRATIONS,
  SQLITE_SCHEMA_VERSION,
  SqliteBackend,
  type SqliteDatabaseLike,
} from "../../src/backends/sqlite/index.js";
import { orderRun, packId } from "../../src/backends/sqlite/sqlite-rows.js";
import {
  appendChannel,
  type Checkpointer,
  createCheckpointer,
  InvalidInputError,
  lastValue,
  MigrationError,
  START,
  StateGraph,
} from "../../src/index.js";
import { putValue } from "../support/checkpoints.js";
import { nodeArgs } from "../support/ts-entry.js";
import { corruptSqliteCheckpoint } from "./sqlite-helpers.js";

const WORKER = join(dirname(fileURLToPath(import.meta.url)), "sqlite-process-worker.ts");

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "rewind-sqlite-backend-"));
  file = join(dir, "test.sqlite");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function put(checkpointer: Checkpointer, threadId: string, value: unknown, parent?: string) {
  const { id, stored } = putValue(checkpointer, threadId, value, parent);
  await stored;
  return id;
}

function count(db: Database.Database, sql: string): number {
  return (db.prepare(sql).get() as { n: number }).n;
}

/** A WAL handle on the test file whose statements come from `prepare` (given the real handle). */
function handleWith(
  prepare: (db: Database.Database, sql: string) => ReturnType<SqliteDatabaseLike["prepare"]>,
) {
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  const handle: SqliteDatabaseLike = {
    prepare: (sql) => prepare(db, sql),
    exec: (sql) => db.exec(sql),
    pragma: (sql, options) => db.pragma(sql, options),
    close: () => db.close(),
    get inTransaction() {
      return db.inTransaction;
    },
  };
  return { db, handle };
}

/** Whether `sql` is the reader's lookup of one chain link by its key (a short walk's step). */
const isLinkLookup = (sql: string) =>
  /^SELECT b\.kind\b[\s\S]*FROM rewind_blobs AS b\b[\s\S]*b\.version = \?$/.test(sql.trim());

/**
 * A handle on the test file whose chain reads run through `around` (given the read): the
 * recursive walk (`walk`, its rows) and a short walk's lookup of one link (`link`, a row or
 * undefined).
 */
function aroundChainReads(around: (read: () => unknown, kind: "walk" | "link") => unknown) {
  return handleWith((db, sql) => {
    const statement = db.prepare(sql);
    const link = isLinkLookup(sql);
    if (!link && !sql.includes("WITH RECURSIVE")) return statement;
    return {
      run: (...params: unknown[]) => statement.run(...params),
      get: (...params: unknown[]) =>
        link ? around(() => statement.get(...params), "link") : statement.get(...params),
      all: (...params: unknown[]) =>
        link
          ? statement.all(...params)
          : (around(() => statement.all(...params), "walk") as unknown[]),
    };
  });
}

/** The links the chain reads of a handle on the test file follow (a merged run counts its pieces). */
function countingLinks(links: { count: number }) {
  return aroundChainReads((read, kind) => {
    const got = read();
    if (kind === "link") links.count += got === undefined ? 0 : 1;
    else
      for (const row of got as { pieces: string | null }[])
        links.count += row.pieces ? JSON.parse(row.pieces).length : 1;
    return got;
  });
}

/**
 * A WAL handle on the test file that records the verb of every statement it runs, in order
 * (`LINK` for a chain link's lookup, `STAMP` for a head read's stamp of the file), and runs
 * `afterStamp` each time a stamp has been taken.
 */
function countedHandle(afterStamp?: () => void) {
  const ran: string[] = [];
  const { db, handle: counting } = handleWith((db, sql) => {
    const statement = db.prepare(sql);
    const count = <T>(call: () => T) => {
      const verb = sql.includes("pragma_data_version")
        ? "STAMP"
        : isLinkLookup(sql)
          ? "LINK"
          : sql.trim().split(/\s+/)[0]!.toUpperCase();
      ran.push(verb);
      const got = call();
      if (verb === "STAMP") afterStamp?.();
      return got;
    };
    return {
      run: (...params) => count(() => statement.run(...params)),
      get: (...params) => count(() => statement.get(...params)),
      all: (...params) => count(() => statement.all(...params)),
    };
  });
  return { db, ran, counting };
}

describe("SQLite migrations", () => {
  it("are applied once on first use and recorded by version", async () => {
    for (let i = 0; i < 2; i++) {
      const checkpointer = createSqliteCheckpointer(file);
      await checkpointer.ready();
      await checkpointer.close();
    }
    const db = new Database(file);
    const versions = db.prepare("SELECT version FROM rewind_migrations ORDER BY version").all();
    expect(versions).toEqual(
      Array.from({ length: SQLITE_SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })),
    );
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    db.close();
  });

  it("upgrade a database at version 3 (leases) to the latest (quarantine, effect ledger, pins), keeping its checkpoints and lease", async () => {
    // Rows and a lease as version 3 wrote them (no checksums), then the schema as it was then:
    // version 4 only adds the quarantine table, version 5 the effect ledger, 6 the pins.
    const old = new SqliteBackend(file);
    await old.setup();
    await old.putCheckpoint({
      checkpoint: {
        threadId: "t",
        ns: "",
        id: "cp-1",
        parentId: null,
        createdAt: "2026-01-01T00:00:00.000Z",
        channelVersions: { x: "cp-1" },
        metadata: JSON.stringify({ source: "input", step: -1 }),
        body: "{}",
      },
      blobs: [
        {
          channel: "x",
          version: "cp-1",
          kind: "full",
          prevVersion: null,
          depth: 0,
          value: { tag: "json", bytes: new TextEncoder().encode("41") },
        },
      ],
    });
    await old.acquireLease({ threadId: "t", owner: "old-owner", ttlMs: 600_000 });
    await old.close();
    const db = new Database(file);
    db.exec(
      "DROP TABLE rewind_large_values; DROP TABLE rewind_quarantine; DROP TABLE rewind_effects; DROP TABLE rewind_pins; ALTER TABLE rewind_threads DROP COLUMN archive_state; ALTER TABLE rewind_threads DROP COLUMN archive_stub; DELETE FROM rewind_migrations WHERE version >= 4",
    );
    db.close();
    const checkpointer = createSqliteCheckpointer(file);
    expect((await checkpointer.get("t"))?.checkpoint.values).toEqual({ x: 41 });
    expect(await checkpointer.readLease("t")).toMatchObject({
      owner: "old-owner",
      startedFrom: "cp-1",
    });
    expect((await checkpointer.repairThread("t")).quarantined).toEqual([]);
    expect(await checkpointer.listQuarantined("t")).toEqual([]);
    await checkpointer.deleteThread("t");
    expect(await checkpointer.get("t")).toBeUndefined();
    await checkpointer.close();
    const after = new Database(file);
    expect(count(after, "SELECT max(version) AS n FROM rewind_migrations")).toBe(
      SQLITE_SCHEMA_VERSION,
    );
    after.close();
  });

  it("refuse a database written by a newer Rewind, and change nothing", async () => {
    const db = new Database(file);
    migrateSqlite(db);
    db.prepare("INSERT INTO rewind_migrations (version, applied_at) VALUES (?, 0)").run(
      SQLITE_SCHEMA_VERSION + 1,
    );
    const checkpointer = createSqliteCheckpointer(db);
    const error = await checkpointer.ready().catch((e) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect(error.message).toContain("newer");
    expect(count(db, "SELECT count(*) AS n FROM rewind_migrations")).toBe(
      SQLITE_SCHEMA_VERSION + 1,
    );
    db.close();
  });

  it("roll back every pending migration when one fails", () => {
    const db = new Database(file);
    const broken = [...SQLITE_MIGRATIONS, "CREATE TABLE half_done (a); SELECT * FROM nowhere;"];
    expect(() => migrateSqlite(db, broken)).toThrow(MigrationError);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    expect(tables).toEqual([]);
    expect(migrateSqlite(db)).toBe(SQLITE_SCHEMA_VERSION);
    db.close();
  });
});

describe("SQLite database handles", () => {
  it("rejects what is neither a path nor a database", () => {
    expect(() => new SqliteBackend("")).toThrow(InvalidInputError);
    expect(() => new SqliteBackend({} as SqliteDatabaseLike)).toThrow(InvalidInputError);
    expect(() => new SqliteBackend(file, { busyTimeoutMs: -1 })).toThrow(InvalidInputError);
  });

  it("uses an open handle as is and leaves it open on close", async () => {
    const db = new Database(file);
    const checkpointer = createSqliteCheckpointer(db);
    const id = await put(checkpointer, "t", "kept");
    await checkpointer.close();
    expect(db.open).toBe(true);
    expect(count(db, "SELECT count(*) AS n FROM rewind_checkpoints")).toBe(1);
    const again = createSqliteCheckpointer(db);
    expect((await again.get("t"))?.checkpoint).toMatchObject({ id, values: { v: "kept" } });
    await again.close();
    db.close();
  });

  it("joins the caller's transaction when called inside it on a shared handle", async () => {
    const db = new Database(file);
    const backend = new SqliteBackend(db);
    const checkpointer = createCheckpointer(backend);
    await checkpointer.ready();
    const encoded = checkpointer.encode({
      threadId: "joined",
      id: newCheckpointId(),
      parentId: undefined,
      channelVersions: {},
      versionsSeen: {},
      metadata: { source: "input", step: -1 },
      updates: [],
    });
    const attempt = db.transaction(() => {
      void backend.putCheckpoint({ checkpoint: encoded.checkpoint, blobs: [] });
      throw new Error("the caller changes its mind");
    });
    expect(attempt).toThrow("changes its mind");
    expect(await checkpointer.get("joined")).toBeUndefined();
    db.transaction(
      () => void backend.putCheckpoint({ checkpoint: encoded.checkpoint, blobs: [] }),
    )();
    expect((await checkpointer.get("joined"))?.checkpoint.id).toBe(encoded.checkpoint.id);
    await checkpointer.close();
    db.close();
  });
});

describe("SQLite storage layout", () => {
  it("stores values as BLOBs beside their serializer tag, never as text", async () => {
    const checkpointer = createSqliteCheckpointer(file);
    const large = "x".repeat(600);
    const id = await put(checkpointer, "t", large);
    await checkpointer.putWrites({ threadId: "t", checkpointId: id }, [
      { taskId: "a", taskPath: "", idx: 0, channel: "c", value: new Uint8Array([0xff, 0]) },
    ]);
    await put(checkpointer, "small", "héllo");
    await checkpointer.close();
    const db = new Database(file);
    // Tags carry the value's checksum: `~` + 8 hex digits + `~` + the serializer's tag.
    expect(db.prepare("SELECT typeof(value) AS type, tag FROM rewind_blobs").all()).toEqual([
      { type: "blob", tag: expect.stringMatching(/^~[0-9a-f]{8}~json$/) },
    ]);
    expect(db.prepare("SELECT typeof(value) AS type, tag FROM rewind_writes").all()).toEqual([
      { type: "blob", tag: expect.stringMatching(/^~[0-9a-f]{8}~bytes$/) },
    ]);
    // A small value lives in its checkpoint's row, still as bytes beside its tag.
    const row = db.prepare("SELECT typeof(vals) AS type, vals FROM rewind_checkpoints").all() as {
      type: string;
      vals: Buffer | null;
    }[];
    expect(row.map((r) => r.type).sort()).toEqual(["blob", "null"]);
    const vals = row.find((r) => r.vals)!.vals!;
    expect(vals.includes(Buffer.from("json"))).toBe(true);
    expect(vals.includes(Buffer.from(JSON.stringify("héllo")))).toBe(true);
    db.close();
  });

  it("keeps a small step's values in its checkpoint row; carried and appended values still rebuild", async () => {
    const checkpointer = createCheckpointer(new SqliteBackend(file), {
      minAppendDepth: 2,
      appendRatio: 1,
      maxAppendDepth: 3,
    });
    const ids: string[] = [];
    for (let step = 0; step < 8; step++) {
      const parent = ids.at(-1);
      const id = newCheckpointId(parent);
      const log = Array.from({ length: step + 1 }, (_, i) => i);
      await checkpointer.put(
        {
          threadId: "steps",
          id,
          parentId: parent,
          channelVersions: { count: id, log: id, note: ids[0] ?? id },
          versionsSeen: {},
          metadata: { source: "loop", step },
          updates: [
            { channel: "count", version: id, value: step },
            {
              channel: "log",
              version: id,
              value: log,
              ...(parent ? { append: { prevVersion: parent, items: [step] } } : {}),
            },
            ...(step === 0 ? [{ channel: "note", version: id, value: "first" }] : []),
          ],
        },
        { expectedHead: parent ?? null },
      );
      ids.push(id);
    }
    for (const [step, id] of ids.entries()) {
      const loaded = await checkpointer.get("steps", { checkpointId: id });
      expect(loaded?.checkpoint.values).toStrictEqual({
        count: step,
        log: Array.from({ length: step + 1 }, (_, i) => i),
        note: "first",
      });
    }
    await checkpointer.close();
    const db = new Database(file);
    // Only append deltas have rows of their own; every full value sits in its checkpoint's row.
    expect(count(db, "SELECT count(*) AS n FROM rewind_blobs WHERE kind NOT IN (1, 3)")).toBe(0);
    expect(
      count(db, "SELECT count(*) AS n FROM rewind_blobs WHERE kind IN (1, 3)"),
    ).toBeGreaterThan(0);
    expect(count(db, "SELECT count(*) AS n FROM rewind_checkpoints WHERE vals IS NULL")).toBe(0);
    db.close();
  });

  it("puts a merged run's pieces and bytes oldest first, whatever order SQLite joined them in", () => {
    // Pieces as the reader selects them: tag, length, depth, raw prev_version, position.
    const packed = "0".repeat(31) + "A";
    const pieces = [
      ["t2", 9, 2, "t:v1", 1],
      ["t3", 2, 3, packed, 0],
      ["t1", 5, 1, "t:base", 2],
    ];
    // Joined in that order: piece 2's `"b","c"`, piece 3 empty (`[]`, no slice), piece 1's `"a"`.
    const run = orderRun(Buffer.from('["b","c","a"]'), JSON.stringify(pieces));
    expect(Buffer.from(run.value).toString()).toBe('["a","b","c"]');
    expect(run.pieces).toEqual([
      { tag: "t1", length: 5, depth: 1, prevVersion: "base" },
      { tag: "t2", length: 9, depth: 2, prevVersion: "v1" },
      { tag: "t3", length: 2, depth: 3, prevVersion: "00000000-0000-0000-0000-00000000000a" },
    ]);
    expect(
      Buffer.from(orderRun(Buffer.from("[]"), JSON.stringify([pieces[1]])).value).toString(),
    ).toBe("[]");
    // Bytes that do not match the pieces' lengths are damage, never a silently cut value.
    expect(() => orderRun(Buffer.from('["b","c"]'), JSON.stringify(pieces))).toThrow(
      /do not match/,
    );
    expect(() => orderRun(Buffer.from('["b","c","a","d"]'), JSON.stringify(pieces))).toThrow(
      /do not match/,
    );
  });

  it("hands a long append chain over merged, in order, across spilled, empty and tagged deltas", async () => {
    const backend = new SqliteBackend(file);
    const checkpointer = createCheckpointer(backend, {
      minAppendDepth: 1000,
      appendRatio: 1000,
      maxAppendDepth: 1000,
    });
    const large = "a long message ".repeat(400);
    const itemsAt = (step: number): unknown[] =>
      step === 5
        ? [large]
        : step === 7
          ? []
          : step === 9
            ? [new Date(Date.UTC(2026, 0, step)), { n: step }]
            : [`m${step}`];
    const ids: string[] = [];
    const expected: unknown[][] = [];
    for (let step = 0; step < 40; step++) {
      const parent = ids.at(-1);
      const id = newCheckpointId(parent);
      const value = [...(expected.at(-1) ?? []), ...itemsAt(step)];
      await checkpointer.put(
        {
          threadId: "chat",
          id,
          parentId: parent,
          channelVersions: { log: id },
          versionsSeen: {},
          metadata: { source: "loop", step },
          updates: [
            {
              channel: "log",
              version: id,
              value,
              ...(parent ? { append: { prevVersion: parent, items: itemsAt(step) } } : {}),
            },
          ],
        },
        { expectedHead: parent ?? null },
      );
      ids.push(id);
      expected.push(value);
    }
    for (const [step, id] of ids.entries()) {
      const loaded = await checkpointer.get("chat", { checkpointId: id });
      expect(loaded?.checkpoint.values.log).toStrictEqual(expected[step]);
    }
    // The head's chain: the spilled delta at step 5 splits it; the 34 deltas after it come merged.
    const head = await backend.getCheckpoint("chat", "", ids.at(-1));
    const chain = head!.blobs.log!;
    expect(chain.map((b) => b.kind)).toEqual([
      "full",
      "append",
      "append",
      "append",
      "append",
      "append",
      "append",
    ]);
    expect(chain.at(-1)).toMatchObject({ version: ids.at(-1), depth: 39, prevVersion: ids[5] });
    await checkpointer.close();
  });

  it("keeps the first write of a value, whether it went into a checkpoint row or the table", async () => {
    const checkpointer = createSqliteCheckpointer(file);
    const write = (id: string, versions: Record<string, string>, values: Record<string, unknown>) =>
      checkpointer.put({
        threadId: "first",
        id,
        parentId: undefined,
        channelVersions: versions,
        versionsSeen: {},
        metadata: { source: "update", step: 0 },
        updates: Object.entries(values).map(([channel, value]) => ({
          channel,
          version: versions[channel]!,
          value,
        })),
      });
    const [a, b, later, carrier] = [1, 2, 3, 4].map(() => newCheckpointId()).sort();
    // A rewrite of `a`: its row keeps v; the new channel w goes to the table.
    await write(a!, { v: a! }, { v: "first" });
    await write(a!, { v: a!, w: a! }, { v: "second", w: "added" });
    await write(carrier!, { v: a! }, {});
    // `b` stores x at the version `later` will use; `later` writing x again does not replace it.
    await write(b!, { x: later! }, { x: "early" });
    await write(later!, { x: later! }, { x: "late" });
    expect((await checkpointer.get("first", { checkpointId: a }))?.checkpoint.values).toStrictEqual(
      { v: "first", w: "added" },
    );
    expect(
      (await checkpointer.get("first", { checkpointId: carrier }))?.checkpoint.values,
    ).toStrictEqual({ v: "first" });
    for (const id of [b, later]) {
      const loaded = await checkpointer.get("first", { checkpointId: id });
      expect(loaded?.checkpoint.values).toStrictEqual({ x: "early" });
    }
    await checkpointer.close();
  });

  it("reads a file written before values moved into checkpoint rows", async () => {
    const db = new Database(file);
    migrateSqlite(db as unknown as SqliteDatabaseLike, SQLITE_MIGRATIONS.slice(0, 1));
    db.exec(`
      INSERT INTO rewind_threads (thread_id) VALUES ('old');
      INSERT INTO rewind_checkpoints (tid, ns, id, parent_id, created_at, versions, metadata, body)
        VALUES (1, '', '0-old', NULL, 0, '{"v":null}', '{"source":"input","step":-1}', '{}');
      INSERT INTO rewind_blobs (tid, ns, channel, version, kind, prev_version, depth, tag, value)
        VALUES (1, '', 'v', '0-old', 0, NULL, 0, 'json', CAST('"from version 1"' AS BLOB));
    `);
    db.close();
    const checkpointer = createSqliteCheckpointer(file);
    expect((await checkpointer.get("old"))?.checkpoint.values).toStrictEqual({
      v: "from version 1",
    });
    const next = await put(checkpointer, "old", "new", "0-old");
    expect((await checkpointer.get("old"))?.checkpoint.id).toBe(next);
    expect((await checkpointer.get("old"))?.checkpoint.values).toStrictEqual({ v: "new" });
    await checkpointer.close();
  });

  it("moves large values out of line, compressed, and frees them with their thread", async () => {
    // Values kept in their rows (large values by hash are tested in test/storage/large-values).
    const checkpointer = createSqliteCheckpointer(file, { largeValues: false });
    const big = "a long message ".repeat(20_000);
    const id = await put(checkpointer, "gone", big);
    await put(checkpointer, "kept", big);
    const key = { threadId: "gone", checkpointId: id };
    const write = { taskId: "t", taskPath: "", channel: "c" };
    await checkpointer.putWrites(key, [{ ...write, idx: 0, value: big }]);
    await checkpointer.putWrites(key, [{ ...write, idx: 0, value: `${big}ignored` }]);
    await checkpointer.putWrites(key, [{ ...write, idx: -1, value: big }]);
    await checkpointer.putWrites(key, [{ ...write, idx: -1, value: `${big}replaced` }]);
    // A later checkpoint naming the stored version again: the first write stays, and the value
    // spilled for the ignored one is not left behind.
    const later = newCheckpointId(id);
    await checkpointer.put({
      threadId: "gone",
      id: later,
      parentId: id,
      channelVersions: { v: id },
      versionsSeen: {},
      metadata: { source: "loop", step: 1 },
      updates: [{ channel: "v", version: id, value: `${big}ignored` }],
    });
    expect((await checkpointer.get("gone"))?.checkpoint.values.v).toBe(big);
    const db = new Database(file);
    expect(count(db, "SELECT count(*) AS n FROM rewind_values")).toBe(4);
    expect(count(db, "SELECT max(length(bytes)) AS n FROM rewind_values")).toBeLessThan(
      big.length / 20,
    );
    const loaded = await checkpointer.get("gone", { checkpointId: id });
    expect(loaded?.checkpoint.values.v).toBe(big);
    expect(loaded?.pendingWrites.map((w) => w.value)).toEqual([`${big}replaced`, big]);
    await checkpointer.deleteThread("gone");
    expect(count(db, "SELECT count(*) AS n FROM rewind_values")).toBe(1);
    expect((await checkpointer.get("kept"))?.checkpoint.values.v).toBe(big);
    await checkpointer.close();
    db.close();
  });

  it("stores dense out-of-line values as they are: only what compresses well is deflated", async () => {
    const checkpointer = createSqliteCheckpointer(file, { largeValues: false });
    // Random base64 (a file, an image): deflate would save about a quarter, for most of a put's
    // time; message text saves far more.
    const dense = randomBytes(75_000).toString("base64");
    const text = "a long message ".repeat(7_000);
    const denseId = await put(checkpointer, "dense", dense);
    const textId = await put(checkpointer, "text", text);
    const db = new Database(file);
    const stored = (thread: string, id: string) =>
      db
        .prepare(
          `SELECT v.codec, length(v.bytes) AS n FROM rewind_blobs b JOIN rewind_threads t USING (tid)
           JOIN rewind_values v ON v.id = b.value_ref WHERE t.thread_id = ? AND b.version = ?`,
        )
        .get(thread, packId(id)) as { codec: number; n: number };
    expect(stored("dense", denseId).codec).toBe(0);
    expect(stored("dense", denseId).n).toBeGreaterThan(dense.length);
    expect(stored("text", textId).codec).toBe(1);
    expect(stored("text", textId).n).toBeLessThan(text.length / 20);
    expect((await checkpointer.get("dense"))?.checkpoint.values.v).toBe(dense);
    expect((await checkpointer.get("text"))?.checkpoint.values.v).toBe(text);
    await checkpointer.close();
    db.close();
  });

  it("lists in pages: stopping early reads one page, not the whole history", async () => {
    let fetched = 0;
    const { db, handle: counting } = handleWith((db, sql) => {
      const statement = db.prepare(sql);
      return {
        run: (...params) => statement.run(...params),
        get: (...params) => statement.get(...params),
        all: (...params) => {
          const rows = statement.all(...params);
          if (sql.includes("FROM rewind_checkpoints")) fetched += rows.length;
          return rows;
        },
      };
    });
    const checkpointer = createSqliteCheckpointer(counting);
    let parent: string | undefined;
    for (let i = 0; i < 450; i++) parent = await put(checkpointer, "long", i, parent);
    fetched = 0;
    let seen = 0;
    for await (const _ of checkpointer.list({ threadId: "long" })) if (++seen === 3) break;
    expect(fetched).toBeLessThanOrEqual(100);
    fetched = 0;
    seen = 0;
    for await (const _ of checkpointer.list({ threadId: "long", includeValues: false })) seen++;
    expect(seen).toBe(450);
    expect(fetched).toBe(450);
    await checkpointer.close();
    db.close();
  });

  it("lists a thread across namespaces newest first (id, then namespace), each namespace a range scan, never a sort", async () => {
    const plans: string[] = [];
    const { db, handle: explained } = handleWith((db, sql) => {
      if (sql.startsWith("SELECT") && sql.includes("FROM rewind_checkpoints AS c")) {
        const nulls = Array.from({ length: (sql.match(/\?/g) ?? []).length }, () => null);
        const plan = db
          .prepare(`EXPLAIN QUERY PLAN ${sql}`)
          .raw()
          .all(...nulls) as unknown[][];
        plans.push(plan.map((row) => String(row.at(-1))).join("; "));
      }
      return db.prepare(sql);
    });
    const checkpointer = createSqliteCheckpointer(explained);
    const stored: { id: string; ns: string }[] = [];
    const putIn = async (ns: string, id: string) => {
      await checkpointer.put({
        threadId: "nss",
        ns,
        id,
        parentId: undefined,
        channelVersions: { v: id },
        versionsSeen: {},
        metadata: { source: "loop", step: stored.length, even: stored.length % 2 === 0 },
        updates: [{ channel: "v", version: id, value: id }],
      });
      stored.push({ id, ns });
    };
    // 250 checkpoints over three namespaces (more than two pages of each listing), one id in two
    // namespaces, and ids that only code-point order sorts right (U+E000 after an astral one in
    // UTF-16 units, before it in UTF-8).
    const namespaces = ["", "sub:1", "sub:2"];
    let parent: string | undefined;
    for (let i = 0; i < 250; i++) {
      parent = newCheckpointId(parent);
      await putIn(namespaces[i % 3]!, parent);
    }
    await putIn("sub:2", parent!);
    await putIn("", "\u{1F600}-late");
    await putIn("sub:1", "\uE000-late");
    const byCodePoint = (a: string, b: string) =>
      Buffer.compare(Buffer.from(a), Buffer.from(b)) || 0;
    const expected = [...stored]
      .sort((a, b) => byCodePoint(b.id, a.id) || byCodePoint(b.ns, a.ns))
      .map((c) => `${c.ns}/${c.id}`);
    const listed = async (options: Record<string, unknown>) => {
      const out: string[] = [];
      for await (const t of checkpointer.list({ threadId: "nss", ...options }))
        out.push(`${t.checkpoint.ns}/${t.checkpoint.id}`);
      return out;
    };
    plans.length = 0;
    expect(await listed({ includeValues: false })).toEqual(expected);
    expect(await listed({})).toEqual(expected);
    expect(await listed({ limit: 7 })).toEqual(expected.slice(0, 7));
    const before = stored[200]!.id;
    expect(await listed({ before, includeValues: false })).toEqual(
      expected.filter((key) => byCodePoint(key.slice(key.indexOf("/") + 1), before) < 0),
    );
    const evenKeys = new Set(stored.filter((_, i) => i % 2 === 0).map((c) => `${c.ns}/${c.id}`));
    expect(await listed({ filter: { even: true }, includeValues: false })).toEqual(
      expected.filter((key) => evenKeys.has(key)),
    );
    expect(plans.length).toBeGreaterThan(0);
    for (const plan of plans) expect(plan).not.toContain("TEMP B-TREE");
    // A thread with many namespaces (a subgraph task each) is listed by one sorted query, in
    // the same order.
    for (let i = 0; i < 9; i++) await putIn(`task:${i}`, newCheckpointId(parent));
    const all = [...stored]
      .sort((a, b) => byCodePoint(b.id, a.id) || byCodePoint(b.ns, a.ns))
      .map((c) => `${c.ns}/${c.id}`);
    expect(await listed({ includeValues: false })).toEqual(all);
    expect(await listed({ limit: 12 })).toEqual(all.slice(0, 12));
    await checkpointer.close();
    db.close();
  });
});

describe("SQLite writes", () => {
  it("a leased, compare-and-set put with inline values runs one read, one insert, begin and commit", async () => {
    const { db, ran, counting } = countedHandle();
    const checkpointer = createSqliteCheckpointer(counting);
    const lease = (await checkpointer.acquireLease("t", "me", 60_000))!;
    const fence = { owner: lease.owner, token: lease.token };
    const first = await put(checkpointer, "t", "a");
    const id = newCheckpointId(first);
    ran.length = 0;
    await checkpointer.put(
      {
        threadId: "t",
        id,
        parentId: first,
        channelVersions: { v: id, w: id },
        versionsSeen: {},
        metadata: { source: "loop", step: 1 },
        updates: [
          { channel: "v", version: id, value: "b" },
          { channel: "w", version: id, value: 2 },
        ],
      },
      { expectedHead: first, fence },
    );
    // The tombstone, the fence, the head and the clash of its own values: one statement.
    expect(ran).toEqual(["BEGIN", "SELECT", "INSERT", "COMMIT"]);
    const stale = { ...fence, token: fence.token + 1 };
    await expect(put(checkpointer, "t", "c", first)).rejects.toMatchObject({ code: "CONFLICT" });
    await expect(
      checkpointer.put(
        {
          threadId: "t",
          id: newCheckpointId(id),
          parentId: id,
          channelVersions: {},
          versionsSeen: {},
          metadata: { source: "loop", step: 2 },
          updates: [],
        },
        { expectedHead: id, fence: stale },
      ),
    ).rejects.toMatchObject({ code: "LEASE_LOST" });
    expect((await checkpointer.get("t"))?.checkpoint.values).toEqual({ v: "b", w: 2 });
    await checkpointer.close();
    db.close();
  });
});

describe("SQLite reads", () => {
  it("finds pending writes under every form of checkpoint id, and none where there are none", async () => {
    const checkpointer = createSqliteCheckpointer(file);
    const canonical = "01234567-89ab-7cde-8f01-23456789abcd";
    // Stored as text: upper case, not a UUID, and the canonical id's 32 digits without dashes
    // (whose digits are the canonical id's packed bytes: neither may see the other's writes).
    const ids = [canonical, canonical.toUpperCase(), "ckpt-7", canonical.replaceAll("-", "")];
    const writeTo = async (threadId: string, checkpointId: string, taskId: string) =>
      checkpointer.putWrites({ threadId, checkpointId }, [
        { taskId, taskPath: "", idx: 0, channel: "v", value: taskId },
      ]);
    // Every id on a thread of its own, and once more on thread "s", all four side by side.
    for (const [i, id] of ids.entries()) {
      await putValue(checkpointer, `t${i}`, "a", undefined, id).stored;
      const head = (await checkpointer.get("s"))?.checkpoint.id;
      await putValue(checkpointer, "s", "a", head, id).stored;
      // The canonical id gets none on its own thread; every id gets one on "s".
      if (i > 0) await writeTo(`t${i}`, id, `task-${i}`);
      await writeTo("s", id, `task-${i}`);
    }
    const tasks = async (read: ReturnType<Checkpointer["get"]>) =>
      (await read)!.pendingWrites.map((w) => [w.taskId, w.value]);
    for (const [i, id] of ids.entries()) {
      const own = [[`task-${i}`, `task-${i}`]];
      expect(await tasks(checkpointer.get(`t${i}`))).toEqual(i === 0 ? [] : own);
      expect(await tasks(checkpointer.get(`t${i}`, { checkpointId: id }))).toEqual(
        i === 0 ? [] : own,
      );
      expect(await tasks(checkpointer.get("s", { checkpointId: id }))).toEqual(own);
    }
    await checkpointer.close();
  });

  it("a latest read of a head holding its values runs its row, its writes, begin and commit; read again, the file's stamp first, then the stamp alone", async () => {
    const { db, ran, counting } = countedHandle();
    const checkpointer = createSqliteCheckpointer(counting);
    const id = await put(checkpointer, "t", "a");
    const reads: string[][] = [];
    for (let i = 0; i < 3; i++) {
      ran.length = 0;
      expect((await checkpointer.get("t"))?.checkpoint.values).toEqual({ v: "a" });
      reads.push([...ran]);
    }
    expect(reads).toEqual([
      ["BEGIN", "SELECT", "SELECT", "COMMIT"],
      ["STAMP", "BEGIN", "SELECT", "SELECT", "COMMIT"],
      ["STAMP"],
    ]);
    expect((await checkpointer.get("t"))?.checkpoint.id).toBe(id);
    expect((await checkpointer.get("t", { checkpointId: id }))?.checkpoint.values).toEqual({
      v: "a",
    });
    await checkpointer.deleteThread("t");
    expect(await checkpointer.get("t")).toBeUndefined();
    expect(await checkpointer.get("t", { checkpointId: id })).toBeUndefined();
    await checkpointer.close();
    db.close();
  });

  it("a head read again with no row changed since is answered from memory; a change by this connection, the caller or another connection is read at once", async () => {
    const { db, ran, counting } = countedHandle();
    const backend = new SqliteBackend(counting);
    const reader = createCheckpointer(backend);
    const other = createSqliteCheckpointer(file);
    const first = await put(reader, "t", "a".repeat(600));
    const tasks = async () => (await reader.get("t"))?.pendingWrites.map((w) => w.value);
    const fromMemory = async () => {
      ran.length = 0;
      const got = await tasks();
      expect(ran).toEqual(["STAMP"]);
      return got;
    };
    const write = (checkpointer: Checkpointer, taskId: string) =>
      checkpointer.putWrites({ threadId: "t", checkpointId: first }, [
        { taskId, taskPath: "", idx: 0, channel: "v", value: taskId },
      ]);
    // The read after the put takes no stamp; the one after it does, and the next is from memory.
    expect(await tasks()).toEqual([]);
    expect(await tasks()).toEqual([]);
    expect(await fromMemory()).toEqual([]);
    // Another connection's commit changes the file's data version as this connection sees it.
    await write(other, "a");
    expect(await tasks()).toEqual(["a"]);
    expect(await fromMemory()).toEqual(["a"]);
    // This connection's own rows count in its total changes: a write through it, and one the
    // caller makes with a statement of its own on the shared handle.
    await write(reader, "b");
    expect(await tasks()).toEqual(["a", "b"]);
    expect(await fromMemory()).toEqual(["a", "b"]);
    db.prepare("DELETE FROM rewind_writes WHERE task_id = 'a'").run();
    expect(await tasks()).toEqual(["b"]);
    // A new head and a deleted thread, from the other connection.
    await put(other, "t", "b".repeat(600), first);
    expect((await reader.get("t"))?.checkpoint.values).toEqual({ v: "b".repeat(600) });
    await other.deleteThread("t");
    expect(await reader.get("t")).toBeUndefined();
    await other.close();
    await reader.close();
    db.close();
  });

  it("a commit of another connection just after a head read's stamp: the read answers as of the stamp or reads it, and the next read sees it", async () => {
    // After the next stamp, `between` runs once (another connection's commit), before the read
    // goes on.
    let between: (() => void) | undefined;
    const { db, ran, counting } = countedHandle(() => {
      const commit = between;
      between = undefined;
      commit?.();
    });
    const reader = createCheckpointer(new SqliteBackend(counting));
    const other = createSqliteCheckpointer(file);
    const raw = new Database(file);
    const first = await put(reader, "t", "a");
    for (const task of ["a", "b", "c"]) {
      await other.putWrites({ threadId: "t", checkpointId: first }, [
        { taskId: task, taskPath: "", idx: 0, channel: "v", value: task },
      ]);
    }
    const tasks = async () => {
      ran.length = 0;
      const got = (await reader.get("t"))?.pendingWrites.map((w) => w.value);
      return { got, fromMemory: ran.join(" ") === "STAMP" };
    };
    const remove = (task: string) => () =>
      raw.prepare("DELETE FROM rewind_writes WHERE task_id = ?").run(task);
    await tasks();
    await tasks();
    expect(await tasks()).toEqual({ got: ["a", "b", "c"], fromMemory: true });
    // Answered from memory as of its stamp, which the commit came after...
    between = remove("a");
    expect(await tasks()).toEqual({ got: ["a", "b", "c"], fromMemory: true });
    // ...so the next read finds the stamp moved and reads the file.
    expect(await tasks()).toEqual({ got: ["b", "c"], fromMemory: false });
    expect(await tasks()).toEqual({ got: ["b", "c"], fromMemory: true });
    // A read that reads the file (another commit moved the stamp) and whose snapshot holds a
    // commit made after its stamp: it returns that commit, and what it keeps is newer than its
    // stamp, so the read after it reads the file again before answering from memory.
    remove("b")();
    between = remove("c");
    expect(await tasks()).toEqual({ got: [], fromMemory: false });
    expect(await tasks()).toEqual({ got: [], fromMemory: false });
    expect(await tasks()).toEqual({ got: [], fromMemory: true });
    raw.close();
    await other.close();
    await reader.close();
    db.close();
  });

  it("the read after this connection's own put on a held head is answered from memory; writes after the put, in its group or later, from any connection, are read at once", async () => {
    const { db, ran, counting } = countedHandle();
    const reader = createCheckpointer(new SqliteBackend(counting));
    const other = createSqliteCheckpointer(file);
    const read = async () => {
      ran.length = 0;
      const got = await reader.get("t");
      return {
        id: got?.checkpoint.id,
        values: got?.checkpoint.values,
        writes: got?.pendingWrites.map((w) => w.value),
        fromMemory: ran.join(" ") === "STAMP",
      };
    };
    const write = (checkpointer: Checkpointer, checkpointId: string, taskId: string) =>
      checkpointer.putWrites({ threadId: "t", checkpointId }, [
        { taskId, taskPath: "", idx: 0, channel: "v", value: taskId },
      ]);
    const first = await put(reader, "t", "a");
    // Nothing is held for the thread before its first read: that read reads the row.
    expect(await read()).toMatchObject({ id: first, fromMemory: false });
    const second = await put(reader, "t", "b", first);
    expect(await read()).toEqual({ id: second, values: { v: "b" }, writes: [], fromMemory: true });
    // A task's writes on the new head, through this connection, then through another.
    await write(reader, second, "mine");
    expect(await read()).toMatchObject({ writes: ["mine"], fromMemory: false });
    const third = await put(reader, "t", "c", second);
    await write(other, third, "theirs");
    expect(await read()).toMatchObject({ id: third, writes: ["theirs"], fromMemory: false });
    // A put and its task's writes issued in one turn share a commit: the writes are read.
    const { id: fourth, stored } = putValue(reader, "t", "d", third);
    await Promise.all([stored, write(reader, fourth, "grouped")]);
    expect(await read()).toMatchObject({ id: fourth, writes: ["grouped"], fromMemory: false });
    // Another connection's new head.
    const fifth = await put(other, "t", "e", fourth);
    expect(await read()).toMatchObject({ id: fifth, values: { v: "e" }, fromMemory: false });
    await other.close();
    await reader.close();
    db.close();
  });

  it("a head read from memory hands out pending writes of its own: changing one read does not change the next read", async () => {
    const checkpointer = createSqliteCheckpointer(file);
    const id = await put(checkpointer, "t", "a");
    await checkpointer.putWrites({ threadId: "t", checkpointId: id }, [
      { taskId: "task", taskPath: "", idx: 0, channel: "v", value: new Uint8Array(64).fill(7) },
    ]);
    const read = async () => (await checkpointer.get("t"))!.pendingWrites[0]!.value as Uint8Array;
    // Read, read with the file's stamp (kept), then from memory, changing each one read.
    for (let i = 0; i < 3; i++) (await read()).fill(i);
    expect((await read()).every((b) => b === 7)).toBe(true);
    await checkpointer.close();
  });

  it("a repeat read of an unchanged checkpoint skips its value chains; another connection's writes are seen at once", async () => {
    const { db, ran, counting } = countedHandle();
    const reader = createCheckpointer(new SqliteBackend(counting));
    const writer = createSqliteCheckpointer(file);
    // Chain reads: a walk by the recursive statement, or by lookups from a held chain.
    const chains = () => ran.filter((word) => word === "WITH" || word === "LINK").length;
    const first = await put(writer, "t", "a".repeat(600));
    expect((await reader.get("t"))?.checkpoint.values).toEqual({ v: "a".repeat(600) });
    expect((await reader.get("t"))?.checkpoint.values).toEqual({ v: "a".repeat(600) });
    expect(chains()).toBe(1);
    // A task's writes land on the unchanged row: read every time, never cached.
    await writer.putWrites({ threadId: "t", ns: "", checkpointId: first }, [
      { taskId: "task", taskPath: "", idx: 0, channel: "v", value: "w" },
    ]);
    expect((await reader.get("t"))?.pendingWrites.map((w) => w.value)).toEqual(["w"]);
    expect(chains()).toBe(1);
    // A new head written by the other connection is a different row: its chains are read.
    const second = await put(writer, "t", "b".repeat(600), first);
    expect((await reader.get("t"))?.checkpoint.values).toEqual({ v: "b".repeat(600) });
    expect(chains()).toBe(2);
    // A read by id of the head just read reuses it; an older checkpoint is read in full, and
    // leaves the head's entry in place.
    await reader.get("t", { checkpointId: second });
    expect(chains()).toBe(2);
    expect((await reader.get("t", { checkpointId: first }))?.checkpoint.values).toEqual({
      v: "a".repeat(600),
    });
    await reader.get("t");
    expect(chains()).toBe(3);
    await writer.close();
    await reader.close();
    db.close();
  });

  it("a read after more turns walks only the links appended since the held chains, and rebuilds what an uncached read does", async () => {
    const walked = { count: 0 };
    const { db, handle } = countingLinks(walked);
    const cached = createCheckpointer(new SqliteBackend(handle));
    const plain = createSqliteCheckpointer(file, { headCacheBytes: 0 });
    const graph = (checkpointer: Checkpointer) =>
      new StateGraph({ log: appendChannel<string>(), note: lastValue<string>() })
        .addNode("reply", (s) => ({
          log: `reply ${s.log.length} ${"r".repeat(300)}`,
          note: "n".repeat(700),
        }))
        .addEdge(START, "reply")
        .compile({ checkpointer });
    const app = graph(cached);
    const other = graph(plain);
    const same = async () => {
      const got = await app.getState({ threadId: "t" });
      expect(got?.values).toEqual((await other.getState({ threadId: "t" }))?.values);
      return got!;
    };
    for (let turn = 0; turn < 12; turn++) {
      // Turns from this process and from another connection, read through the held chains.
      await (turn % 3 === 2 ? other : app).invoke({ log: `user ${turn}` }, { threadId: "t" });
      await same();
    }
    // A fork from an older checkpoint shares the older part of the chain only.
    const history = [];
    for await (const snapshot of app.getStateHistory({ threadId: "t" })) history.push(snapshot);
    const old = history[history.length - 5]!;
    await app.updateState({ threadId: "t", checkpointId: old.checkpointId }, { log: "forked" });
    const forked = await same();
    expect(forked.values.log.at(-1)).toBe("forked");
    await app.invoke({ log: "after fork" }, { threadId: "t" });
    walked.count = 0;
    expect((await same()).values.log.slice(-3)).toEqual([
      "forked",
      "after fork",
      expect.stringMatching(/^reply/),
    ]);
    // What the run wrote is held from its commits: the read after it walks nothing.
    expect(walked.count).toBe(0);
    // A run from another connection: the read after it walks only what that run wrote, its two
    // links of `log` and the note's new full value.
    await other.invoke({ log: "from elsewhere" }, { threadId: "t" });
    walked.count = 0;
    expect((await same()).values.log.at(-2)).toBe("from elsewhere");
    expect(walked.count).toBe(3);
    await cached.close();
    await plain.close();
    db.close();
  });

  it("answers the read after this process's own run from memory, after the file's stamp alone", async () => {
    const { db, ran, counting } = countedHandle();
    const backend = new SqliteBackend(counting);
    const cached = createCheckpointer(backend);
    const plain = createSqliteCheckpointer(file, { headCacheBytes: 0 });
    const graph = (checkpointer: Checkpointer) =>
      new StateGraph({ log: appendChannel<string>(), note: lastValue<string>() })
        .addNode("reply", (s) => ({ log: `reply ${s.log.length}`, note: `n${s.log.length}` }))
        .addEdge(START, "reply")
        .compile({ checkpointer });
    const [app, other] = [graph(cached), graph(plain)];
    await app.invoke({ log: "start" }, { threadId: "t" });
    await app.getState({ threadId: "t" });
    // Past 16 turns the appends it learned one by one are joined again.
    for (let turn = 0; turn < 20; turn++) {
      await app.invoke({ log: `user ${turn}` }, { threadId: "t" });
      ran.length = 0;
      // The head comes back from the cache, checked, after the stamp its last put left.
      expect((await backend.getCheckpoint("t", ""))?.checkpoint.verified).toBe(true);
      expect(ran).toEqual(["STAMP"]);
      const state = await app.getState({ threadId: "t" });
      expect(state?.values).toEqual((await other.getState({ threadId: "t" }))?.values);
    }
    // A turn from another connection: its row is not the one held, so the read walks.
    await other.invoke({ log: "from elsewhere" }, { threadId: "t" });
    ran.length = 0;
    await backend.getCheckpoint("t", "");
    expect(ran).toContain("LINK");
    expect((await app.getState({ threadId: "t" }))?.values.log.at(-2)).toBe("from elsewhere");
    await cached.close();
    await plain.close();
    db.close();
  });

  it("a read far behind its held chains follows a few links one by one and the rest in one statement, and rebuilds what an uncached read does", async () => {
    const walked = { count: 0 };
    const { db, handle } = countingLinks(walked);
    const { ran, counting } = countedHandle();
    const cached = createCheckpointer(new SqliteBackend(handle));
    const plain = createSqliteCheckpointer(file, { headCacheBytes: 0 });
    const counted = createCheckpointer(new SqliteBackend(counting));
    const graph = (checkpointer: Checkpointer) =>
      new StateGraph({ log: appendChannel<string>() })
        .addNode("reply", (s) => ({ log: `reply ${s.log.length}` }))
        .addEdge(START, "reply")
        .compile({ checkpointer });
    const [app, other, third] = [graph(cached), graph(plain), graph(counted)];
    await app.invoke({ log: "start" }, { threadId: "t" });
    await app.getState({ threadId: "t" });
    await third.getState({ threadId: "t" });
    // Another connection appends 24 links (12 turns of two) behind the held chains' backs.
    for (let turn = 0; turn < 12; turn++) {
      await other.invoke({ log: `user ${turn}` }, { threadId: "t" });
    }
    walked.count = 0;
    ran.length = 0;
    const expected = (await other.getState({ threadId: "t" }))?.values;
    expect(expected?.log).toHaveLength(26);
    expect((await app.getState({ threadId: "t" }))?.values).toEqual(expected);
    expect((await third.getState({ threadId: "t" }))?.values).toEqual(expected);
    // Each link is followed once: 16 by lookups, the other 8 by the recursive statement.
    expect(walked.count).toBe(24);
    expect(ran.filter((word) => word === "LINK")).toHaveLength(16);
    expect(ran.filter((word) => word === "WITH")).toHaveLength(1);
    await cached.close();
    await plain.close();
    await counted.close();
    db.close();
  });

  it("a put and a read inside a caller's transaction that the caller rolls back leave nothing held", async () => {
    const db = new Database(file);
    db.pragma("journal_mode = WAL");
    const shared = createCheckpointer(new SqliteBackend(db));
    const other = createSqliteCheckpointer(file);
    const first = await put(shared, "t", "a".repeat(600));
    await shared.get("t");
    const second = newCheckpointId(first);
    const putSecond = (checkpointer: Checkpointer, value: string) =>
      putValue(checkpointer, "t", value, first, second).stored;
    // The put joins the caller's open transaction and resolves, a read in that transaction sees
    // it, and the caller then undoes it.
    db.exec("BEGIN IMMEDIATE");
    await putSecond(shared, "b".repeat(600));
    expect((await shared.get("t"))?.checkpoint.values).toEqual({ v: "b".repeat(600) });
    db.exec("ROLLBACK");
    // The same checkpoint and version, written with another value by another connection.
    await putSecond(other, "c".repeat(600));
    expect((await shared.get("t"))?.checkpoint.values).toEqual({ v: "c".repeat(600) });
    await shared.close();
    await other.close();
    db.close();
  });

  it("a repeat read hands out bytes of its own: changing a value read does not change the next read", async () => {
    const checkpointer = createSqliteCheckpointer(file);
    await put(checkpointer, "t", new Uint8Array(2048).fill(7));
    const read = async () => (await checkpointer.get("t"))!.checkpoint.values.v as Uint8Array;
    (await read()).fill(0);
    (await read()).fill(1);
    expect((await read()).every((b) => b === 7)).toBe(true);
    await checkpointer.close();
  });

  it("damage read once is refused on every read; damage done after a read leaves this process reading what was stored", async () => {
    const cached = createSqliteCheckpointer(file);
    const damaged = await put(cached, "d", "d".repeat(600));
    corruptSqliteCheckpoint(file, { threadId: "d", ns: "", checkpointId: damaged });
    // The bytes a read keeps are verified again on each read: damage is never served.
    await expect(cached.get("d")).rejects.toMatchObject({ code: "CORRUPTED" });
    await expect(cached.get("d")).rejects.toMatchObject({ code: "CORRUPTED" });
    const id = await put(cached, "t", "a".repeat(600));
    await cached.get("t");
    corruptSqliteCheckpoint(file, { threadId: "t", ns: "", checkpointId: id });
    expect((await cached.get("t"))?.checkpoint.values).toEqual({ v: "a".repeat(600) });
    const fresh = createSqliteCheckpointer(file, { headCacheBytes: 0 });
    await expect(fresh.get("t")).rejects.toMatchObject({ code: "CORRUPTED" });
    await fresh.close();
    await cached.close();
  });

  it("headCacheBytes: 0 keeps nothing, and a bad size is refused by name", async () => {
    expect(() => new SqliteBackend(file, { headCacheBytes: -1 })).toThrow(/headCacheBytes/);
    expect(() => new SqliteBackend(file, { headCacheBytes: 1.5 })).toThrow(InvalidInputError);
    const { db, ran, counting } = countedHandle();
    const checkpointer = createCheckpointer(new SqliteBackend(counting, { headCacheBytes: 0 }));
    await put(checkpointer, "t", "a".repeat(600));
    await checkpointer.get("t");
    await checkpointer.get("t");
    expect(ran.filter((word) => word === "WITH")).toHaveLength(2);
    await checkpointer.close();
    db.close();
  });

  it("read a checkpoint from one snapshot, even when another connection deletes it mid-read", async () => {
    const writer = createSqliteCheckpointer(file);
    const id = await put(writer, "t", "x".repeat(600));
    await writer.close();
    const other = new Database(file);
    let deleted = false;
    // The reader's handle: just before the statement that reads the value chains runs, a
    // second connection deletes every value and checkpoint of the thread and commits.
    const { db, handle } = aroundChainReads((read) => {
      if (!deleted) {
        other.exec("DELETE FROM rewind_blobs; DELETE FROM rewind_checkpoints");
        deleted = true;
      }
      return read();
    });
    const reader = createCheckpointer(new SqliteBackend(handle));
    const loaded = await reader.get("t", { checkpointId: id });
    expect(deleted).toBe(true);
    expect(loaded?.checkpoint.values).toStrictEqual({ v: "x".repeat(600) });
    // A read that starts after the delete sees it.
    expect(await reader.get("t")).toBeUndefined();
    await reader.close();
    other.close();
    db.close();
  });
});

describe("SQLite under another process's write lock", () => {
  it("a write waits for the lock (busy timeout) instead of failing", async () => {
    const checkpointer = createSqliteCheckpointer(file);
    await checkpointer.ready();
    const holder = spawn(process.execPath, nodeArgs(WORKER, file, "hold", "t", "400"), {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    holder.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => holder.on("close", resolve));
    const locked = await new Promise<string>((resolve, reject) => {
      let out = "";
      holder.stdout.on("data", (chunk) => {
        out += chunk;
        const line = out.split("\n").find((l) => l.includes("locked"));
        if (line) resolve(JSON.parse(line).locked);
      });
      holder.on("close", () => reject(new Error(`holder exited early: ${stderr}`)));
    });
    // The holder's checkpoint is not committed yet; this write can only succeed (with the
    // holder's checkpoint as head) by waiting until the holder commits.
    const mine = await put(checkpointer, "t", "after the lock", locked);
    expect(await exited).toBe(0);
    const head = await checkpointer.get("t");
    expect(head?.checkpoint).toMatchObject({ id: mine, parentId: locked });
    await checkpointer.close();
  });
});
