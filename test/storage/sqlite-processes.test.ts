import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Checkpoint, newCheckpointId } from "../../src/backend.js";
import { createSqliteCheckpointer } from "../../src/backends/sqlite/index.js";
import type { Checkpointer } from "../../src/index.js";
import { runWorker } from "../support/process.js";

const WORKER = join(dirname(fileURLToPath(import.meta.url)), "sqlite-process-worker.ts");

/** Runs the worker in its own OS process and returns the JSON it printed. */
async function worker(...args: string[]): Promise<any> {
  const { code, stderr, result } = await runWorker(WORKER, ...args);
  if (code !== 0) throw new Error(`worker ${args[1]} exited with ${code}: ${stderr}`);
  return result;
}

describe("SQLite shared by separate OS processes", () => {
  let dir: string;
  let db: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "rewind-processes-"));
    db = join(dir, "shared.sqlite");
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Another process puts a checkpoint on `threadId`'s head: the next read here returns it. */
  async function expectOtherProcessHead(checkpointer: Checkpointer, threadId: string) {
    const next = await worker(db, "write", threadId, "1");
    const head = await checkpointer.get(threadId);
    expect(head?.checkpoint.id).toBe(next.ids[0]);
    expect(head?.checkpoint.values).toEqual({ by: "writer#0" });
  }

  it("a head polled in one process shows another process's checkpoint at the next read", async () => {
    const { ids } = await worker(db, "write", "polled", "1");
    const checkpointer = createSqliteCheckpointer(db);
    try {
      // Read twice, as polling does: the second keeps the file's stamp, so the read after the
      // other process's write would be answered from memory if the stamp missed that write.
      for (let i = 0; i < 2; i++) {
        expect((await checkpointer.get("polled"))?.checkpoint.id).toBe(ids[0]);
      }
      await expectOtherProcessHead(checkpointer, "polled");
    } finally {
      await checkpointer.close();
    }
  });

  it("after this process's own put, another process's checkpoint is seen at the next read", async () => {
    const { ids } = await worker(db, "write", "own", "1");
    const checkpointer = createSqliteCheckpointer(db);
    try {
      // A read holds the thread; this process's put on it leaves the stamp its commit ended at.
      expect((await checkpointer.get("own"))?.checkpoint.id).toBe(ids[0]);
      const mine = newCheckpointId(ids[0]);
      await checkpointer.put({
        threadId: "own",
        id: mine,
        parentId: ids[0],
        channelVersions: { by: mine },
        versionsSeen: {},
        metadata: { source: "loop", step: 1 },
        updates: [{ channel: "by", version: mine, value: "this process" }],
      });
      await expectOtherProcessHead(checkpointer, "own");
    } finally {
      await checkpointer.close();
    }
  });

  it("a second process reads the first one's checkpoints and continues the thread", async () => {
    const { ids } = await worker(db, "write", "shared", "4");
    expect(ids).toHaveLength(4);
    const { listed } = await worker(db, "read", "shared");
    expect(listed.map((c: { id: string }) => c.id)).toEqual([...ids].reverse());
    expect(listed[0].value).toBe("writer#3");
    const writerPid = listed[0].pid;
    const next = await worker(db, "write", "shared", "1");
    const checkpointer = createSqliteCheckpointer(db);
    try {
      const head = await checkpointer.get("shared");
      expect(head?.checkpoint.id).toBe(next.ids[0]);
      expect(head?.checkpoint.parentId).toBe(ids[3]);
      expect(head?.checkpoint.metadata.pid).not.toBe(writerPid);
    } finally {
      await checkpointer.close();
    }
  });

  it("racing compare-and-set from two processes: exactly one wins each head", async () => {
    const checkpointer = createSqliteCheckpointer(db);
    await checkpointer.ready();
    await checkpointer.close();
    const startAt = String(Date.now() + 2500);
    const rounds = "40";
    const [a, b] = await Promise.all([
      worker(db, "race", "contended", rounds, startAt, "a"),
      worker(db, "race", "contended", rounds, startAt, "b"),
    ]);
    // The first put of each expects an empty thread, without looking: exactly one can win it.
    expect([a.outcomes[0], b.outcomes[0]].sort()).toEqual(["conflict", "won"]);
    const { listed } = await worker(db, "read", "contended");
    expect(listed).toHaveLength(a.won + b.won);
    // Every winner built on the true head: the history is one unbroken chain, no fork.
    const reader = createSqliteCheckpointer(db);
    try {
      const chain: Checkpoint[] = [];
      for await (const t of reader.list({ threadId: "contended" })) chain.push(t.checkpoint);
      for (let i = 0; i < chain.length - 1; i++) expect(chain[i]!.parentId).toBe(chain[i + 1]!.id);
      expect(chain.at(-1)!.parentId).toBeUndefined();
      const byLabel = (label: string) => chain.filter((c) => c.metadata.by === label).length;
      expect(byLabel("a")).toBe(a.won);
      expect(byLabel("b")).toBe(b.won);
    } finally {
      await reader.close();
    }
  });

  it("racing effect intents and outcomes from two processes: each key records exactly one of each", async () => {
    const checkpointer = createSqliteCheckpointer(db);
    await checkpointer.ready();
    const startAt = String(Date.now() + 2500);
    const keys = 30;
    const [a, b] = await Promise.all([
      worker(db, "effects", "ledger", String(keys), startAt, "a"),
      worker(db, "effects", "ledger", String(keys), startAt, "b"),
    ]);
    const all = (field: "began" | "finished") => [...a[field], ...b[field]].sort();
    const expected = Array.from({ length: keys }, (_, n) => `k${n}`).sort();
    expect(all("began")).toEqual(expected);
    expect(all("finished")).toEqual(expected);
    try {
      const ledger = await checkpointer.door.listEffects("ledger");
      expect(ledger).toHaveLength(keys);
      for (const effect of ledger) {
        // The intent's recorder is the one named in the entry; the outcome's is the first to finish.
        const recorder = a.began.includes(effect.key) ? "a" : "b";
        expect(effect).toMatchObject({ status: "done", attempt: 1, taskId: recorder });
        const finisher = a.finished.includes(effect.key) ? "a" : "b";
        expect(effect.outcome).toBe(JSON.stringify(finisher));
      }
    } finally {
      await checkpointer.close();
    }
  });
});
