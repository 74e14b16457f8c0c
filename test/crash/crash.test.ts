import { describe, expect, it } from "vitest";
import { createSqliteCheckpointer } from "../../src/backends/sqlite/index.js";
import { appendChannel, START, StateGraph } from "../../src/index.js";
import { trialCount } from "../support/trial-count.js";
import { EXPECTED_LOG } from "./crash-graph.js";
import { runScenario } from "./crash-harness.js";

/** Reads the thread's final log through a fresh process-local checkpointer. */
async function readLog(db: string): Promise<string[]> {
  const checkpointer = createSqliteCheckpointer(db);
  const app = new StateGraph({ log: appendChannel<string>() })
    .addNode("n", () => undefined)
    .addEdge(START, "n")
    .compile({ checkpointer });
  const state = await app.getState({ threadId: "crash" });
  await checkpointer.close();
  return state?.values.log ?? [];
}

const RANDOM_RUNS = trialCount("REWIND_CRASH_RUNS", { smoke: 10, soak: 100 });
/** Kill points per test, so that no single test runs long whatever the total. */
const BATCH = 10;

describe("crash recovery on SQLite (SIGKILL)", { timeout: 600_000 }, () => {
  let totalEvents = 0;

  it("an uninterrupted run completes with the expected state", async () => {
    const result = await runScenario(undefined, readLog);
    expect(result.killed).toBe(false);
    expect(result.log).toEqual(EXPECTED_LOG);
    totalEvents = result.events ?? 0;
    expect(totalEvents).toBeGreaterThan(20);
  });

  for (const point of [
    "before-task",
    "between-parallel",
    "inside-checkpoint-write",
    "after-checkpoint-write",
  ] as const) {
    it(`killed ${point}: a new process resumes to the same state; no finished task runs again`, async () => {
      const result = await runScenario({ point }, readLog);
      expect(result.killed).toBe(true);
      expect(result.log).toEqual(EXPECTED_LOG);
      expect(result.rerunAfterSave).toEqual([]);
    });
  }

  for (let first = 1; first <= RANDOM_RUNS; first += BATCH) {
    const runs = Math.min(BATCH, RANDOM_RUNS - first + 1);
    const last = first + runs - 1;
    it(`random kill points ${first}-${last} of ${RANDOM_RUNS}: same final state, no finished task rerun`, async () => {
      const failures: string[] = [];
      let killedRuns = 0;
      const queue = Array.from({ length: runs }, () => 1 + Math.floor(Math.random() * totalEvents));
      const worker = async () => {
        for (let atEvent = queue.shift(); atEvent !== undefined; atEvent = queue.shift()) {
          const result = await runScenario({ atEvent }, readLog);
          if (result.killed) killedRuns++;
          if (
            JSON.stringify(result.log) !== JSON.stringify(EXPECTED_LOG) ||
            result.rerunAfterSave.length > 0
          ) {
            failures.push(
              `event ${atEvent}: log ${JSON.stringify(result.log)} reruns ${JSON.stringify(result.rerunAfterSave)}`,
            );
          }
        }
      };
      await Promise.all([worker(), worker()]);
      expect(failures).toEqual([]);
      expect(killedRuns).toBe(runs);
    });
  }
});
