/**
 * Writes sharing a round trip on PostgreSQL (postgres-write-batch.ts): checkpoint writes issued
 * while the backend's one lane is busy, and tasks' pending writes issued in one turn, go together
 * in one statement, and each still gets its own outcome, as it would alone.
 */
import type pg from "pg";
import { describe, expect, it } from "vitest";
import { newCheckpointId } from "../../src/backend.js";
import { PostgresBackend } from "../../src/backends/postgres/index.js";
import {
  type Checkpointer,
  ConflictError,
  createCheckpointer,
  LeaseLostError,
  ThreadArchivedError,
  ThreadDeletedError,
} from "../../src/index.js";
import { putValue } from "../support/checkpoints.js";
import { adminPool, freshSchema, PG_URL, testPool } from "../support/postgres.js";

/**
 * A checkpointer on a pool of 4 connections (one lane for writes), and how many statements
 * wrote several checkpoints at once.
 */
async function batching(): Promise<{
  checkpointer: Checkpointer;
  schema: string;
  batches: () => number;
  /** Statements that wrote tasks' pending writes: [alone, together]. */
  writeStatements: () => [number, number];
}> {
  const pool = testPool(4);
  let batches = 0;
  const writes: [number, number] = [0, 0];
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  (pool as unknown as { query: unknown }).query = (config: unknown, ...rest: unknown[]) => {
    const text = typeof config === "string" ? config : (config as { text?: string }).text;
    const together = text?.includes("WITH ORDINALITY") === true;
    if (together && text?.includes("rewind_put_checkpoint")) batches++;
    if (text?.includes("rewind_put_writes")) writes[together ? 1 : 0]++;
    return query(config, ...rest);
  };
  const schema = freshSchema();
  const checkpointer = createCheckpointer(new PostgresBackend(pool as pg.Pool, { schema }));
  await checkpointer.ready();
  return {
    checkpointer,
    schema,
    batches: () => batches,
    writeStatements: () => [...writes] as [number, number],
  };
}

/** One task's pending writes against `checkpointId` of `threadId`; not awaited. */
function pending(
  checkpointer: Checkpointer,
  threadId: string,
  checkpointId: string,
  task: string,
  fence?: Parameters<Checkpointer["putWrites"]>[2],
) {
  return checkpointer.putWrites(
    { threadId, checkpointId },
    [
      { taskId: task, taskPath: "", idx: 0, channel: "out", value: { from: task } },
      { taskId: task, taskPath: "", idx: 1, channel: "log", value: `${task} ${"y".repeat(300)}` },
    ],
    fence,
  );
}

/** A write of `value` in channel `v`, with a larger value beside it in `w`; not awaited. */
function put(checkpointer: Checkpointer, threadId: string, value: unknown, parent?: string) {
  const w = { nested: [value, "x".repeat(600)] };
  return putValue(checkpointer, threadId, value, parent, undefined, { w });
}

/** Each settled write as "stored" or the class of the error it failed with. */
function outcomes(results: PromiseSettledResult<unknown>[]): unknown[] {
  return results.map((r) =>
    r.status === "fulfilled" ? "stored" : (r.reason as Error).constructor,
  );
}

describe("PostgreSQL checkpoint writes sharing a round trip", () => {
  it("writes issued while the lane is busy go together, each stored exactly", async () => {
    const { checkpointer, batches } = await batching();
    const writes = Array.from({ length: 12 }, (_, i) => put(checkpointer, `t${i}`, `value ${i}`));
    await Promise.all(writes.map((w) => w.stored));
    expect(batches()).toBeGreaterThan(0);
    for (let i = 0; i < 12; i++) {
      const loaded = await checkpointer.get(`t${i}`);
      expect(loaded?.checkpoint.id).toBe(writes[i]!.id);
      expect(loaded?.checkpoint.values).toEqual({
        v: `value ${i}`,
        w: { nested: [`value ${i}`, "x".repeat(600)] },
      });
    }
    await checkpointer.close();
  });

  it("one thread's writes in one statement keep their order (each on the one before)", async () => {
    const { checkpointer, batches } = await batching();
    const first = put(checkpointer, "warm", 0); // takes the lane: what follows waits and goes together
    const a = put(checkpointer, "chain", 1);
    const b = put(checkpointer, "chain", 2, a.id);
    const c = put(checkpointer, "chain", 3, b.id);
    await Promise.all([first.stored, a.stored, b.stored, c.stored]);
    expect(batches()).toBe(1);
    expect((await checkpointer.get("chain"))?.checkpoint.values.v).toBe(3);
    const history = [];
    for await (const tuple of checkpointer.list({ threadId: "chain" })) history.push(tuple);
    expect(history.map((t) => t.checkpoint.id)).toEqual([c.id, b.id, a.id]);
    await checkpointer.close();
  });

  it("a conflict or a deleted thread fails only its own write", async () => {
    const { checkpointer, batches } = await batching();
    await put(checkpointer, "gone", "x").stored;
    await checkpointer.deleteThread("gone");
    const base = put(checkpointer, "moved", "base");
    await base.stored;
    const first = put(checkpointer, "warm", 0);
    const ok = put(checkpointer, "fine", "kept");
    const stale = put(checkpointer, "moved", "stale"); // expects an empty thread: it has a head
    const late = put(checkpointer, "gone", "late");
    const results = await Promise.allSettled([first.stored, ok.stored, stale.stored, late.stored]);
    expect(batches()).toBe(1);
    expect(outcomes(results)).toEqual(["stored", "stored", ConflictError, ThreadDeletedError]);
    expect((await checkpointer.get("fine"))?.checkpoint.values.v).toBe("kept");
    expect((await checkpointer.get("moved"))?.checkpoint.id).toBe(base.id);
    await checkpointer.close();
  });

  it("closing the backend lets the writes handed to it finish: puts waiting to share a statement, and pending writes held to the end of their turn", async () => {
    const schema = freshSchema();
    // Its own pool (from a URL), which closing it ends.
    const backend = new PostgresBackend(PG_URL, { schema, maxConnections: 4 });
    const checkpointer = createCheckpointer(backend);
    await checkpointer.ready();
    const head = putValue(checkpointer, "t", "head");
    await head.stored;
    const puts = Array.from({ length: 6 }, (_, i) => {
      const id = newCheckpointId();
      const encoded = checkpointer.encode({
        threadId: `c${i}`,
        id,
        parentId: undefined,
        channelVersions: { v: id },
        versionsSeen: {},
        metadata: { source: "loop", step: 0 },
        updates: [{ channel: "v", version: id, value: i }],
      });
      return backend.putCheckpoint({ ...encoded, expectedHead: null });
    });
    // Handed to the backend itself, which holds them to the end of this turn: close() comes first.
    const site = { threadId: "t", checkpointId: head.id };
    const writes = ["a", "b", "c"].map((task) =>
      backend.putWrites(
        { threadId: "t", ns: "", checkpointId: head.id },
        [0, 1].map((idx) =>
          checkpointer.codec.encodeWrite(
            { taskId: task, taskPath: "", idx, channel: "out", value: `${task}${idx}` },
            site,
          ),
        ),
      ),
    );
    await backend.close();
    const settled = await Promise.allSettled([...puts, ...writes]);
    expect(outcomes(settled)).toEqual(settled.map(() => "stored"));
    const reader = createCheckpointer(new PostgresBackend(testPool(), { schema }));
    for (let i = 0; i < 6; i++) expect((await reader.get(`c${i}`))?.checkpoint.values.v).toBe(i);
    expect((await reader.get("t"))?.pendingWrites.map((w) => w.value)).toEqual([
      "a0",
      "a1",
      "b0",
      "b1",
      "c0",
      "c1",
    ]);
    await reader.close();
  });

  it("a write the server refuses outright fails alone: the others run again and are stored", async () => {
    const { checkpointer, schema, batches } = await batching();
    const earlier = put(checkpointer, "archived", "before");
    await earlier.stored;
    // Marked archived: the table's trigger raises for any write of it, which rolls back the
    // whole statement it is in.
    await adminPool().query(
      `UPDATE "${schema}".rewind_threads SET archive_state = 1 WHERE thread_id = 'archived'`,
    );
    const first = put(checkpointer, "warm", 0);
    const before = put(checkpointer, "a", "kept a");
    const refused = put(checkpointer, "archived", "refused", earlier.id);
    const after = put(checkpointer, "z", "kept z");
    const results = await Promise.allSettled([
      first.stored,
      before.stored,
      refused.stored,
      after.stored,
    ]);
    expect(batches()).toBe(1);
    expect(outcomes(results)).toEqual(["stored", "stored", ThreadArchivedError, "stored"]);
    expect((await checkpointer.get("a"))?.checkpoint.values.v).toBe("kept a");
    expect((await checkpointer.get("z"))?.checkpoint.values.v).toBe("kept z");
    await checkpointer.close();
  });

  it("tasks' pending writes handed over in one turn go in one statement, each stored exactly", async () => {
    const { checkpointer, writeStatements } = await batching();
    const heads = await Promise.all(
      ["a", "b", "c"].map(async (t) => {
        const head = putValue(checkpointer, t, `head ${t}`);
        await head.stored;
        return head.id;
      }),
    );
    const before = writeStatements();
    // As LangGraph hands them over: each task's as it ends, all within one turn.
    const tasks = heads.flatMap((id, i) =>
      ["t1", "t2", "t3"].map((task) => pending(checkpointer, ["a", "b", "c"][i]!, id, task)),
    );
    await Promise.all(tasks);
    const after = writeStatements();
    expect([after[0] - before[0], after[1] - before[1]]).toEqual([0, 1]);
    for (const [i, thread] of ["a", "b", "c"].entries()) {
      const loaded = await checkpointer.get(thread, { checkpointId: heads[i] });
      expect(loaded?.pendingWrites.map((w) => [w.taskId, w.idx, w.channel, w.value])).toEqual(
        ["t1", "t2", "t3"].flatMap((task) => [
          [task, 0, "out", { from: task }],
          [task, 1, "log", `${task} ${"y".repeat(300)}`],
        ]),
      );
    }
    // A lone task's writes go alone.
    await pending(checkpointer, "a", heads[0]!, "t4");
    expect(writeStatements()).toEqual([after[0] + 1, after[1]]);
    await checkpointer.close();
  });

  it("pending writes refused for a deleted thread or a lost lease fail alone; a statement the server refuses runs again write by write", async () => {
    const { checkpointer, schema, writeStatements } = await batching();
    const gone = putValue(checkpointer, "gone", "x");
    const leased = putValue(checkpointer, "leased", "x");
    const archived = putValue(checkpointer, "archived", "x");
    const fine = putValue(checkpointer, "fine", "x");
    await Promise.all([gone.stored, leased.stored, archived.stored, fine.stored]);
    await checkpointer.deleteThread("gone");
    const lost = (await checkpointer.acquireLease("leased", "first", 60_000))!;
    await checkpointer.acquireLease("leased", "second", 60_000, { steal: true });
    const together = await Promise.allSettled([
      pending(checkpointer, "fine", fine.id, "t1"),
      pending(checkpointer, "gone", gone.id, "t1"),
      pending(checkpointer, "leased", leased.id, "t1", lost),
      pending(checkpointer, "fine", fine.id, "t2"),
    ]);
    expect(writeStatements()[1]).toBe(1);
    expect(outcomes(together)).toEqual(["stored", ThreadDeletedError, LeaseLostError, "stored"]);
    // Marked archived: the trigger raises for any write of it, rolling back the whole statement.
    await adminPool().query(
      `UPDATE "${schema}".rewind_threads SET archive_state = 1 WHERE thread_id = 'archived'`,
    );
    const refused = await Promise.allSettled([
      pending(checkpointer, "fine", fine.id, "t3"),
      pending(checkpointer, "archived", archived.id, "t1"),
      pending(checkpointer, "fine", fine.id, "t4"),
    ]);
    expect(writeStatements()[1]).toBe(2);
    expect(outcomes(refused)).toEqual(["stored", ThreadArchivedError, "stored"]);
    const loaded = await checkpointer.get("fine");
    expect(loaded?.pendingWrites.map((w) => w.taskId)).toEqual(
      ["t1", "t2", "t3", "t4"].flatMap((t) => [t, t]),
    );
    expect((await checkpointer.get("leased"))?.pendingWrites).toEqual([]);
    await checkpointer.close();
  });
});
