/**
 * Conformance cases of the seam's retention methods: threads listed with sizes, a thread's
 * footprint, pins, and prune batches that re-check under their lock what they delete (never a
 * head, a branch head, a fork point or a pinned checkpoint), rebase append chains, leave every
 * kept checkpoint loadable, and can be rerun.
 */
import { expect } from "vitest";
import { ConflictError, NotFoundError, ThreadDeletedError } from "../errors.js";
import {
  type CaseContext,
  type ConformanceCase,
  caught,
  ids,
  mustGet,
  putFull,
} from "./checkpoint-fixtures.js";

/** A linear thread of `n` checkpoints: `note` written in full each step, `log` appended. */
async function chain(ctx: CaseContext, threadId: string, n: number): Promise<string[]> {
  const all = ids(n);
  for (let i = 0; i < n; i++) {
    const id = all[i]!;
    const prev = all[i - 1];
    await ctx.checkpointer.put({
      threadId,
      id,
      parentId: prev,
      channelVersions: { note: id, log: id },
      versionsSeen: {},
      metadata: { source: "loop", step: i, tag: ctx.tag },
      updates: [
        { channel: "note", version: id, value: `note ${i}` },
        {
          channel: "log",
          version: id,
          value: Array.from({ length: i + 1 }, (_, k) => `m${k}`),
          ...(prev ? { append: { prevVersion: prev, items: [`m${i}`] } } : {}),
        },
      ],
    });
  }
  return all;
}

async function values(ctx: CaseContext, threadId: string, id: string) {
  return (await mustGet(ctx, threadId, id)).checkpoint.values;
}

export const retentionCases: readonly ConformanceCase[] = [
  {
    name: "listThreads pages live threads with checkpoints in ascending id, by prefix",
    async run(ctx) {
      const names = ["b", "a", "c"].map((l) => ctx.thread(`list/${l}`));
      for (const threadId of names) await chain(ctx, threadId, 2);
      await ctx.backend.acquireLease({
        threadId: ctx.thread("list/empty"),
        owner: "o",
        ttlMs: 1000,
      });
      await chain(ctx, ctx.thread("list/gone"), 1);
      await ctx.backend.deleteThread(ctx.thread("list/gone"));
      const prefix = ctx.thread("list/");
      const first = await ctx.backend.listThreads({ prefix, limit: 2 });
      const rest = await ctx.backend.listThreads({
        prefix,
        limit: 2,
        after: first.at(-1)!.threadId,
      });
      expect([...first, ...rest].map((t) => t.threadId)).toEqual([...names].sort());
      for (const summary of first) {
        expect(summary.checkpoints).toBe(2);
        expect(summary.bytes).toBeGreaterThan(0);
        const head = await mustGet(ctx, summary.threadId);
        expect(summary.updatedAt).toBe(head.checkpoint.createdAt);
      }
    },
  },
  {
    name: "footprint shows the tree, sizes, writes and pins of a thread",
    async run(ctx) {
      const threadId = ctx.thread("footprint");
      const all = await chain(ctx, threadId, 3);
      await ctx.checkpointer.putWrites({ threadId, checkpointId: all[2]! }, [
        { taskId: "t1", taskPath: "", idx: 0, channel: "note", value: "w" },
        { taskId: "t1", taskPath: "", idx: -3, channel: "__interrupt__", value: { id: "x" } },
      ]);
      await ctx.backend.setPin(threadId, all[0]!, true);
      const print = (await ctx.backend.footprint(threadId))!;
      expect(print.checkpoints.map((c) => [c.id, c.parentId])).toEqual([
        [all[0], null],
        [all[1], all[0]],
        [all[2], all[1]],
      ]);
      expect(print.checkpoints.every((c) => c.bytes > 0)).toBe(true);
      expect(print.checkpoints[2]).toMatchObject({
        writes: 2,
        writeChannels: ["__interrupt__", "note"],
      });
      expect(print.checkpoints[0]).toMatchObject({ writes: 0, writeChannels: [] });
      expect(print.pins).toEqual([all[0]]);
      expect(await ctx.backend.footprint(ctx.thread("nobody"))).toBeUndefined();
    },
  },
  {
    name: "setPin refuses an unknown checkpoint; unpinning and a thread's delete clear pins",
    async run(ctx) {
      const threadId = ctx.thread("pins");
      const all = await chain(ctx, threadId, 2);
      const missing = await caught(() => ctx.backend.setPin(threadId, ids(1)[0]!, true));
      expect(missing).toBeInstanceOf(NotFoundError);
      await ctx.backend.setPin(threadId, all[0]!, true);
      await ctx.backend.setPin(threadId, all[0]!, true);
      expect((await ctx.backend.footprint(threadId))!.pins).toEqual([all[0]]);
      await ctx.backend.setPin(threadId, all[0]!, false);
      expect((await ctx.backend.footprint(threadId))!.pins).toEqual([]);
      await ctx.backend.setPin(threadId, all[1]!, true);
      await ctx.backend.deleteThread(threadId);
      expect(await ctx.backend.footprint(threadId)).toBeUndefined();
      expect(await caught(() => ctx.backend.setPin(threadId, all[1]!, true))).toBeInstanceOf(
        NotFoundError,
      );
    },
  },
  {
    name: "pruneCheckpoints deletes old checkpoints and values, rebasing what stays, and reruns",
    async run(ctx) {
      const threadId = ctx.thread("prune");
      const all = await chain(ctx, threadId, 6);
      const keep = all.slice(3);
      const before = await Promise.all(keep.map((id) => values(ctx, threadId, id)));
      const site = { threadId, checkpointId: keep[0] };
      const rebase = [
        await ctx.checkpointer.codec.encodeBlob(
          { kind: "full", channel: "log", version: keep[0]!, value: before[0]!.log },
          site,
        ),
      ];
      const gone = all.slice(0, 3);
      const blobs = gone.flatMap((v) => [
        { channel: "note", version: v },
        { channel: "log", version: v },
      ]);
      await ctx.checkpointer.putWrites({ threadId, checkpointId: gone[1]! }, [
        { taskId: "t", taskPath: "", idx: 0, channel: "note", value: "consumed" },
      ]);
      const batch = { threadId, ns: "", checkpointIds: gone, blobs, rebase };
      const result = await ctx.backend.pruneCheckpoints(batch);
      expect(result).toMatchObject({ checkpoints: 3, writes: 1 });
      expect(result.blobs).toBeLessThanOrEqual(6);
      for (let i = 0; i < keep.length; i++) {
        expect(await values(ctx, threadId, keep[i]!)).toEqual(before[i]);
      }
      expect(await ctx.checkpointer.get(threadId, { checkpointId: gone[0]! })).toBeUndefined();
      const print = (await ctx.backend.footprint(threadId))!;
      expect(print.checkpoints.map((c) => c.id)).toEqual(keep);
      expect(print.blobs.some((b) => gone.includes(b.version))).toBe(false);
      expect(await ctx.backend.pruneCheckpoints(batch)).toEqual({
        checkpoints: 0,
        blobs: 0,
        writes: 0,
      });
      expect(await values(ctx, threadId, keep[0]!)).toEqual(before[0]);
    },
  },
  {
    name: "pruneCheckpoints refuses heads, branch heads, fork points and pins, changing nothing",
    async run(ctx) {
      const threadId = ctx.thread("refuse");
      const all = await chain(ctx, threadId, 4);
      const [fork] = ids(1);
      // A second child of all[1] makes it a fork point; the fork is a branch head.
      await putFull(
        ctx,
        threadId,
        fork!,
        { note: "fork" },
        { parentId: all[1], carried: { log: all[1]! } },
      );
      await ctx.backend.setPin(threadId, all[2]!, true);
      const attempts = [[fork!], [all[1]!], [all[2]!], [all[0]!, all[3]!]];
      for (const checkpointIds of attempts) {
        const error = await caught(() =>
          ctx.backend.pruneCheckpoints({ threadId, ns: "", checkpointIds, blobs: [], rebase: [] }),
        );
        expect(error).toBeInstanceOf(ConflictError);
      }
      const print = (await ctx.backend.footprint(threadId))!;
      expect(print.checkpoints).toHaveLength(5);
      const ok = await ctx.backend.pruneCheckpoints({
        threadId,
        ns: "",
        checkpointIds: [all[0]!],
        blobs: [],
        rebase: [],
      });
      expect(ok.checkpoints).toBe(1);
    },
  },
  {
    name: "pruneCheckpoints on a deleted thread throws ThreadDeletedError",
    async run(ctx) {
      const threadId = ctx.thread("prune-deleted");
      const all = await chain(ctx, threadId, 2);
      await ctx.backend.deleteThread(threadId);
      const error = await caught(() =>
        ctx.backend.pruneCheckpoints({
          threadId,
          ns: "",
          checkpointIds: [all[0]!],
          blobs: [],
          rebase: [],
        }),
      );
      expect(error).toBeInstanceOf(ThreadDeletedError);
      const space = await ctx.backend.reclaimSpace();
      expect(space.bytesAfter).toBeGreaterThanOrEqual(0);
      expect(typeof space.method).toBe("string");
    },
  },
];
