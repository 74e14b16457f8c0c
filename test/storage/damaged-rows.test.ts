/**
 * Rows damaged in ways a checksum does not need to catch: a value of unknown kind, and channel
 * versions that are not an object. Each is reported as a CorruptionError naming the thread and
 * the checkpoint (and the channel, for a value); the thread's other checkpoints still load.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPostgresCheckpointer } from "../../src/backends/postgres/index.js";
import { createSqliteCheckpointer } from "../../src/backends/sqlite/index.js";
import type { Checkpointer } from "../../src/checkpoint/checkpointer.js";
import { CorruptionError, isRewindError } from "../../src/index.js";
import { adminPool, freshSchema, PG_URL } from "../support/postgres.js";
import { chatGraph, threeTurns } from "./damage-support.js";

interface RawEngine {
  readonly name: string;
  open(): Promise<{
    checkpointer: Checkpointer;
    /** Runs `sql` with `?` placeholders (rewritten to `$n` on PostgreSQL). */
    run(sql: { sqlite: string; postgres: string }, params: unknown[]): Promise<number>;
    close(): Promise<void>;
  }>;
}

const ENGINES: RawEngine[] = [
  {
    name: "sqlite",
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), "rewind-rows-"));
      const file = join(dir, "rows.sqlite");
      // Rows are damaged from another connection after this process wrote them; a process
      // keeps the bytes it wrote or read in its head cache (damage on disk reaches its other
      // readers), so this one reads every value from the file.
      const checkpointer = createSqliteCheckpointer(file, { headCacheBytes: 0 });
      return {
        checkpointer,
        run: async (sql, params) => {
          const db = new Database(file);
          try {
            return db.prepare(sql.sqlite).run(...params).changes;
          } finally {
            db.close();
          }
        },
        close: async () => {
          await checkpointer.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: "postgres",
    open: async () => {
      const schema = freshSchema("rewind_rows");
      const checkpointer = createPostgresCheckpointer(PG_URL, { schema, maxConnections: 2 });
      return {
        checkpointer,
        run: async (sql, params) =>
          (await adminPool().query(sql.postgres.replaceAll("$s", `"${schema}"`), params))
            .rowCount ?? 0,
        close: () => checkpointer.close(),
      };
    },
  },
];

async function rejection(promise: Promise<unknown>): Promise<any> {
  return promise.then(
    () => undefined,
    (error) => error,
  );
}

for (const engine of ENGINES) {
  describe(`damaged rows on ${engine.name}`, () => {
    let raw: Awaited<ReturnType<RawEngine["open"]>>;
    beforeEach(async () => {
      raw = await engine.open();
    });
    afterEach(() => raw.close());

    it("a value of unknown kind is a CorruptionError naming checkpoint and channel", async () => {
      const app = chatGraph(raw.checkpointer);
      const threadId = "unknown-kind";
      const ids = await threeTurns(app, threadId);
      // The appends of the message list: every later checkpoint reads them.
      const changed = await raw.run(
        {
          sqlite: `UPDATE rewind_blobs SET kind = 7 WHERE channel = 'messages'
              AND tid = (SELECT tid FROM rewind_threads WHERE thread_id = ?) AND kind IN (1, 3)`,
          postgres: `UPDATE $s.rewind_blobs SET kind = 7 WHERE channel = 'messages'
              AND thread_id = $1 AND kind = 1`,
        },
        [threadId],
      );
      expect(changed).toBeGreaterThan(0);
      const error = await rejection(app.getState({ threadId }));
      expect(error).toBeInstanceOf(CorruptionError);
      expect(error).toMatchObject({
        code: "CORRUPTED",
        threadId,
        checkpointId: ids[0],
        channel: "messages",
      });
      // The turn counter's checkpoints that do not read messages are not affected.
      const lineage = await app.getLineage({ threadId });
      expect(lineage.nodes.size).toBe(ids.length);
    });

    it("channel versions that are not an object name their checkpoint; history continues below it", async () => {
      const app = chatGraph(raw.checkpointer);
      const threadId = "bad-versions";
      const ids = await threeTurns(app, threadId);
      const bad = ids[1]!;
      const changed = await raw.run(
        {
          sqlite: "UPDATE rewind_checkpoints SET versions = '5' WHERE id = ?",
          postgres: "UPDATE $s.rewind_checkpoints SET versions = '5'::jsonb WHERE id = $1",
        },
        [bad],
      );
      expect(changed).toBe(1);
      const error = await rejection(app.getState({ threadId, checkpointId: bad }));
      expect(isRewindError(error, "CORRUPTED")).toBe(true);
      expect(error).toMatchObject({ threadId, checkpointId: bad });
      expect(String(error.message)).toContain(bad);
      // History stops at the damaged checkpoint, naming it; `before` continues past it.
      const seen: string[] = [];
      const stopped = await rejection(
        (async () => {
          for await (const s of app.getStateHistory({ threadId })) seen.push(s.checkpointId);
        })(),
      );
      expect(seen).toEqual([ids[0]]);
      expect(stopped).toMatchObject({ code: "CORRUPTED", checkpointId: bad });
      const rest: string[] = [];
      for await (const s of app.getStateHistory({ threadId }, { before: bad })) {
        rest.push(s.checkpointId);
      }
      expect(rest).toEqual(ids.slice(2));
      expect((await app.getLineage({ threadId })).damaged?.map((d) => d.checkpointId)).toEqual([
        bad,
      ]);
    });
  });
}
