/**
 * A prune killed (SIGKILL) after a random number of committed batches leaves every checkpoint
 * of the file loadable, with the values it had; a rerun finishes the job and the end state is
 * the one an uninterrupted prune reaches.
 */
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createSqliteCheckpointer } from "../../src/backends/sqlite/index.js";
import { type Checkpointer, Command, prune } from "../../src/index.js";
import { atFileEnd } from "../support/file-cleanup.js";
import { runWorker } from "../support/process.js";
import { trialCount } from "../support/trial-count.js";
import { retentionGraph } from "./retention-graph.js";

const DIR = mkdtempSync(join(tmpdir(), "rewind-prune-crash-"));
atFileEnd(() => rmSync(DIR, { recursive: true, force: true }));
const tempFile = (name: string) => join(DIR, name);

const WORKER = new URL("./prune-crash-worker.ts", import.meta.url).pathname;
const KILLS = trialCount("REWIND_CRASH_RUNS", { smoke: 2, soak: 12 });

async function snapshot(checkpointer: Checkpointer) {
  const out = new Map<string, unknown>();
  for await (const t of checkpointer.list({})) {
    out.set(`${t.checkpoint.threadId}/${t.checkpoint.id}`, [t.checkpoint.values, t.pendingWrites]);
  }
  return out;
}

async function seed(file: string): Promise<void> {
  const checkpointer = createSqliteCheckpointer(file);
  const app = retentionGraph(checkpointer);
  for (const threadId of ["a", "b", "c"]) {
    for (let turn = 0; turn < 6; turn++) {
      const run = await app.invoke({ ask: turn === 3 || turn === 5 }, { threadId });
      // Thread c stays paused at its last turn: a pending interrupt on its head.
      if (run.status === "interrupted" && !(threadId === "c" && turn === 5)) {
        await app.invoke(Command.resume("fine"), { threadId });
      }
    }
  }
  await checkpointer.close();
}

describe("prune killed halfway", () => {
  it("leaves every checkpoint loadable as it was, and a rerun finishes", async () => {
    const seeded = tempFile("prune-seed.sqlite");
    await seed(seeded);
    const reference = tempFile("prune-ref.sqlite");
    copyFileSync(seeded, reference);
    const clean = createSqliteCheckpointer(reference);
    const before = await snapshot(clean);
    const full = await prune(clean, { keepLast: 3 }, { dryRun: false, batchSize: 2 });
    const expected = await snapshot(clean);
    await clean.close();
    expect(full.total.checkpoints).toBeGreaterThan(10);
    for (let trial = 0; trial < KILLS; trial++) {
      const file = tempFile(`prune-kill-${trial}.sqlite`);
      copyFileSync(seeded, file);
      const killAfter = 1 + Math.floor(Math.random() * 8);
      const killed = await runWorker(WORKER, file, String(killAfter));
      // Killed by the signal (no exit code), not finished and not failed.
      expect(killed.code, killed.stderr).toBeNull();
      const checkpointer = createSqliteCheckpointer(file);
      const halfway = await snapshot(checkpointer);
      expect(halfway.size).toBeLessThan(before.size);
      for (const [id, seen] of halfway) expect(seen, id).toEqual(before.get(id));
      const rerun = await prune(checkpointer, { keepLast: 3 }, { dryRun: false, batchSize: 2 });
      expect(rerun.threads.filter((t) => t.action === "skipped")).toEqual([]);
      expect(await snapshot(checkpointer)).toEqual(expected);
      await checkpointer.close();
    }
  }, 300_000);
});
