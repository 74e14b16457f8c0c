/**
 * Checkpoint writes sharing a round trip on PostgreSQL (postgres-put-batch.ts): writes issued
 * while the backend's one lane is busy go together in one statement, and each still gets its
 * own outcome, as it would alone.
 */
import type pg from "pg";
import { describe, expect, it } from "vitest";
import { newCheckpointId } from "../../src/backend.js";
import { PostgresBackend } from "../../src/backends/postgres/index.js";
import {
  type Checkpointer,
  ConflictError,
  createCheckpointer,
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
}> {
  const pool = testPool(4);
  let batches = 0;
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  (pool as unknown as { query: unknown }).query = (config: unknown, ...rest: unknown[]) => {
    const text = typeof config === "string" ? config : (config as { text?: string }).text;
    if (text?.includes("WITH ORDINALITY") && text.includes("rewind_put_checkpoint")) batches++;
    return query(config, ...rest);
  };
  const schema = freshSchema();
  const checkpointer = createCheckpointer(new PostgresBackend(pool as pg.Pool, { schema }));
  await checkpointer.ready();
  return { checkpointer, schema, batches: () => batches };
}

/** A write of `value` in channel `v`, with a larger value beside it in `w`; not awaited. */
function put(checkpointer: Checkpointer, threadId: string, value: unknown, parent?: string) {
  const w = { nested: [value, "x".repeat(600)] };
  return putValue(checkpointer, threadId, value, parent, undefined, { w });
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
    expect(results[0]!.status).toBe("fulfilled");
    expect(results[1]!.status).toBe("fulfilled");
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
    expect((results[3] as PromiseRejectedResult).reason).toBeInstanceOf(ThreadDeletedError);
    expect((await checkpointer.get("fine"))?.checkpoint.values.v).toBe("kept");
    expect((await checkpointer.get("moved"))?.checkpoint.id).toBe(base.id);
    await checkpointer.close();
  });

  it("closing the backend lets the writes handed to it finish, those waiting to share a statement too", async () => {
    const schema = freshSchema();
    // Its own pool (from a URL), which closing it ends.
    const backend = new PostgresBackend(PG_URL, { schema, maxConnections: 4 });
    const checkpointer = createCheckpointer(backend);
    await checkpointer.ready();
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
    await backend.close();
    expect((await Promise.allSettled(puts)).map((r) => r.status)).toEqual(
      puts.map(() => "fulfilled"),
    );
    const reader = createCheckpointer(new PostgresBackend(testPool(), { schema }));
    for (let i = 0; i < 6; i++) expect((await reader.get(`c${i}`))?.checkpoint.values.v).toBe(i);
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
    expect(results.map((r) => r.status)).toEqual([
      "fulfilled",
      "fulfilled",
      "rejected",
      "fulfilled",
    ]);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(ThreadArchivedError);
    expect((await checkpointer.get("a"))?.checkpoint.values.v).toBe("kept a");
    expect((await checkpointer.get("z"))?.checkpoint.values.v).toBe("kept z");
    await checkpointer.close();
  });
});
