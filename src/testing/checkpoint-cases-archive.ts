/**
 * Conformance cases about archive marks: moving a thread's rows out leaves only a mark that
 * refuses writes, a restore under way lets them in again, clearing the mark makes the thread
 * live, and a delete removes the mark with everything else. Refusals change nothing.
 */
import { expect } from "vitest";
import {
  ConflictError,
  NotFoundError,
  ThreadArchivedError,
  ThreadBusyError,
  ThreadDeletedError,
} from "../errors.js";
import {
  type CaseContext,
  type ConformanceCase,
  caught,
  ids,
  listIds,
  mustGet,
  putFull,
} from "./checkpoint-fixtures.js";

async function archiveAndRestore(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("archive");
  const other = ctx.thread("archive-other");
  const [c1, c2, c3, o1] = ids(4) as [string, string, string, string];
  await putFull(ctx, threadId, c1, { note: "one" });
  await putFull(ctx, threadId, c2, { note: "two" }, { parentId: c1 });
  await ctx.checkpointer.putWrites({ threadId, ns: "", checkpointId: c2 }, [
    { taskId: "t", taskPath: "", idx: 0, channel: "note", value: "pending" },
  ]);
  await putFull(ctx, other, o1, { note: "elsewhere" });
  expect(await ctx.backend.readArchive!(threadId)).toBeUndefined();

  await ctx.backend.archiveThread!(threadId, "stub-1");
  expect(await ctx.backend.readArchive!(threadId)).toStrictEqual({
    stub: "stub-1",
    state: "archived",
  });
  expect(await ctx.checkpointer.get(threadId)).toBeUndefined();
  expect(await listIds(ctx, { threadId })).toStrictEqual([]);
  expect((await mustGet(ctx, other)).checkpoint.values).toStrictEqual({ note: "elsewhere" });

  // Archived: writes are refused and store nothing; a second archive is refused.
  expect(await caught(() => putFull(ctx, threadId, c3, { note: "late" }))).toBeInstanceOf(
    ThreadArchivedError,
  );
  const lateWrite = await caught(() =>
    ctx.checkpointer.putWrites({ threadId, ns: "", checkpointId: c2 }, [
      { taskId: "late", taskPath: "", idx: 0, channel: "note", value: "x" },
    ]),
  );
  expect(lateWrite).toBeInstanceOf(ThreadArchivedError);
  expect(await caught(() => ctx.backend.archiveThread!(threadId, "again"))).toBeInstanceOf(
    ConflictError,
  );
  expect(await listIds(ctx, { threadId })).toStrictEqual([]);

  // Restoring: writes are let in, the mark stays until the restore is done.
  await ctx.backend.setArchiveState!(threadId, "restoring");
  expect((await ctx.backend.readArchive!(threadId))?.state).toBe("restoring");
  await putFull(ctx, threadId, c1, { note: "one" });
  await putFull(ctx, threadId, c2, { note: "two" }, { parentId: c1 });
  await ctx.backend.setArchiveState!(threadId, "live");
  expect(await ctx.backend.readArchive!(threadId)).toBeUndefined();
  expect((await mustGet(ctx, threadId)).checkpoint.values).toStrictEqual({ note: "two" });
  await putFull(ctx, threadId, c3, { note: "three" }, { parentId: c2 });
  expect(await listIds(ctx, { threadId })).toStrictEqual([c3, c2, c1]);
}

async function archiveRefusals(ctx: CaseContext): Promise<void> {
  const empty = ctx.thread("archive-empty");
  expect(await caught(() => ctx.backend.archiveThread!(empty, "s"))).toBeInstanceOf(NotFoundError);
  expect(await caught(() => ctx.backend.setArchiveState!(empty, "restoring"))).toBeInstanceOf(
    NotFoundError,
  );
  await ctx.backend.setArchiveState!(empty, "live");

  const leased = ctx.thread("archive-leased");
  const [l1] = ids(1) as [string];
  await putFull(ctx, leased, l1, { note: "busy" });
  const lease = await ctx.backend.acquireLease({ threadId: leased, owner: "run", ttlMs: 60_000 });
  expect(await caught(() => ctx.backend.archiveThread!(leased, "s"))).toBeInstanceOf(
    ThreadBusyError,
  );
  expect((await mustGet(ctx, leased)).checkpoint.values).toStrictEqual({ note: "busy" });
  // The archiver's own lease (its fence) does not stand in its way.
  await ctx.backend.archiveThread!(leased, "s", lease!);
  expect(await ctx.backend.readLease(leased)).toBeUndefined();

  // A delete removes the mark with the thread and leaves the tombstone.
  await ctx.backend.deleteThread(leased);
  expect(await ctx.backend.readArchive!(leased)).toBeUndefined();
  expect(await caught(() => putFull(ctx, leased, l1, { note: "late" }))).toBeInstanceOf(
    ThreadDeletedError,
  );
  expect(await caught(() => ctx.backend.archiveThread!(leased, "s"))).toBeInstanceOf(
    ThreadDeletedError,
  );
}

/** Cases of the "archive" group. */
export const archiveCases: readonly ConformanceCase[] = [
  {
    name: "archive marks: rows move out, writes are refused, a restore writes them back",
    run: archiveAndRestore,
  },
  {
    name: "archive refusals: no checkpoints, a live lease, a deleted thread; a delete clears the mark",
    run: archiveRefusals,
  },
];
