/**
 * Conformance cases about the lease folded into a run's calls: the grant that also reads the
 * head (`withHead`) and the last write that releases the lease (`release`). Backends that fold
 * leases do each in one call; on the others the door and the Checkpointer do the same in two,
 * and these cases hold either way: fencing is exactly that of an ordinary write.
 */
import { expect } from "vitest";
import { InvalidInputError, LeaseLostError } from "../errors.js";
import {
  type CaseContext,
  type ConformanceCase,
  caught,
  ids,
  listIds,
  mustGet,
  putFull,
  sleep,
} from "./checkpoint-fixtures.js";

async function releasingWrite(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("release");
  const [c1, c2] = ids(2) as [string, string];
  const lease = await ctx.checkpointer.acquireLease(threadId, "run-1", 60_000);
  await putFull(ctx, threadId, c1, { v: 1 }, { fence: lease, expectedHead: null });
  await putFull(ctx, threadId, c2, { v: 2 }, { fence: lease, expectedHead: c1, release: true });
  expect(await listIds(ctx, { threadId })).toEqual([c2, c1]);
  expect((await mustGet(ctx, threadId)).checkpoint.values).toEqual({ v: 2 });
  // Released with the write: free at once, and the old fence is worth nothing any more.
  expect(await ctx.checkpointer.readLease(threadId)).toBeUndefined();
  expect(await ctx.checkpointer.renewLease(lease!, 60_000)).toBeUndefined();
  expect(await ctx.checkpointer.releaseLease(lease!)).toBe(false);
  const next = await ctx.checkpointer.acquireLease(threadId, "run-2", 60_000);
  expect(next!.token).toBeGreaterThan(lease!.token);
  // A release needs the fence it releases.
  const [c3] = ids(1) as [string];
  expect(
    await caught(() => putFull(ctx, threadId, c3, { v: 3 }, { release: true })),
  ).toBeInstanceOf(InvalidInputError);
  expect(await listIds(ctx, { threadId })).toEqual([c2, c1]);
}

async function staleReleasingWrite(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("release-stale");
  const [c1, c2, c3] = ids(3) as [string, string, string];
  const running = await ctx.checkpointer.acquireLease(threadId, "running", 60_000);
  await putFull(ctx, threadId, c1, { v: 1 }, { fence: running });
  const taken = await ctx.checkpointer.acquireLease(threadId, "preempting", 60_000, {
    steal: true,
  });
  // The preempted holder's last write neither lands nor releases the taker's lease.
  const error = await caught(() =>
    putFull(ctx, threadId, c2, { v: "late" }, { fence: running, release: true }),
  );
  expect(error).toBeInstanceOf(LeaseLostError);
  expect(error).toMatchObject({ code: "LEASE_LOST", threadId });
  expect(await listIds(ctx, { threadId })).toEqual([c1]);
  expect(await ctx.checkpointer.readLease(threadId)).toMatchObject({
    owner: "preempting",
    token: taken!.token,
  });
  expect(await ctx.checkpointer.acquireLease(threadId, "third", 60_000)).toBeUndefined();

  // An expired holder's last write is refused the same way, even with nobody waiting.
  const expiring = ctx.thread("release-expired");
  const brief = await ctx.checkpointer.acquireLease(expiring, "brief", 5);
  await sleep(40);
  expect(
    await caught(() => putFull(ctx, expiring, c3, { v: "late" }, { fence: brief, release: true })),
  ).toBeInstanceOf(LeaseLostError);
  expect(await listIds(ctx, { threadId: expiring })).toEqual([]);
}

async function grantWithHead(ctx: CaseContext): Promise<void> {
  const folds = ctx.checkpointer.door.foldsLease;
  const empty = ctx.thread("grant-empty");
  const first = await ctx.checkpointer.acquireLeaseWithHead(empty, "run-1", 60_000);
  expect(first!.lease).toMatchObject({ threadId: empty, owner: "run-1", startedFrom: null });
  expect(first!.headId).toBe(folds ? null : undefined);
  expect(first!.head?.()).toBeUndefined();
  expect(first!.archive).toBe(folds ? null : undefined);
  // A busy thread is refused as by acquireLease, with nothing read.
  expect(await ctx.checkpointer.acquireLeaseWithHead(empty, "run-2", 60_000)).toBeUndefined();

  const threadId = ctx.thread("grant-head");
  const [c1, c2] = ids(2) as [string, string];
  await putFull(ctx, threadId, c1, { a: 1, b: "x" });
  await putFull(ctx, threadId, c2, { a: 2 }, { parentId: c1, carried: { b: c1 } });
  await ctx.checkpointer.putWrites({ threadId, checkpointId: c2 }, [
    { taskId: "t", taskPath: "", idx: 0, channel: "a", value: 3 },
  ]);
  const granted = await ctx.checkpointer.acquireLeaseWithHead(threadId, "run-1", 60_000);
  expect(granted!.lease).toMatchObject({ owner: "run-1", startedFrom: c2 });
  if (!folds) {
    expect(granted!.head).toBeUndefined();
    return;
  }
  expect(granted!.headId).toBe(c2);
  const head = granted!.head!();
  const read = await mustGet(ctx, threadId);
  expect(head!.checkpoint).toEqual(read.checkpoint);
  expect(head!.pendingWrites).toEqual(read.pendingWrites);
  expect(head!.checkpoint.values).toEqual({ a: 2, b: "x" });
  expect(granted!.archive).toBeNull();
}

async function crashAfterGrant(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("grant-crash");
  const [c1, c2, c3] = ids(3) as [string, string, string];
  await putFull(ctx, threadId, c1, { v: 1 });
  // A holder granted with the head that dies before writing: its lease runs out, nothing more.
  const dead = await ctx.checkpointer.acquireLeaseWithHead(threadId, "dead", 1_000);
  expect(await ctx.checkpointer.acquireLeaseWithHead(threadId, "next", 60_000)).toBeUndefined();
  await sleep(1_100);
  const next = await ctx.checkpointer.acquireLeaseWithHead(threadId, "next", 60_000);
  expect(next!.lease.token).toBeGreaterThan(dead!.lease.token);
  expect(next!.lease.startedFrom).toBe(c1);
  // Should the dead holder come back, its writes (the releasing one too) are refused.
  for (const release of [false, true]) {
    expect(
      await caught(() =>
        putFull(
          ctx,
          threadId,
          c2,
          { v: "late" },
          { fence: dead!.lease, expectedHead: c1, release },
        ),
      ),
    ).toBeInstanceOf(LeaseLostError);
  }
  await putFull(
    ctx,
    threadId,
    c3,
    { v: 3 },
    { fence: next!.lease, expectedHead: c1, release: true },
  );
  expect(await listIds(ctx, { threadId })).toEqual([c3, c1]);
  expect(await ctx.checkpointer.readLease(threadId)).toBeUndefined();
}

/** Cases of the "lease folding" group. */
export const leaseFoldingCases: readonly ConformanceCase[] = [
  {
    name: "a write that releases the lease stores the checkpoint and frees the thread",
    run: releasingWrite,
  },
  {
    name: "a releasing write from a preempted or expired holder is refused and changes nothing",
    run: staleReleasingWrite,
  },
  { name: "a grant with the head reads it under the lease", run: grantWithHead },
  {
    name: "a holder that dies after its grant leaves the lease to expire; its late writes are refused",
    run: crashAfterGrant,
  },
];
