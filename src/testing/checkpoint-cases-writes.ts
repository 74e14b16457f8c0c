/**
 * Conformance cases about pending writes: contract order, insert-or-ignore for regular writes,
 * upsert for special ones, and attachment to exactly one checkpoint.
 */
import { expect } from "vitest";
import type { PendingWrite } from "../checkpoint/checkpointer.js";
import {
  type CaseContext,
  type ConformanceCase,
  collect,
  ids,
  mustGet,
  putFull,
} from "./checkpoint-fixtures.js";

function write(taskPath: string, taskId: string, idx: number, value: unknown): PendingWrite {
  return { taskPath, taskId, idx, channel: `ch-${idx}`, value };
}

async function sorted(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("order");
  const [id] = ids(1);
  await putFull(ctx, threadId, id!, { x: 1 });
  const key = { threadId, checkpointId: id! };
  // Saved in an order that is none of the sort keys, one task at a time like the runtime does.
  await ctx.checkpointer.putWrites(key, [
    write("b", "t2", 1, "b/t2/1"),
    write("b", "t2", 0, "b/t2/0"),
  ]);
  await ctx.checkpointer.putWrites(key, [
    write("a", "t9", 10, "a/t9/10"),
    write("a", "t9", 2, "a/t9/2"),
  ]);
  await ctx.checkpointer.putWrites(key, [write("", "z", 0, "/z/0")]);
  await ctx.checkpointer.putWrites(key, [write("b", "t10", 0, "b/t10/0")]);
  await ctx.checkpointer.putWrites(key, [write("B", "t1", 0, "B/t1/0")]);
  await ctx.checkpointer.putWrites(key, [write("a", "t9", -1, "a/t9/-1")]);
  const { pendingWrites } = await mustGet(ctx, threadId, id);
  expect(pendingWrites.map((w) => w.value)).toEqual([
    "/z/0",
    "B/t1/0",
    "a/t9/-1",
    "a/t9/2",
    "a/t9/10",
    "b/t10/0",
    "b/t2/0",
    "b/t2/1",
  ]);
  expect(pendingWrites[3]).toStrictEqual({
    taskPath: "a",
    taskId: "t9",
    idx: 2,
    channel: "ch-2",
    value: "a/t9/2",
  });
}

async function conflictRules(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("rules");
  const [id] = ids(1);
  await putFull(ctx, threadId, id!, { x: 1 });
  const key = { threadId, checkpointId: id! };
  await ctx.checkpointer.putWrites(key, [
    write("", "task", 0, "first"),
    write("", "task", -3, "ask"),
  ]);
  // A retried task writes again: its regular write must not change, its special one is replaced.
  await ctx.checkpointer.putWrites(key, [
    write("", "task", 0, "retry"),
    write("", "task", -3, "ask again"),
  ]);
  await ctx.checkpointer.putWrites(key, [write("", "task", 1, "new")]);
  const { pendingWrites } = await mustGet(ctx, threadId, id);
  expect(pendingWrites.map((w) => [w.idx, w.value])).toEqual([
    [-3, "ask again"],
    [0, "first"],
    [1, "new"],
  ]);
}

async function repeatedInBatch(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("repeat");
  const [id] = ids(1);
  await putFull(ctx, threadId, id!, { x: 1 });
  const key = { threadId, checkpointId: id! };
  // LangGraph sends a task's resume values again with each answer, in one batch.
  await ctx.checkpointer.putWrites(key, [
    write("", "task", -4, ["yes"]),
    write("", "task", 0, "first"),
    write("", "task", -4, ["yes", "done"]),
    write("", "task", 0, "second"),
  ]);
  const { pendingWrites } = await mustGet(ctx, threadId, id);
  expect(pendingWrites.map((w) => [w.idx, w.value])).toEqual([
    [-4, ["yes", "done"]],
    [0, "first"],
  ]);
}

async function attached(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("attach");
  const other = ctx.thread("attach-other");
  const [c1, c2] = ids(2) as [string, string];
  await putFull(ctx, threadId, c1, { x: 1 });
  await putFull(ctx, threadId, c2, { x: 2 });
  await putFull(ctx, threadId, c1, { x: "sub" }, { ns: "sub" });
  await putFull(ctx, other, c1, { x: "other" });
  const bytes = new Uint8Array([0, 255, 7]);
  await ctx.checkpointer.putWrites({ threadId, checkpointId: c1 }, [
    write("", "t", 0, bytes),
    write("", "t", 1, { when: new Date(5), n: 7n }),
  ]);
  await ctx.checkpointer.putWrites({ threadId, ns: "sub", checkpointId: c1 }, [
    write("", "t", 0, "sub write"),
  ]);
  await ctx.checkpointer.putWrites({ threadId: other, checkpointId: c1 }, [
    write("", "t", 0, "other write"),
  ]);
  const root = await mustGet(ctx, threadId, c1);
  expect(root.pendingWrites.map((w) => w.value)).toStrictEqual([
    bytes,
    { when: new Date(5), n: 7n },
  ]);
  expect(root.pendingWrites[0]!.value).toBeInstanceOf(Uint8Array);
  expect((await mustGet(ctx, threadId, c2)).pendingWrites).toEqual([]);
  expect((await mustGet(ctx, threadId, c1, "sub")).pendingWrites.map((w) => w.value)).toEqual([
    "sub write",
  ]);
  expect((await mustGet(ctx, other, c1)).pendingWrites.map((w) => w.value)).toEqual([
    "other write",
  ]);
  const listed = await collect(ctx.checkpointer.list({ threadId, ns: "" }));
  expect(listed.map((t) => t.pendingWrites.length)).toEqual([0, 2]);
  const headers = await collect(ctx.checkpointer.list({ threadId, ns: "", includeValues: false }));
  expect(headers.map((t) => t.pendingWrites.length)).toEqual([0, 0]);
}

/** Cases of the "pending writes" group. */
export const writeCases: readonly ConformanceCase[] = [
  { name: "pending writes come back sorted by taskPath, taskId, idx", run: sorted },
  { name: "regular writes are insert-or-ignore, special writes are upserted", run: conflictRules },
  {
    name: "a write repeated in one batch is kept as two batches would keep it",
    run: repeatedInBatch,
  },
  { name: "writes attach to their own thread, namespace and checkpoint", run: attached },
];
