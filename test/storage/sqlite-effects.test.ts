import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { newCheckpointId } from "../../src/backend.js";
import {
  createSqliteCheckpointer,
  SQLITE_SCHEMA_VERSION,
  SqliteBackend,
  type SqliteDatabaseLike,
} from "../../src/backends/sqlite/index.js";
import { createCheckpointer } from "../../src/index.js";
import { effectIntent, effectOutcome } from "../../src/testing/checkpoint-cases-effects.js";

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "rewind-sqlite-effects-"));
  file = join(dir, "test.sqlite");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The real handle, with every `pragma()` call it receives recorded in `calls`. */
function recordingPragmas(db: Database.Database, calls: string[]): SqliteDatabaseLike {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "pragma") {
        return (source: string, options?: { simple?: boolean }) => {
          calls.push(source);
          return target.pragma(source, options);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as unknown as SqliteDatabaseLike;
}

describe("SQLite effect ledger", () => {
  it("upgrades a database at version 4 (no ledger, no pins), keeping its checkpoints", async () => {
    const old = createSqliteCheckpointer(file);
    const id = newCheckpointId();
    await old.put({
      threadId: "t",
      id,
      parentId: undefined,
      channelVersions: { x: id },
      versionsSeen: {},
      metadata: { source: "input", step: -1 },
      updates: [{ channel: "x", version: id, value: 41 }],
    });
    await old.close();
    // The schema as version 4 left it: no ledger (5), no pins (6), no archive marks (7).
    const db = new Database(file);
    db.exec(
      "DROP TABLE rewind_large_values; DROP TABLE rewind_effects; DROP TABLE rewind_pins; ALTER TABLE rewind_threads DROP COLUMN archive_state; ALTER TABLE rewind_threads DROP COLUMN archive_stub; DELETE FROM rewind_migrations WHERE version >= 5",
    );
    db.close();
    const checkpointer = createSqliteCheckpointer(file);
    expect((await checkpointer.get("t"))?.checkpoint.values).toEqual({ x: 41 });
    const intent = effectIntent("t", "a1");
    expect(await checkpointer.door.beginEffect({ effect: intent })).toEqual({
      effect: intent,
      recorded: true,
    });
    expect(await checkpointer.door.listEffects("t")).toEqual([intent]);
    await checkpointer.deleteThread("t");
    expect(await checkpointer.door.listEffects("t")).toEqual([]);
    await checkpointer.close();
    const after = new Database(file);
    const version = after.prepare("SELECT max(version) AS v FROM rewind_migrations").get() as {
      v: number;
    };
    expect(version.v).toBe(SQLITE_SCHEMA_VERSION);
    expect(SQLITE_SCHEMA_VERSION).toBeGreaterThanOrEqual(5);
    after.close();
  });

  it("commits an intent fsynced under synchronous=normal, then restores the setting", async () => {
    const db = new Database(file);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    const calls: string[] = [];
    const checkpointer = createCheckpointer(new SqliteBackend(recordingPragmas(db, calls)));
    await checkpointer.ready();
    calls.length = 0;
    await checkpointer.door.beginEffect({ effect: effectIntent("t", "a1") });
    expect(calls.filter((c) => c.startsWith("synchronous ="))).toEqual([
      "synchronous = 2",
      "synchronous = 1",
    ]);
    expect(db.pragma("synchronous", { simple: true })).toBe(1);
    // An outcome lost to a power loss leaves an intent with no outcome, which is never re-run
    // silently: it commits at the handle's own setting.
    calls.length = 0;
    await checkpointer.door.finishEffect(effectOutcome("t", "a1", 1));
    expect(calls.filter((c) => c.startsWith("synchronous ="))).toEqual([]);
    // Inside the caller's transaction, the caller's commit decides.
    calls.length = 0;
    db.exec("BEGIN IMMEDIATE");
    await checkpointer.door.beginEffect({ effect: effectIntent("t", "b2") });
    db.exec("COMMIT");
    expect(calls.filter((c) => c.startsWith("synchronous ="))).toEqual([]);
    expect((await checkpointer.door.listEffects("t")).map((e) => e.key)).toEqual(["a1", "b2"]);
    await checkpointer.close();
    db.close();
  });

  it("under the default synchronous=full, an intent changes no setting", async () => {
    const db = new Database(file);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    const calls: string[] = [];
    const checkpointer = createCheckpointer(new SqliteBackend(recordingPragmas(db, calls)));
    await checkpointer.ready();
    calls.length = 0;
    await checkpointer.door.beginEffect({ effect: effectIntent("t", "a1") });
    expect(calls.filter((c) => c.startsWith("synchronous ="))).toEqual([]);
    expect(db.pragma("synchronous", { simple: true })).toBe(2);
    await checkpointer.close();
    db.close();
  });
});
