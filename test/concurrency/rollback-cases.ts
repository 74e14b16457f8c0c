/**
 * The rollback rule with real processes: one run working, one waiting in `enqueue`, one
 * `rollback` arriving at a different moment each trial. A rollback may discard only work whose
 * caller was not told it succeeded: every caller told "success" has its turn in the final
 * history of the head branch.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trialCount } from "../support/trial-count.js";
import { RaceWorker, turnsIntact } from "./race-harness.js";

const TRIALS = trialCount("REWIND_ROLLBACK_TRIALS", { smoke: 12, soak: 120 });
/** How long each run's node works, and the span over which the rollback's arrival is spread. */
const WORK_MS = 30;
const SPREAD_MS = 150;

export function rollbackCases(workerArgs: () => readonly string[]): void {
  describe("onBusy rollback against a running and an enqueued run", () => {
    const workers: RaceWorker[] = [];
    beforeAll(async () => {
      for (let i = 0; i < 3; i++) workers.push(new RaceWorker(workerArgs()));
      await Promise.all(
        workers.map((w, i) =>
          w.send({ op: "invoke", trial: -1, threadId: `rb-warm-${i}`, input: "warm" }),
        ),
      );
    }, 60_000);
    afterAll(async () => {
      await Promise.all(workers.map((w) => w.close()));
    });

    it(`no turn whose caller was told it succeeded is lost (${TRIALS} trials)`, async () => {
      const [running, enqueued, rollback] = workers as [RaceWorker, RaceWorker, RaceWorker];
      const lost: string[] = [];
      let preempted = 0;
      for (let trial = 0; trial < TRIALS; trial++) {
        const threadId = `rollback-${trial}`;
        // Spread the rollback's arrival over the whole exchange (before, during and between
        // the two runs), deterministically per trial.
        const arrival = Math.round(((trial * 37) % TRIALS) * (SPREAD_MS / TRIALS));
        const results = await Promise.all([
          running.send({
            op: "invoke",
            trial,
            threadId,
            onBusy: "enqueue",
            input: "a",
            delayMs: WORK_MS,
          }),
          enqueued.send({
            op: "invoke",
            trial,
            threadId,
            onBusy: "enqueue",
            input: "b",
            delayMs: WORK_MS,
            startDelayMs: 5,
          }),
          rollback.send({
            op: "invoke",
            trial,
            threadId,
            onBusy: "rollback",
            input: "r",
            delayMs: WORK_MS,
            startDelayMs: arrival,
          }),
        ]);
        const { log } = await running.send({ op: "read", threadId });
        if (!turnsIntact(log)) lost.push(`trial ${trial}: broken turns in ${log.join(",")}`);
        for (const result of results) {
          if (!result.ok) {
            // The only refusal a rollback may cause: the preempted run learns it lost the lease.
            expect(result.code).toBe("LEASE_LOST");
            preempted++;
            continue;
          }
          const at = log.indexOf(result.input);
          if (at < 0 || log[at + 1] !== `reply:${result.input}`) {
            lost.push(`trial ${trial}: turn ${result.input} (final log ${log.join(",")})`);
          }
        }
      }
      console.log(
        `rollback race: ${TRIALS} trials, ${preempted} runs preempted (LEASE_LOST), ${lost.length} turns lost`,
      );
      expect(lost).toEqual([]);
      // The trials did exercise preemption, not only runs that never overlapped.
      expect(preempted).toBeGreaterThan(0);
    }, 600_000);
  });
}
