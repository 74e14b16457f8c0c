/**
 * prune and the sweeper as an app uses them: a dry run that changes nothing and says what would
 * go, per thread and per tenant; applying it; idle threads deleted or left to archive; pins;
 * bad input; a SQLite file that shrinks; and a sweeper that stops.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createSqliteCheckpointer } from "../../src/backends/sqlite/index.js";
import {
  ConflictError,
  createCheckpointer,
  InvalidInputError,
  MemoryBackend,
  NotFoundError,
  pin,
  prune,
  StorageError,
  startSweeper,
  threadKey,
} from "../../src/index.js";
import { BACKENDS } from "../support/backends.js";
import { atFileEnd } from "../support/file-cleanup.js";
import { retentionGraph } from "./retention-graph.js";

async function turns(
  app: ReturnType<typeof retentionGraph>,
  threadId: string,
  n: number,
  tenantId?: string,
) {
  for (let i = 0; i < n; i++) await app.invoke({}, { threadId, tenantId });
}

async function count(app: ReturnType<typeof retentionGraph>, threadId: string, tenantId?: string) {
  let n = 0;
  for await (const _ of app.getStateHistory({ threadId, tenantId })) n++;
  return n;
}

for (const backend of BACKENDS) {
  describe(`prune on ${backend.name}`, () => {
    it("plans first without changing anything, then applies per thread and tenant", async () => {
      const app = retentionGraph(backend.checkpointer());
      await turns(app, "solo", 8);
      await turns(app, "t1", 6, "acme");
      const plan = await prune(app.checkpointer, {
        keepLast: 4,
        tenants: { acme: { keepLast: 10 } },
      });
      expect(plan.dryRun).toBe(true);
      expect(await count(app, "solo")).toBe(24);
      const solo = plan.threads.find((t) => t.threadId === "solo")!;
      expect(solo).toMatchObject({ action: "prune", checkpoints: 20, kept: 4, applied: false });
      expect(solo.lost).toBe(`time travel before step ${solo.oldestStepKept}`);
      expect(solo.bytes).toBeGreaterThan(0);
      expect(plan.tenants.acme?.checkpoints).toBe(8);
      expect(plan.total.checkpoints).toBe(28);
      const applied = await prune(
        app.checkpointer,
        { keepLast: 4, tenants: { acme: { keepLast: 10 } } },
        { dryRun: false },
      );
      expect(applied.total.checkpoints).toBe(28);
      expect(await count(app, "solo")).toBe(4);
      expect(await count(app, "t1", "acme")).toBe(10);
      expect((await app.invoke({}, { threadId: "solo" })).values.turns).toBe(9);
      const again = await prune(
        app.checkpointer,
        { keepLast: 4, tenants: { acme: { keepLast: 10 } } },
        { dryRun: false },
      );
      // Only the turn run since: its three checkpoints push three older ones out.
      expect(again.total.checkpoints).toBe(3);
    });

    it("deletes idle threads, or leaves them to an archiver; keeps pins; names bad input", async () => {
      const app = retentionGraph(backend.checkpointer());
      await turns(app, "idle", 2);
      await turns(app, "kept", 3);
      const history = [];
      for await (const s of app.getStateHistory({ threadId: "kept" })) history.push(s.checkpointId);
      await pin(app.checkpointer, "kept", history.at(-1)!);
      const later = () => Date.now() + 3_600_000;
      const archived: string[] = [];
      const policy = {
        keepLast: 1,
        threads: { idle: { idleTtlMs: 60_000, idleAction: "archive" as const } },
      };
      const toArchive = await prune(app.checkpointer, policy, { dryRun: false, now: later });
      expect(toArchive.threads.find((t) => t.threadId === "idle")).toMatchObject({
        action: "archive",
        applied: false,
      });
      await prune(app.checkpointer, policy, {
        dryRun: false,
        now: later,
        archive: async (t) => void archived.push(t.threadId),
      });
      expect(archived).toEqual(["idle"]);
      const deleted = await prune(
        app.checkpointer,
        { idleTtlMs: 60_000 },
        { dryRun: false, now: later, threadId: "idle" },
      );
      expect(deleted.threads[0]).toMatchObject({ action: "delete", applied: true });
      expect(await app.getState({ threadId: "idle" })).toBeUndefined();
      const states = [];
      for await (const s of app.getStateHistory({ threadId: "kept" })) states.push(s.checkpointId);
      expect(states).toEqual([history[0], history.at(-1)]);
      await expect(prune(app.checkpointer, { keepLast: 0 })).rejects.toBeInstanceOf(
        InvalidInputError,
      );
      await expect(
        prune(app.checkpointer, { keepLast: 1 }, { threadId: "nobody" }),
      ).rejects.toBeInstanceOf(NotFoundError);
      await expect(pin(app.checkpointer, "kept", "no-such-checkpoint")).rejects.toBeInstanceOf(
        NotFoundError,
      );
      expect(threadKey("t1", "acme")).not.toBe("t1");
    });
  });
}

describe("space and the sweeper", () => {
  it("an applied prune shrinks the SQLite file; a sweeper prunes and stops", async () => {
    const dir = mkdtempSync(join(tmpdir(), "rewind-prune-"));
    atFileEnd(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "space.sqlite");
    const checkpointer = createSqliteCheckpointer(file);
    const app = retentionGraph(checkpointer);
    for (let i = 0; i < 30; i++) await app.invoke({}, { threadId: `big-${i % 3}` });
    await app.invoke({}, { threadId: "big-0" });
    await checkpointer.door.reclaimSpace();
    const before = statSync(file).size;
    const report = await prune(checkpointer, { keepLast: 2 }, { dryRun: false });
    expect(report.space?.method).toBe("incremental_vacuum");
    expect(report.space!.bytesAfter).toBeLessThan(report.space!.bytesBefore);
    expect(statSync(file).size).toBeLessThan(before);
    await app.invoke({}, { threadId: "big-1" });
    const reports: number[] = [];
    const sweeper = startSweeper(checkpointer, { everyMs: 3_600_000, policy: { keepLast: 2 } });
    reports.push((await sweeper.runNow()).total.checkpoints);
    await sweeper.stop();
    await sweeper.stop();
    expect(reports).toEqual([3]);
    await checkpointer.close();
  });
});

describe("a thread prune cannot plan", () => {
  it("is skipped with its error, after every attempt for a conflict; the others are pruned", async () => {
    const backend = new MemoryBackend();
    let conflicts = 0;
    // A backend on which one thread's footprint fails with a storage error and another's keeps
    // meeting a writer that moves the thread (a conflict, tried again and again).
    const failing = new Proxy(backend, {
      get(target, name) {
        if (name === "footprint") {
          return async (key: string) => {
            if (key === "broken") throw new StorageError("the disk is on fire");
            if (key === "busy") {
              conflicts++;
              throw new ConflictError("thread busy moved", { threadId: "busy" });
            }
            return target.footprint(key);
          };
        }
        const value = Reflect.get(target, name, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const app = retentionGraph(createCheckpointer(failing));
    for (const threadId of ["broken", "busy", "fine"]) await turns(app, threadId, 3);
    const report = await prune(app.checkpointer, { keepLast: 2 }, { dryRun: false });
    const of = (threadId: string) => report.threads.find((t) => t.threadId === threadId);
    expect(of("broken")).toMatchObject({
      action: "skipped",
      checkpoints: 0,
      kept: 9,
      applied: false,
      error: "the disk is on fire",
    });
    expect(of("busy")).toMatchObject({ action: "skipped", kept: 9, error: "thread busy moved" });
    expect(conflicts).toBeGreaterThan(1);
    expect(of("fine")).toMatchObject({ action: "prune", checkpoints: 7, kept: 2, applied: true });
    expect(await count(app, "broken")).toBe(9);
    expect(await count(app, "busy")).toBe(9);
    expect(await count(app, "fine")).toBe(2);
  });
});
