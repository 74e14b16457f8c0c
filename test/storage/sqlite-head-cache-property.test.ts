/**
 * The SQLite head cache against no cache at all: random turns (append chains and full values of
 * every size, inline, in the table and spilled), pending writes, a caller's own statements on the
 * shared handle and deleted threads, made by the cached connection and by another one in any
 * order, with reads (one, or several in a row, as a state is polled) between them. Every read
 * of the cached connection returns what a connection without a cache reads at that moment,
 * whatever the cache's bound. Cases: 150 under `npm test`, REWIND_PROPERTY_RUNS otherwise.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createSqliteCheckpointer, SqliteBackend } from "../../src/backends/sqlite/index.js";
import {
  appendChannel,
  type Checkpointer,
  createCheckpointer,
  lastValue,
  START,
  StateGraph,
} from "../../src/index.js";
import { trialCount } from "../support/trial-count.js";

/** A case takes some 20 ms: more of them under `npm test` than the shared default. */
const RUNS = trialCount("REWIND_PROPERTY_RUNS", { smoke: 150, soak: 1000 });

type Side = "cached" | "other";

type Op =
  | { kind: "turn"; side: Side; thread: number; size: number }
  | { kind: "write"; side: Side; thread: number; size: number }
  | { kind: "dropWrites"; thread: number }
  | { kind: "delete"; thread: number }
  | { kind: "read"; thread: number; times: number };

const side = fc.constantFrom<Side>("cached", "other");
const thread = fc.integer({ min: 0, max: 1 });
/** Bytes of a value: inline in the row, a row of the table, spilled out of line. */
const size = fc.constantFrom(8, 300, 900, 5000);

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("turn" as const), side, thread, size }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("write" as const), side, thread, size }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("dropWrites" as const), thread }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("delete" as const), thread }) },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("read" as const),
      thread,
      times: fc.integer({ min: 1, max: 4 }),
    }),
  },
);

function graph(checkpointer: Checkpointer) {
  return new StateGraph({ log: appendChannel<string>(), note: lastValue<string>(() => "") })
    .addNode("reply", (s) => ({ log: `reply ${s.log.length}`, note: s.note }))
    .addEdge(START, "reply")
    .compile({ checkpointer });
}

/** What a read returns, in a form to compare. */
async function seen(checkpointer: Checkpointer, threadId: string) {
  const t = await checkpointer.get(threadId);
  if (t === undefined) return undefined;
  return {
    id: t.checkpoint.id,
    values: t.checkpoint.values,
    writes: t.pendingWrites.map((w) => [w.taskId, w.channel, w.value]),
  };
}

describe("SQLite head cache, against no cache", () => {
  it("every read of the cached connection returns what an uncached one reads", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 4, maxLength: 24 }),
        fc.constantFrom(0, 4096, 65_536, 32 * 1024 * 1024),
        async (ops, headCacheBytes) => {
          const dir = mkdtempSync(join(tmpdir(), "rewind-head-cache-property-"));
          const file = join(dir, "db.sqlite");
          const db = new Database(file);
          db.pragma("journal_mode = WAL");
          const cached = createCheckpointer(new SqliteBackend(db, { headCacheBytes }));
          const other = createSqliteCheckpointer(file);
          const plain = createSqliteCheckpointer(file, { headCacheBytes: 0 });
          const apps = { cached: graph(cached), other: graph(other) };
          const checkpointers = { cached, other };
          const deleted = new Set<number>();
          let n = 0;
          try {
            for (const c of [cached, other, plain]) await c.ready();
            for (const o of ops) {
              const threadId = `t${o.thread}`;
              if (o.kind !== "read" && deleted.has(o.thread)) continue;
              n++;
              if (o.kind === "turn") {
                const note = `${n}:`.padEnd(o.size, "n");
                await apps[o.side].invoke({ log: `user ${n}`, note }, { threadId });
              } else if (o.kind === "write") {
                const head = await plain.get(threadId);
                if (head === undefined) continue;
                await checkpointers[o.side].putWrites(
                  { threadId, checkpointId: head.checkpoint.id },
                  [
                    {
                      taskId: `task-${n}`,
                      taskPath: "",
                      idx: 0,
                      channel: "note",
                      value: `${n}:`.padEnd(o.size, "w"),
                    },
                  ],
                );
              } else if (o.kind === "dropWrites") {
                // The caller's own statement on the handle it shares with the cached connection.
                db.prepare(
                  "DELETE FROM rewind_writes WHERE tid = (SELECT tid FROM rewind_threads WHERE thread_id = ?)",
                ).run(threadId);
              } else if (o.kind === "delete") {
                await other.deleteThread(threadId);
                deleted.add(o.thread);
              } else {
                for (let i = 0; i < o.times; i++) {
                  expect(await seen(cached, threadId)).toEqual(await seen(plain, threadId));
                }
              }
            }
            for (let t = 0; t < 2; t++) {
              expect(await seen(cached, `t${t}`)).toEqual(await seen(plain, `t${t}`));
            }
          } finally {
            await cached.close();
            await other.close();
            await plain.close();
            db.close();
            rmSync(dir, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: RUNS },
    );
    // Generous: a thousand cases beside the other soak suites on a loaded machine (no speed asserted).
  }, 600_000);
});
