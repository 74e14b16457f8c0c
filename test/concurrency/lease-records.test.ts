/**
 * What every backend records with a lease, and the rules the runtime builds on them: where the
 * holder's work starts (`startedFrom`), which process holds it (a killed holder on this machine
 * is taken over at once, one elsewhere only after expiry), and a release that tells whether the
 * lease was still this run's (a run reports success only then).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { CheckpointPut, Lease, LeaseRequest } from "../../src/backend.js";
import { createPostgresCheckpointer } from "../../src/backends/postgres/index.js";
import { createSqliteCheckpointer } from "../../src/backends/sqlite/index.js";
import {
  appendChannel,
  type Checkpointer,
  createCheckpointer,
  MemoryBackend,
  START,
  StateGraph,
} from "../../src/index.js";
import { freshSchema, PG_URL } from "../support/postgres.js";

const dir = mkdtempSync(join(tmpdir(), "rewind-lease-"));
const opened: Checkpointer[] = [];
afterAll(async () => {
  for (const c of opened.splice(0)) await c.close();
  rmSync(dir, { recursive: true, force: true });
});

const BACKENDS: [string, () => Checkpointer][] = [
  ["memory", () => createCheckpointer(new MemoryBackend())],
  ["sqlite", () => createSqliteCheckpointer(join(dir, `${opened.length}.sqlite`))],
  ["postgres", () => createPostgresCheckpointer(PG_URL, { schema: freshSchema("rewind_lease") })],
];

function open(create: () => Checkpointer) {
  const checkpointer = create();
  opened.push(checkpointer);
  const app = new StateGraph({ log: appendChannel<string>() })
    .addNode("reply", (s) => ({ log: `reply:${s.log.at(-1)}` }))
    .addEdge(START, "reply")
    .compile({ checkpointer });
  return { checkpointer, app };
}

/** A pid that no longer exists: a child that has run and been reaped. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", ""]);
  return child.pid;
}

for (const [name, create] of BACKENDS) {
  describe(`leases on ${name}`, () => {
    it("a grant records the root head as startedFrom, atomically with the grant", async () => {
      const { checkpointer, app } = open(create);
      const empty = await checkpointer.acquireLease("t", "first", 60_000);
      expect(empty?.startedFrom).toBeNull();
      expect(await checkpointer.releaseLease(empty!)).toBe(true);
      const { checkpointId } = await app.invoke({ log: "a" }, { threadId: "t" });
      const after = await checkpointer.acquireLease("t", "second", 60_000);
      expect(after?.startedFrom).toBe(checkpointId);
    });

    it("a rollback grant inherits the preempted holder's start; a plain steal starts at the head", async () => {
      const { checkpointer, app } = open(create);
      const { checkpointId: h1 } = await app.invoke({ log: "a" }, { threadId: "t" });
      const running = await checkpointer.acquireLease("t", "running", 60_000);
      expect(running?.startedFrom).toBe(h1);
      // That run finishes and releases; the next run moves the head on.
      await checkpointer.releaseLease(running!);
      const { checkpointId: h2 } = await app.invoke({ log: "b" }, { threadId: "t" });
      const busy = await checkpointer.acquireLease("t", "busy", 60_000);
      expect(busy?.startedFrom).toBe(h2);
      const rollback = await checkpointer.acquireLease("t", "rollback", 60_000, {
        steal: true,
        inheritStart: true,
      });
      expect(rollback).toMatchObject({ stolenFrom: "busy", startedFrom: h2 });
      const interrupt = await checkpointer.acquireLease("t", "interrupt", 60_000, { steal: true });
      expect(interrupt).toMatchObject({ stolenFrom: "rollback", startedFrom: h2 });
      // A chain of rollbacks keeps the first preempted run's start.
      const again = await checkpointer.acquireLease("t", "again", 60_000, {
        steal: true,
        inheritStart: true,
      });
      expect(again?.startedFrom).toBe(h2);
    });

    it("release tells whether the lease was still this holder's", async () => {
      const { checkpointer } = open(create);
      const mine = await checkpointer.acquireLease("t", "mine", 60_000);
      const taken = await checkpointer.acquireLease("t", "taker", 60_000, { steal: true });
      expect(await checkpointer.releaseLease(mine!)).toBe(false);
      expect(await checkpointer.readLease("t")).toMatchObject({ owner: "taker" });
      expect(await checkpointer.releaseLease(taken!)).toBe(true);
      expect(await checkpointer.releaseLease(taken!)).toBe(false);
      expect(await checkpointer.readLease("t")).toBeUndefined();
    });

    it("the holder is recorded; replacing takes over only from that exact holder", async () => {
      const { checkpointer } = open(create);
      const holder = { host: "h", pid: 1234, started: "99" };
      const first = await checkpointer.acquireLease("t", "first", 60_000, { holder });
      expect(await checkpointer.readLease("t")).toMatchObject({
        owner: "first",
        token: first!.token,
        holder,
      });
      const wrong = await checkpointer.acquireLease("t", "late", 60_000, {
        replacing: first!.token - 1,
      });
      expect(wrong).toBeUndefined();
      const replaced = await checkpointer.acquireLease("t", "late", 60_000, {
        replacing: first!.token,
      });
      expect(replaced).toMatchObject({ owner: "late", stolenFrom: "first" });
      // A second process that found the same dead holder is now refused.
      const racing = await checkpointer.acquireLease("t", "racing", 60_000, {
        replacing: first!.token,
      });
      expect(racing).toBeUndefined();
    });

    it("a run takes over at once the live lease of a dead process on this machine", async () => {
      const { checkpointer, app } = open(create);
      await app.invoke({ log: "a" }, { threadId: "t" });
      const { holder } = (await checkpointer.acquireLease("t", "probe", 60_000, {})) as Lease;
      expect(holder).toBeUndefined();
      const here = (await import("../../src/graph/lease-holder.js")).thisProcess();
      await checkpointer.acquireLease("t", "killed", 60_000, {
        steal: true,
        holder: { ...here, pid: deadPid(), started: "" },
      });
      const result = await app.invoke({ log: "b" }, { threadId: "t" });
      expect(result.values.log).toEqual(["a", "reply:a", "b", "reply:b"]);
    });

    it("a live lease held on another machine, or by a live process, is respected until it expires", async () => {
      const { checkpointer, app } = open(create);
      const here = (await import("../../src/graph/lease-holder.js")).thisProcess();
      const holders: LeaseRequest["holder"][] = [
        { host: "another-machine", pid: deadPid(), started: "" },
        { ...here, pid: process.ppid, started: "" },
      ];
      for (const holder of holders) {
        const lease = await checkpointer.acquireLease("t", "elsewhere", 60_000, {
          steal: true,
          holder,
        });
        const error = await app.invoke({ log: "x" }, { threadId: "t" }).catch((e) => e);
        expect(error).toMatchObject({ code: "THREAD_BUSY" });
        await checkpointer.releaseLease(lease!);
      }
    });
  });
}

describe("a run reports success only if its lease was still its own when it finished", () => {
  /** Preempts the run (as a rollback arriving then would) right before it releases its lease. */
  /** What a rollback does to a running run: takes its lease, keeping where the run started. */
  const stealForRollback = (backend: MemoryBackend, threadId: string) =>
    backend.acquireLease({
      threadId,
      owner: "rollback",
      ttlMs: 60_000,
      steal: true,
      inheritStart: true,
    });

  class PreemptBeforeRelease extends MemoryBackend {
    // Unfolded: the run's last write and its release are two calls, with room between them.
    override readonly foldsLease = false;
    armed = true;
    override async releaseLease(lease: Lease): Promise<boolean> {
      if (this.armed) {
        this.armed = false;
        await stealForRollback(this, lease.threadId);
      }
      return super.releaseLease(lease);
    }
  }

  it("a takeover after the run's last write but before its release: the run reports LEASE_LOST, and the taker starts where the run started", async () => {
    const backend = new PreemptBeforeRelease();
    const { app, checkpointer } = open(() => createCheckpointer(backend));
    const error = await app.invoke({ log: "a" }, { threadId: "t" }).catch((e) => e);
    expect(error).toMatchObject({ code: "LEASE_LOST", threadId: "t" });
    // The taker's start is the empty thread: what it discards, no caller was told succeeded.
    expect(await checkpointer.readLease("t")).toMatchObject({
      owner: "rollback",
      startedFrom: null,
    });
  });

  /** Folded: preempts the run right before the write that would release its lease. */
  class PreemptBeforeLastWrite extends MemoryBackend {
    armed = true;
    override async putCheckpoint(put: CheckpointPut): Promise<void> {
      if (this.armed && put.release) {
        this.armed = false;
        await stealForRollback(this, put.checkpoint.threadId);
      }
      return super.putCheckpoint(put);
    }
  }

  it("folded into the last write, the release is refused with it after a takeover: LEASE_LOST, the last checkpoint is not stored", async () => {
    const backend = new PreemptBeforeLastWrite();
    const { app, checkpointer } = open(() => createCheckpointer(backend));
    const error = await app.invoke({ log: "a" }, { threadId: "t" }).catch((e) => e);
    expect(error).toMatchObject({ code: "LEASE_LOST", threadId: "t" });
    expect(backend.armed).toBe(false);
    // The input checkpoint landed; the step's (the releasing write) did not.
    expect((await checkpointer.get("t"))?.checkpoint.values).toEqual({ log: ["a"] });
    expect(await checkpointer.readLease("t")).toMatchObject({
      owner: "rollback",
      startedFrom: null,
    });
  });

  it("a finished run has released its lease with its last write: nothing else is called", async () => {
    class CountingReleases extends MemoryBackend {
      releases = 0;
      override async releaseLease(lease: Lease): Promise<boolean> {
        this.releases++;
        return super.releaseLease(lease);
      }
    }
    const backend = new CountingReleases();
    const { app, checkpointer } = open(() => createCheckpointer(backend));
    await app.invoke({ log: "a" }, { threadId: "t" });
    const result = await app.invoke({ log: "b" }, { threadId: "t" });
    expect(result.values.log).toEqual(["a", "reply:a", "b", "reply:b"]);
    expect(backend.releases).toBe(0);
    expect(await checkpointer.readLease("t")).toBeUndefined();
  });
});
