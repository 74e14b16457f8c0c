/**
 * Chaos: worker processes on a throwaway PostgreSQL cluster (port 55490, started by the test)
 * run many threads of turns, some pausing for a human whom a driver answers, while a chaos
 * loop SIGKILLs workers (and starts replacements), terminates every database connection, and
 * restarts the cluster. Every run must end exactly once, completed, and every thread must hold
 * each of its turns once, in order, with each node's output once per turn and each answer once.
 * Smoke size here; REWIND_SOAK=1 runs 8 workers and a few hundred runs.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { createPostgresCheckpointer } from "../../src/backends/postgres/index.js";
import { Command } from "../../src/index.js";
import { createRunClient, type RunHandle } from "../../src/worker/index.js";
import { type Cluster, clusterUnavailable, startCluster } from "./throwaway-cluster.js";
import { expectedSeen, turnGraph } from "./worker-graph.js";
import { startWorker, type WorkerChild } from "./worker-spawn.js";

const SOAK = process.env.REWIND_SOAK === "1";
const WORKERS = SOAK ? 8 : 3;
const THREADS = SOAK ? 60 : 8;
const TURNS = SOAK ? 4 : 3;
const SLOW_MS = SOAK ? 300 : 700;
const RESTARTS = SOAK ? 3 : 1;
const PORT = 55490;
const TTL = 2_000;
const why = clusterUnavailable();

describe.skipIf(why !== "")(
  `chaos on a throwaway cluster${why ? ` (skipped: ${why})` : ""}`,
  () => {
    let cluster: Cluster | undefined;
    const workers: WorkerChild[] = [];
    afterAll(() => {
      for (const w of workers) w.child.kill("SIGKILL");
      cluster?.stop();
    });

    it(`${WORKERS} workers, ${THREADS * TURNS} turns on ${THREADS} threads, kills, cut connections and ${RESTARTS} restart(s)`, async () => {
      cluster = startCluster(PORT);
      const url = cluster.url;
      const schema = "chaos";
      const spawnWorker = () => {
        const w = startWorker(url, schema, TTL);
        workers.push(w);
        return w;
      };
      for (let i = 0; i < WORKERS; i++) spawnWorker();
      await Promise.all(workers.map((w) => w.ready));
      const client = await createRunClient({ database: url, schema: `${schema}_queue` });
      const threads = Array.from({ length: THREADS }, (_, t) => `thread-${t}`);
      const asks = new Set(threads.filter((_, t) => t % 2 === 0));
      const turnsOf = (thread: string) => Array.from({ length: TURNS }, (_, i) => `${thread}/${i}`);

      // Every turn is submitted before the chaos starts; one thread's turns run in this order.
      const runs: { thread: string; last: boolean; handle: RunHandle }[] = [];
      for (const thread of threads)
        for (const [i, turn] of turnsOf(thread).entries()) {
          const last = i === TURNS - 1;
          const input = { turns: turn, slowMs: SLOW_MS, ask: last && asks.has(thread) };
          runs.push({
            thread,
            last,
            handle: await client.submit("turns", input, { threadId: thread }),
          });
        }

      let chaosOn = true;
      const done = { kills: 0, cuts: 0, restarts: 0 };
      const chaos = (async () => {
        for (let round = 0; chaosOn; round++) {
          await sleep(round === 0 ? 300 : 600 + Math.random() * 600);
          if (!chaosOn) break;
          // Rounds go kill, restart, cut, then again (while restarts remain).
          const action = [0, 2, 1][round % 3]!;
          if (action === 0) {
            const alive = workers.filter(
              (w) => w.child.exitCode === null && w.child.signalCode === null,
            );
            alive[Math.floor(Math.random() * alive.length)]?.child.kill("SIGKILL");
            done.kills++;
            spawnWorker();
          } else if (action === 1) {
            await terminateConnections(url).then(
              () => done.cuts++,
              () => undefined,
            );
          } else if (done.restarts < RESTARTS) {
            done.restarts++;
            cluster!.restart(Math.random() < 0.5 ? "fast" : "immediate");
          }
          // Workers that died on their own (say, starting while the cluster restarted) are replaced.
          const alive = workers.filter(
            (w) => w.child.exitCode === null && w.child.signalCode === null,
          );
          for (let i = alive.length; i < WORKERS; i++) spawnWorker();
        }
      })();

      // The driver: waits for each run; answers each pause once, with an idempotent submission.
      const outcomes = await Promise.all(
        runs.map(async (run) => {
          const outcome = await run.handle.result({ timeoutMs: 240_000 });
          if (outcome.status !== "interrupted") return outcome;
          const answerId = randomUUID();
          const answer = await retry(() =>
            client.submit("turns", Command.resume(`ok:${run.thread}`), {
              threadId: run.thread,
              id: answerId,
            }),
          );
          return answer.result({ timeoutMs: 240_000 });
        }),
      );
      chaosOn = false;
      await chaos;

      for (const [i, run] of runs.entries()) {
        const outcome = outcomes[i]!;
        expect(outcome.status, run.thread).toBe("done");
        if (run.last) {
          const turns = turnsOf(run.thread);
          expect(outcome.values.turns, run.thread).toEqual(turns);
          expect(outcome.values.seen, run.thread).toEqual(expectedSeen(turns));
          expect(outcome.values.answers, run.thread).toEqual(
            asks.has(run.thread) ? [`ok:${run.thread}`] : [],
          );
        }
      }
      // What the database holds agrees, and every job ended exactly once, completed.
      const checkpointer = createPostgresCheckpointer(url, { schema });
      const app = turnGraph(checkpointer);
      for (const thread of threads) {
        const state = await app.getState({ threadId: thread });
        expect(state?.values.turns, thread).toEqual(turnsOf(thread));
        expect(state?.values.seen, thread).toEqual(expectedSeen(turnsOf(thread)));
      }
      await checkpointer.close();
      const jobs = await client.list({ limit: 100_000 });
      expect(jobs.length).toBe(THREADS * TURNS + asks.size);
      expect(jobs.filter((j) => j.state !== "completed")).toEqual([]);
      const retried = jobs.filter((j) => j.retries > 0).length;
      console.log(`chaos: ${JSON.stringify(done)}, ${jobs.length} runs, ${retried} retried`);
      await client.close();
    }, 600_000);
  },
);

async function terminateConnections(url: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  admin.on("error", () => undefined);
  await admin.connect();
  try {
    await admin.query(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'",
    );
  } finally {
    await admin.end().catch(() => undefined);
  }
}

async function retry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= 60) throw error;
      await sleep(500);
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
