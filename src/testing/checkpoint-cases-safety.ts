/**
 * Conformance cases about refusing writes: compare-and-set on the head, tombstones, leases and
 * fencing, invalid ids, and calls after close. Every refusal must leave storage untouched.
 */
import { expect } from "vitest";
import {
  ClosedError,
  ConflictError,
  CorruptionError,
  InvalidInputError,
  LeaseLostError,
  ThreadDeletedError,
} from "../errors.js";
import {
  type CaseContext,
  type ConformanceCase,
  caught,
  collect,
  ids,
  listIds,
  mustGet,
  putFull,
  sleep,
} from "./checkpoint-fixtures.js";

/** Whether `channel@version` was stored: checkpoint `probe` points at it without writing it. */
async function blobStored(
  ctx: CaseContext,
  threadId: string,
  probe: string,
  channel: string,
  version: string,
): Promise<boolean> {
  await ctx.backend.putCheckpoint({
    checkpoint: {
      threadId,
      ns: "",
      id: probe,
      parentId: null,
      createdAt: new Date().toISOString(),
      channelVersions: { [channel]: version },
      metadata: JSON.stringify({ source: "fork", step: 0 }),
      body: "{}",
    },
    blobs: [],
  });
  const error = await caught(() => ctx.checkpointer.get(threadId, { checkpointId: probe }));
  if (error !== undefined && !(error instanceof CorruptionError)) throw error;
  return error === undefined;
}

async function compareAndSet(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("cas");
  // Probe ids sort before the others, so probing never moves the head.
  const [p1, p2, p3, c1, c2, c3, c4, s1] = ids(8) as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  await putFull(ctx, threadId, c1, { v: 1 }, { expectedHead: null });
  const lost = await caught(() =>
    putFull(ctx, threadId, c2, { v: 2, w: "lost" }, { expectedHead: null }),
  );
  expect(lost).toBeInstanceOf(ConflictError);
  expect(lost).toMatchObject({ code: "CONFLICT", threadId });
  await putFull(ctx, threadId, c3, { v: 3 }, { expectedHead: c1 });
  const stale = await caught(() =>
    putFull(ctx, threadId, c4, { v: 4, w: "stale" }, { expectedHead: c1 }),
  );
  expect(stale).toBeInstanceOf(ConflictError);
  expect(await listIds(ctx, { threadId, ns: "" })).toEqual([c3, c1]);
  expect((await mustGet(ctx, threadId)).checkpoint.values).toStrictEqual({ v: 3 });
  expect(await blobStored(ctx, threadId, p1, "v", c1)).toBe(true);
  expect(await blobStored(ctx, threadId, p2, "w", c2)).toBe(false);
  expect(await blobStored(ctx, threadId, p3, "w", c4)).toBe(false);
  // The head is per namespace; no expectation at all always writes (forks, updates).
  await putFull(ctx, threadId, s1, { v: "sub" }, { ns: "sub", expectedHead: null });
  await putFull(ctx, threadId, c4, { v: 4 }, { parentId: c1 });
  expect((await mustGet(ctx, threadId)).checkpoint.id).toBe(c4);
}

async function tombstone(ctx: CaseContext): Promise<void> {
  const gone = ctx.thread("gone");
  const kept = ctx.thread("kept");
  const [c1, c2, c3] = ids(3) as [string, string, string];
  await putFull(ctx, gone, c1, { v: 1 });
  await putFull(ctx, gone, c1, { v: "sub" }, { ns: "sub" });
  await ctx.checkpointer.putWrites({ threadId: gone, checkpointId: c1 }, [
    { taskId: "t", taskPath: "", idx: 0, channel: "c", value: 1 },
  ]);
  await putFull(ctx, kept, c1, { v: "kept" });
  await ctx.checkpointer.putWrites({ threadId: kept, checkpointId: c1 }, [
    { taskId: "t", taskPath: "", idx: 0, channel: "c", value: "kept" },
  ]);
  await ctx.checkpointer.deleteThread(gone);
  expect(await ctx.checkpointer.get(gone)).toBeUndefined();
  expect(await ctx.checkpointer.get(gone, { ns: "sub" })).toBeUndefined();
  expect(await listIds(ctx, { threadId: gone })).toEqual([]);
  expect(await listIds(ctx, { filter: { tag: ctx.tag } })).toEqual([c1]);
  const late = [
    () => putFull(ctx, gone, c2, { v: 2 }),
    () => putFull(ctx, gone, c3, { v: 3 }, { expectedHead: null }),
    () => putFull(ctx, gone, c2, { v: 2 }, { ns: "other" }),
    () =>
      ctx.checkpointer.putWrites({ threadId: gone, checkpointId: c1 }, [
        { taskId: "t", taskPath: "", idx: 1, channel: "c", value: 2 },
      ]),
    () => ctx.checkpointer.acquireLease(gone, "late-run", 60_000),
  ];
  for (const attempt of late) {
    const error = await caught(attempt);
    expect(error).toBeInstanceOf(ThreadDeletedError);
    expect(error).toMatchObject({ code: "THREAD_DELETED", threadId: gone });
  }
  expect(await listIds(ctx, { threadId: gone })).toEqual([]);
  await ctx.checkpointer.deleteThread(gone);
  const survivor = await mustGet(ctx, kept);
  expect(survivor.checkpoint.values).toStrictEqual({ v: "kept" });
  expect(survivor.pendingWrites.map((w) => w.value)).toEqual(["kept"]);
  // A thread deleted before anything was written to it refuses late writes too.
  const never = ctx.thread("never");
  await ctx.checkpointer.deleteThread(never);
  expect(await caught(() => putFull(ctx, never, c1, { v: 1 }))).toBeInstanceOf(ThreadDeletedError);
}

async function leases(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("lease");
  const first = await ctx.checkpointer.acquireLease(threadId, "run-1", 60_000);
  expect(first).toMatchObject({ threadId, owner: "run-1" });
  expect(first!.expiresAt).toBeGreaterThan(Date.now() + 30_000);
  expect(await ctx.checkpointer.acquireLease(threadId, "run-2", 60_000)).toBeUndefined();
  const elsewhere = await ctx.checkpointer.acquireLease(ctx.thread("other"), "run-2", 60_000);
  expect(elsewhere).toMatchObject({ owner: "run-2" });
  const renewed = await ctx.checkpointer.renewLease(first!, 120_000);
  expect(renewed).toMatchObject({ threadId, owner: "run-1", token: first!.token });
  expect(renewed!.expiresAt).toBeGreaterThan(first!.expiresAt);
  const [c1, c2] = ids(2) as [string, string];
  await putFull(ctx, threadId, c1, { v: 1 }, { fence: renewed });
  await ctx.checkpointer.releaseLease(renewed!);
  expect(await ctx.checkpointer.renewLease(renewed!, 60_000)).toBeUndefined();
  expect(
    await caught(() => putFull(ctx, threadId, c2, { v: 2 }, { fence: renewed })),
  ).toBeInstanceOf(LeaseLostError);
  const second = await ctx.checkpointer.acquireLease(threadId, "run-2", 60_000);
  expect(second!.token).toBeGreaterThan(first!.token);
  await ctx.checkpointer.releaseLease(renewed!);
  expect(await ctx.checkpointer.acquireLease(threadId, "run-3", 60_000)).toBeUndefined();
  expect(await listIds(ctx, { threadId })).toEqual([c1]);
}

async function expiredLease(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("expiry");
  const [c1, c2, c3] = ids(3) as [string, string, string];
  const stale = await ctx.checkpointer.acquireLease(threadId, "slow-run", 5);
  await putFull(ctx, threadId, c1, { v: 1 });
  await sleep(40);
  const fresh = await ctx.checkpointer.acquireLease(threadId, "new-run", 60_000);
  expect(fresh).toBeDefined();
  expect(fresh!.token).toBeGreaterThan(stale!.token);
  const refused = [
    () => putFull(ctx, threadId, c2, { v: "stale" }, { fence: stale }),
    () =>
      ctx.checkpointer.putWrites(
        { threadId, checkpointId: c1 },
        [{ taskId: "t", taskPath: "", idx: 0, channel: "c", value: "stale" }],
        stale,
      ),
  ];
  for (const attempt of refused) {
    const error = await caught(attempt);
    expect(error).toBeInstanceOf(LeaseLostError);
    expect(error).toMatchObject({ code: "LEASE_LOST", threadId });
  }
  expect(await ctx.checkpointer.renewLease(stale!, 60_000)).toBeUndefined();
  await ctx.checkpointer.releaseLease(stale!);
  await putFull(ctx, threadId, c3, { v: 3 }, { fence: fresh });
  expect(await listIds(ctx, { threadId })).toEqual([c3, c1]);
  expect((await mustGet(ctx, threadId, c1)).pendingWrites).toEqual([]);
  expect(await ctx.checkpointer.acquireLease(threadId, "third-run", 60_000)).toBeUndefined();
}

async function stolenLease(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("steal");
  const [c1, c2] = ids(2) as [string, string];
  const running = await ctx.checkpointer.acquireLease(threadId, "running", 60_000);
  const taken = await ctx.checkpointer.acquireLease(threadId, "preempting", 60_000, {
    steal: true,
  });
  expect(taken).toMatchObject({ threadId, owner: "preempting", stolenFrom: "running" });
  expect(taken!.token).toBeGreaterThan(running!.token);
  const error = await caught(() => putFull(ctx, threadId, c1, { v: "late" }, { fence: running }));
  expect(error).toBeInstanceOf(LeaseLostError);
  expect(await ctx.checkpointer.renewLease(running!, 60_000)).toBeUndefined();
  await putFull(ctx, threadId, c2, { v: "new" }, { fence: taken });
  expect(await listIds(ctx, { threadId })).toEqual([c2]);
  const free = ctx.thread("steal-free");
  const uncontested = await ctx.checkpointer.acquireLease(free, "anyone", 60_000, { steal: true });
  expect(uncontested?.stolenFrom).toBeUndefined();
}

async function invalidIds(ctx: CaseContext): Promise<void> {
  const ok = ctx.thread("valid");
  const [c1] = ids(1) as [string];
  const write = { taskId: "t", taskPath: "", idx: 0, channel: "c", value: 1 };
  const expectInvalid = async (attempt: () => Promise<unknown>) => {
    const error = await caught(attempt);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).toMatchObject({ code: "INVALID_INPUT" });
  };
  const badThreads: unknown[] = ["", "a\u0000b", "line\nbreak", "x".repeat(513), 42, null];
  for (const bad of badThreads) {
    const threadId = bad as string;
    await expectInvalid(() => putFull(ctx, threadId, c1, { v: 1 }));
    await expectInvalid(() => ctx.checkpointer.putWrites({ threadId, checkpointId: c1 }, [write]));
    await expectInvalid(() => ctx.checkpointer.get(threadId));
    await expectInvalid(() => collect(ctx.checkpointer.list({ threadId })));
    await expectInvalid(() => ctx.checkpointer.deleteThread(threadId));
    await expectInvalid(() => ctx.checkpointer.acquireLease(threadId, "run", 1000));
  }
  for (const badId of ["", 7, "c".repeat(257), "c\u0000d", "lone\ud800", "\udc00lone"]) {
    const checkpointId = badId as string;
    await expectInvalid(() => putFull(ctx, ok, checkpointId, { v: 1 }));
    await expectInvalid(() => ctx.checkpointer.get(ok, { checkpointId }));
    await expectInvalid(() => ctx.checkpointer.putWrites({ threadId: ok, checkpointId }, [write]));
  }
  await expectInvalid(() =>
    ctx.checkpointer.putWrites({ threadId: ok, checkpointId: c1 }, [{ ...write, idx: 0.5 }]),
  );
  await expectInvalid(() =>
    ctx.checkpointer.putWrites({ threadId: ok, checkpointId: c1 }, [{ ...write, channel: "" }]),
  );
  for (const bad of ["a\u0000b", "x\ud83d"]) {
    await expectInvalid(() =>
      ctx.checkpointer.putWrites({ threadId: ok, checkpointId: c1 }, [{ ...write, channel: bad }]),
    );
    await expectInvalid(() =>
      ctx.checkpointer.putWrites({ threadId: ok, checkpointId: c1 }, [{ ...write, taskId: bad }]),
    );
    await expectInvalid(() => ctx.checkpointer.acquireLease(ok, bad, 1000));
  }
  await expectInvalid(() => collect(ctx.checkpointer.list({ threadId: ok, limit: -1 })));
  await expectInvalid(() => ctx.checkpointer.acquireLease(ok, "run", 0));
  await expectInvalid(() => ctx.checkpointer.acquireLease(ok, "", 1000));
  expect(await listIds(ctx, { filter: { tag: ctx.tag } })).toEqual([]);
  expect(await ctx.checkpointer.get(ok)).toBeUndefined();
  await putFull(ctx, ok, c1, { v: "fine" });
  expect((await mustGet(ctx, ok)).checkpoint.values).toStrictEqual({ v: "fine" });
  expect((await mustGet(ctx, ok)).pendingWrites).toEqual([]);
}

async function closed(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("closed");
  const [c1, c2] = ids(2) as [string, string];
  await putFull(ctx, threadId, c1, { v: 1 });
  await ctx.checkpointer.close();
  await ctx.checkpointer.close();
  const attempts = [
    () => putFull(ctx, threadId, c2, { v: 2 }),
    () => ctx.checkpointer.get(threadId),
    () => collect(ctx.checkpointer.list({ threadId })),
    () =>
      ctx.checkpointer.putWrites({ threadId, checkpointId: c1 }, [
        { taskId: "t", taskPath: "", idx: 0, channel: "c", value: 1 },
      ]),
    () => ctx.checkpointer.deleteThread(threadId),
    () => ctx.checkpointer.acquireLease(threadId, "run", 1000),
  ];
  for (const attempt of attempts) {
    const error = await caught(attempt);
    expect(error).toBeInstanceOf(ClosedError);
    expect(error).toMatchObject({ code: "CLOSED" });
  }
}

/**
 * Damage is caught by the checksums the core seals every row and value with: a value stored
 * under an identity it was not written for, and (when the harness can) bytes damaged in place.
 * Each read of a damaged checkpoint is a CorruptionError naming thread, checkpoint and channel;
 * the checkpoints and threads around it still load.
 */
async function checksums(ctx: CaseContext): Promise<void> {
  const threadId = ctx.thread("checksum");
  const other = ctx.thread("checksum-other");
  const [c1, c2, c3] = ids(3) as [string, string, string];
  await putFull(ctx, threadId, c1, { note: "the original note", n: 1 });
  await putFull(ctx, other, c1, { note: "elsewhere" });
  // A misdirected write: c1's sealed value, stored again as the value of c2.
  const sealed = (await ctx.backend.getCheckpoint(threadId, "", c1))!.blobs.note!.at(-1)!;
  await ctx.backend.putCheckpoint({
    checkpoint: {
      ...(await ctx.backend.getCheckpoint(threadId, "", c1))!.checkpoint,
      id: c2,
      channelVersions: { note: c2, n: c1 },
    },
    blobs: [{ ...sealed, version: c2 }],
  });
  for (const id of [c2]) {
    const error = await caught(() => ctx.checkpointer.get(threadId, { checkpointId: id }));
    expect(error).toBeInstanceOf(CorruptionError);
    expect(error).toMatchObject({ code: "CORRUPTED", threadId, checkpointId: id });
  }
  expect((await mustGet(ctx, threadId, c1)).checkpoint.values).toStrictEqual({
    note: "the original note",
    n: 1,
  });
  if (ctx.corrupt) {
    await putFull(ctx, threadId, c3, { note: "a note about to rot" }, { carried: { n: c1 } });
    await ctx.corrupt({ threadId, ns: "", checkpointId: c3 });
    const error = await caught(() => ctx.checkpointer.get(threadId, { checkpointId: c3 }));
    expect(error).toBeInstanceOf(CorruptionError);
    expect(error).toMatchObject({ code: "CORRUPTED", threadId, checkpointId: c3 });
    expect(String(error.message)).toContain(c3);
  }
  expect((await mustGet(ctx, threadId, c1)).checkpoint.values).toStrictEqual({
    note: "the original note",
    n: 1,
  });
  expect((await mustGet(ctx, other)).checkpoint.values).toStrictEqual({ note: "elsewhere" });
}

/** Cases of the "safety" group. */
export const safetyCases: readonly ConformanceCase[] = [
  {
    name: "compare-and-set on the head refuses a moved head and writes nothing",
    run: compareAndSet,
  },
  { name: "a deleted thread leaves a tombstone that refuses late writes", run: tombstone },
  { name: "leases: acquire, refuse a second owner, renew, release", run: leases },
  {
    name: "an expired lease passes to a new owner; the old holder's fenced writes fail",
    run: expiredLease,
  },
  {
    name: "a stolen lease fences out its live holder",
    run: stolenLease,
  },
  {
    name: "invalid ids and options are rejected with InvalidInputError and store nothing",
    run: invalidIds,
  },
  { name: "close can be called twice; every later call throws ClosedError", run: closed },
  {
    name: "damaged values and rows are a CorruptionError naming the checkpoint; neighbours still load",
    run: checksums,
  },
];
