import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SqliteBackend } from "../../src/backends/sqlite/index.js";
import { ConflictError, createCheckpointer, isRewindError } from "../../src/index.js";
import { putValue } from "../support/checkpoints.js";

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "rewind-group-commit-"));
  file = join(dir, "test.sqlite");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A handle that counts the transactions it is asked to begin. */
function countingHandle(path: string) {
  const db = new Database(path);
  db.pragma("journal_mode = WAL");
  const counts = { begins: 0 };
  const prepare = db.prepare.bind(db);
  (db as unknown as { prepare: (sql: string) => unknown }).prepare = (sql: string) => {
    const statement = prepare(sql);
    if (!sql.startsWith("BEGIN")) return statement;
    const run = statement.run.bind(statement);
    (statement as unknown as { run: () => unknown }).run = () => {
      counts.begins++;
      return run();
    };
    return statement;
  };
  return { db, counts };
}

const put = putValue;

async function headValue(path: string, threadId: string) {
  // Another connection: only what was committed.
  const other = createCheckpointer(new SqliteBackend(path));
  try {
    return (await other.get(threadId))?.checkpoint.values.v;
  } finally {
    await other.close();
  }
}

describe("SQLite group commit", () => {
  it("commits puts issued together in one transaction, each durable once it resolves", async () => {
    const { db, counts } = countingHandle(file);
    const checkpointer = createCheckpointer(new SqliteBackend(db));
    await put(checkpointer, "warm", 0).stored;
    const before = counts.begins;
    await Promise.all(Array.from({ length: 8 }, (_, i) => put(checkpointer, `t${i}`, i).stored));
    expect(counts.begins - before).toBe(1);
    for (let i = 0; i < 8; i++) expect(await headValue(file, `t${i}`)).toBe(i);
    await checkpointer.close();
    db.close();
  });

  it("refuses a stale put of a group alone: the others are stored", async () => {
    const checkpointer = createCheckpointer(new SqliteBackend(file));
    const first = put(checkpointer, "a", "first");
    await first.stored;
    await put(checkpointer, "a", "second", first.id).stored;
    const outcomes = await Promise.allSettled([
      put(checkpointer, "b", "b1").stored,
      put(checkpointer, "a", "stale", first.id).stored,
      put(checkpointer, "c", "c1").stored,
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((outcomes[1] as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
    expect(await headValue(file, "a")).toBe("second");
    expect(await headValue(file, "b")).toBe("b1");
    expect(await headValue(file, "c")).toBe("c1");
    await checkpointer.close();
  });

  it("runs puts in the order issued: a put on a put of the same group finds its parent", async () => {
    const checkpointer = createCheckpointer(new SqliteBackend(file));
    const first = put(checkpointer, "a", 1);
    const second = put(checkpointer, "a", 2, first.id);
    await Promise.all([first.stored, second.stored]);
    expect(await headValue(file, "a")).toBe(2);
    await checkpointer.close();
  });

  it("lets a read issued while puts wait see them", async () => {
    const checkpointer = createCheckpointer(new SqliteBackend(file));
    await put(checkpointer, "a", 1).stored;
    const { stored } = put(
      checkpointer,
      "a",
      "unawaited",
      (await checkpointer.get("a"))?.checkpoint.id,
    );
    const read = checkpointer.get("a");
    await stored;
    expect((await read)?.checkpoint.values.v).toBe("unawaited");
    await checkpointer.close();
  });

  it("fails every put of a group whose transaction cannot begin, with a Rewind error, storing none", async () => {
    const checkpointer = createCheckpointer(new SqliteBackend(file, { busyTimeoutMs: 0 }));
    await put(checkpointer, "warm", 0).stored;
    const locker = new Database(file);
    locker.exec("BEGIN IMMEDIATE");
    const outcomes = await Promise.allSettled([
      put(checkpointer, "a", 1).stored,
      put(checkpointer, "b", 2).stored,
    ]);
    locker.exec("ROLLBACK");
    locker.close();
    for (const outcome of outcomes) {
      expect(outcome.status).toBe("rejected");
      expect(isRewindError((outcome as PromiseRejectedResult).reason)).toBe(true);
    }
    expect(await headValue(file, "a")).toBeUndefined();
    expect(await headValue(file, "b")).toBeUndefined();
    await put(checkpointer, "a", 3).stored;
    expect(await headValue(file, "a")).toBe(3);
    await checkpointer.close();
  });

  it("never runs a waiting put inside a caller's transaction on a shared handle", async () => {
    const db = new Database(file);
    const backend = new SqliteBackend(db);
    const checkpointer = createCheckpointer(backend);
    await checkpointer.ready();
    const { stored } = put(checkpointer, "a", "kept");
    // Let the put reach the backend's queue, then read inside a transaction the caller undoes.
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    for (let i = 0; i < 10; i++) await Promise.resolve();
    const attempt = db.transaction(() => {
      void backend.getCheckpoint("a", "").catch(() => undefined);
      throw new Error("the caller changes its mind");
    });
    expect(attempt).toThrow("changes its mind");
    await stored;
    expect(await headValue(file, "a")).toBe("kept");
    await checkpointer.close();
    db.close();
  });

  it("has waiting puts join a caller's transaction left open across turns, never wait for it", async () => {
    const db = new Database(file);
    const checkpointer = createCheckpointer(new SqliteBackend(db));
    await checkpointer.ready();
    const { stored } = put(checkpointer, "a", "joined");
    for (let i = 0; i < 10; i++) await Promise.resolve();
    db.exec("BEGIN IMMEDIATE");
    await stored;
    db.exec("COMMIT");
    expect(await headValue(file, "a")).toBe("joined");
    await checkpointer.close();
    db.close();
  });
});
