/**
 * Race cases shared by the SQLite and PostgreSQL files: N real OS processes invoke one thread
 * at the same moment, many times over.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { trialCount } from "../support/trial-count.js";
import { RaceWorker, turnsIntact } from "./race-harness.js";

const WORKERS = 4;
const TRIALS = trialCount("REWIND_RACE_TRIALS", { smoke: 10, soak: 100 });

export function raceCases(workerArgs: () => readonly string[]): void {
  const workers: RaceWorker[] = [];
  beforeAll(async () => {
    for (let i = 0; i < WORKERS; i++) workers.push(new RaceWorker(workerArgs()));
    // Warm up: every worker has opened the database and compiled the graph.
    await Promise.all(
      workers.map((w, i) =>
        w.send({ op: "invoke", trial: -1, threadId: `warm-${i}`, input: "warm" }),
      ),
    );
  }, 60_000);
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close()));
  });

  it(`reject: of ${WORKERS} racing processes, the runs that overlap a running one get THREAD_BUSY; no turn interleaves or is lost (${TRIALS} trials)`, async () => {
    let overlapped = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const threadId = `reject-${trial}`;
      const results = await Promise.all(
        // The runs last 100 ms, so they usually overlap; on a loaded machine the processes may
        // start far enough apart that some run one after another, which is also correct.
        workers.map((w, i) =>
          w.send({ op: "invoke", trial, threadId, onBusy: "reject", input: `w${i}`, delayMs: 100 }),
        ),
      );
      const winners = results.filter((r) => r.ok);
      const refused = results.filter((r) => !r.ok);
      expect(winners.length).toBeGreaterThanOrEqual(1);
      expect(refused.map((r) => r.code)).toEqual(Array(refused.length).fill("THREAD_BUSY"));
      if (refused.length > 0) overlapped++;
      // Every run told it succeeded has its turn in the thread, whole, and nothing else is there.
      const final = winners.map((r) => r.log as string[]).sort((a, b) => b.length - a.length)[0]!;
      expect(turnsIntact(final)).toBe(true);
      expect(final).toHaveLength(2 * winners.length);
    }
    // The race happened at least once (a run found the thread busy), so the refusal was tested.
    expect(overlapped).toBeGreaterThan(0);
  }, 600_000);

  it(`enqueue: all ${WORKERS} racing turns end up in the state, none lost or interleaved (${TRIALS} trials)`, async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const threadId = `enqueue-${trial}`;
      const results = await Promise.all(
        workers.map((w, i) =>
          w.send({ op: "invoke", trial, threadId, onBusy: "enqueue", input: `w${i}` }),
        ),
      );
      expect(results.every((r) => r.ok)).toBe(true);
      const final = results.map((r) => r.log as string[]).sort((a, b) => b.length - a.length)[0]!;
      expect(final).toHaveLength(2 * WORKERS);
      expect(turnsIntact(final)).toBe(true);
      expect(final.filter((_, i) => i % 2 === 0).sort()).toEqual(workers.map((_, i) => `w${i}`));
    }
  }, 600_000);

  it("a process SIGKILLed while holding the lease: the next invoke(null) with default options resumes the thread at once", async () => {
    const holder = new RaceWorker(workerArgs());
    // The holder answers once its run is inside the node, holding the thread's lease (defaults).
    expect(await holder.send({ op: "hold", threadId: "killed-holder" })).toEqual({ op: "holding" });
    // While the holder lives, its lease is respected.
    const busy = await workers[0]!.send({
      op: "invoke",
      trial: 0,
      threadId: "killed-holder",
      onBusy: "reject",
      input: "probe",
    });
    expect(busy).toMatchObject({ ok: false, code: "THREAD_BUSY" });
    await holder.kill();
    // First try after the holder is dead, default options (onBusy "reject", default lease):
    // its lease has not expired, but its process is provably gone, so it is taken over.
    const resumed = await workers[1]!.send({
      op: "invoke",
      trial: 0,
      threadId: "killed-holder",
      input: null,
    });
    expect(resumed).toMatchObject({ ok: true, log: ["holder", "reply:holder"] });
  }, 60_000);
}
